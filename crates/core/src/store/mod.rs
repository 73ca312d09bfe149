//! Opening the local store: file checks, pragmas, migrations, device id.

pub mod backup;
pub mod changes;
pub mod data_dir;
pub mod erase;
pub mod first_run;
pub mod health;
pub mod hlc;
pub mod lookup;
pub mod meta;
pub mod rows;
pub mod wipe;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::{Migrations, M};

use crate::error::{CoreError, Result};
use crate::store::data_dir::DB_FILE;
use crate::store::hlc::Hlc;

/// Schema migrations, oldest first. Append only: a shipped migration never
/// changes, so any older database upgrades in place.
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../../migrations/0001_initial.sql")),
        M::up(include_str!("../../migrations/0002_sync.sql")),
        M::up(include_str!("../../migrations/0003_guides_reports.sql")),
        M::up(include_str!("../../migrations/0004_kept_aside.sql")),
        M::up(include_str!("../../migrations/0005_erased_learners.sql")),
        M::up(include_str!("../../migrations/0006_waitlist.sql")),
    ])
}

/// The schema version this build writes.
pub fn schema_version() -> i64 {
    6
}

/// The local store: one SQLite file per data folder, opened by one process
/// at a time in practice (WAL lets a reader such as the CLI run beside the app).
pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
    /// Changed only by `adopt_device_id` (sync/replica/push.rs).
    pub(crate) device_id: String,
}

impl Store {
    /// Open (creating if needed) `dir/circles.sqlite`.
    pub fn open_in(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|source| CoreError::DataDir { path: dir.to_path_buf(), source })?;
        Store::open(&dir.join(DB_FILE))
    }

    /// Open (creating if needed) the store at `path`. A file that is not a
    /// SQLite database, a damaged one (`PRAGMA quick_check`), or one written
    /// by a newer schema is refused before anything is written to it; a
    /// read-only folder or file and a full disk are refused with their own
    /// errors (`store::health`).
    pub fn open(path: &Path) -> Result<Store> {
        let fault = |e: rusqlite::Error| health::open_fault(path, e);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(fault)?;
        // The first read is what fails on a non-database file; nothing has
        // been written yet at this point, so the file stays as it was.
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(fault)?;
        health::refuse_read_only(&conn, path)?;
        health::quick_check(&conn, path)?;
        if found > schema_version() {
            return Err(CoreError::NewerDatabase { path: path.to_path_buf(), found, supported: schema_version() });
        }
        if found == 0 {
            // A non-empty file with version 0 that was not made by us (some
            // other application's SQLite database) must not be migrated into.
            let foreign_tables: i64 =
                conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).map_err(fault)?;
            if foreign_tables > 0 {
                return Err(CoreError::NotADatabase {
                    path: path.to_path_buf(),
                    reason: "it is a SQLite file holding another application's tables".into(),
                });
            }
        }
        conn.pragma_update(None, "journal_mode", "WAL").map_err(fault)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        if found > 0 && found < schema_version() {
            backup::before_migration(&conn, path, found)?;
        }
        let mut conn = conn;
        migrations().to_latest(&mut conn).map_err(|e| {
            let words = e.to_string();
            match e {
                // A full disk or a read-only file during an upgrade is that,
                // not a failed upgrade.
                rusqlite_migration::Error::RusqliteError { err, .. } => {
                    Some(fault(err)).filter(|f| f.store_fault().is_some()).unwrap_or(CoreError::Migration(words))
                }
                _ => CoreError::Migration(words),
            }
        })?;
        let device_id = ensure_device_id(&conn).map_err(|e| e.at_path(path))?;
        Ok(Store { conn, path: path.to_path_buf(), device_id })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The id of this replica, made once when the store is created.
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    pub(crate) fn meta(&self, key: meta::MetaKey) -> Result<Option<String>> {
        meta::get(&self.conn, key)
    }

    pub(crate) fn clock_offset_ms(&self) -> Result<i64> {
        meta::get_int(&self.conn, meta::SYNC_CLOCK_OFFSET)
    }

    pub(crate) fn last_hlc(&self) -> Result<Hlc> {
        Ok(self.meta(meta::HLC)?.and_then(|s| s.parse().ok()).unwrap_or(Hlc::ZERO))
    }
}

fn ensure_device_id(conn: &Connection) -> Result<String> {
    if let Some(id) = meta::get(conn, meta::DEVICE_ID)? {
        return Ok(id);
    }
    let id = uuid::Uuid::now_v7().to_string();
    meta::set(conn, meta::DEVICE_ID, &id)?;
    Ok(id)
}
