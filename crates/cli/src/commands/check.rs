//! `circles check` and `circles rebuild`: the database file itself. Both run
//! without opening the store for use, since a damaged one cannot be.

use std::path::Path;

use anyhow::{bail, Result};
use circles_core::{check_store, set_aside_damaged, CoreError, StoreCheck};
use clap::Args;

use crate::output::print_json;

#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// Set the database aside even though `circles check` finds it sound.
    #[arg(long)]
    pub force: bool,
}

/// Report SQLite's full integrity check; damage is an error (exit code 1)
/// so scripts can act on it.
pub fn check(data_dir: &Path, json: bool) -> Result<()> {
    let check = check_store(data_dir)?;
    if json {
        print_json(&check)?;
    } else if !check.exists {
        say!("{}: no database yet; nothing to check", check.path.display())?;
    } else if check.is_ok() {
        say!("{}: ok (integrity_check found no problems)", check.path.display())?;
    } else {
        say!("{}: {} problems found by integrity_check:", check.path.display(), check.problems.len())?;
        for problem in &check.problems {
            say!("  {problem}")?;
        }
    }
    if check.is_ok() {
        Ok(())
    } else {
        Err(damaged(&check).into())
    }
}

/// Move a damaged database aside; the next command starts an empty store,
/// which a sign-in and a sync fill from the server again.
pub fn rebuild(data_dir: &Path, args: &RebuildArgs, json: bool) -> Result<()> {
    let path = data_dir.join(circles_core::data_dir::DB_FILE);
    if !path.exists() {
        bail!("{}: there is no database to rebuild; sign in and sync to download your circles", path.display());
    }
    let aside = set_aside_damaged(data_dir, args.force)?;
    if json {
        return print_json(&serde_json::json!({ "set_aside": aside.folder, "problems": aside.problems }));
    }
    say!("Moved the database to {}.", aside.folder.display())?;
    say!("The next command starts an empty one. To download your circles from the server again:")?;
    say!("  circles login --server URL --email EMAIL")?;
    say!("  circles sync")?;
    say!("Changes this computer had not synced are only in the file set aside.")
}

/// The error `circles check` ends with: the first problem, and the way out.
fn damaged(check: &StoreCheck) -> CoreError {
    let more = check.problems.len().saturating_sub(1);
    let first = check.problems.first().cloned().unwrap_or_default();
    let detail = if more == 0 { first } else { format!("{first}; and {more} more problems") };
    CoreError::Damaged { path: Some(check.path.clone()), detail }
}
