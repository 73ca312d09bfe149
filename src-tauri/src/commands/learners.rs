//! A circle's learners: list, add, edit, withdraw or bring back.

use circles_core::{Learner, LearnerInput};
use tauri::State;

use crate::error::UiResult;
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
