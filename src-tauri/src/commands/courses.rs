//! The course catalogue: search, create and edit courses.

use circles_core::{Course, CourseFilter, CourseInput};
use tauri::State;

use crate::error::UiResult;
use crate::state::AppState;

/// The catalogue: words to search in title, provider, caption and topics;
/// archived courses only when asked.
#[tauri::command]
pub async fn courses(
    state: State<'_, AppState>,
    search: Option<String>,
    language: Option<String>,
    include_archived: bool,
) -> UiResult<Vec<Course>> {
    let filter = CourseFilter {
        search: search.filter(|s| !s.trim().is_empty()),
        language: language.filter(|l| !l.is_empty()),
        include_archived,
    };
    state.read(|s| s.list_courses(&filter))
}

#[tauri::command]
pub async fn create_course(state: State<'_, AppState>, input: CourseInput) -> UiResult<String> {
    state.edit(|s| s.create_course(&input))
}

#[tauri::command]
pub async fn update_course(state: State<'_, AppState>, id: String, input: CourseInput) -> UiResult<()> {
    state.edit(|s| s.update_course(&id, &input))
}
