//! circles-core: the domain, the offline store, change tracking and schedules.
//!
//! Everything a front end (CLI, desktop app, server) needs lives here, so that
//! validation, SQL and merge rules exist exactly once.

#[cfg(feature = "http")]
pub mod account;
pub mod attendance;
pub mod attendance_grid;
pub mod changes;
pub mod circle;
pub mod course;
pub mod data_dir;
pub mod demo;
pub mod error;
pub mod export;
pub mod feedback;
pub mod guide;
pub mod guide_templates;
pub mod hlc;
pub mod learner;
pub mod lookup;
pub mod meeting;
pub mod report;
pub mod report_pdf;
pub mod rows;
pub mod schedule;
pub mod schema;
pub mod settings;
pub mod store;
pub mod sync;
pub mod team;
pub mod validate;

pub use attendance::{AttendanceMark, Mark, RosterEntry};
pub use attendance_grid::{AttendanceGrid, GridMeeting, GridRow};
pub use circle::{Circle, CircleInput, CirclePhase, CircleStatus, CircleSummary, Venue};
pub use course::{Course, CourseFilter, CourseInput};
pub use feedback::{
    AwaitingFeedback, CircleOutcome, FeedbackForm, FeedbackInput, MeetingFeedback, ReflectionPrompt, WrapUp, WrapUpInput,
};
pub use guide::{CarriedNote, FacilitatorTemplate, GuideEdit, GuideSection, MeetingGuide};
pub use guide_templates::{GuideKind, GuideTemplate, TemplateError};
pub use error::{CoreError, Result};
pub use learner::{Learner, LearnerInput};
pub use meeting::{Meeting, MeetingStatus, UpcomingMeeting};
pub use report::{CircleReport, Figures, MarkCounts, TeamReport};
pub use schedule::WeeklyRule;
pub use settings::Settings;
pub use store::Store;
pub use team::{Facilitator, Team, TeamMember, TeamRole};
