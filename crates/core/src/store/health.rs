//! The store file's health: true words for a store that cannot be used
//! (read-only, disk full, damaged) instead of one "damaged" for everything,
//! the checks that find damage, and setting a damaged file aside so that a
//! new store can download the circles from the server again.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags};
use serde::Serialize;

use crate::error::{CoreError, Result};
use crate::store::data_dir::DB_FILE;

/// The files SQLite keeps beside the store in WAL mode; they hold committed
/// data until a checkpoint, so they move with the store.
const WAL_SUFFIXES: [&str; 2] = ["-wal", "-shm"];

/// How many problems `quick_check` may list before stopping: the first few
/// say what is wrong; a long list would only slow opening a badly damaged file.
const QUICK_CHECK_LIMIT: u32 = 10;

/// Why opening (or first reading) the store at `path` failed, in the
/// person's terms.
pub(crate) fn open_fault(path: &Path, e: rusqlite::Error) -> CoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => CoreError::NotADatabase { path: path.to_path_buf(), reason: e.to_string() },
        // SQLite only says "unable to open" or "disk I/O error" when it
        // cannot create the WAL index beside the store (a read-only folder)
        // or fill it (a full disk): the folder itself tells which.
        Some(ErrorCode::CannotOpen | ErrorCode::SystemIoFailure | ErrorCode::PermissionDenied) => {
            explain_io_failure(path, e, probe_folder(path))
        }
        _ => CoreError::from(e).at_path(path),
    }
}

/// An I/O failure of SQLite, explained by what the folder refused when
/// tried directly (`probe`), if anything.
fn explain_io_failure(path: &Path, e: rusqlite::Error, probe: Option<ErrorKind>) -> CoreError {
    match probe {
        Some(ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem) => {
            CoreError::ReadOnly { path: Some(path.to_path_buf()) }
        }
        Some(ErrorKind::StorageFull | ErrorKind::QuotaExceeded) => {
            CoreError::DiskFull { path: Some(path.to_path_buf()) }
        }
        _ => CoreError::from(e).at_path(path),
    }
}

/// Try what SQLite needs from the data folder: to write the store file,
/// and to create and fill a file beside it (the WAL index is 32 KiB). The
/// kind of the first refusal, or None when the folder allows both. Only
/// called after SQLite failed, so a healthy open never touches the folder.
fn probe_folder(db: &Path) -> Option<ErrorKind> {
    if db.exists() {
        // Opening for writing changes nothing in the file.
        if let Err(e) = std::fs::OpenOptions::new().write(true).open(db) {
            return Some(e.kind());
        }
    }
    let probe = db.parent()?.join(".circles-write-probe");
    let written = std::fs::File::create(&probe).and_then(|mut file| {
        file.write_all(&[0; 64 * 1024])?;
        file.sync_all()
    });
    let _ = std::fs::remove_file(&probe);
    written.err().map(|e| e.kind())
}

/// A store opened read-only by SQLite (it falls back to that silently when
/// the file cannot be written) would fail at the first edit, far from the
/// cause; refuse it at open with the cause.
pub(crate) fn refuse_read_only(conn: &Connection, path: &Path) -> Result<()> {
    if conn.is_readonly(rusqlite::MAIN_DB).map_err(|e| open_fault(path, e))? {
        return Err(CoreError::ReadOnly { path: Some(path.to_path_buf()) });
    }
    Ok(())
}

/// `PRAGMA quick_check` when a store opens: damage to the file's structure
/// is reported before anything reads wrong data or writes into it.
pub(crate) fn quick_check(conn: &Connection, path: &Path) -> Result<()> {
    let problems = match check_rows(conn, &format!("quick_check({QUICK_CHECK_LIMIT})")) {
        Ok(problems) => problems,
        // Some damage stops the check itself instead of being listed.
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::DatabaseCorrupt) => vec![e.to_string()],
        Err(e) => return Err(open_fault(path, e)),
    };
    match problems.split_first() {
        None => Ok(()),
        Some((first, rest)) => {
            let detail = match rest.len() {
                0 => format!("quick_check: {first}"),
                // The full list is each edge's to offer (the CLI's `circles check`).
                1 => format!("quick_check: {first}; and 1 more problem"),
                more => format!("quick_check: {first}; and {more} more problems"),
            };
            Err(CoreError::Damaged { path: Some(path.to_path_buf()), detail })
        }
    }
}

/// The rows of an integrity pragma other than its lone "ok".
fn check_rows(conn: &Connection, pragma: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("PRAGMA {pragma}"))?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut problems = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    problems.retain(|p| p != "ok");
    Ok(problems)
}

/// What `PRAGMA integrity_check` found in a data folder's store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreCheck {
    pub path: PathBuf,
    /// False when the folder has no store yet (nothing to check).
    pub exists: bool,
    /// SQLite's own words for each problem; empty when the store is sound.
    pub problems: Vec<String>,
}

impl StoreCheck {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Run SQLite's full `integrity_check` (every page, every index against its
/// table) on the store in `dir`, reading only: a damaged store is examined,
/// never opened for use, migrated or repaired. Damage is the answer, not an
/// error; an error means the check itself could not run (a full disk...).
pub fn check_store(dir: &Path) -> Result<StoreCheck> {
    let path = dir.join(DB_FILE);
    if !path.exists() {
        return Ok(StoreCheck { path, exists: false, problems: Vec::new() });
    }
    let key = match crate::store::key::key_for_folder(dir) {
        Ok(key) => key,
        // No key this computer holds opens it (the keyring lost it, or the
        // file is not a store): as unreadable as a damaged file, and set
        // aside the same way.
        Err(CoreError::StoreKey(lost @ crate::store::key::KeyError::KeyLost { .. })) => {
            return Ok(StoreCheck { path, exists: true, problems: vec![lost.to_string()] });
        }
        Err(e) => return Err(e),
    };
    let checked =
        crate::store::key::open_keyed(&path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX, &key)
            .and_then(|conn| check_rows(&conn, "integrity_check"));
    let problems = match checked {
        Ok(problems) => problems,
        Err(e) if matches!(e.sqlite_error_code(), Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)) => {
            vec![e.to_string()]
        }
        // SQLCipher stops integrity_check with a bare SQLITE_ERROR when a
        // page fails its authentication (damage, the key having opened page 1).
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::Unknown) => {
            vec![format!("an encrypted page fails its check ({e})")]
        }
        Err(e) => return Err(open_fault(&path, e)),
    };
    Ok(StoreCheck { path, exists: true, problems })
}

/// What `set_aside_damaged` did: where the store went, and what the full
/// check had found in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetAside {
    pub folder: PathBuf,
    pub problems: Vec<String>,
}

/// Set the store in `dir` aside when the full check finds it damaged (or
/// when `force`d), so an empty one can be filled from the server again: the
/// way out of a damaged store, for the CLI (`circles rebuild`) and the app
/// alike. A sound store stays in place (`StoreSound`); a folder with no
/// store is an error (`DataDir`, not found).
pub fn set_aside_damaged(dir: &Path, force: bool) -> Result<SetAside> {
    let check = check_store(dir)?;
    if check.exists && check.is_ok() && !force {
        return Err(CoreError::StoreSound { path: check.path });
    }
    let folder = set_aside_store(dir)?;
    Ok(SetAside { folder, problems: check.problems })
}

/// Move the store in `dir` (with its WAL files) into a new folder
/// `damaged-<stamp>` beside it and return that folder. The next open makes
/// an empty store, which downloads the circles again after signing in; the
/// moved file keeps whatever it held, changes never synced included.
pub fn set_aside_store(dir: &Path) -> Result<PathBuf> {
    let path = dir.join(DB_FILE);
    let io = |at: &Path, source: std::io::Error| CoreError::DataDir { path: at.to_path_buf(), source };
    if !path.exists() {
        return Err(io(&path, std::io::Error::new(ErrorKind::NotFound, "there is no store to set aside")));
    }
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let mut target = dir.join(format!("damaged-{stamp}"));
    let mut n = 1;
    while target.exists() {
        n += 1;
        target = dir.join(format!("damaged-{stamp}-{n}"));
    }
    std::fs::create_dir(&target).map_err(|e| io(&target, e))?;
    // The WAL files first: a store file left without them would lose the
    // data they hold, one without the store file is never read.
    for suffix in WAL_SUFFIXES {
        let name = format!("{DB_FILE}{suffix}");
        let from = dir.join(&name);
        if from.exists() {
            std::fs::rename(&from, target.join(&name)).map_err(|e| io(&from, e))?;
        }
    }
    std::fs::rename(&path, target.join(DB_FILE)).map_err(|e| io(&path, e))?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::CourseInput;

    fn sqlite_error(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn io_failures_are_explained_by_what_the_folder_refused() {
        let path = Path::new("/data/circles.sqlite");
        let cant_open = || sqlite_error(rusqlite::ffi::SQLITE_CANTOPEN);
        let io_error = || sqlite_error(rusqlite::ffi::SQLITE_IOERR);
        let cases = [
            (explain_io_failure(path, cant_open(), Some(ErrorKind::PermissionDenied)), Some("store_read_only")),
            (explain_io_failure(path, cant_open(), Some(ErrorKind::ReadOnlyFilesystem)), Some("store_read_only")),
            (explain_io_failure(path, io_error(), Some(ErrorKind::StorageFull)), Some("store_disk_full")),
            (explain_io_failure(path, io_error(), None), None),
        ];
        for (error, code) in cases {
            assert_eq!(error.store_fault(), code, "{error}");
        }
        let full = explain_io_failure(path, io_error(), Some(ErrorKind::StorageFull)).to_string();
        assert!(
            full.contains("/data/circles.sqlite is full") || full.contains("holding /data/circles.sqlite"),
            "{full}"
        );
        assert!(full.contains("Free some space"), "{full}");
    }

    #[test]
    fn sqlite_fault_codes_become_their_own_errors() {
        let read_only: CoreError = sqlite_error(rusqlite::ffi::SQLITE_READONLY).into();
        assert!(matches!(read_only, CoreError::ReadOnly { path: None }), "{read_only}");
        assert!(read_only.to_string().contains("read-only"), "{read_only}");
        let full: CoreError = sqlite_error(rusqlite::ffi::SQLITE_FULL).into();
        assert!(matches!(full, CoreError::DiskFull { .. }), "{full}");
        for code in [rusqlite::ffi::SQLITE_CORRUPT, rusqlite::ffi::SQLITE_NOTADB] {
            let damaged: CoreError = sqlite_error(code).into();
            assert!(matches!(damaged, CoreError::Damaged { .. }), "{damaged}");
            assert!(damaged.to_string().contains("is damaged"), "{damaged}");
            assert!(!damaged.to_string().contains("restore a backup to continue"), "{damaged}");
        }
        let busy: CoreError = sqlite_error(rusqlite::ffi::SQLITE_BUSY).into();
        assert!(matches!(busy, CoreError::Db(_)), "{busy}");
    }

    /// A real SQLITE_READONLY: SQLite's read-only open is what it falls back
    /// to for a file it cannot write.
    #[test]
    fn a_write_to_a_read_only_connection_is_a_read_only_error() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open_in(dir.path()).unwrap());
        let conn = crate::store::key::open_keyed(
            &dir.path().join(DB_FILE),
            OpenFlags::SQLITE_OPEN_READ_ONLY,
            &crate::store::key::StoreKey::for_tests(),
        )
        .unwrap();
        let e: CoreError = conn.execute("DELETE FROM courses", []).unwrap_err().into();
        assert!(matches!(e, CoreError::ReadOnly { .. }), "{e}");
        assert!(matches!(refuse_read_only(&conn, Path::new("x")), Err(CoreError::ReadOnly { path: Some(_) })));
    }

    /// A real SQLITE_FULL through the one write path: the page limit stands
    /// in for a full disk, which SQLite reports with the same code.
    #[test]
    fn a_write_on_a_full_disk_says_the_disk_is_full() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        let pages: i64 = store.conn.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        store.conn.pragma_update(None, "max_page_count", pages).unwrap();
        let long = "x".repeat(4000);
        let mut result = Ok(String::new());
        for n in 0..50 {
            let mut input = CourseInput::new(format!("Course {n}"));
            input.caption = long.clone();
            result = store.create_course(&input);
            if result.is_err() {
                break;
            }
        }
        let e = result.expect_err("the page limit is reached");
        assert!(matches!(e, CoreError::DiskFull { .. }), "{e}");
        assert!(e.to_string().contains("is full"), "{e}");
    }

    #[test]
    fn a_sound_store_checks_ok_and_a_missing_one_is_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = check_store(dir.path()).unwrap();
        assert!(!missing.exists && missing.is_ok());
        drop(Store::open_in(dir.path()).unwrap());
        let check = check_store(dir.path()).unwrap();
        assert!(check.exists && check.is_ok(), "{check:?}");
    }

    #[test]
    fn setting_aside_moves_the_store_and_its_wal_files_and_the_next_open_starts_empty() {
        let dir = tempfile::tempdir().unwrap();
        let device = Store::open_in(dir.path()).unwrap().device_id().to_string();
        // WAL files as a crash leaves them: they hold data, so they move too.
        for suffix in WAL_SUFFIXES {
            std::fs::write(dir.path().join(format!("{DB_FILE}{suffix}")), b"left by a crash").unwrap();
        }
        let aside = set_aside_store(dir.path()).unwrap();
        for name in [DB_FILE.to_string(), format!("{DB_FILE}-wal"), format!("{DB_FILE}-shm")] {
            assert!(aside.join(&name).exists(), "{name} moved");
            assert!(!dir.path().join(&name).exists(), "{name} gone");
        }
        let fresh = Store::open_in(dir.path()).unwrap();
        assert_ne!(fresh.device_id(), device, "a new store is a new replica");
        assert!(set_aside_store(tempfile::tempdir().unwrap().path()).is_err(), "nothing to set aside");
    }
}
