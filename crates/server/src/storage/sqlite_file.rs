//! A SQLite server database as a file: an online copy of it (SQLite's
//! backup API, one consistent snapshot while the server goes on writing),
//! what a file holds (a Circles server database? at which version? damaged?
//! empty?), and making a database one self-contained file. The decisions
//! (what may be overwritten, what is refused) are `ops/`'s.

use std::path::Path;
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::sqlite::SCHEMA_VERSION;
use super::{StorageError, StorageResult};

/// Tables every version of the server schema has; the app's own store has
/// `changes` but none of the others.
const SERVER_TABLES: &[&str] = &["users", "changes", "field_state", "seen_changes", "push_batches"];

/// What a file holds, as a backup or a restore cares.
#[derive(Debug, Clone, PartialEq)]
pub enum Inspection {
    /// Not a SQLite database (SQLite's words).
    NotSqlite(String),
    /// A SQLite database whose integrity check reports faults.
    Damaged(Vec<String>),
    /// A SQLite database that holds nothing at all.
    Blank,
    /// A SQLite database, but not a Circles server's: the tables it lacks.
    Foreign(Vec<String>),
    /// A Circles server database of a schema version this server does not know.
    UnknownVersion(i64),
    Circles(DatabaseFacts),
}

/// A Circles server database's version and size.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseFacts {
    pub schema_version: i64,
    pub users: i64,
    pub changes: i64,
    /// The log's last seq (0: empty).
    pub last_seq: i64,
}

/// Open a database that must exist (never creates one).
fn open_existing(path: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// What `PRAGMA integrity_check` reports, "ok" left out.
pub fn integrity_faults(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows.into_iter().filter(|r| r != "ok").collect())
}

/// Copy the database at `source` (which a server may be writing) into the
/// new, empty file `target`: every page from one read snapshot, so the copy
/// holds exactly the changes committed before it started; the copy is left
/// as one self-contained file (rollback journal, not WAL).
pub fn backup(source: &Path, target: &Path) -> StorageResult<()> {
    let src = open_existing(source)?;
    src.busy_timeout(Duration::from_secs(10))?;
    let mut dst = Connection::open(target)?;
    {
        let backup = Backup::new(&src, &mut dst)?;
        // -1: every page in one step, inside one read transaction of the
        // source (a copy in several steps would restart at each commit).
        loop {
            match backup.step(-1)? {
                StepResult::Done => break,
                StepResult::More => {}
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
    dst.pragma_update(None, "journal_mode", "DELETE")?;
    dst.close().map_err(|(_, e)| StorageError::from(e))?;
    Ok(())
}

/// What the SQLite file at `path` holds (it must exist). Runs its full
/// integrity check.
pub fn inspect(path: &Path) -> StorageResult<Inspection> {
    let conn = open_existing(path)?;
    let faults = match integrity_faults(&conn) {
        Err(rusqlite::Error::SqliteFailure(e, message)) if e.code == ErrorCode::NotADatabase => {
            return Ok(Inspection::NotSqlite(message.unwrap_or_else(|| e.to_string())));
        }
        other => other?,
    };
    if !faults.is_empty() {
        return Ok(Inspection::Damaged(faults));
    }
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    let tables = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    if tables.is_empty() {
        return Ok(Inspection::Blank);
    }
    let missing: Vec<String> =
        SERVER_TABLES.iter().filter(|t| !tables.iter().any(|n| n == *t)).map(|t| t.to_string()).collect();
    if !missing.is_empty() {
        return Ok(Inspection::Foreign(missing));
    }
    let schema_version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if !(1..=SCHEMA_VERSION).contains(&schema_version) {
        return Ok(Inspection::UnknownVersion(schema_version));
    }
    let (users, changes, last_seq) = conn.query_row(
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM changes), (SELECT coalesce(max(seq), 0) FROM changes)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok(Inspection::Circles(DatabaseFacts { schema_version, users, changes, last_seq }))
}

/// Make the database at `path` one self-contained file (its WAL copied
/// back and removed), so that the file can be replaced. Fails with "database
/// is locked" while another connection (a running server) has it open.
pub fn make_self_contained(path: &Path) -> StorageResult<()> {
    let conn = open_existing(path)?;
    conn.busy_timeout(Duration::from_millis(500))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(StorageError::Database(format!("the database stays in {mode} mode: is a server using it?")));
    }
    conn.close().map_err(|(_, e)| StorageError::from(e))?;
    Ok(())
}
