//! Settings, the data folder in use, and exporting everything to a folder.

use circles_core::Settings;
use tauri::State;

use super::{exports_dir, stamp};
use crate::error::{UiError, UiResult};
use crate::state::AppState;

#[tauri::command]
pub async fn settings(state: State<'_, AppState>) -> UiResult<Settings> {
    state.read(|s| s.settings())
}

#[tauri::command]
pub async fn save_settings(state: State<'_, AppState>, settings: Settings) -> UiResult<()> {
    state.with_store(|s| s.save_settings(&settings).map_err(UiError::from))
}

/// The data folder in use, as text to show to a person.
#[tauri::command]
pub async fn data_dir(state: State<'_, AppState>) -> UiResult<String> {
    state.data_dir().map(|d| d.display().to_string())
}

/// The newest local backup a damaged store can be restored from (its file
/// name, which starts with the time it was made), if there is one.
#[tauri::command]
pub async fn newest_backup(state: State<'_, AppState>) -> UiResult<Option<String>> {
    let file = circles_core::newest_backup(&state.data_dir()?)?;
    Ok(file.and_then(|f| f.file_name().map(|n| n.to_string_lossy().into_owned())))
}

/// Replace the store with the newest local backup; the replaced file is
/// kept beside it. Returns the backup's file name.
#[tauri::command]
pub async fn restore_newest_backup(state: State<'_, AppState>) -> UiResult<String> {
    state.restore_newest_backup()
}

/// Set a damaged store aside and start an empty one (`circles rebuild`'s
/// work); returns where the damaged files went.
#[tauri::command]
pub async fn set_aside_damaged_store(state: State<'_, AppState>) -> UiResult<String> {
    state.set_aside_damaged_store()
}

/// Open the store with a passphrase, where no keyring keeps its key (core's
/// store/key.rs); a wrong one is refused and changes nothing.
#[tauri::command]
pub async fn unlock_store(state: State<'_, AppState>, passphrase: String) -> UiResult<()> {
    state.unlock_store(passphrase)
}

/// Everything as JSON plus one attendance CSV per circle, in a new folder
/// under `exports/`; returns the folder.
#[tauri::command]
pub async fn export_everything(state: State<'_, AppState>) -> UiResult<String> {
    let parent = exports_dir(&state)?;
    let folder = state.read(|s| s.export_to_folder(&parent, &stamp()))?;
    Ok(folder.display().to_string())
}
