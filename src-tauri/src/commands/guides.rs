//! The meeting guide: read, edit, reset, print (a PDF run sheet), and save
//! a circle's guides as the facilitator's own template.

use circles_core::{run_sheet_pdf, Paper, PdfOptions};
use circles_core::{GuideEdit, MeetingGuide};
use tauri::State;

use super::{save_export, stamp};
use crate::error::{UiError, UiResult};
use crate::state::AppState;
use circles_core::Rule;

#[tauri::command]
pub async fn guide(state: State<'_, AppState>, meeting_id: String) -> UiResult<MeetingGuide> {
    state.read(|s| s.guide(&meeting_id))
}

#[tauri::command]
pub async fn edit_guide(state: State<'_, AppState>, meeting_id: String, edit: GuideEdit) -> UiResult<MeetingGuide> {
    state.edit(|s| s.edit_meeting_guide(&meeting_id, &edit))
}

/// Back to the template's plan for this meeting.
#[tauri::command]
pub async fn reset_guide(state: State<'_, AppState>, meeting_id: String) -> UiResult<MeetingGuide> {
    state.edit(|s| s.reset_meeting_guide(&meeting_id))
}

/// The one-page run sheet as a PDF in the exports folder; returns its path.
#[tauri::command]
pub async fn save_run_sheet(state: State<'_, AppState>, meeting_id: String, paper: String) -> UiResult<String> {
    let paper = Paper::parse(&paper).ok_or_else(|| {
        UiError::invalid(
            "run sheet",
            "paper",
            Rule::Choice,
            format!("\"{paper}\" is not a paper size; use letter or a4"),
        )
    })?;
    let sheet = state.read(|s| s.run_sheet(&meeting_id))?;
    let bytes = run_sheet_pdf(&sheet, &PdfOptions { paper, made_on: Some(chrono::Local::now().date_naive()) });
    save_export(&state, &format!("run-sheet-{}-{}.pdf", sheet.local_date, stamp()), &bytes)
}

#[tauri::command]
pub async fn save_guide_as_template(state: State<'_, AppState>, circle_id: String, name: String) -> UiResult<String> {
    state.edit(|s| s.save_guide_as_template(&circle_id, &name, None))
}
