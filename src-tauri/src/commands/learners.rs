//! A circle's learners: list, add, edit, withdraw or bring back; a learner's
//! data rights: everything held about them saved as JSON, and erasing them.

use circles_core::{Learner, LearnerInput};
use tauri::State;

use super::{save_export, stamp};
use crate::error::{UiError, UiErrorKind, UiResult};
use crate::state::AppState;

#[tauri::command]
pub async fn learners(state: State<'_, AppState>, circle_id: String) -> UiResult<Vec<Learner>> {
    state.read(|s| s.learners(&circle_id))
}

#[tauri::command]
pub async fn add_learner(state: State<'_, AppState>, circle_id: String, input: LearnerInput) -> UiResult<String> {
    state.edit(|s| s.add_learner(&circle_id, &input))
}

#[tauri::command]
pub async fn update_learner(state: State<'_, AppState>, id: String, input: LearnerInput) -> UiResult<()> {
    state.edit(|s| s.update_learner(&id, &input))
}

#[tauri::command]
pub async fn set_learner_withdrawn(state: State<'_, AppState>, id: String, withdrawn: bool) -> UiResult<()> {
    state.edit(|s| s.set_learner_withdrawn(&id, withdrawn))
}

/// Give a learner on the waitlist a place (core refuses one not waiting).
#[tauri::command]
pub async fn admit_learner(state: State<'_, AppState>, id: String) -> UiResult<()> {
    state.edit(|s| s.admit_learner(&id))
}

/// Everything this computer holds about a learner, saved as JSON in the
/// exports folder; returns the file's path. The file name carries no
/// personal data (the id's start, not the name).
#[tauri::command]
pub async fn save_learner_export(state: State<'_, AppState>, id: String) -> UiResult<String> {
    let export = state.read(|s| s.export_learner(&id))?;
    let json = serde_json::to_vec_pretty(&export).map_err(|e| UiError::new(UiErrorKind::Internal, e.to_string()))?;
    let short: String = export.learner.id.chars().filter(char::is_ascii_alphanumeric).take(8).collect();
    save_export(&state, &format!("learner-{short}-{}.json", stamp()), &json)
}

/// Erase a learner at their request (the UI asks for confirmation first).
#[tauri::command]
pub async fn erase_learner(state: State<'_, AppState>, id: String) -> UiResult<()> {
    state.edit(|s| s.erase_learner(&id).map(|_| ()))
}
