//! Taking attendance: the roster of one meeting, one mark per learner, a
//! walk-in added on the spot, or a head count.

use circles_core::{LearnerInput, Mark, Meeting, RosterEntry};
use serde::Serialize;
use tauri::State;

use crate::error::UiResult;
use crate::state::AppState;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RosterView {
    pub circle_id: String,
    pub circle_name: String,
    pub time_zone: String,
    pub meeting: Meeting,
    pub entries: Vec<RosterEntry>,
}

#[tauri::command]
pub async fn roster(state: State<'_, AppState>, meeting_id: String) -> UiResult<RosterView> {
    state.read(|s| {
        let meeting = s.meeting(&meeting_id)?;
        let circle = s.circle(&meeting.circle_id)?;
        Ok(RosterView {
            circle_id: circle.id,
            circle_name: circle.fields.name,
            time_zone: circle.fields.time_zone,
            entries: s.roster(&meeting_id)?,
            meeting,
        })
    })
}

/// Set a learner's mark, or clear it (`mark` null): the undo of a first mark.
#[tauri::command]
pub async fn set_mark(
    state: State<'_, AppState>,
    meeting_id: String,
    learner_id: String,
    mark: Option<Mark>,
) -> UiResult<()> {
    state.edit(|s| match mark {
        Some(mark) => s.mark_attendance(&meeting_id, &learner_id, mark),
        None => s.clear_attendance(&meeting_id, &learner_id),
    })
}

/// A learner who turned up without signing up: added to the circle as a
/// walk-in and marked present at this meeting, in one step.
#[tauri::command]
pub async fn add_walk_in(state: State<'_, AppState>, meeting_id: String, name: String) -> UiResult<String> {
    state.edit(|s| s.add_walk_in(&meeting_id, &LearnerInput { walk_in: true, ..LearnerInput::new(name.trim()) }))
}

#[tauri::command]
pub async fn set_head_count(state: State<'_, AppState>, meeting_id: String, count: Option<u32>) -> UiResult<()> {
    state.edit(|s| s.set_head_count(&meeting_id, count))
}
