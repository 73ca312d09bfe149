//! The `#[tauri::command]` wrappers, one module per screen area. Each is a
//! few lines over a core function: no SQL, no rules. Commands are async so
//! they run off the main (UI) thread; a slow query never freezes the window.

pub mod app_lock;
pub mod attendance;
pub mod circles;
pub mod courses;
pub mod feedback;
pub mod first_run;
pub mod guides;
pub mod learners;
pub mod meetings;
pub mod messages;
pub mod reports;
pub mod settings;
pub mod sync;
pub mod teams;

use crate::error::{UiError, UiErrorKind, UiResult};

/// A date typed or picked in the UI ("YYYY-MM-DD").
pub(crate) fn parse_date(field: &str, value: &str) -> UiResult<chrono::NaiveDate> {
    circles_core::schedule::parse_date(value).map_err(|e| UiError::invalid("meeting", field, e.rule(), e.to_string()))
}

/// Where files made for the person go: `exports/` in the data folder.
pub(crate) fn exports_dir(state: &crate::state::AppState) -> UiResult<std::path::PathBuf> {
    Ok(state.data_dir()?.join("exports"))
}

/// Write a file made in memory into the exports folder; returns its path.
pub(crate) fn save_export(state: &crate::state::AppState, name: &str, bytes: &[u8]) -> UiResult<String> {
    let dir = exports_dir(state)?;
    std::fs::create_dir_all(&dir)
        .map_err(|e| UiError::new(UiErrorKind::Store, format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join(name);
    let partial = dir.join(format!(".{name}.partial"));
    std::fs::write(&partial, bytes)
        .and_then(|()| std::fs::rename(&partial, &path))
        .map_err(|e| UiError::new(UiErrorKind::Store, format!("cannot write {}: {e}", path.display())))?;
    Ok(path.display().to_string())
}

/// A timestamp for export file names, e.g. "20261129-1402".
pub(crate) fn stamp() -> String {
    chrono::Local::now().format("%Y%m%d-%H%M%S").to_string()
}
