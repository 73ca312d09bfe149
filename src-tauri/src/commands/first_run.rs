//! The first run and the demo: what the window opens on, "start without an
//! account", and entering, leaving and resetting the demo (each a switch of
//! the data folder in use; core loads and resets the demo).

use tauri::State;

use crate::error::UiResult;
use crate::state::AppState;

#[tauri::command]
pub async fn first_run(state: State<'_, AppState>) -> UiResult<circles_core::FirstRun> {
    state.read(|s| s.first_run())
}

/// "Start without an account": the welcome is not shown again.
#[tauri::command]
pub async fn start_offline(state: State<'_, AppState>) -> UiResult<()> {
    state.with_store(|s| s.finish_welcome().map_err(Into::into))
}

/// "Try the demo": open the demo's own folder (loading the demo if it is
/// empty). The real folder is closed, untouched.
#[tauri::command]
pub async fn enter_demo(state: State<'_, AppState>) -> UiResult<()> {
    let dir = circles_core::data_dir::demo_dir(&state.real_dir()?);
    state.switch_to(dir, |dir| circles_core::open_demo(dir, chrono::Utc::now()))
}

/// "Leave the demo": back to the person's real folder.
#[tauri::command]
pub async fn leave_demo(state: State<'_, AppState>) -> UiResult<()> {
    let real = state.real_dir()?;
    state.switch_to(real, circles_core::Store::open_in)
}

/// "Reset the demo": the demo's folder afresh (core refuses any other store).
#[tauri::command]
pub async fn reset_demo(state: State<'_, AppState>) -> UiResult<()> {
    let dir = state.data_dir()?;
    state.switch_to(dir, |dir| circles_core::reset_demo(dir, chrono::Utc::now()))
}
