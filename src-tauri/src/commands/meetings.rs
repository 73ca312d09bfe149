//! The schedule of a circle: generate, then add, remove, cancel, restore or
//! move single dates.

use circles_core::{MeetingStatus, WeeklyRule};
use tauri::State;

use super::parse_date;
use crate::error::UiResult;
use crate::state::AppState;

/// Replace (or, with `replace` false, refuse to replace) the schedule.
#[tauri::command]
pub async fn generate_schedule(
    state: State<'_, AppState>,
    circle_id: String,
    rule: WeeklyRule,
    replace: bool,
) -> UiResult<Vec<String>> {
    state.edit(|s| s.generate_schedule(&circle_id, &rule, replace))
}

#[tauri::command]
pub async fn add_meeting(
    state: State<'_, AppState>,
    circle_id: String,
    date: String,
    time: Option<String>,
) -> UiResult<String> {
    let date = parse_date("local_date", &date)?;
    state.edit(|s| s.add_meeting(&circle_id, date, time.as_deref()))
}

#[tauri::command]
pub async fn move_meeting(state: State<'_, AppState>, id: String, date: String, time: Option<String>) -> UiResult<()> {
    let date = parse_date("local_date", &date)?;
    state.edit(|s| s.reschedule_meeting(&id, date, time.as_deref()))
}

/// Cancel (kept on the calendar, struck through) or restore a meeting.
#[tauri::command]
pub async fn set_meeting_cancelled(state: State<'_, AppState>, id: String, cancelled: bool) -> UiResult<()> {
    let status = if cancelled { MeetingStatus::Cancelled } else { MeetingStatus::Scheduled };
    state.edit(|s| s.set_meeting_status(&id, status))
}

#[tauri::command]
pub async fn remove_meeting(state: State<'_, AppState>, id: String) -> UiResult<()> {
    state.edit(|s| s.remove_meeting(&id))
}
