//! `circles-server backup --out FILE`: an online copy of a SQLite server
//! database, consistent while the server serves and writes, written beside
//! FILE and renamed into place once it is complete and checked.

use std::path::{Path, PathBuf};

use super::{not_circles, OpsError, Partial};
use crate::storage::sqlite_file::{self, DatabaseFacts, Inspection};
use crate::Database;

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupReport {
    pub file: PathBuf,
    pub bytes: u64,
    pub facts: DatabaseFacts,
}

impl std::fmt::Display for BackupReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "backup written to {}: {} bytes, {} changes (last seq {}), {} users, schema version {}",
            self.file.display(),
            self.bytes,
            self.facts.changes,
            self.facts.last_seq,
            self.facts.users,
            self.facts.schema_version
        )
    }
}

/// Copy the database into `out` (replacing an existing file only with `force`).
pub fn backup(db: &Database, out: &Path, force: bool) -> Result<BackupReport, OpsError> {
    let source = match db {
        Database::Postgres(_) => return Err(OpsError::Postgres { command: "backup" }),
        Database::Sqlite(path) => path,
    };
    if !source.is_file() {
        return Err(OpsError::NoDatabase(source.clone()));
    }
    if out.is_dir() {
        return Err(OpsError::IsFolder(out.to_path_buf()));
    }
    if out.exists() && !force {
        return Err(OpsError::BackupExists(out.to_path_buf()));
    }
    let partial = Partial::beside(out)?;
    sqlite_file::backup(source, &partial.path)?;
    // The copy is checked, not the live database: what is kept is what was verified.
    let facts = match sqlite_file::inspect(&partial.path)? {
        Inspection::Circles(facts) => facts,
        other => return Err(OpsError::NotServerDatabase { file: source.clone(), why: not_circles(&other) }),
    };
    partial.finish(out)?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport { file: out.to_path_buf(), bytes, facts })
}
