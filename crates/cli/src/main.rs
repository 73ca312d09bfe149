//! `circles`: the command-line front end over circles-core, for scripting,
//! support, tests and demos. It parses arguments, calls the same core
//! functions as the desktop app, and prints the result; every rule about the
//! data (validation, SQL, schedules) lives in core.

// Text and ids come from people and other laptops: slicing them by byte
// offsets panics on the first non-ASCII character, so it is not allowed.
#![deny(clippy::string_slice)]

#[macro_use]
mod output;
mod args;
mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use circles_core::schema::{TableDef, CIRCLES, COURSES, LEARNERS, MEETINGS};
use circles_core::{CoreError, Store};
use clap::Parser;

use crate::args::{Cli, Command};

/// What every command works with.
pub struct Ctx {
    pub store: Store,
    pub data_dir: PathBuf,
    /// Print JSON instead of tables and messages.
    pub json: bool,
}

impl Ctx {
    fn resolve(&self, table: &TableDef, given: &str) -> Result<String> {
        Ok(self.store.resolve_id(table, given)?)
    }
    pub fn course_id(&self, given: &str) -> Result<String> {
        self.resolve(&COURSES, given)
    }
    pub fn circle_id(&self, given: &str) -> Result<String> {
        self.resolve(&CIRCLES, given)
    }
    pub fn meeting_id(&self, given: &str) -> Result<String> {
        self.resolve(&MEETINGS, given)
    }
    pub fn learner_id(&self, given: &str) -> Result<String> {
        self.resolve(&LEARNERS, given)
    }
}

fn main() -> ExitCode {
    // Usage errors (unknown options, missing arguments) exit with clap's
    // code 2 here; everything after this point is a refused input: code 1.
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`circles ... | head`): there
        // is nobody left to tell, and nothing went wrong with the data.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            // Errors quote names and values, some of them from other laptops.
            output::write_stderr(&format!("error: {err:#}"));
            if let Some(hint) = hint(&err) {
                output::write_stderr(&format!("hint: {hint}"));
            }
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr and are off unless RUST_LOG asks for them, so stdout
/// stays clean for scripts.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn run(cli: Cli) -> Result<()> {
    // An empty CIRCLES_DATA_DIR means "not set", as core reads it.
    let explicit = cli.data_dir.filter(|dir| !dir.as_os_str().is_empty());
    let mut data_dir = circles_core::data_dir::resolve(explicit.as_deref())?;
    if let Command::Demo(args) = &cli.command {
        // Without a folder named, the demo goes to its own folder, never
        // into the person's real one.
        if explicit.is_none() {
            data_dir = circles_core::data_dir::demo_dir(&data_dir);
        }
        if args.reset {
            return commands::demo::reset(&data_dir, args, cli.json);
        }
    }
    // These examine, replace or set aside the database file itself, which
    // may be too damaged to open, and must not be held open.
    match &cli.command {
        Command::Check => return commands::check::check(&data_dir, cli.json),
        Command::Rebuild(args) => return commands::check::rebuild(&data_dir, args, cli.json),
        Command::Restore(args) => return commands::backup::restore(&data_dir, cli.json, args),
        _ => {}
    }
    tracing::debug!(data_dir = %data_dir.display(), "opening the store");
    let store = Store::open_in(&data_dir)?;
    let mut ctx = Ctx { store, data_dir, json: cli.json };
    match cli.command {
        Command::Course(command) => commands::course::run(&mut ctx, command),
        Command::Circle(command) => commands::circle::run(&mut ctx, command),
        Command::Schedule(command) => commands::meeting::run_schedule(&mut ctx, command),
        Command::Meeting(command) => commands::meeting::run(&mut ctx, command),
        Command::Message(command) => commands::message::run(&mut ctx, command),
        Command::Learner(command) => commands::learner::run(&mut ctx, command),
        Command::Attendance(command) => commands::attendance::run(&mut ctx, command),
        Command::Today(args) => commands::today::run(&ctx, args),
        Command::Export(command) => commands::export::run(&ctx, command),
        Command::Demo(args) => commands::demo::run(&mut ctx, args),
        Command::Info => commands::info::run(&ctx),
        Command::Login(args) => commands::sync::login(&mut ctx, args),
        Command::Logout => commands::sync::logout(&mut ctx),
        Command::RemoveData(args) => commands::sync::remove_data(ctx, args),
        Command::Sync => commands::sync::sync(&mut ctx),
        Command::Backup(args) => commands::backup::backup(&ctx, args),
        Command::Restore(_) => unreachable!("restored before the store is opened"),
        Command::Status => commands::sync::status(&ctx),
        Command::Conflicts(command) => commands::sync::conflicts(&mut ctx, command),
        Command::Team(command) => commands::team::run(&mut ctx, command),
        Command::Refused => commands::sync::refused(&ctx),
        Command::Password => commands::team::password(&ctx),
        Command::Guide(command) => commands::guide::run(&mut ctx, command),
        Command::Feedback(args) => commands::feedback::run(&mut ctx, args),
        Command::Wrapup(args) => commands::wrapup::run(&mut ctx, args),
        Command::Report(command) => commands::report::run(&ctx, command),
        Command::Check | Command::Rebuild(_) => unreachable!("handled before the store is opened"),
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// A next step for errors whose fix is a CLI option core cannot know about.
fn hint(err: &anyhow::Error) -> Option<&'static str> {
    match err.downcast_ref::<CoreError>()? {
        CoreError::Invalid { entity: "demo", field: "circles", .. } => Some(
            "run `circles demo --force` to add the demo beside the existing circles (nothing is removed; the \
             folder becomes a demo folder that never syncs), or `circles demo --reset` to start a demo folder afresh",
        ),
        CoreError::Invalid { entity: "demo", field: "account", .. } => Some(
            "run `circles demo` without --data-dir (and without CIRCLES_DATA_DIR): the demo gets a folder of its own",
        ),
        CoreError::DemoStore => Some(
            "this data folder holds the demo; use your own data folder (without --data-dir, or another one) to sign in",
        ),
        CoreError::StoreSound { .. } => Some("give --force to set it aside anyway"),
        CoreError::StoreKey(circles_core::KeyError::KeyLost { .. }) => Some(
            "set the file aside with `circles rebuild`, then sign in again to download your circles from the server",
        ),
        CoreError::Damaged { .. } | CoreError::NotADatabase { .. } => Some(
            "restore a backup with `circles restore`, or set the damaged file aside with `circles rebuild` \
             and sign in again to download your circles from the server (changes that were never synced stay \
             in the file set aside)",
        ),
        _ => None,
    }
}
