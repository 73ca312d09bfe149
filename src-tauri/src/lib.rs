//! circles-app: the Circles desktop shell.
//!
//! A thin layer: it finds the data folder, opens the local store from
//! `circles-core` and exposes a few commands to the UI in `ui/`. Every rule
//! (validation, SQL, schedules, merging) lives in the core, never here.
//!
//! If the store cannot be opened (a damaged file, a database written by a newer
//! version, a folder that cannot be created), the window still opens: the
//! commands answer with the error message and the UI shows it next to the data
//! folder path. Nothing is written to a store that failed to open.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use circles_core::{CircleSummary, Store};

/// What the command line asked for. Unknown arguments are ignored, because the
/// WebDriver host (WebKitWebDriver) adds its own (e.g. `--automation`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Args {
    pub data_dir: Option<PathBuf>,
    pub ignored: Vec<OsString>,
}

/// Parse `--data-dir DIR` / `--data-dir=DIR`.
pub fn parse_args<I>(args: I) -> Result<Args, String>
where
    I: IntoIterator<Item = OsString>,
{
    let mut out = Args::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--data-dir" {
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

/// State managed by Tauri: the data folder and the store, or why they are
/// unavailable. `Store` owns a SQLite connection (Send, not Sync): one mutex.
pub struct AppState {
    data_dir: Result<PathBuf, String>,
    store: Mutex<Result<Store, String>>,
}

impl AppState {
    /// Resolve and open. Never fails: a failure is kept and reported to the UI.
    pub fn open(data_dir: Result<PathBuf, String>) -> AppState {
        let store = match &data_dir {
            Ok(dir) => open_store(dir),
            Err(e) => Err(e.clone()),
        };
        AppState {
            data_dir,
            store: Mutex::new(store),
        }
    }

    pub fn data_dir(&self) -> Result<&Path, String> {
        self.data_dir.as_deref().map_err(Clone::clone)
    }

    /// Run `f` with the open store. If opening failed earlier, try once more
    /// first (the person may have moved a damaged file aside meanwhile).
    pub fn with_store<T>(&self, f: impl FnOnce(&Store) -> Result<T, String>) -> Result<T, String> {
        let mut slot = self.store.lock().map_err(|_| {
            "internal error: the store lock was poisoned; restart Circles".to_string()
        })?;
        if slot.is_err() {
            if let Ok(dir) = &self.data_dir {
                *slot = open_store(dir);
            }
        }
        match &*slot {
            Ok(store) => f(store),
            Err(e) => Err(e.clone()),
        }
    }

    pub fn list_circles(&self) -> Result<Vec<CircleSummary>, String> {
        self.with_store(|store| {
            store.list_circles().map_err(|e| {
                tracing::error!(error = %e, "listing circles failed");
                e.to_string()
            })
        })
    }
}

fn open_store(dir: &Path) -> Result<Store, String> {
    match Store::open_in(dir) {
        Ok(store) => {
            tracing::info!(data_dir = %dir.display(), "store opened");
            Ok(store)
        }
        Err(e) => {
            tracing::error!(data_dir = %dir.display(), error = %e, "cannot open the store");
            Err(e.to_string())
        }
    }
}

mod commands {
    use super::{AppState, CircleSummary};

    // Async commands run on Tauri's async runtime instead of the main (UI)
    // thread, so a slow query never freezes the window.

    /// All circles in the local store, for the circles list.
    #[tauri::command]
    pub async fn list_circles(
        state: tauri::State<'_, AppState>,
    ) -> Result<Vec<CircleSummary>, String> {
        state.list_circles()
    }

    /// The data folder in use, as text to show to a person.
    #[tauri::command]
    pub async fn data_dir(state: tauri::State<'_, AppState>) -> Result<String, String> {
        state.data_dir().map(|d| d.display().to_string())
    }
}

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
    let data_dir = resolve_data_dir(args);
    match &data_dir {
        Ok(dir) => tracing::info!(data_dir = %dir.display(), "starting Circles"),
        Err(e) => tracing::error!(error = %e, "no usable data folder"),
    }
    let state = AppState::open(data_dir);

    let result = tauri::Builder::default()
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            commands::list_circles,
            commands::data_dir
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

        let a = parse_args(os(&["--data-dir=/tmp/y"])).unwrap();
        assert_eq!(a.data_dir, Some(PathBuf::from("/tmp/y")));

        assert_eq!(parse_args(os(&[])).unwrap(), Args::default());
    }

    #[test]
    fn data_dir_without_a_folder_is_an_error_for_the_ui() {
        assert!(parse_args(os(&["--data-dir"])).is_err());
        assert!(parse_args(os(&["--data-dir="])).is_err());
        let state = AppState::open(resolve_data_dir(parse_args(os(&["--data-dir"]))));
        let err = state.list_circles().unwrap_err();
        assert!(err.contains("--data-dir"), "{err}");
        assert!(state.data_dir().is_err());
    }

    #[test]
    fn explicit_data_dir_wins() {
        let dir = tempfile::tempdir().unwrap();
        let got = resolve_data_dir(Ok(Args {
            data_dir: Some(dir.path().to_path_buf()),
            ignored: vec![],
        }))
        .unwrap();
        assert_eq!(got, dir.path());
    }

    #[test]
    fn a_new_folder_lists_no_circles() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("nested").join("data");
        let state = AppState::open(Ok(data.clone()));
        assert_eq!(state.list_circles().unwrap().len(), 0);
        assert_eq!(state.data_dir().unwrap(), data);
        assert!(data.join("circles.sqlite").is_file());
    }

    #[test]
    fn a_damaged_store_is_reported_untouched_and_recovers_once_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("circles.sqlite");
        let garbage: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        std::fs::write(&db, &garbage).unwrap();

        let state = AppState::open(Ok(dir.path().to_path_buf()));
        let err = state.list_circles().unwrap_err();
        assert!(
            err.contains("circles.sqlite"),
            "message names the file: {err}"
        );
        // Asking again retries and still refuses; the file is never written.
        assert!(state.list_circles().is_err());
        assert_eq!(std::fs::read(&db).unwrap(), garbage);

        std::fs::rename(&db, dir.path().join("circles.sqlite.damaged")).unwrap();
        assert_eq!(state.list_circles().unwrap().len(), 0);
    }
}
