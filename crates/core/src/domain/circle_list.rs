//! The circles list: each circle with the figures a facilitator scans for
//! (next meeting, learners, where it is in its life).

use rusqlite::OptionalExtension;
use serde::Serialize;

use crate::domain::circle::{CircleInput, CircleStatus};
use crate::domain::meeting::Meeting;
use crate::error::Result;
use crate::store::Store;

/// One line of the circles list, with the figures a facilitator scans for.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CircleSummary {
    pub id: String,
    pub name: String,
    pub course_title: Option<String>,
    pub venue_name: Option<String>,
    pub online: bool,
    pub time_zone: String,
    /// The weekday of the first scheduled meeting, e.g. "Monday".
    pub weekday: Option<String>,
    pub start_time: String,
    pub duration_minutes: u32,
    pub status: String,
    pub meeting_count: u32,
    /// Local "YYYY-MM-DD HH:MM" of the next meeting not yet over.
    pub next_meeting: Option<String>,
    pub learner_count: u32,
    /// Where the circle is in its life, for the list's filters.
    pub phase: CirclePhase,
}

/// Where a circle is in its life: a draft, not started, running, or over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum CirclePhase {
    Draft,
    Upcoming,
    Active,
    Completed,
}

impl CirclePhase {
    /// Completed once it was marked as not happening, or every meeting is
    /// over; upcoming until its first meeting starts.
    fn of(circle: &CircleInput, meetings: &[&Meeting], has_next: bool, now: chrono::DateTime<chrono::Utc>) -> Self {
        if circle.did_not_happen {
            return CirclePhase::Completed;
        }
        if circle.status == CircleStatus::Draft {
            return CirclePhase::Draft;
        }
        match meetings.first() {
            None => CirclePhase::Upcoming,
            Some(first) if first.starts_at > now => CirclePhase::Upcoming,
            Some(_) if has_next => CirclePhase::Active,
            Some(_) => CirclePhase::Completed,
        }
    }
}

impl Store {
    /// The circles list with the figures shown beside each circle, now.
    pub fn list_circles(&self) -> Result<Vec<CircleSummary>> {
        self.list_circles_at(chrono::Utc::now())
    }

    /// The circles list as it looks at the instant `now`.
    pub fn list_circles_at(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Vec<CircleSummary>> {
        let mut out = Vec::new();
        for circle in self.circles()? {
            let course_title = match &circle.fields.course_id {
                Some(course_id) => self
                    .conn
                    .query_row("SELECT title FROM courses WHERE id = ?1", [course_id], |r| r.get(0))
                    .optional()?,
                None => None,
            };
            let meetings = self.meetings(&circle.id)?;
            let active: Vec<_> = meetings.iter().filter(|m| !m.is_cancelled()).collect();
            let next = self.next_unfinished_meeting(&circle, &meetings, now)?;
            let venue = &circle.fields.venue.name;
            out.push(CircleSummary {
                id: circle.id.clone(),
                name: circle.fields.name.clone(),
                course_title,
                venue_name: (!venue.is_empty()).then(|| venue.clone()),
                online: circle.fields.online,
                time_zone: circle.fields.time_zone.clone(),
                weekday: active.first().map(|m| m.weekday_name()),
                start_time: circle.fields.start_time.clone(),
                duration_minutes: circle.fields.duration_minutes,
                status: circle.fields.status.as_str().to_string(),
                meeting_count: active.len() as u32,
                next_meeting: next.map(|m| format!("{} {}", m.local_date, m.local_time)),
                learner_count: self.active_learner_count(&circle.id)? as u32,
                phase: CirclePhase::of(&circle.fields, &active, next.is_some(), now),
            });
        }
        Ok(out)
    }
}
