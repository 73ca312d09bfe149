//! After a meeting: the feedback form; after the last one: the wrap-up.

use circles_core::{AwaitingFeedback, FeedbackForm, FeedbackInput, WrapUp, WrapUpInput};
use tauri::State;

use crate::error::UiResult;
use crate::state::AppState;

/// Meetings that have ended without feedback, most recent first.
#[tauri::command]
pub async fn awaiting_feedback(state: State<'_, AppState>) -> UiResult<Vec<AwaitingFeedback>> {
    state.read(|s| s.meetings_awaiting_feedback(chrono::Utc::now()))
}

#[tauri::command]
pub async fn feedback_form(state: State<'_, AppState>, meeting_id: String) -> UiResult<FeedbackForm> {
    state.read(|s| s.feedback_form(&meeting_id, chrono::Utc::now()))
}

#[tauri::command]
pub async fn save_feedback(state: State<'_, AppState>, meeting_id: String, input: FeedbackInput) -> UiResult<()> {
    state.edit(|s| s.set_meeting_feedback(&meeting_id, &input))
}

#[tauri::command]
pub async fn save_wrap_up(state: State<'_, AppState>, circle_id: String, input: WrapUpInput) -> UiResult<WrapUp> {
    state.edit(|s| s.wrap_up(&circle_id, &input))
}
