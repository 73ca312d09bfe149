//! The TypeScript declarations of every type crossing the bridge, generated
//! from the Rust types into `ui/src/lib/bindings.ts`, so the two cannot drift.
//!
//! `cargo test -p circles-app bindings` fails when the checked-in file is out
//! of date; `UPDATE_BINDINGS=1 cargo test -p circles-app bindings` rewrites it.

use ts_rs::{Config, TS};

macro_rules! declarations {
    ($cfg:expr; $($t:ty),* $(,)?) => {{
        let mut out = Vec::new();
        $( out.push(format!("export {}", <$t as TS>::decl($cfg))); )*
        out
    }};
}

fn generate() -> String {
    use circles_core::*;
    let cfg = Config::new().with_large_int("number");
    let decls = declarations!(&cfg;
        // core: circles, courses, schedule
        Circle, CircleInput, CircleStatus, CirclePhase, CircleSummary, Venue, WeeklyRule,
        Course, CourseInput,
        Meeting, MeetingStatus, UpcomingMeeting, schedule::LocalTimeResolution,
        // what learners receive
        CircleMessages, CircleMessage, PlannedReminder, Delivery, MeetingRsvp, messages::Channel,
        // learners and attendance
        Learner, LearnerInput, Mark, AttendanceMark, RosterEntry,
        AttendanceGrid, GridMeeting, GridRow,
        // guides, feedback, wrap-up
        MeetingGuide, GuideSection, GuideEdit, CarriedNote, GuideKind,
        FeedbackForm, FeedbackInput, MeetingFeedback, ReflectionPrompt, AwaitingFeedback,
        WrapUp, WrapUpInput, CircleOutcome,
        // reports
        CircleReport, CircleInfo, CircleFigures, MeetingFigures, CancelledMeeting,
        WrapUpFigures, Counting, MarkCounts,
        TeamReport, LaptopCheck, LaptopBehind, Team, Figures, MonthFigures, VenueFigures, CircleLine,
        Facilitator, sync::status::RefusedLocalChange,
        Settings, FirstRun, AppLock, LockKind,
        // the app's own
        Rule,
        crate::error::UiError, crate::error::UiErrorKind,
        crate::sync_worker::SyncView, crate::sync_worker::SyncActivity, crate::sync_worker::SyncProgress,
        crate::sync_worker::KeptAsideView, sync::status::KeptAsideKind,
        crate::commands::circles::CircleDetail, crate::commands::circles::TeamChoice,
        crate::commands::circles::CircleFacilitators,
        crate::commands::teams::TeamOverview, crate::commands::teams::TeamCircle,
        TeamMember, TeamRole, sync::wire::TeamMembers, sync::wire::Member, sync::wire::Invitation,
        sync::team_admin::TeamOnline,
        crate::commands::attendance::RosterView,
        crate::commands::sync::ConflictView, crate::commands::sync::UpdateNotice,
        crate::commands::sync::RemovedView,
        crate::commands::app_lock::AppLockStatus, crate::commands::app_lock::AppLockLimits,
    );
    let mut text = String::from(
        "// Generated from the Rust types by src-tauri/src/bindings.rs. Do not edit:\n\
         // run `UPDATE_BINDINGS=1 cargo test -p circles-app bindings` after changing them.\n\n",
    );
    for decl in decls {
        text.push_str(&decl);
        text.push_str("\n\n");
    }
    text.truncate(text.trim_end().len());
    text.push('\n');
    text
}

#[test]
fn bindings_are_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/bindings.ts");
    let generated = generate();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == generated,
        "ui/src/lib/bindings.ts is out of date with the Rust types; \
         run `UPDATE_BINDINGS=1 cargo test -p circles-app bindings` and commit the result"
    );
}
