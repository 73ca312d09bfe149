//! Circles: what they are about, where and when they meet.

use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::guide::{derive_guides, GuidePlan, GuideSource, PlannedMeeting};
use crate::rows::{flag, int, new_id, opt_int, opt_real, opt_text, text, Column};
use crate::schedule::{self, WeeklyRule};
use crate::schema::CIRCLES;
use crate::store::Store;
use crate::validate::{self, MAX_NAME, MAX_TEXT};

const ENTITY: &str = "circle";
pub const MAX_SIGNUP_LIMIT: i64 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum CircleStatus {
    #[default]
    Draft,
    Published,
}

impl CircleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CircleStatus::Draft => "draft",
            CircleStatus::Published => "published",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "draft" => Ok(CircleStatus::Draft),
            "published" => Ok(CircleStatus::Published),
            other => Err(CoreError::invalid(
                ENTITY,
                "status",
                format!("\"{other}\" is not a status; use draft or published"),
            )),
        }
    }
}

/// Where a circle meets in person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Venue {
    pub name: String,
    pub address: String,
    pub details: String,
    pub website: String,
    pub city: String,
    pub region: String,
    pub country: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// What a person edits about a circle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CircleInput {
    pub name: String,
    #[serde(default)]
    pub course_id: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub venue: Venue,
    #[serde(default)]
    pub online: bool,
    #[serde(default)]
    pub meeting_link: String,
    #[serde(default = "default_language")]
    pub language: String,
    /// IANA zone the meeting times are in.
    pub time_zone: String,
    /// Local "HH:MM" of a meeting's start, the default for new meetings.
    pub start_time: String,
    pub duration_minutes: u32,
    #[serde(default)]
    pub signup_limit: Option<u32>,
    #[serde(default = "yes")]
    pub signup_open: bool,
    #[serde(default)]
    pub signup_question: String,
    #[serde(default)]
    pub status: CircleStatus,
    #[serde(default)]
    pub did_not_happen: bool,
    #[serde(default)]
    pub team_id: Option<String>,
}

fn default_language() -> String {
    "en".into()
}
fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Circle {
    pub id: String,
    #[serde(flatten)]
    pub fields: CircleInput,
    pub created_at: String,
}

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
    fn of(circle: &CircleInput, meetings: &[&crate::meeting::Meeting], has_next: bool, now: chrono::DateTime<chrono::Utc>) -> Self {
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

impl CircleInput {
    /// A circle with the required fields and defaults for the rest.
    pub fn new(name: impl Into<String>, time_zone: impl Into<String>, start_time: impl Into<String>, duration_minutes: u32) -> Self {
        CircleInput {
            name: name.into(),
            course_id: None,
            description: String::new(),
            venue: Venue::default(),
            online: false,
            meeting_link: String::new(),
            language: default_language(),
            time_zone: time_zone.into(),
            start_time: start_time.into(),
            duration_minutes,
            signup_limit: None,
            signup_open: true,
            signup_question: String::new(),
            status: CircleStatus::Draft,
            did_not_happen: false,
            team_id: None,
        }
    }

    /// Checks that need no database.
    pub fn validate(&self) -> Result<()> {
        validate::required(ENTITY, "name", &self.name, MAX_NAME)?;
        validate::optional(ENTITY, "description", &self.description, MAX_TEXT)?;
        let v = &self.venue;
        for (field, value) in [
            ("venue_name", &v.name),
            ("venue_address", &v.address),
            ("city", &v.city),
            ("region", &v.region),
            ("country", &v.country),
        ] {
            validate::optional(ENTITY, field, value, MAX_NAME)?;
        }
        validate::optional(ENTITY, "venue_details", &v.details, MAX_TEXT)?;
        if !v.website.is_empty() {
            validate::url(ENTITY, "venue_website", &v.website)?;
        }
        if let Some(lat) = v.latitude {
            if !(-90.0..=90.0).contains(&lat) {
                return Err(CoreError::invalid(ENTITY, "latitude", "must be between -90 and 90"));
            }
        }
        if let Some(lon) = v.longitude {
            if !(-180.0..=180.0).contains(&lon) {
                return Err(CoreError::invalid(ENTITY, "longitude", "must be between -180 and 180"));
            }
        }
        if self.online {
            if self.meeting_link.is_empty() {
                return Err(CoreError::invalid(ENTITY, "meeting_link", "is required for an online circle"));
            }
        } else if v.name.trim().is_empty() && self.status == CircleStatus::Published {
            return Err(CoreError::invalid(
                ENTITY,
                "venue_name",
                "is required to publish an in-person circle (or mark it online)",
            ));
        }
        if !self.meeting_link.is_empty() {
            validate::url(ENTITY, "meeting_link", &self.meeting_link)?;
        }
        validate::language(ENTITY, "language", &self.language)?;
        schedule::parse_time_zone(&self.time_zone).map_err(|e| CoreError::invalid(ENTITY, "time_zone", e.to_string()))?;
        schedule::parse_local_time(&self.start_time)
            .map_err(|e| CoreError::invalid(ENTITY, "start_time", e.to_string()))?;
        validate::in_range(ENTITY, "duration_minutes", self.duration_minutes.into(), 15, 720)?;
        if let Some(limit) = self.signup_limit {
            validate::in_range(ENTITY, "signup_limit", limit.into(), 1, MAX_SIGNUP_LIMIT)?;
        }
        validate::optional(ENTITY, "signup_question", &self.signup_question, 500)?;
        Ok(())
    }

    /// "6:30" as stored: "06:30". Only meaningful after `validate`.
    pub(crate) fn canonical_start_time(&self) -> String {
        schedule::parse_local_time(&self.start_time)
            .map(|t| t.format("%H:%M").to_string())
            .unwrap_or_else(|_| self.start_time.clone())
    }

    fn columns(&self) -> Vec<Column> {
        let v = &self.venue;
        // Store canonical forms, so "america/chicago" and "6:30" are
        // "America/Chicago" and "06:30" everywhere.
        let zone = schedule::parse_time_zone(&self.time_zone)
            .map(|z| z.name().to_string())
            .unwrap_or_else(|_| self.time_zone.clone());
        let start = self.canonical_start_time();
        vec![
            ("name", text(self.name.trim())),
            ("course_id", opt_text(self.course_id.as_deref())),
            ("description", text(&self.description)),
            ("venue_name", text(v.name.trim())),
            ("venue_address", text(v.address.trim())),
            ("venue_details", text(&v.details)),
            ("venue_website", text(v.website.trim())),
            ("city", text(v.city.trim())),
            ("region", text(v.region.trim())),
            ("country", text(v.country.trim())),
            ("latitude", opt_real(v.latitude)),
            ("longitude", opt_real(v.longitude)),
            ("online", flag(self.online)),
            ("meeting_link", text(self.meeting_link.trim())),
            ("language", text(&self.language)),
            ("time_zone", text(&zone)),
            ("start_time", text(&start)),
            ("duration_minutes", int(self.duration_minutes)),
            ("signup_limit", opt_int(self.signup_limit)),
            ("signup_open", flag(self.signup_open)),
            ("signup_question", text(self.signup_question.trim())),
            ("status", text(self.status.as_str())),
            ("did_not_happen", flag(self.did_not_happen)),
            ("team_id", opt_text(self.team_id.as_deref())),
        ]
    }
}

const SELECT: &str = "SELECT id, name, course_id, description, venue_name, venue_address, venue_details,
        venue_website, city, region, country, latitude, longitude, online, meeting_link, language, time_zone,
        start_time, duration_minutes, signup_limit, signup_open, signup_question, status, did_not_happen,
        team_id, created_at
    FROM circles";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Circle> {
    let status: String = r.get("status")?;
    Ok(Circle {
        id: r.get("id")?,
        fields: CircleInput {
            name: r.get("name")?,
            course_id: r.get("course_id")?,
            description: r.get("description")?,
            venue: Venue {
                name: r.get("venue_name")?,
                address: r.get("venue_address")?,
                details: r.get("venue_details")?,
                website: r.get("venue_website")?,
                city: r.get("city")?,
                region: r.get("region")?,
                country: r.get("country")?,
                latitude: r.get("latitude")?,
                longitude: r.get("longitude")?,
            },
            online: r.get("online")?,
            meeting_link: r.get("meeting_link")?,
            language: r.get("language")?,
            time_zone: r.get("time_zone")?,
            start_time: r.get("start_time")?,
            duration_minutes: r.get("duration_minutes")?,
            signup_limit: r.get("signup_limit")?,
            signup_open: r.get("signup_open")?,
            signup_question: r.get("signup_question")?,
            status: CircleStatus::parse(&status).unwrap_or_default(),
            did_not_happen: r.get("did_not_happen")?,
            team_id: r.get("team_id")?,
        },
        created_at: r.get("created_at")?,
    })
}

impl Store {
    /// Create a circle and, when a rule is given, its weekly meetings, in one
    /// transaction.
    pub fn create_circle(&mut self, input: &CircleInput, schedule: Option<&WeeklyRule>) -> Result<String> {
        input.validate()?;
        self.check_circle_references(input)?;
        let dates = schedule.map(schedule::weekly_dates).transpose()?.unwrap_or_default();
        let id = new_id();
        let start_time = input.canonical_start_time();
        let plan = GuidePlan::fresh(GuideSource::builtin(&input.language, input.duration_minutes));
        self.write(|w| {
            w.insert(&CIRCLES, &id, &input.columns())?;
            let mut planned = Vec::with_capacity(dates.len());
            for date in &dates {
                let meeting = crate::meeting::insert_meeting(w, &id, *date, &start_time)?;
                planned.push(PlannedMeeting { id: meeting, date: *date, time: start_time.clone(), cancelled: false, held: false });
            }
            derive_guides(w, &plan, &planned)?;
            Ok(())
        })?;
        Ok(id)
    }

    /// Change a circle. A new language or meeting length re-derives the
    /// guides of its meetings (those a person edited stay; see `guide`).
    pub fn update_circle(&mut self, id: &str, input: &CircleInput) -> Result<()> {
        input.validate()?;
        let before = self.circle(id)?;
        self.check_circle_references(input)?;
        if let Some(limit) = input.signup_limit {
            let learners = self.active_learner_count(id)?;
            if i64::from(limit) < learners {
                return Err(CoreError::invalid(
                    ENTITY,
                    "signup_limit",
                    format!("is {limit} but {learners} learners are already signed up"),
                ));
            }
        }
        let guides = if before.fields.language != input.language || before.fields.duration_minutes != input.duration_minutes {
            let plan = self.guide_plan_with(id, &input.language, input.duration_minutes)?;
            let planned: Vec<PlannedMeeting> = self.meetings(id)?.iter().map(PlannedMeeting::from).collect();
            Some((plan, planned))
        } else {
            None
        };
        self.write(|w| {
            w.update(&CIRCLES, id, &input.columns())?;
            if let Some((plan, planned)) = &guides {
                derive_guides(w, plan, planned)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    pub fn delete_circle(&mut self, id: &str) -> Result<()> {
        self.circle(id)?;
        self.write(|w| w.tombstone(&CIRCLES, id))
    }

    pub fn circle(&self, id: &str) -> Result<Circle> {
        self.conn
            .query_row(&format!("{SELECT} WHERE id = ?1 AND deleted = 0"), [id], from_row)
            .optional()?
            .ok_or_else(|| CoreError::not_found(ENTITY, id))
    }

    pub fn circles(&self) -> Result<Vec<Circle>> {
        let mut stmt = self
            .conn
            .prepare(&format!("{SELECT} WHERE deleted = 0 ORDER BY name COLLATE NOCASE, id"))?;
        let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

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

    pub(crate) fn active_learner_count(&self, circle_id: &str) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM learners WHERE circle_id = ?1 AND deleted = 0 AND withdrawn = 0",
            [circle_id],
            |r| r.get(0),
        )?)
    }

    fn check_circle_references(&self, input: &CircleInput) -> Result<()> {
        if let Some(course_id) = &input.course_id {
            self.course(course_id)
                .map_err(|_| CoreError::invalid(ENTITY, "course_id", format!("no course with id {course_id}")))?;
        }
        if let Some(team_id) = &input.team_id {
            let exists: bool = self.conn.query_row(
                "SELECT EXISTS(SELECT 1 FROM teams WHERE id = ?1 AND deleted = 0)",
                [team_id],
                |r| r.get(0),
            )?;
            if !exists {
                return Err(CoreError::invalid(ENTITY, "team_id", format!("no team with id {team_id}")));
            }
        }
        Ok(())
    }
}
