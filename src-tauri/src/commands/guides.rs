//! The meeting guide: read, edit, reset, print (a PDF run sheet, with or
//! without its sign-in sheet; the sign-in sheet alone), and save a circle's
//! guides as the facilitator's own template.

use circles_core::{run_sheet_pdf, sign_in_sheet_pdf, Paper, PdfOptions, RunSheetOptions};
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

/// The paper size a person chose, for a PDF export.
fn pdf_options(what: &'static str, paper: &str) -> UiResult<PdfOptions> {
    let paper = Paper::parse(paper).ok_or_else(|| {
        UiError::invalid(what, "paper", Rule::Choice, format!("\"{paper}\" is not a paper size; use letter or a4"))
    })?;
    Ok(PdfOptions { paper, made_on: Some(chrono::Local::now().date_naive()) })
}

/// The one-page run sheet as a PDF in the exports folder (with the
/// meeting's sign-in sheet after it when asked); returns its path.
#[tauri::command]
pub async fn save_run_sheet(
    state: State<'_, AppState>,
    meeting_id: String,
    paper: String,
    include_sign_in: bool,
) -> UiResult<String> {
    let options = pdf_options("run sheet", &paper)?;
    let sheet = state.read(|s| s.run_sheet_with(&meeting_id, RunSheetOptions { include_sign_in }))?;
    let bytes = run_sheet_pdf(&sheet, &options);
    save_export(&state, &format!("run-sheet-{}-{}.pdf", sheet.local_date, stamp()), &bytes)
}

/// A circle's sign-in sheet as a PDF in the exports folder: the one
/// meeting given, or every meeting that is not cancelled; returns its path.
#[tauri::command]
pub async fn save_sign_in_sheet(
    state: State<'_, AppState>,
    circle_id: String,
    meeting_id: Option<String>,
    paper: String,
) -> UiResult<String> {
    let options = pdf_options("sign-in sheet", &paper)?;
    let sheet = state.read(|s| s.sign_in_sheet(&circle_id, meeting_id.as_deref()))?;
    let bytes = sign_in_sheet_pdf(&sheet, &options);
    let day = match sheet.meetings.as_slice() {
        [one] => one.local_date.to_string(),
        _ => "all".to_string(),
    };
    save_export(&state, &format!("sign-in-sheet-{day}-{}.pdf", stamp()), &bytes)
}

#[tauri::command]
pub async fn save_guide_as_template(state: State<'_, AppState>, circle_id: String, name: String) -> UiResult<String> {
    state.edit(|s| s.save_guide_as_template(&circle_id, &name, None))
}
