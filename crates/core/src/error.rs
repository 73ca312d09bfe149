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
    /// A plain http:// server address on another computer: the password and
    /// learners' details would cross the network unencrypted. Signing in
    /// there needs the person's explicit yes.
    PlainHttp,
}

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A write was refused by validation; `field` is the input field a UI
    /// should put the message next to.
    #[error("{entity} {field}: {message}")]
    Invalid { entity: &'static str, field: &'static str, rule: Rule, message: String },

    #[error("no {entity} with id {id}")]
    NotFound { entity: &'static str, id: String },

    /// The learner was erased: their personal fields stay blank, so erasing
    /// again or editing them is refused and changes nothing. Code `learner_erased`.
    #[error("learner {id} was erased: their personal details are gone for good and cannot be erased again or edited")]
    LearnerErased { id: String },

    #[error(
        "{} was written by a newer version of Circles (schema version {found}, this version knows up to {supported}); \
         update Circles to open it. The file was not changed.",
        path.display()
    )]
    NewerDatabase { path: PathBuf, found: i64, supported: i64 },

    #[error(
        "{} is not a Circles database or is damaged ({reason}); the file was left untouched.",
        path.display()
    )]
    NotADatabase { path: PathBuf, reason: String },

    /// The store cannot be written: its folder or file is read-only (file
    /// permissions, a read-only disk or mount). Code `store_read_only`.
    #[error(
        "Circles cannot save to {}: the data folder or its database file is read-only. Make the folder and the \
         files in it writable for this user, or use another data folder. Nothing was changed.",
        where_(path)
    )]
    ReadOnly { path: Option<PathBuf> },

    /// The disk is full: SQLite could not write (or, in WAL mode, even
    /// start reading). Code `store_disk_full`.
    #[error(
        "the disk holding {} is full, so Circles can neither read nor save its data. Free some space on that \
         disk and try again.",
        where_(path)
    )]
    DiskFull { path: Option<PathBuf> },

    /// The store file is damaged: SQLite reported corruption, or
    /// `PRAGMA quick_check` (at open) or `integrity_check` (`circles check`)
    /// found problems. Code `store_damaged`.
    /// What a person can do about it depends on where they are (the CLI's
    /// commands, the app's buttons), so each edge adds its own way out.
    #[error("{} is damaged ({detail}).", where_(path))]
    Damaged { path: Option<PathBuf>, detail: String },

    /// Setting a store aside was asked for, but the full check finds it
    /// sound: it stays in place. Code `store_sound`.
    #[error("{}: the full integrity check finds the database sound, so it was left in place", path.display())]
    StoreSound { path: PathBuf },

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

    /// Any other SQLite failure; the faults of the store itself (read-only,
    /// disk full, damage) have their own variants (see `From<rusqlite::Error>`).
    #[error("database error: {0}")]
    Db(rusqlite::Error),

    #[error("export failed: {0}")]
    Export(String),

    /// Removing this computer's data was asked while changes made here have
    /// not reached the server. Code `changes_waiting`.
    #[error(
        "{count} change(s) made on this computer have not reached the server yet: sync first, or confirm that they \
         may be lost (nothing was removed)"
    )]
    ChangesWaiting { count: u64 },

    /// A file of the data folder could not be overwritten or deleted while
    /// removing this computer's data. Code `wipe_failed`.
    #[error("could not remove {}: {source}; run the removal again (what was removed stays removed)", path.display())]
    Wipe {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Signing in or syncing was asked of a store that holds the demo: its
    /// made-up learners must never reach a library's server. Code `demo_store`.
    /// The store's key could not be had, or did not open the store (store/key.rs):
    /// no keyring, a passphrase needed or wrong, a lost key. Code: the `KeyError`'s.
    #[error(transparent)]
    StoreKey(#[from] crate::store::key::KeyError),

    /// The app lock refused (store/app_lock.rs): input that cannot be a lock
    /// (`app_lock_invalid`), a wrong PIN (`app_lock_wrong`), a try during a
    /// wait (`app_lock_wait`), no lock set (`app_lock_not_set`).
    #[error(transparent)]
    AppLock(#[from] crate::store::app_lock::rules::AppLockError),

    #[error("This is the demo: it never syncs. Leave the demo to connect to your library's server.")]
    DemoStore,
}

/// The store's path in a message, or its folder in general words when the
/// failure came from a statement that does not know the path.
fn where_(path: &Option<PathBuf>) -> String {
    match path {
        Some(path) => path.display().to_string(),
        None => "the database in the data folder".to_string(),
    }
}

/// SQLite's own words for the store's faults become their variants, so a
/// full disk during a write or damage found by a query say what they are
/// wherever they happen; everything else stays a plain database error.
impl From<rusqlite::Error> for CoreError {
    fn from(e: rusqlite::Error) -> CoreError {
        use rusqlite::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::ReadOnly) => CoreError::ReadOnly { path: None },
            Some(ErrorCode::DiskFull) => CoreError::DiskFull { path: None },
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                CoreError::Damaged { path: None, detail: e.to_string() }
            }
            _ => CoreError::Db(e),
        }
    }
}

impl CoreError {
    /// A stable code for the store's own faults (`store_read_only`,
    /// `store_disk_full`, `store_damaged`, `store_not_a_database`), for
    /// front ends and scripts that act on the kind rather than the words.
    pub fn store_fault(&self) -> Option<&'static str> {
        match self {
            CoreError::ReadOnly { .. } => Some("store_read_only"),
            CoreError::DiskFull { .. } => Some("store_disk_full"),
            CoreError::Damaged { .. } => Some("store_damaged"),
            CoreError::NotADatabase { .. } => Some("store_not_a_database"),
            CoreError::StoreSound { .. } => Some("store_sound"),
            _ => None,
        }
    }

    /// A stable code for errors that front ends act on by kind: the store
    /// faults (`store_fault`) and `demo_store`.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            CoreError::DemoStore => Some("demo_store"),
            CoreError::LearnerErased { .. } => Some("learner_erased"),
            CoreError::ChangesWaiting { .. } => Some("changes_waiting"),
            CoreError::Wipe { .. } => Some("wipe_failed"),
            CoreError::StoreKey(e) => Some(e.code()),
            CoreError::AppLock(e) => Some(e.code()),
            other => other.store_fault(),
        }
    }

    /// The same fault, naming the store's file when the error did not know it.
    pub(crate) fn at_path(self, at: &std::path::Path) -> CoreError {
        match self {
            CoreError::ReadOnly { path: None } => CoreError::ReadOnly { path: Some(at.to_path_buf()) },
            CoreError::DiskFull { path: None } => CoreError::DiskFull { path: Some(at.to_path_buf()) },
            CoreError::Damaged { path: None, detail } => CoreError::Damaged { path: Some(at.to_path_buf()), detail },
            other => other,
        }
    }

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
