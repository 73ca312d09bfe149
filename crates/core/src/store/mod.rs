//! Opening the local store: file checks, pragmas, migrations, device id.

pub mod app_lock;
pub mod backup;
pub mod changes;
pub mod data_dir;
pub mod encrypt;
pub mod erase;
pub mod first_run;
pub mod health;
pub mod hlc;
pub mod key;
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
use crate::store::key::{KeyError, KeySource, Origin, StoreKey};

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
        M::up(include_str!("../../migrations/0007_retention.sql")),
        M::up(include_str!("../../migrations/0008_learner_messages.sql")),
    ])
}

/// The schema version this build writes.
pub fn schema_version() -> i64 {
    8
}

/// The local store: one SQLite file per data folder, opened by one process
/// at a time in practice (WAL lets a reader such as the CLI run beside the app).
pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
    /// Changed only by `adopt_device_id` (sync/replica/push.rs).
    pub(crate) device_id: String,
    /// The key every connection to this store (and its backups) is opened with.
    pub(crate) key: StoreKey,
}

impl Store {
    /// Open (creating if needed) `dir/circles.sqlite`, encrypted with the
    /// key `KeySource::from_env` gives (the keyring, or `CIRCLES_PASSPHRASE`).
    pub fn open_in(dir: &Path) -> Result<Store> {
        Store::open_in_with(dir, &KeySource::from_env())
    }

    /// Open (creating if needed) `dir/circles.sqlite`, encrypted with the key
    /// from `source`; a plain store (from before encryption) is encrypted in
    /// place first (store/encrypt.rs). A key that does not open the store is
    /// refused as what it is (a wrong passphrase, a key the keyring lost) and
    /// changes nothing.
    pub fn open_in_with(dir: &Path, source: &KeySource) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|source| CoreError::DataDir { path: dir.to_path_buf(), source })?;
        let db = dir.join(DB_FILE);
        let (key, origin) = key::folder_key(dir, &db, source)?;
        let store = Store::open_keyed(&db, key, origin)?;
        key::remember(dir, &store.key);
        Ok(store)
    }

    /// Open (creating if needed) the store at `path`, encrypted with the key
    /// of its folder (as `open_in`). A file that is not a
    /// SQLite database, a damaged one (`PRAGMA quick_check`), or one written
    /// by a newer schema is refused before anything is written to it; a
    /// read-only folder or file and a full disk are refused with their own
    /// errors (`store::health`).
    pub(crate) fn open_keyed(path: &Path, key: StoreKey, origin: Origin) -> Result<Store> {
        if key::file_state(path) == key::FileState::Plain && !key.is_plain() {
            // Another application's plain database is refused below, unconverted.
            if !is_foreign_plain(path) {
                encrypt::encrypt_in_place(path, &key)?;
                // The automatic backups the plain store made get the same
                // treatment, each converted and verified the same way.
                if let Some(dir) = path.parent() {
                    for copy in backup::automatic_backups(&dir.join(backup::BACKUPS_DIR))? {
                        if key::file_state(&copy) == key::FileState::Plain {
                            encrypt::encrypt_in_place(&copy, &key)?;
                        }
                    }
                }
            }
        }
        let fault = |e: rusqlite::Error| health::open_fault(path, e);
        let conn = key::open_keyed(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            &key,
        )
        .map_err(fault)?;
        // The first read is what fails on a non-database file or a wrong
        // key; nothing has been written yet, so the file stays as it was.
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| {
            match (e.sqlite_error_code(), origin, key::file_state(path)) {
                (Some(rusqlite::ErrorCode::NotADatabase), Origin::Passphrase, key::FileState::Other) => {
                    KeyError::WrongPassphrase { folder: path.parent().unwrap_or(path).to_path_buf() }.into()
                }
                (Some(rusqlite::ErrorCode::NotADatabase), Origin::Keyring, key::FileState::Other) => {
                    KeyError::KeyLost { path: path.to_path_buf() }.into()
                }
                _ => fault(e),
            }
        })?;
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
        Ok(Store { conn, path: path.to_path_buf(), device_id, key })
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

/// A plain SQLite file holding tables but no Circles schema version:
/// another application's database, which is refused, never converted.
fn is_foreign_plain(path: &Path) -> bool {
    key::open_plain(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|conn| {
            let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
            Ok(version == 0 && tables > 0)
        })
        .unwrap_or(false)
}

fn ensure_device_id(conn: &Connection) -> Result<String> {
    if let Some(id) = meta::get(conn, meta::DEVICE_ID)? {
        return Ok(id);
    }
    let id = uuid::Uuid::now_v7().to_string();
    meta::set(conn, meta::DEVICE_ID, &id)?;
    Ok(id)
}
