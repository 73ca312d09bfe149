//! circles-core: the domain, the offline store, change tracking and schedules.
//!
//! Everything a front end (CLI, desktop app, server) needs lives here, so that
//! validation, SQL and merge rules exist exactly once. The layers, bottom up
//! (ARCHITECTURE.md has the map):
//!
//! - `schema`, `error`: the synced tables and the typed errors, shared by all.
//! - `store/`: opening the SQLite file, the one write path with its change
//!   records, the outbox, the clock and the `meta` keys.
//! - `domain/`: one module per entity (validation, queries, writes), guides in
//!   their own folder; pure schedule and validation rules.
//! - `reports/`: figures computed from the store, CSV, JSON export, PDF.
//! - `sync/`: the protocol (wire types, merge rules), the replica's side of it,
//!   the engine and its HTTP transport.
//! - `demo`: the demo dataset, built through the public API.
//!
//! Modules are private: front ends use the items re-exported below.

// Text and ids come from people and other laptops: slicing them by byte
// offsets panics on the first non-ASCII character, so it is not allowed.
#![deny(clippy::string_slice)]

mod demo;
mod domain;
mod error;
mod reports;
pub mod schema;
mod store;
pub mod sync;

pub use demo::{open_demo, reset_demo, DemoMode, DemoSummary, FirstRun};
pub use domain::attendance::{AttendanceMark, Mark, MarkCounts, RosterEntry};
pub use domain::circle::{Circle, CircleInput, CircleStatus, Venue};
pub use domain::circle_list::{CirclePhase, CircleSummary};
pub use domain::course::{Course, CourseFilter, CourseInput};
pub use domain::feedback::{
    reflection_prompts, resolve_reflection_prompt, AwaitingFeedback, FeedbackForm, FeedbackInput, MeetingFeedback,
    ReflectionPrompt,
};
pub use domain::guide::{
    CarriedNote, FacilitatorTemplate, GuideEdit, GuideKind, GuideSection, GuideTemplate, MeetingGuide, TemplateError,
};
pub use domain::learner::{Learner, LearnerInput};
pub use domain::meeting::{Meeting, MeetingStatus, UpcomingMeeting};
pub use domain::messages::{CircleMessage, CircleMessages, Delivery, MeetingRsvp, PlannedReminder};
pub use domain::schedule::WeeklyRule;
pub use domain::settings::Settings;
pub use domain::team::{
    laptop_behind, team_member_id, Facilitator, LaptopBehind, LaptopCheck, Team, TeamMember, TeamRole,
    LAPTOP_STALE_DAYS,
};
pub use domain::wrap_up::{CircleOutcome, WrapUp, WrapUpInput};
pub use domain::{messages, schedule, validate, waitlist};
pub use error::{CoreError, Result, Rule};
pub use reports::attendance_grid::{AttendanceGrid, GridMeeting, GridRow};
pub use reports::export::file_safe;
pub use reports::learner_export::{LearnerExport, LEARNER_EXPORT_FORMAT_VERSION};
pub use reports::pdf::{
    circle_report_pdf, run_sheet_pdf, sign_in_sheet_pdf, team_report_pdf, Paper, PdfOptions, RunSheet, RunSheetOptions,
    SignInLine, SignInMeeting, SignInSheet, MIN_WALK_IN_ROWS,
};
pub use reports::{
    csv_text, write_circle_csv, write_team_csv, CancelledMeeting, CircleFigures, CircleInfo, CircleLine, CircleReport,
    Counting, Figures, MeetingFigures, MonthFigures, TeamReport, VenueFigures, WrapUpFigures,
};
pub use store::app_lock::rules::{
    AppLockError, LockKind, DEFAULT_IDLE_MINUTES, FREE_TRIES, MAX_IDLE_MINUTES, MAX_LOCK_PASSPHRASE_CHARS,
    MAX_PIN_DIGITS, MIN_IDLE_MINUTES, MIN_LOCK_PASSPHRASE_CHARS, MIN_PIN_DIGITS,
};
pub use store::app_lock::AppLock;
pub use store::backup::{newest_backup, restore_backup, restore_backup_with, BACKUPS_DIR};
pub use store::data_dir;
pub use store::erase::{files_holding, Purged};
pub use store::health::{check_store, set_aside_damaged, set_aside_store, SetAside, StoreCheck};
pub use store::hlc;
pub use store::key::{
    benchmark_key_source, open_store_file_for_tests, KeyError, KeySource, StoreKey, KEYRING_SERVICE, KEY_FILE,
    MIN_PASSPHRASE_CHARS, PASSPHRASE_ENV_VAR,
};
pub use store::lookup::StoreOverview;
pub use store::rows::value_to_json;
pub use store::{schema_version, Store};

/// For the fuzz targets in `fuzz/` only: the few parsers they feed arbitrary
/// input that the front ends reach only through private modules (the guide
/// template files are read inside `Store`). Not an API; hidden from docs.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::domain::guide::templates::parse_template;
}
