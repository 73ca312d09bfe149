//! Where the local store lives: an explicit folder, else `CIRCLES_DATA_DIR`,
//! else the per-user data folder of the operating system.

use std::path::{Path, PathBuf};

use crate::error::{CoreError, Result};

pub const ENV_VAR: &str = "CIRCLES_DATA_DIR";
pub const DB_FILE: &str = "circles.sqlite";

pub fn resolve(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = std::env::var_os(ENV_VAR).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    // These names decide the folder (Linux: ~/.local/share/circles; macOS:
    // ~/Library/Application Support/org.P2PU.Circles; Windows:
    // %APPDATA%\P2PU\Circles\data), not the app's identifier in
    // tauri.conf.json. Never change them: people's existing data is there
    // (crates/cli/tests/data_folder.rs).
    directories::ProjectDirs::from("org", "P2PU", "Circles")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .ok_or(CoreError::NoDataDir)
}

/// Overrides where the demo lives (tests, packaging).
pub const DEMO_ENV_VAR: &str = "CIRCLES_DEMO_DIR";
/// The demo's folder inside a data folder.
pub const DEMO_SUBFOLDER: &str = "demo";

/// The demo's own folder for the data folder `real`: `CIRCLES_DEMO_DIR`, else
/// `real/demo`. A store of its own, so demo circles never sit beside real
/// ones (the real store is one file in `real`, which the demo never opens).
pub fn demo_dir(real: &Path) -> PathBuf {
    match std::env::var_os(DEMO_ENV_VAR).filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => real.join(DEMO_SUBFOLDER),
    }
}
