//! `circles-server restore --from FILE`: a backup made by `backup` becomes
//! the configured SQLite database, only where there is no data to lose (no
//! database, or one without users or changes). The backup is copied beside
//! the target, checked there (integrity, a server database, a known schema
//! version) and renamed into place.

use std::path::{Path, PathBuf};

use super::{io, not_circles, OpsError, Partial};
use crate::storage::sqlite_file::{self, DatabaseFacts, Inspection};
use crate::Database;

/// What a restore put in place.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreReport {
    pub target: PathBuf,
    pub facts: DatabaseFacts,
}

impl std::fmt::Display for RestoreReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "restored into {}: {} changes (last seq {}), {} users, schema version {} \
             (migrated to the current one when the server starts)",
            self.target.display(),
            self.facts.changes,
            self.facts.last_seq,
            self.facts.users,
            self.facts.schema_version
        )
    }
}

fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut side = path.as_os_str().to_owned();
    side.push(suffix);
    PathBuf::from(side)
}

/// Refuse a target that holds anything (or is not a server database).
fn check_target_empty(target: &Path) -> Result<(), OpsError> {
    match sqlite_file::inspect(target)? {
        Inspection::Blank => Ok(()),
        Inspection::Circles(f) if f.users == 0 && f.changes == 0 => Ok(()),
        Inspection::Circles(f) => {
            Err(OpsError::NonEmpty { target: target.to_path_buf(), users: f.users, changes: f.changes })
        }
        other => Err(OpsError::NotServerDatabase { file: target.to_path_buf(), why: not_circles(&other) }),
    }
}

/// Restore `from` into the database `db` names.
pub fn restore(db: &Database, from: &Path) -> Result<RestoreReport, OpsError> {
    let target = match db {
        Database::Postgres(_) => return Err(OpsError::Postgres { command: "restore" }),
        Database::Sqlite(path) => path,
    };
    if !from.is_file() {
        return Err(OpsError::NoFile(from.to_path_buf()));
    }
    let exists = target.exists();
    if exists {
        check_target_empty(target)?;
    } else {
        let wal = side_file(target, "-wal");
        if wal.exists() {
            return Err(OpsError::StrayWal { wal, target: target.clone() });
        }
    }
    let partial = Partial::beside(target)?;
    std::fs::copy(from, &partial.path).map_err(io(format!(
        "cannot copy {} to {}",
        from.display(),
        partial.path.display()
    )))?;
    let facts = match sqlite_file::inspect(&partial.path)? {
        Inspection::Circles(facts) => facts,
        other => return Err(OpsError::NotABackup { file: from.to_path_buf(), why: not_circles(&other) }),
    };
    if exists {
        // An empty database may still have a WAL beside it, which would be
        // applied to the restored file: fold it in first (refused while a
        // server holds the database open).
        sqlite_file::make_self_contained(target)
            .map_err(|e| OpsError::InUse { file: target.clone(), reason: e.to_string() })?;
        check_target_empty(target)?;
    }
    partial.finish(target)?;
    Ok(RestoreReport { target: target.clone(), facts })
}
