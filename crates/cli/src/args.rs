//! The command line, as clap derive types. Values that core validates (dates,
//! times, zones, marks, emails...) are taken as text and handed to core, so
//! that a bad value is refused with core's message and exit code 1; clap only
//! refuses malformed command lines (exit code 2).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "circles",
    version,
    about = "Plan and run learning circles, offline: circles, schedules, learners, attendance",
    long_about = "Plan and run learning circles, offline.\n\n\
                  Every id can be given in full or as a unique prefix of at least 4 characters.\n\
                  Every listing prints a table, or JSON with --json.",
    after_help = "Set RUST_LOG=debug to see what the store does on stderr."
)]
pub struct Cli {
    /// The data folder holding circles.sqlite (default: the per-user data folder).
    #[arg(long, global = true, value_name = "DIR", env = "CIRCLES_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Print JSON instead of tables and messages.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The course catalogue.
    #[command(subcommand)]
    Course(CourseCommand),
    /// Circles: what they study, where and when they meet.
    #[command(subcommand)]
    Circle(CircleCommand),
    /// A circle's whole schedule.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Single meetings: add, move, cancel, notes, head counts.
    #[command(subcommand)]
    Meeting(MeetingCommand),
    /// What a circle's learners receive: write a message to all of them, list planned reminders,
    /// messages and what was sent.
    #[command(subcommand)]
    Message(crate::commands::message::MessageCommand),
    /// People signed up to a circle.
    #[command(subcommand)]
    Learner(LearnerCommand),
    /// Check learners in at a meeting.
    #[command(subcommand)]
    Attendance(AttendanceCommand),
    /// Each circle's meeting today (in its time zone), or its next one.
    Today(TodayArgs),
    /// Write a circle's record as JSON or its attendance as CSV.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Load a realistic demo (a library team, courses, five circles) into the demo's own folder
    /// (`<data folder>/demo`, or CIRCLES_DEMO_DIR), or into the --data-dir given if it is empty or
    /// already the demo. A demo folder never signs in or syncs.
    Demo(DemoArgs),
    /// The data folder, database, schema version, device id and counts.
    Info,
    /// Sign in to a sync server (the password is read from stdin or CIRCLES_PASSWORD).
    Login(LoginArgs),
    /// Sign out: forget the token here and revoke it on the server.
    Logout,
    /// For a shared computer: sign out and remove this data folder's Circles files (the store,
    /// its backups, the demo), each overwritten before it is deleted. Refused while changes made
    /// here have not reached the server, unless --discard-waiting-changes.
    RemoveData(RemoveDataArgs),
    /// Send local changes to the server and receive everyone else's.
    Sync,
    /// Write a consistent copy of the data to a file (the app may stay open).
    Backup(crate::commands::backup::BackupArgs),
    /// Put a backup in place of the data (the current data is kept aside next to it).
    Restore(crate::commands::backup::RestoreArgs),
    /// The account, changes waiting, conflicts and the last sync.
    Status,
    /// Teams: yours, and who is in them.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Change your password on the server (the current one, then the new one, each on a line of
    /// stdin, or CIRCLES_PASSWORD and CIRCLES_NEW_PASSWORD). Your other devices are signed out.
    Password,
    /// Your changes the server refused, or made to a circle you no longer have access to: kept
    /// here, never sent. Lists them (--json writes them all, to keep or send to an organizer).
    Refused,
    /// Edits that lost to a concurrent edit elsewhere: list and resolve them.
    #[command(subcommand)]
    Conflicts(ConflictCommand),
    /// Meeting guides: show, print a run sheet, edit sections, facilitator templates.
    #[command(subcommand)]
    Guide(crate::commands::guide::GuideCommand),
    /// After-meeting feedback: give it (`feedback MEETING --rating 4 ...`), or list what is pending.
    Feedback(crate::commands::feedback::FeedbackArgs),
    /// How a circle ended: completed (with your goal and course ratings) or did not happen.
    Wrapup(crate::commands::wrapup::WrapupArgs),
    /// Reports for a circle or a team, as a summary, CSV, JSON or PDF.
    #[command(subcommand)]
    Report(crate::commands::report::ReportCommand),
    /// Check the whole database file for damage (SQLite's integrity_check); exits 1 if damaged.
    Check,
    /// Set a damaged database aside and start an empty one; sign in and sync to download your circles again.
    Rebuild(crate::commands::check::RebuildArgs),
}

#[derive(Debug, Args)]
pub struct RemoveDataArgs {
    /// Confirm: this cannot be undone.
    #[arg(long)]
    pub yes: bool,
    /// Remove even though changes made here have not reached the server (they are lost).
    #[arg(long)]
    pub discard_waiting_changes: bool,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The server address, e.g. https://circles.example.org
    #[arg(long)]
    pub server: String,
    #[arg(long)]
    pub email: String,
    /// How this computer appears in your device list (default: its host name).
    #[arg(long)]
    pub device_name: Option<String>,
    /// Sign in over plain http:// to another computer anyway: the password
    /// and learners' details cross the network unencrypted. (http:// to
    /// this computer needs no flag.)
    #[arg(long)]
    pub allow_plain_http: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConflictCommand {
    /// Open conflicts (with --all, resolved ones too).
    List {
        #[arg(long)]
        all: bool,
    },
    /// Settle a conflict by keeping the value that won or bringing back yours.
    Resolve {
        id: String,
        #[arg(long, value_enum)]
        keep: KeepChoice,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum KeepChoice {
    /// Keep the value that won (the one every device shows now).
    Kept,
    /// Bring back your value, which lost.
    Mine,
}

// Boolean options are given as `--flag` (yes) or `--flag=no` (yes/no,
// true/false, on/off, 1/0), so that `edit` can set either value and leave the
// option alone when it is absent. `require_equals` keeps a following
// positional argument from being read as the option's value.

// ---------------------------------------------------------------------------
// Courses
// ---------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub enum CourseCommand {
    /// Add a course to the catalogue; prints its id.
    Create {
        #[arg(long)]
        title: String,
        #[command(flatten)]
        details: CourseDetails,
    },
    /// List courses (archived ones only with --archived).
    List {
        /// Words that must all appear in the title, provider, caption or topics.
        #[arg(long)]
        search: Option<String>,
        /// Only courses in this language (en, es, pt...).
        #[arg(long)]
        language: Option<String>,
        /// Include archived courses.
        #[arg(long)]
        archived: bool,
    },
    /// Show one course.
    Show { id: String },
    /// Change a course; only the options given change.
    Edit {
        id: String,
        #[arg(long)]
        title: Option<String>,
        #[command(flatten)]
        details: CourseDetails,
    },
    /// Delete a course no circle uses (archive it otherwise).
    Delete { id: String },
}

#[derive(Debug, Args)]
pub struct CourseDetails {
    #[arg(long)]
    pub provider: Option<String>,
    /// The course's web address (https://...).
    #[arg(long)]
    pub link: Option<String>,
    /// A one-line description.
    #[arg(long)]
    pub caption: Option<String>,
    /// Language code: en, es, pt, pt-BR...
    #[arg(long)]
    pub language: Option<String>,
    /// Topics, comma-separated ("python, programming"); replaces the list.
    #[arg(long, value_name = "TOPICS")]
    pub topics: Option<String>,
    #[arg(long)]
    pub license: Option<String>,
    /// How the course is delivered ("video course", "text"...).
    #[arg(long)]
    pub format: Option<String>,
    /// Archive the course (--archived=no brings it back).
    #[arg(long, value_name = "YES|NO", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub archived: Option<bool>,
}

// ---------------------------------------------------------------------------
// Circles
// ---------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub enum CircleCommand {
    /// Create a circle (and its weekly meetings with --first-date and --meetings); prints its id.
    Create(Box<CircleCreate>),
    /// List circles with their next meeting.
    List,
    /// Show a circle, its meetings and its learners.
    Show { id: String },
    /// Change a circle; only the options given change.
    Edit(Box<CircleEdit>),
    /// Delete a circle.
    Delete { id: String },
    /// Copy a circle for its next season: course, venue, time, zone, length, signup settings, team,
    /// guide template and facilitators, with new weekly meetings; no learners. Prints the new id.
    Copy(Box<CircleCopyArgs>),
    /// Who facilitates a circle: list, add or remove co-facilitators.
    #[command(subcommand)]
    Facilitator(CircleFacilitatorCommand),
}

#[derive(Debug, Args)]
pub struct CircleCopyArgs {
    /// The circle to copy (id or prefix).
    pub id: String,
    /// The new circle's name (default: the same name).
    #[arg(long)]
    pub name: Option<String>,
    /// First meeting date, YYYY-MM-DD (with --weekday: the first such weekday on or after it).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub first_date: String,
    /// How many weekly meetings (default: as many as the circle copied has).
    #[arg(long, value_name = "N")]
    pub meetings: Option<u32>,
    /// Meet on this weekday (monday, tue, 3...).
    #[arg(long)]
    pub weekday: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CircleFacilitatorCommand {
    /// The circle's facilitators.
    List { circle: String },
    /// Add a co-facilitator from the circle's team (by email, or id or prefix).
    Add { circle: String, facilitator: String },
    /// Remove a co-facilitator: after their next sync their computer no longer holds the circle.
    Remove { circle: String, facilitator: String },
}

#[derive(Debug, Args)]
pub struct CircleCreate {
    #[arg(long)]
    pub name: String,
    /// IANA time zone of the meeting times, e.g. America/Chicago.
    #[arg(long, value_name = "ZONE")]
    pub time_zone: String,
    /// Local start time, HH:MM (24-hour).
    #[arg(long, value_name = "HH:MM")]
    pub start_time: String,
    /// Meeting length in minutes.
    #[arg(long, value_name = "MINUTES")]
    pub duration: u32,
    /// First meeting date, YYYY-MM-DD (with --weekday: the first such weekday on or after it).
    #[arg(long, value_name = "YYYY-MM-DD", requires = "meetings")]
    pub first_date: Option<String>,
    /// How many weekly meetings to generate (1-52).
    #[arg(long, value_name = "N", requires = "first_date")]
    pub meetings: Option<u32>,
    /// Meet on this weekday (monday, tue, 3...): the first meeting is the first one on or after --first-date.
    #[arg(long, requires = "first_date")]
    pub weekday: Option<String>,
    /// The team the circle is on (name, or id or prefix; default: your team when you are in exactly one).
    #[arg(long, value_name = "TEAM", conflicts_with = "no_team")]
    pub team: Option<String>,
    /// Put the circle on no team.
    #[arg(long)]
    pub no_team: bool,
    #[command(flatten)]
    pub details: CircleDetails,
}

#[derive(Debug, Args)]
pub struct CircleEdit {
    pub id: String,
    #[arg(long)]
    pub name: Option<String>,
    /// IANA time zone of the meeting times, e.g. America/Chicago.
    #[arg(long, value_name = "ZONE")]
    pub time_zone: Option<String>,
    /// Default local start time for new meetings, HH:MM.
    #[arg(long, value_name = "HH:MM")]
    pub start_time: Option<String>,
    /// Meeting length in minutes.
    #[arg(long, value_name = "MINUTES")]
    pub duration: Option<u32>,
    /// Remove the circle's course.
    #[arg(long, conflicts_with = "course")]
    pub no_course: bool,
    /// Remove the signup limit.
    #[arg(long, conflicts_with = "signup_limit")]
    pub no_signup_limit: bool,
    /// Move the circle to one of your teams (name, or id or prefix).
    #[arg(long, value_name = "TEAM", conflicts_with = "no_team")]
    pub team: Option<String>,
    /// Take the circle off its team.
    #[arg(long)]
    pub no_team: bool,
    #[command(flatten)]
    pub details: CircleDetails,
}

#[derive(Debug, Args)]
pub struct CircleDetails {
    /// The course the circle studies (id or prefix).
    #[arg(long, value_name = "COURSE_ID")]
    pub course: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
    #[arg(long)]
    pub venue_name: Option<String>,
    #[arg(long)]
    pub venue_address: Option<String>,
    /// Room, floor, how to find it.
    #[arg(long)]
    pub venue_details: Option<String>,
    #[arg(long)]
    pub venue_website: Option<String>,
    #[arg(long)]
    pub city: Option<String>,
    #[arg(long)]
    pub region: Option<String>,
    #[arg(long)]
    pub country: Option<String>,
    #[arg(long, allow_negative_numbers = true)]
    pub latitude: Option<f64>,
    #[arg(long, allow_negative_numbers = true)]
    pub longitude: Option<f64>,
    /// The circle meets online (needs --meeting-link); --online=no for in person.
    #[arg(long, value_name = "YES|NO", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub online: Option<bool>,
    /// Video call address for an online circle.
    #[arg(long, value_name = "URL")]
    pub meeting_link: Option<String>,
    /// Language code: en, es, pt, pt-BR...
    #[arg(long)]
    pub language: Option<String>,
    /// Most learners who may sign up.
    #[arg(long, value_name = "N")]
    pub signup_limit: Option<u32>,
    /// How many hours before each meeting its reminder goes out to learners (0 = no reminders; default 48).
    #[arg(long, value_name = "HOURS")]
    pub reminder_hours: Option<u32>,
    /// Signup is open (--signup-open=no closes it).
    #[arg(long, value_name = "YES|NO", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub signup_open: Option<bool>,
    /// A question asked at signup.
    #[arg(long)]
    pub signup_question: Option<String>,
    /// Publish the circle (--publish=no makes it a draft again).
    #[arg(long, value_name = "YES|NO", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub publish: Option<bool>,
    /// Record that the circle did not happen.
    #[arg(long, value_name = "YES|NO", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub did_not_happen: Option<bool>,
}

// ---------------------------------------------------------------------------
// Schedules and meetings
// ---------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Generate weekly meetings for a circle that has none (or --replace its schedule).
    Generate {
        #[arg(long, value_name = "CIRCLE_ID")]
        circle: String,
        /// First meeting date, YYYY-MM-DD.
        #[arg(long, value_name = "YYYY-MM-DD")]
        first_date: String,
        /// How many weekly meetings (1-52).
        #[arg(long, value_name = "N")]
        meetings: u32,
        /// Meet on this weekday: the first meeting is the first one on or after --first-date.
        #[arg(long)]
        weekday: Option<String>,
        /// Remove the circle's meetings first (refused if any has attendance).
        #[arg(long)]
        replace: bool,
    },
    /// List a circle's meetings, cancelled ones included.
    List {
        #[arg(long, value_name = "CIRCLE_ID")]
        circle: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum MeetingCommand {
    /// Add one meeting to a circle; prints its id.
    Add {
        #[arg(long, value_name = "CIRCLE_ID")]
        circle: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: String,
        /// Local start time (default: the circle's).
        #[arg(long, value_name = "HH:MM")]
        time: Option<String>,
    },
    /// Move a meeting to another date and/or time (it keeps its attendance).
    Move {
        id: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: String,
        #[arg(long, value_name = "HH:MM")]
        time: Option<String>,
    },
    /// Cancel a meeting (kept in the schedule, marked cancelled).
    Cancel { id: String },
    /// Undo a cancellation.
    Restore { id: String },
    /// Remove a meeting that has no attendance.
    Remove { id: String },
    /// Record that a meeting took place.
    Held { id: String },
    /// Set a meeting's notes ("" clears them).
    Notes { id: String, text: String },
    /// Set the facilitator's words in a meeting's reminder to learners ("" removes them).
    ReminderMessage { id: String, text: String },
    /// Record how many people came, for circles that count rather than mark.
    HeadCount {
        id: String,
        #[arg(required_unless_present = "clear")]
        count: Option<u32>,
        /// Remove the head count.
        #[arg(long, conflicts_with = "count")]
        clear: bool,
    },
}

// ---------------------------------------------------------------------------
// Learners and attendance
// ---------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub enum LearnerCommand {
    /// Sign a learner up to a circle; prints their id.
    Add {
        #[arg(long, value_name = "CIRCLE_ID")]
        circle: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        details: LearnerDetails,
    },
    /// A circle's learners with their contact details.
    List {
        #[arg(long, value_name = "CIRCLE_ID")]
        circle: String,
    },
    /// Show one learner.
    Show { id: String },
    /// Change a learner; only the options given change.
    Edit {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        details: LearnerDetails,
    },
    /// Take a learner off the roster, keeping their attendance history.
    Withdraw {
        id: String,
        /// Put a withdrawn learner back on the roster.
        #[arg(long)]
        undo: bool,
    },
    /// Give a learner on the waitlist a place (the server fills freed places by itself).
    Admit { id: String },
    /// Delete a learner and their record.
    Delete { id: String },
    /// Everything this computer holds about a learner, as JSON (their data rights).
    Export {
        id: String,
        /// Write to this file instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Erase a learner at their request: name, email, mobile, goals, support
    /// needs and signup answer are blanked on every computer and purged from
    /// the server's history at the next sync; attendance counts stay.
    Erase {
        id: String,
        /// Confirm: the learner's details cannot be brought back.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct LearnerDetails {
    #[arg(long)]
    pub email: Option<String>,
    /// Mobile in international form, e.g. +13125550143 (spaces and dashes are fine).
    #[arg(long)]
    pub mobile: Option<String>,
    #[arg(long)]
    pub goals: Option<String>,
    #[arg(long)]
    pub support_needs: Option<String>,
    /// Their answer to the circle's signup question.
    #[arg(long)]
    pub answer: Option<String>,
    /// Agreed to be contacted about the circle (--consent=no withdraws it).
    #[arg(long, value_name = "YES|NO", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub consent: Option<bool>,
    /// Joined on the night rather than through signup.
    #[arg(long, value_name = "YES|NO", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub walk_in: Option<bool>,
    /// No reminder emails.
    #[arg(long, value_name = "YES|NO", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub email_opt_out: Option<bool>,
    /// No reminder text messages.
    #[arg(long, value_name = "YES|NO", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub sms_opt_out: Option<bool>,
}

#[derive(Debug, Subcommand)]
pub enum AttendanceCommand {
    /// Mark a learner at a meeting: present, late, excused or absent (p, l, e, a).
    Mark {
        #[arg(long, value_name = "MEETING_ID")]
        meeting: String,
        #[arg(long, value_name = "LEARNER_ID")]
        learner: String,
        #[arg(long)]
        mark: String,
    },
    /// Remove a learner's mark at a meeting.
    Clear {
        #[arg(long, value_name = "MEETING_ID")]
        meeting: String,
        #[arg(long, value_name = "LEARNER_ID")]
        learner: String,
    },
    /// Everyone on a meeting's roster with their mark.
    Roster {
        #[arg(long, value_name = "MEETING_ID")]
        meeting: String,
    },
}

// ---------------------------------------------------------------------------
// Today, exports, demo
// ---------------------------------------------------------------------------

#[derive(Debug, Args)]
pub struct TodayArgs {
    /// Show the day as of this instant instead of now (RFC 3339, e.g. 2026-03-10T17:00:00Z).
    #[arg(long, value_name = "INSTANT")]
    pub at: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// A circle's whole record as JSON.
    Circle {
        id: String,
        /// Write to this file instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// A circle's attendance as CSV, one row per learner per meeting.
    Attendance {
        id: String,
        /// Write to this file instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// The whole catalogue and every circle's record as JSON.
    All {
        /// Write to this file instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Place the demo's meetings around this date, YYYY-MM-DD, in every zone (default: today in each circle's zone).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub today: Option<String>,
    /// Add the demo even if the data folder already has circles (nothing is removed; the folder
    /// becomes a demo folder that never syncs). Never into a folder with an account.
    #[arg(long)]
    pub force: bool,
    /// Start the demo afresh: a demo folder's data is replaced by a freshly loaded demo
    /// (only a demo folder, or an empty one, is ever replaced).
    #[arg(long, conflicts_with_all = ["force", "today"])]
    pub reset: bool,
}

// ---------------------------------------------------------------------------
// Teams
// ---------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Your teams (all teams here when this computer has never signed in).
    List,
    /// A team's facilitators and their roles; signed in, from the server: when each last synced,
    /// and pending invitations (organizers).
    Members { team: String },
    /// Invite someone to the team by email (the server mails a link), or make a link to copy.
    Invite {
        team: String,
        /// Their email address.
        #[arg(required_unless_present = "link", conflicts_with = "link")]
        email: Option<String>,
        /// Make a join link to copy instead of sending an email.
        #[arg(long)]
        link: bool,
        /// Also co-facilitate this circle (id or prefix).
        #[arg(long, value_name = "CIRCLE")]
        circle: Option<String>,
        /// Invite them as an organizer.
        #[arg(long)]
        organizer: bool,
    },
    /// Send a pending invitation again with a new link (the old one stops working).
    Resend { team: String, invitation: String },
    /// Cancel a pending invitation.
    Cancel { team: String, invitation: String },
    /// Take someone out of the team (by email, or id or prefix).
    Remove { team: String, person: String },
    /// What the team tells people about their data beside the consent box of its circles' signup
    /// forms: a link or a short text ("" = the server's default sentence); organizers only. Syncs.
    PrivacyNotice { team: String, notice: String },
    /// Anonymize the learners of the team's circles N days after each circle ends (30 to 3650;
    /// the server does it every day, and laptops follow by sync); organizers only. Without
    /// options, shows the current setting.
    Retention {
        team: String,
        /// Days after a circle's last meeting (30 to 3650).
        #[arg(long, conflicts_with = "off")]
        days: Option<u32>,
        /// Keep learners until someone erases them by hand (the default).
        #[arg(long)]
        off: bool,
    },
    /// Make someone an organizer or a member.
    Role {
        team: String,
        person: String,
        #[arg(value_parser = ["organizer", "member"])]
        role: String,
    },
}
