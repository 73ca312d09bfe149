//! Backups of the local store: a consistent copy of the live database
//! (`circles backup`), putting one back (`circles restore`), and the copies
//! kept automatically in the data folder's `backups/` (before a schema
//! migration, and once a day when a front end asks), the newest few kept.
//!
//! A restored store is an older copy of this replica: its batch numbers may
//! already be used on the server. Sync notices (`batch_conflict`) and takes a
//! new device identity by itself (`Store::adopt_device_id`), so restoring is
//! a normal path, not a way to get stuck.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::store::key::{self, Origin, StoreKey};

use crate::error::{CoreError, Result};
use crate::store::data_dir::DB_FILE;
use crate::store::{meta, schema_version, Store};

/// The data folder's subfolder of automatic backups.
pub const BACKUPS_DIR: &str = "backups";
/// How many automatic backups are kept (the oldest go first).
pub const KEEP_BACKUPS: usize = 7;
/// A daily backup is due when the newest automatic one is older than this.
const DAILY_SECS: u64 = 24 * 60 * 60;

impl Store {
    /// Write a consistent copy of the store to `out`, which must not exist
    /// (SQLite's `VACUUM INTO`: a snapshot, taken while the store stays usable).
    pub fn backup_to(&self, out: &Path) -> Result<()> {
        write_copy(&self.conn, out)
    }

    /// A daily automatic backup into the data folder's `backups/`, if the
    /// newest one there is older than a day (or there is none). Returns the
    /// file written, if any.
    pub fn backup_if_due(&self) -> Result<Option<PathBuf>> {
        let Some(dir) = self.path().parent() else { return Ok(None) };
        let backups = dir.join(BACKUPS_DIR);
        let newest = automatic_backups(&backups)?
            .last()
            .and_then(|p| std::fs::metadata(p).ok())
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok());
        if newest.is_some_and(|age| age.as_secs() < DAILY_SECS) {
            return Ok(None);
        }
        automatic_backup(&self.conn, dir, "daily").map(Some)
    }
}

/// Before migrating the store at `path` from `found` to this build's schema:
/// keep a copy of it as it was, in `backups/`.
pub(crate) fn before_migration(conn: &Connection, path: &Path, found: i64) -> Result<()> {
    let Some(dir) = path.parent() else { return Ok(()) };
    automatic_backup(conn, dir, &format!("before-migration-v{found}")).map(|_| ())
}

/// Put the backup `file` in place of the data folder's store. `file` must be
/// a Circles store this version can open (anything else is refused and
/// nothing changes); the current store is kept aside, next to it, until the
/// restored one has opened, and is returned. Nothing may have the store open.
pub fn restore_backup(data_dir: &Path, file: &Path) -> Result<Option<PathBuf>> {
    restore_backup_with(data_dir, file, &key::KeySource::from_env())
}

/// `restore_backup` with the data folder's key from `source`. A backup is
/// encrypted with the key of the store it was made from (`VACUUM INTO` from
/// the keyed store), so it restores where that key opens it: its own data
/// folder, or a folder given that key.
pub fn restore_backup_with(data_dir: &Path, file: &Path, source: &key::KeySource) -> Result<Option<PathBuf>> {
    std::fs::create_dir_all(data_dir).map_err(|source| CoreError::DataDir { path: data_dir.to_path_buf(), source })?;
    let db = data_dir.join(DB_FILE);
    let (key, _) = key::folder_key(data_dir, &db, source)?;
    check_backup(file, &key)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CoreError::DataDir { path, source }
    };
    // Open (and, if older, migrate) a copy first, so only a store that opens
    // ever replaces the current one.
    let staged = data_dir.join(format!("{DB_FILE}.restoring"));
    remove_with_sidecars(&staged).map_err(io(&staged))?;
    std::fs::copy(file, &staged).map_err(io(&staged))?;
    if let Err(e) = Store::open_keyed(&staged, key.clone(), Origin::Raw) {
        let _ = remove_with_sidecars(&staged);
        return Err(e);
    }
    let aside = if db.exists() {
        let aside = data_dir.join(format!("{DB_FILE}.before-restore-{}", timestamp()));
        move_with_sidecars(&db, &aside).map_err(io(&db))?;
        Some(aside)
    } else {
        None
    };
    move_with_sidecars(&staged, &db).map_err(io(&db))?;
    if let Err(e) = Store::open_keyed(&db, key, Origin::Raw) {
        // Put the previous store back.
        let _ = remove_with_sidecars(&db);
        if let Some(aside) = &aside {
            move_with_sidecars(aside, &db).map_err(io(&db))?;
        }
        return Err(e);
    }
    Ok(aside)
}

/// A file is a Circles store when SQLite reads it, its schema version is
/// one this build knows, and it has a device id. Read-only: a refused file
/// is left as it was.
fn check_backup(file: &Path, key: &StoreKey) -> Result<()> {
    let refuse = |reason: String| CoreError::NotADatabase { path: file.to_path_buf(), reason };
    if !file.is_file() {
        return Err(refuse("there is no such file".into()));
    }
    let conn = key::open_keyed(file, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX, key)
        .map_err(|e| refuse(e.to_string()))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| refuse(e.to_string()))?;
    if version > schema_version() {
        return Err(CoreError::NewerDatabase { path: file.to_path_buf(), found: version, supported: schema_version() });
    }
    let device = if version >= 1 { meta::get(&conn, meta::DEVICE_ID).ok().flatten() } else { None };
    if device.is_none() {
        return Err(refuse("it is not a Circles store (no schema version or device id)".into()));
    }
    Ok(())
}

fn write_copy(conn: &Connection, out: &Path) -> Result<()> {
    if out.exists() {
        return Err(CoreError::Backup(format!("{} already exists; name a new file", out.display())));
    }
    let Some(out_text) = out.to_str() else {
        return Err(CoreError::Backup(format!("{} is not a path SQLite can write to", out.display())));
    };
    conn.execute("VACUUM INTO ?1", [out_text])?;
    Ok(())
}

/// Write `backups/circles-<time>-<reason>.sqlite` and drop the oldest
/// automatic backups beyond `KEEP_BACKUPS`.
fn automatic_backup(conn: &Connection, data_dir: &Path, reason: &str) -> Result<PathBuf> {
    let backups = data_dir.join(BACKUPS_DIR);
    std::fs::create_dir_all(&backups).map_err(|source| CoreError::DataDir { path: backups.clone(), source })?;
    let out = backups.join(format!("circles-{}-{reason}.sqlite", timestamp()));
    write_copy(conn, &out)?;
    let all = automatic_backups(&backups)?;
    for old in &all[..all.len().saturating_sub(KEEP_BACKUPS)] {
        let _ = std::fs::remove_file(old);
    }
    Ok(out)
}

/// The newest automatic backup in `data_dir`'s `backups/` that this build
/// can restore, if any: the way back for a store that is damaged.
pub fn newest_backup(data_dir: &Path) -> Result<Option<PathBuf>> {
    let key = key::key_for_folder(data_dir)?;
    Ok(automatic_backups(&data_dir.join(BACKUPS_DIR))?.into_iter().rev().find(|file| check_backup(file, &key).is_ok()))
}

/// The automatic backups in `backups`, oldest first (their names start
/// with the time they were made).
pub(crate) fn automatic_backups(backups: &Path) -> Result<Vec<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(backups) else { return Ok(vec![]) };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("circles-") && n.ends_with(".sqlite"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// UTC, sortable, file-name safe, to the millisecond.
fn timestamp() -> String {
    chrono::Utc::now().format("%Y%m%dT%H%M%S%3fZ").to_string()
}

const SIDECARS: [&str; 3] = ["", "-wal", "-shm"];

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Move a database with its WAL and shared-memory files.
fn move_with_sidecars(from: &Path, to: &Path) -> std::io::Result<()> {
    for suffix in SIDECARS {
        let source = with_suffix(from, suffix);
        if source.exists() {
            std::fs::rename(&source, with_suffix(to, suffix))?;
        }
    }
    Ok(())
}

fn remove_with_sidecars(path: &Path) -> std::io::Result<()> {
    for suffix in SIDECARS {
        match std::fs::remove_file(with_suffix(path, suffix)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::course::CourseInput;

    #[test]
    fn a_backup_restores_the_store_as_it_was_and_keeps_the_current_one_aside() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        store.create_course(&CourseInput::new("Kept")).unwrap();
        let backup = dir.path().join("copy.sqlite");
        store.backup_to(&backup).unwrap();
        assert!(store.backup_to(&backup).is_err(), "an existing file is never overwritten");
        store.create_course(&CourseInput::new("After")).unwrap();
        let device = store.device_id().to_string();
        drop(store);

        let aside = restore_backup(dir.path(), &backup).unwrap().expect("the current store is kept");
        let restored = Store::open_in(dir.path()).unwrap();
        let titles: Vec<String> =
            restored.list_courses(&Default::default()).unwrap().into_iter().map(|c| c.fields.title).collect();
        assert_eq!(titles, vec!["Kept"]);
        assert_eq!(restored.device_id(), device);
        let previous = Store::open_keyed(&aside, StoreKey::for_tests(), Origin::Raw).unwrap();
        assert_eq!(
            previous.list_courses(&Default::default()).unwrap().len(),
            2,
            "nothing of the current store is lost"
        );
    }

    #[test]
    fn a_file_that_is_not_a_circles_store_is_refused_and_nothing_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        store.create_course(&CourseInput::new("Mine")).unwrap();
        drop(store);
        let db = dir.path().join(DB_FILE);
        let before = std::fs::read(&db).unwrap();
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "not a database at all, just some words in a file").unwrap();
        let other = dir.path().join("other.sqlite");
        Connection::open(&other).unwrap().execute_batch("CREATE TABLE t (x); PRAGMA user_version = 2;").unwrap();
        let empty = dir.path().join("empty.sqlite");
        Connection::open(&empty).unwrap().execute_batch("VACUUM").unwrap();
        for file in [&text, &other, &empty, &dir.path().join("missing.sqlite")] {
            let err = restore_backup(dir.path(), file).unwrap_err();
            assert!(matches!(err, CoreError::NotADatabase { .. }), "{}: {err}", file.display());
        }
        assert_eq!(std::fs::read(&db).unwrap(), before, "the store is untouched");
        assert_eq!(std::fs::read_to_string(&text).unwrap(), "not a database at all, just some words in a file");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(!names.iter().any(|n| n.to_string_lossy().contains("restor")), "nothing left behind: {names:?}");
    }

    #[test]
    fn the_newest_restorable_backup_is_the_way_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(newest_backup(dir.path()).unwrap(), None, "no backups yet");
        let store = Store::open_in(dir.path()).unwrap();
        let first = automatic_backup(&store.conn, dir.path(), "first").unwrap();
        let second = automatic_backup(&store.conn, dir.path(), "second").unwrap();
        assert_eq!(newest_backup(dir.path()).unwrap(), Some(second.clone()));
        // A damaged newest copy is passed over for an older sound one.
        std::fs::write(&second, b"not a database").unwrap();
        assert_eq!(newest_backup(dir.path()).unwrap(), Some(first));
    }

    #[test]
    fn automatic_backups_keep_the_newest_few() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        let first = store.backup_if_due().unwrap().expect("the first daily backup is due");
        assert_eq!(store.backup_if_due().unwrap(), None, "one a day");
        for i in 0..KEEP_BACKUPS + 2 {
            automatic_backup(&store.conn, dir.path(), &format!("test-{i:02}")).unwrap();
        }
        let kept = automatic_backups(&dir.path().join(BACKUPS_DIR)).unwrap();
        assert_eq!(kept.len(), KEEP_BACKUPS);
        assert!(!kept.contains(&first), "the oldest went first");
        check_backup(kept.last().unwrap(), &StoreKey::for_tests()).unwrap();
    }

    #[test]
    fn a_store_of_an_older_schema_is_backed_up_before_it_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        drop(store);
        let db = dir.path().join(DB_FILE);
        // Pretend the file is one schema version older.
        key::open_keyed(&db, OpenFlags::SQLITE_OPEN_READ_WRITE, &StoreKey::for_tests())
            .unwrap()
            .pragma_update(None, "user_version", schema_version() - 1)
            .unwrap();
        // Migrating an already-current schema again would fail; only the backup
        // is looked at here, so the error (if any) is ignored.
        let _ = Store::open_keyed(&db, StoreKey::for_tests(), Origin::Raw);
        let kept = automatic_backups(&dir.path().join(BACKUPS_DIR)).unwrap();
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert!(kept[0].to_string_lossy().contains(&format!("before-migration-v{}", schema_version() - 1)));
    }
}
