//! What a circle's learners receive: the planned reminders, messages to all
//! of a circle's learners (written offline, sent by the server after sync),
//! a meeting's reminder words, and what the server sent.

use circles_core::CircleMessages;
use tauri::State;

use crate::error::UiResult;
use crate::state::AppState;

/// Everything the Messages screen shows for a circle, as of now.
#[tauri::command]
pub async fn circle_messages(state: State<'_, AppState>, circle_id: String) -> UiResult<CircleMessages> {
    state.read(|s| s.circle_outgoing(&circle_id, chrono::Utc::now()))
}

/// Write a message to all of a circle's learners; it goes out at the next
/// sync. Returns its id.
#[tauri::command]
pub async fn send_circle_message(
    state: State<'_, AppState>,
    circle_id: String,
    subject: String,
    body: String,
) -> UiResult<String> {
    state.edit(|s| s.add_circle_message(&circle_id, &subject, &body))
}

/// The facilitator's words in a meeting's reminder ('' removes them).
#[tauri::command]
pub async fn set_reminder_message(state: State<'_, AppState>, meeting_id: String, message: String) -> UiResult<()> {
    state.edit(|s| s.set_reminder_message(&meeting_id, &message))
}
