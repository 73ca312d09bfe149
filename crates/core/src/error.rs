//! Typed errors of the core. Every message names what was wrong and, where
//! possible, what to do, because it ends up in front of a facilitator as is.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::domain::schedule::{self, ScheduleError};

/// Which rule a refused value broke: a stable code (with the figures its
/// sentence needs) that front ends translate, instead of matching the
/// English message. Serialized as `{"code": "too_long", "length": 12, "max": 10}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Rule {
    /// Empty where a value is needed.
    Required,
    /// Longer than the field allows, in characters.
    TooLong { length: u32, max: u32 },
    /// Holds control characters (other than newlines and tabs).
    ControlCharacters,
    /// Not an email address.
    Email,
    /// Not a mobile number in international (E.164) form.
    Mobile,
    /// Not an http(s) address.
    Url,
    /// Not a language code such as en or pt-BR.
    Language,
    /// Not an IANA time zone.
    TimeZone,
    /// Not a time of day (HH:MM).
    Time,
    /// Not a calendar date (YYYY-MM-DD), or outside the supported years.
    Date,
    /// Not a weekday.
    Weekday,
    /// A number outside its range.
    OutOfRange { min: i64, max: i64 },
    /// A meeting length outside its range, in minutes.
    Duration { min: u32, max: u32 },
    /// A number of meetings outside its range.
    MeetingCount { min: u32, max: u32 },
    /// Not one of the values the field takes (a status, a mark...).
    Choice,
    /// Names a row that does not exist here.
    Reference,
    /// Not an id (1 to 64 letters, digits, '-', '_', '.' or ':').
    Id,
    /// Already exists (the same email twice...).
    Duplicate,
    /// Not allowed in the row's present state (a cancelled meeting's head
    /// count, replacing a schedule that has attendance...): the message says why.
    State,
}

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A write was refused by validation; `field` is the input field a UI
    /// should put the message next to.
    #[error("{entity} {field}: {message}")]
    Invalid { entity: &'static str, field: &'static str, rule: Rule, message: String },

    #[error("no {entity} with id {id}")]
    NotFound { entity: &'static str, id: String },

    #[error(
        "{} was written by a newer version of Circles (schema version {found}, this version knows up to {supported}); \
         update Circles to open it. The file was not changed.",
        path.display()
    )]
    NewerDatabase { path: PathBuf, found: i64, supported: i64 },

    #[error(
        "{} is not a Circles database or is damaged ({reason}); the file was left untouched. \
         Move it aside or restore a backup to continue.",
        path.display()
    )]
    NotADatabase { path: PathBuf, reason: String },

    #[error("cannot use data folder {}: {source}", path.display())]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("no data folder could be determined for this user; pass --data-dir or set CIRCLES_DATA_DIR")]
    NoDataDir,

    #[error("database schema upgrade failed: {0}")]
    Migration(String),

    /// A backup could not be written where asked.
    #[error("backup: {0}")]
    Backup(String),

    /// Something this store wrote earlier cannot be read back (a stored
    /// batch, guide or date): damage, or a bug, never a person's input.
    #[error("{0}")]
    Corrupt(String),

    /// The server sent something this version cannot use.
    #[error("{0}")]
    Protocol(String),

    #[error(transparent)]
    Schedule(#[from] ScheduleError),

    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),

    #[error("export failed: {0}")]
    Export(String),
}

impl CoreError {
    pub(crate) fn invalid(entity: &'static str, field: &'static str, rule: Rule, message: impl Into<String>) -> Self {
        CoreError::Invalid { entity, field, rule, message: message.into() }
    }

    pub(crate) fn not_found(entity: &'static str, id: impl Into<String>) -> Self {
        CoreError::NotFound { entity, id: id.into() }
    }

    /// The input field this error concerns, for front ends that show errors
    /// next to fields.
    /// The rule a refused value broke, for front ends that translate.
    pub fn rule(&self) -> Option<Rule> {
        match self {
            CoreError::Invalid { rule, .. } => Some(rule.clone()),
            CoreError::Schedule(e) => Some(e.rule()),
            _ => None,
        }
    }

    pub fn field(&self) -> Option<&'static str> {
        match self {
            CoreError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

// Schedule errors are defined beside the rules they enforce (`schedule` is
// pure and knows nothing of this module); their rule codes are given here.
impl ScheduleError {
    /// The rule this error is about, for front ends that translate.
    pub fn rule(&self) -> Rule {
        match self {
            ScheduleError::UnknownTimeZone(_) => Rule::TimeZone,
            ScheduleError::MeetingCountOutOfRange(_) => {
                Rule::MeetingCount { min: schedule::MIN_MEETINGS, max: schedule::MAX_MEETINGS }
            }
            ScheduleError::DurationOutOfRange(_) => {
                Rule::Duration { min: schedule::MIN_DURATION_MINUTES, max: schedule::MAX_DURATION_MINUTES }
            }
            ScheduleError::InvalidTime(_) => Rule::Time,
            ScheduleError::InvalidDate(_) | ScheduleError::DateOutOfRange(_) => Rule::Date,
            ScheduleError::InvalidWeekday(_) => Rule::Weekday,
        }
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;
