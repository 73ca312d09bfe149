//! circles-app: the Circles desktop shell.
//!
//! A thin layer: it finds the data folder, opens the local store from
//! `circles-core`, runs the background sync, and exposes the core's functions
//! to the UI in `ui/` as commands (`commands/`). Every rule (validation, SQL,
//! schedules, merging) lives in the core, never here.

// Text and ids come from people and other laptops: slicing them by byte
// offsets panics on the first non-ASCII character, so it is not allowed.
#![deny(clippy::string_slice)]

use std::ffi::OsString;
use std::path::PathBuf;

/// What the command line asked for. Unknown arguments are ignored, because the
/// WebDriver host (WebKitWebDriver) adds its own (e.g. `--automation`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Args {
    pub data_dir: Option<PathBuf>,
    /// `--demo`: open the demo's own folder of the data folder (loading the
    /// demo there if it is empty), as scripts/run-app.sh does.
    pub demo: bool,
    pub ignored: Vec<OsString>,
}

/// Parse `--data-dir DIR` / `--data-dir=DIR` and `--demo`.
pub fn parse_args<I>(args: I) -> Result<Args, String>
where
    I: IntoIterator<Item = OsString>,
{
    let mut out = Args::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--demo" {
            out.demo = true;
        } else if arg == "--data-dir" {
            match args.next() {
                Some(dir) if !dir.is_empty() => out.data_dir = Some(PathBuf::from(dir)),
                _ => return Err("--data-dir needs a folder, e.g. --data-dir ~/circles-data".into()),
            }
        } else if let Some(dir) = arg.to_str().and_then(|s| s.strip_prefix("--data-dir=")) {
            if dir.is_empty() {
                return Err("--data-dir needs a folder, e.g. --data-dir=~/circles-data".into());
            }
            out.data_dir = Some(PathBuf::from(dir));
        } else {
            out.ignored.push(arg);
        }
    }
    Ok(out)
}

/// The data folder: `--data-dir`, else `CIRCLES_DATA_DIR`, else the per-user
/// folder (all but the first decided by `circles_core::data_dir::resolve`).
pub fn resolve_data_dir(args: Result<Args, String>) -> Result<PathBuf, String> {
    let args = args?;
    circles_core::data_dir::resolve(args.data_dir.as_deref()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod bindings;
pub mod commands;
pub mod error;
pub mod state;
pub mod sync_worker;

pub use state::AppState;

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // try_init: a second call (tests) is harmless.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Start the desktop app (the `circles-app` binary).
pub fn run() {
    init_tracing();
    let args = parse_args(std::env::args_os().skip(1));
    if let Ok(a) = &args {
        if !a.ignored.is_empty() {
            tracing::debug!(ignored = ?a.ignored, "ignoring unknown arguments");
        }
    }
    let demo = args.as_ref().is_ok_and(|a| a.demo);
    let data_dir = resolve_data_dir(args);
    match &data_dir {
        Ok(dir) => tracing::info!(data_dir = %dir.display(), demo, "starting Circles"),
        Err(e) => tracing::error!(error = %e, "no usable data folder"),
    }
    let state = if demo { AppState::open_demo(data_dir) } else { AppState::open(data_dir) };

    let result = tauri::Builder::default()
        .manage(state)
        .setup(|app| {
            use tauri::Manager;
            app.state::<AppState>().sync.start(app.handle().clone());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::circles::list_circles,
            commands::circles::today,
            commands::circles::circle_detail,
            commands::circles::create_circle,
            commands::circles::update_circle,
            commands::circles::team_choice,
            commands::circles::circle_facilitators,
            commands::circles::add_circle_facilitator,
            commands::circles::remove_circle_facilitator,
            commands::circles::copy_circle,
            commands::meetings::generate_schedule,
            commands::meetings::add_meeting,
            commands::meetings::move_meeting,
            commands::meetings::set_meeting_cancelled,
            commands::meetings::remove_meeting,
            commands::messages::circle_messages,
            commands::messages::send_circle_message,
            commands::messages::set_reminder_message,
            commands::attendance::roster,
            commands::attendance::set_mark,
            commands::attendance::add_walk_in,
            commands::attendance::set_head_count,
            commands::learners::learners,
            commands::learners::add_learner,
            commands::learners::update_learner,
            commands::learners::set_learner_withdrawn,
            commands::learners::admit_learner,
            commands::learners::save_learner_export,
            commands::learners::erase_learner,
            commands::courses::courses,
            commands::courses::create_course,
            commands::courses::update_course,
            commands::guides::guide,
            commands::guides::edit_guide,
            commands::guides::reset_guide,
            commands::guides::save_run_sheet,
            commands::guides::save_sign_in_sheet,
            commands::guides::save_guide_as_template,
            commands::feedback::awaiting_feedback,
            commands::feedback::feedback_form,
            commands::feedback::save_feedback,
            commands::feedback::save_wrap_up,
            commands::reports::circle_report,
            commands::reports::teams,
            commands::reports::team_report,
            commands::reports::export_team_report,
            commands::reports::export_circle_report,
            commands::settings::settings,
            commands::settings::save_settings,
            commands::settings::data_dir,
            commands::settings::newest_backup,
            commands::settings::restore_newest_backup,
            commands::settings::set_aside_damaged_store,
            commands::settings::unlock_store,
            commands::settings::export_everything,
            commands::first_run::first_run,
            commands::first_run::start_offline,
            commands::first_run::enter_demo,
            commands::first_run::leave_demo,
            commands::first_run::reset_demo,
            commands::sync::newer_release,
            commands::sync::check_server,
            commands::sync::sync_state,
            commands::sync::sync_now,
            commands::sync::sign_in,
            commands::sync::sign_out,
            commands::sync::remove_computer_data,
            commands::sync::conflicts,
            commands::sync::resolve_conflict,
            commands::sync::refused_changes,
            commands::sync::export_refused_changes,
            commands::teams::my_team_overviews,
            commands::teams::team_online,
            commands::teams::invite_to_team,
            commands::teams::resend_invitation,
            commands::teams::cancel_invitation,
            commands::teams::remove_team_member,
            commands::teams::set_team_member_role,
            commands::teams::set_team_retention,
            commands::teams::set_team_privacy_notice,
            commands::teams::change_password,
            commands::app_lock::app_lock_status,
            commands::app_lock::set_app_lock,
            commands::app_lock::set_app_lock_idle,
            commands::app_lock::remove_app_lock,
            commands::app_lock::lock_app,
            commands::app_lock::unlock_app
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!(error = %e, "the window could not be started");
        eprintln!("circles-app: the window could not be started: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn parses_data_dir_in_both_spellings_and_ignores_the_rest() {
        let a = parse_args(os(&["--automation", "--data-dir", "/tmp/x"])).unwrap();
        assert_eq!(a.data_dir, Some(PathBuf::from("/tmp/x")));
        assert_eq!(a.ignored, os(&["--automation"]));

        let a = parse_args(os(&["--data-dir=/tmp/y", "--demo"])).unwrap();
        assert_eq!(a.data_dir, Some(PathBuf::from("/tmp/y")));
        assert!(a.demo);

        assert_eq!(parse_args(os(&[])).unwrap(), Args::default());
    }

    #[test]
    fn data_dir_without_a_folder_is_an_error_for_the_ui() {
        assert!(parse_args(os(&["--data-dir"])).is_err());
        assert!(parse_args(os(&["--data-dir="])).is_err());
        let state = AppState::open(resolve_data_dir(parse_args(os(&["--data-dir"]))));
        let err = state.read(|s| s.list_circles()).unwrap_err();
        assert!(err.message.contains("--data-dir"), "{err:?}");
        assert!(state.data_dir().is_err());
    }

    #[test]
    fn explicit_data_dir_wins() {
        let dir = tempfile::tempdir().unwrap();
        let got = resolve_data_dir(Ok(Args { data_dir: Some(dir.path().to_path_buf()), demo: false, ignored: vec![] }))
            .unwrap();
        assert_eq!(got, dir.path());
    }

    #[test]
    fn a_new_folder_lists_no_circles() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("nested").join("data");
        let state = AppState::open(Ok(data.clone()));
        assert_eq!(state.read(|s| s.list_circles()).unwrap().len(), 0);
        assert_eq!(state.data_dir().unwrap(), data);
        assert!(data.join("circles.sqlite").is_file());
    }

    #[test]
    fn a_damaged_store_is_reported_untouched_and_recovers_once_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("circles.sqlite");
        let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        std::fs::write(&db, &garbage).unwrap();

        let state = AppState::open(Ok(dir.path().to_path_buf()));
        let err = state.read(|s| s.list_circles()).unwrap_err();
        assert!(err.message.contains("circles.sqlite"), "message names the file: {err:?}");
        // Asking again retries and still refuses; the file is never written.
        assert!(state.read(|s| s.list_circles()).is_err());
        assert_eq!(std::fs::read(&db).unwrap(), garbage);

        std::fs::rename(&db, dir.path().join("circles.sqlite.damaged")).unwrap();
        assert_eq!(state.read(|s| s.list_circles()).unwrap().len(), 0);
    }

    #[test]
    fn the_demo_is_entered_reset_and_left_without_touching_the_real_folder() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        let state = AppState::open(Ok(real.clone()));
        assert!(state.read(|s| s.first_run()).unwrap().welcome);
        let now = chrono::Utc::now();

        let demo = circles_core::data_dir::demo_dir(&real);
        state.switch_to(demo.clone(), |d| circles_core::open_demo(d, now)).unwrap();
        assert_eq!(state.data_dir().unwrap(), demo);
        assert!(state.read(|s| s.first_run()).unwrap().demo);
        assert_eq!(state.read(|s| s.list_circles()).unwrap().len(), 5);
        state.edit(|s| s.create_circle(&circles_core::CircleInput::new("Extra", "UTC", "18:00", 60), None)).unwrap();
        state.switch_to(demo.clone(), |d| circles_core::reset_demo(d, now)).unwrap();
        assert_eq!(state.read(|s| s.list_circles()).unwrap().len(), 5, "reset afresh");

        state.switch_to(state.real_dir().unwrap(), circles_core::Store::open_in).unwrap();
        assert_eq!(state.data_dir().unwrap(), real);
        assert_eq!(state.read(|s| s.list_circles()).unwrap().len(), 0, "no demo circle in the real folder");
        assert!(!state.read(|s| s.is_demo()).unwrap());

        // A reset is refused outside the demo, and the folder in use stays.
        let err = state.switch_to(real.clone(), |d| circles_core::reset_demo(d, now)).unwrap_err();
        assert!(err.message.contains("does not hold the demo"), "{err:?}");
        assert_eq!(state.data_dir().unwrap(), real);
        assert_eq!(state.read(|s| s.list_circles()).unwrap().len(), 0);

        // Started with --demo: the demo's folder, and the real one to go back to.
        let state = AppState::open_demo(Ok(real.clone()));
        assert_eq!(state.data_dir().unwrap(), demo);
        assert_eq!(state.real_dir().unwrap(), real);
        assert!(state.read(|s| s.is_demo()).unwrap());
    }

    /// The app lock: a store with a lock opens locked, every read and write
    /// is refused with `app_locked` until the right PIN, "Lock now" locks
    /// again, and removing this computer's data is the way out of a
    /// forgotten PIN.
    #[test]
    fn a_locked_window_refuses_the_store_until_unlocked() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let state = AppState::open(Ok(data.clone()));
        assert!(!state.is_locked());
        state.lock().unwrap_err();
        assert!(!state.is_locked(), "no lock set: Lock now changes nothing");
        state.edit(|s| s.set_app_lock(None, circles_core::LockKind::Pin, "2580", 5, chrono::Utc::now())).unwrap();
        state.edit(|s| s.create_circle(&circles_core::CircleInput::new("Kept", "UTC", "18:00", 60), None)).unwrap();
        assert!(!state.is_locked(), "setting a lock does not lock the window");

        state.lock().unwrap();
        let refused = |e: error::UiError| {
            assert_eq!((e.kind, e.fault), (error::UiErrorKind::Lock, Some("app_locked")), "{e:?}");
        };
        refused(state.read(|s| s.list_circles()).unwrap_err());
        refused(state.edit(|s| s.finish_welcome()).unwrap_err());
        refused(state.restore_newest_backup().unwrap_err());
        refused(
            state
                .switch_to(circles_core::data_dir::demo_dir(&data), |d| circles_core::open_demo(d, chrono::Utc::now()))
                .unwrap_err(),
        );
        assert_eq!(state.data_dir().unwrap(), data, "the folder in use stays");

        let wrong = state.unlock("0000").unwrap_err();
        assert_eq!(wrong.fault, Some("app_lock_wrong"));
        assert!(state.is_locked());
        state.unlock("2580").unwrap();
        assert_eq!(state.read(|s| s.list_circles()).unwrap().len(), 1);

        // Opened again (a restart): locked from the start.
        drop(state);
        let state = AppState::open(Ok(data.clone()));
        assert!(state.is_locked());
        refused(state.read(|s| s.list_circles()).unwrap_err());
        // The forgotten PIN's way out, allowed while locked: refused while the
        // circle's changes wait (and still locked), done once they may be lost;
        // the new, empty store is not locked.
        let waiting = state.remove_computer_data(false).unwrap_err();
        assert_eq!(waiting.fault, Some("changes_waiting"), "{waiting:?}");
        assert!(state.is_locked());
        state.remove_computer_data(true).unwrap();
        assert!(!state.is_locked());
        assert_eq!(state.read(|s| s.list_circles()).unwrap().len(), 0);
    }

    #[test]
    fn the_demo_refuses_to_sign_in_as_a_demo_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = circles_core::open_demo(dir.path(), chrono::Utc::now()).unwrap();
        let err: error::UiError = circles_core::sync::account::sign_in(
            &mut store,
            "http://127.0.0.1:9",
            "a@example.org",
            "pw",
            "laptop",
            false,
        )
        .unwrap_err()
        .into();
        assert_eq!(err.kind, error::UiErrorKind::Demo);
        assert!(err.message.starts_with("This is the demo: it never syncs."), "{err:?}");
    }
}
