//! `circles-server check`: the database engine's integrity check, then the
//! audits of what the server stored (seqs without gaps, field states equal
//! to the log, global rows' makers, account references), one line each.

use std::fmt;

use super::not_circles;
use crate::storage::sqlite_file::{self, Inspection};
use crate::storage::{Audit, Backend, StorageError};
use crate::{Database, PgStorage, SqliteStorage};

/// How many problems a line shows.
const SHOWN: usize = 5;

/// One check's outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Ok,
    /// Not run on this backend, and why.
    Skipped(String),
    Problems {
        count: i64,
        first: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckLine {
    pub name: &'static str,
    pub outcome: Outcome,
}

impl CheckLine {
    pub fn is_problem(&self) -> bool {
        matches!(self.outcome, Outcome::Problems { .. })
    }
}

impl fmt::Display for CheckLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<14} ", self.name)?;
        match &self.outcome {
            Outcome::Ok => write!(f, "ok"),
            Outcome::Skipped(why) => write!(f, "skipped: {why}"),
            Outcome::Problems { count, first } => {
                let noun = if *count == 1 { "problem" } else { "problems" };
                write!(f, "{count} {noun}: {}", first.join("; "))?;
                if *count > first.len() as i64 {
                    write!(f, "; ...")?;
                }
                Ok(())
            }
        }
    }
}

const AUDITS: &[(&str, Audit)] = &[
    ("log seqs", Audit::SeqGaps),
    ("field states", Audit::FieldStates),
    ("row creators", Audit::RowCreators),
    ("references", Audit::References),
];

/// Run every check on a backend; the audits read one snapshot.
pub fn check<B: Backend>(backend: &B) -> Result<Vec<CheckLine>, StorageError> {
    let integrity = match backend.integrity_check()? {
        None => Outcome::Skipped("PostgreSQL has no integrity check to run here (it checks pages as it reads)".into()),
        Some(faults) if faults.is_empty() => Outcome::Ok,
        Some(faults) => return Ok(damaged(faults)),
    };
    let mut lines = vec![CheckLine { name: "integrity", outcome: integrity }];
    backend.read(|tx| {
        for (name, audit) in AUDITS {
            let found = tx.audit(*audit, SHOWN)?;
            let outcome = if found.count == 0 {
                Outcome::Ok
            } else {
                Outcome::Problems { count: found.count, first: found.first }
            };
            lines.push(CheckLine { name, outcome });
        }
        Ok::<_, StorageError>(())
    })?;
    Ok(lines)
}

/// A damaged file's lines: what the integrity check found; the audits
/// are not run on it.
fn damaged(faults: Vec<String>) -> Vec<CheckLine> {
    let mut lines = vec![CheckLine {
        name: "integrity",
        outcome: Outcome::Problems { count: faults.len() as i64, first: faults.into_iter().take(SHOWN).collect() },
    }];
    for (name, _) in AUDITS {
        lines.push(CheckLine { name, outcome: Outcome::Skipped("the file is damaged".into()) });
    }
    lines
}

/// Open the database (a SQLite file must exist: check never creates one)
/// and check it.
pub fn check_database(db: &Database) -> anyhow::Result<Vec<CheckLine>> {
    Ok(match db {
        Database::Sqlite(path) => {
            if !path.is_file() {
                anyhow::bail!("there is no server database at {}", path.display());
            }
            // Never migrate (write into) a file that is not a server database.
            match sqlite_file::inspect(path)? {
                Inspection::Circles(_) => check(SqliteStorage::open(path)?.backend())?,
                Inspection::Damaged(faults) => damaged(faults),
                other => anyhow::bail!("{} is not a Circles server database: {}", path.display(), not_circles(&other)),
            }
        }
        Database::Postgres(url) => check(PgStorage::open(url)?.backend())?,
    })
}
