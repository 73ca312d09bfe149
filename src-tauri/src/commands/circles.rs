//! Circles: the list, tonight's meetings, one circle's detail, create and edit.

use circles_core::{
    AttendanceGrid, Circle, CircleInput, CircleSummary, Facilitator, Learner, Meeting, MeetingFeedback, Store, Team,
    UpcomingMeeting, WeeklyRule, WrapUp,
};
use serde::Serialize;
use tauri::State;

use crate::error::UiResult;
use crate::state::AppState;

#[tauri::command]
pub async fn list_circles(state: State<'_, AppState>) -> UiResult<Vec<CircleSummary>> {
    state.read(|s| s.list_circles())
}

/// Tonight's meeting (or the next one) of each circle.
#[tauri::command]
pub async fn today(state: State<'_, AppState>) -> UiResult<Vec<UpcomingMeeting>> {
    state.read(|s| s.upcoming(chrono::Utc::now()))
}

/// Everything the circle screen shows.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CircleDetail {
    pub circle: Circle,
    pub course_title: Option<String>,
    pub meetings: Vec<Meeting>,
    pub learners: Vec<Learner>,
    pub grid: AttendanceGrid,
    /// Feedback given so far, one per meeting that has any.
    pub feedback: Vec<MeetingFeedback>,
    pub wrap_up: WrapUp,
}

#[tauri::command]
pub async fn circle_detail(state: State<'_, AppState>, id: String) -> UiResult<CircleDetail> {
    state.read(|s| {
        let circle = s.circle(&id)?;
        let course_title = match &circle.fields.course_id {
            Some(course) => s.course(course).ok().map(|c| c.fields.title),
            None => None,
        };
        let meetings = s.meetings(&id)?;
        let mut feedback = Vec::new();
        for meeting in &meetings {
            if let Some(f) = s.meeting_feedback(&meeting.id)? {
                feedback.push(f);
            }
        }
        Ok(CircleDetail {
            course_title,
            learners: s.learners(&id)?,
            grid: s.attendance_grid(&id)?,
            wrap_up: s.circle_wrap_up(&id, chrono::Utc::now())?,
            feedback,
            meetings,
            circle,
        })
    })
}

/// Create a circle, with its weekly schedule when one is given.
#[tauri::command]
pub async fn create_circle(
    state: State<'_, AppState>,
    input: CircleInput,
    schedule: Option<WeeklyRule>,
) -> UiResult<String> {
    state.edit(|s| s.create_circle(&input, schedule.as_ref()))
}

#[tauri::command]
pub async fn update_circle(state: State<'_, AppState>, id: String, input: CircleInput) -> UiResult<()> {
    state.edit(|s| s.update_circle(&id, &input))
}

/// The teams the circle form offers, and the one a new circle starts on.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TeamChoice {
    /// The person's teams (every team here when this computer never signed in).
    pub teams: Vec<Team>,
    /// A new circle's team: the person's one team, when they are in exactly one.
    pub default_team: Option<String>,
}

#[tauri::command]
pub async fn team_choice(state: State<'_, AppState>) -> UiResult<TeamChoice> {
    state.read(|s| Ok(TeamChoice { teams: s.my_teams()?, default_team: s.default_circle_team()? }))
}

/// Who facilitates a circle, and whom the person may add.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CircleFacilitators {
    pub listed: Vec<Facilitator>,
    /// The circle's team's facilitators not listed yet.
    pub candidates: Vec<Facilitator>,
}

fn facilitators_of(s: &Store, circle_id: &str) -> circles_core::Result<CircleFacilitators> {
    Ok(CircleFacilitators {
        listed: s.circle_facilitators(circle_id)?,
        candidates: s.co_facilitator_candidates(circle_id)?,
    })
}

#[tauri::command]
pub async fn circle_facilitators(state: State<'_, AppState>, circle_id: String) -> UiResult<CircleFacilitators> {
    state.read(|s| facilitators_of(s, &circle_id))
}

#[tauri::command]
pub async fn add_circle_facilitator(
    state: State<'_, AppState>,
    circle_id: String,
    facilitator_id: String,
) -> UiResult<CircleFacilitators> {
    state.edit(|s| {
        s.add_circle_facilitator(&circle_id, &facilitator_id)?;
        facilitators_of(s, &circle_id)
    })
}

#[tauri::command]
pub async fn remove_circle_facilitator(
    state: State<'_, AppState>,
    circle_id: String,
    facilitator_id: String,
) -> UiResult<CircleFacilitators> {
    state.edit(|s| {
        s.remove_circle_facilitator(&circle_id, &facilitator_id)?;
        facilitators_of(s, &circle_id)
    })
}

/// Copy a circle for its next season; returns the new circle's id.
#[tauri::command]
pub async fn copy_circle(
    state: State<'_, AppState>,
    circle_id: String,
    name: String,
    schedule: WeeklyRule,
) -> UiResult<String> {
    state.edit(|s| s.copy_circle(&circle_id, &name, &schedule))
}
