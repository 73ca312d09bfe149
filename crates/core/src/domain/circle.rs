//! Circles: what they are about, where and when they meet.

use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::domain::schedule::{self};
use crate::error::{CoreError, Result, Rule};
use crate::schema::{check_field, CIRCLES};
use crate::store::rows::{flag, int, opt_int, opt_real, opt_text, text, Column};
use crate::store::Store;

const ENTITY: &str = "circle";

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
                Rule::Choice,
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
    /// Hours before each meeting the server sends learners its reminder;
    /// 0 = no reminders.
    #[serde(default = "default_reminder_hours")]
    pub reminder_hours: u32,
}

/// Two days before, as learners of P2PU's circles are used to.
pub const DEFAULT_REMINDER_HOURS: u32 = 48;

fn default_reminder_hours() -> u32 {
    DEFAULT_REMINDER_HOURS
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

impl CircleInput {
    /// A circle with the required fields and defaults for the rest.
    pub fn new(
        name: impl Into<String>,
        time_zone: impl Into<String>,
        start_time: impl Into<String>,
        duration_minutes: u32,
    ) -> Self {
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
            reminder_hours: DEFAULT_REMINDER_HOURS,
        }
    }

    /// Checks that need no database.
    pub fn validate(&self) -> Result<()> {
        check_field(&CIRCLES, "name", self.name.as_str())?;
        check_field(&CIRCLES, "description", self.description.as_str())?;
        let v = &self.venue;
        for (field, value) in [
            ("venue_name", &v.name),
            ("venue_address", &v.address),
            ("city", &v.city),
            ("region", &v.region),
            ("country", &v.country),
            ("venue_details", &v.details),
            ("venue_website", &v.website),
        ] {
            check_field(&CIRCLES, field, value.as_str())?;
        }
        check_field(&CIRCLES, "latitude", v.latitude)?;
        check_field(&CIRCLES, "longitude", v.longitude)?;
        if self.online {
            if self.meeting_link.is_empty() {
                return Err(CoreError::invalid(
                    ENTITY,
                    "meeting_link",
                    Rule::Required,
                    "is required for an online circle",
                ));
            }
        } else if v.name.trim().is_empty() && self.status == CircleStatus::Published {
            return Err(CoreError::invalid(
                ENTITY,
                "venue_name",
                Rule::Required,
                "is required to publish an in-person circle (or mark it online)",
            ));
        }
        check_field(&CIRCLES, "meeting_link", self.meeting_link.as_str())?;
        check_field(&CIRCLES, "language", self.language.as_str())?;
        schedule::parse_time_zone(&self.time_zone)
            .map_err(|e| CoreError::invalid(ENTITY, "time_zone", e.rule(), e.to_string()))?;
        schedule::parse_local_time(&self.start_time)
            .map_err(|e| CoreError::invalid(ENTITY, "start_time", e.rule(), e.to_string()))?;
        check_field(&CIRCLES, "duration_minutes", self.duration_minutes)?;
        check_field(&CIRCLES, "reminder_hours", self.reminder_hours)?;
        check_field(&CIRCLES, "signup_limit", self.signup_limit)?;
        check_field(&CIRCLES, "signup_question", self.signup_question.as_str())?;
        Ok(())
    }

    /// "6:30" as stored: "06:30". Only meaningful after `validate`.
    pub(crate) fn canonical_start_time(&self) -> String {
        schedule::parse_local_time(&self.start_time)
            .map(|t| t.format("%H:%M").to_string())
            .unwrap_or_else(|_| self.start_time.clone())
    }

    pub(crate) fn columns(&self) -> Vec<Column> {
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
            ("reminder_hours", int(self.reminder_hours)),
        ]
    }
}

const SELECT: &str = "SELECT id, name, course_id, description, venue_name, venue_address, venue_details,
        venue_website, city, region, country, latitude, longitude, online, meeting_link, language, time_zone,
        start_time, duration_minutes, signup_limit, signup_open, signup_question, status, did_not_happen,
        team_id, reminder_hours, created_at
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
            reminder_hours: r.get("reminder_hours")?,
        },
        created_at: r.get("created_at")?,
    })
}

impl Store {
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
        let mut stmt = self.conn.prepare(&format!("{SELECT} WHERE deleted = 0 ORDER BY name COLLATE NOCASE, id"))?;
        let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Learners who hold a place (`waitlist::Standing::enrolled`): not
    /// withdrawn, not waiting.
    pub(crate) fn active_learner_count(&self, circle_id: &str) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM learners WHERE circle_id = ?1 AND deleted = 0 AND withdrawn = 0 AND waitlisted_at = ''",
            [circle_id],
            |r| r.get(0),
        )?)
    }

    /// References a circle's input names exist here; its team is one the
    /// person may choose (`current`: the team it has now, kept freely).
    pub(crate) fn check_circle_references(&self, input: &CircleInput, current_team: Option<&str>) -> Result<()> {
        if let Some(course_id) = &input.course_id {
            self.course(course_id).map_err(|_| {
                CoreError::invalid(ENTITY, "course_id", Rule::Reference, format!("no course with id {course_id}"))
            })?;
        }
        if let Some(team_id) = &input.team_id {
            let exists: bool = self.conn.query_row(
                "SELECT EXISTS(SELECT 1 FROM teams WHERE id = ?1 AND deleted = 0)",
                [team_id],
                |r| r.get(0),
            )?;
            if !exists {
                return Err(CoreError::invalid(
                    ENTITY,
                    "team_id",
                    Rule::Reference,
                    format!("no team with id {team_id}"),
                ));
            }
        }
        self.check_team_choice(input.team_id.as_deref(), current_team)
    }
}
