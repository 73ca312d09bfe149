//! Converting a plain store (written before stores were encrypted) into an
//! encrypted one, in place, so that a crash at any step leaves a readable
//! store and no plain copy outlives the conversion.
//!
//! The steps, each safe to stop after:
//! 1. `sqlcipher_export` the plain file into `NAME.encrypting`;
//! 2. verify that copy with the key (integrity_check, the row count of every
//!    table equal to the plain file's);
//! 3. keep the plain file as `NAME.plain`, then rename the encrypted copy over
//!    `NAME` (atomic);
//! 4. open `NAME` with the key; only then overwrite and delete `NAME.plain`
//!    (and the plain WAL and shared-memory files).
//!
//! `finish_interrupted` runs before every open and completes or undoes what
//! a crash left: a plain `NAME` is converted again from the start; an
//! encrypted `NAME` that opens lets `NAME.plain` go; one that does not is
//! replaced by `NAME.plain` (then converted again).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::store::key::{self, FileState, KeyError, StoreKey};
use crate::store::wipe::shred;

/// The steps of a conversion, for tests that stop it in between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Exported,
    Verified,
    KeptPlain,
    Swapped,
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Convert the plain store at `db` to one encrypted with `key`, or finish
/// a conversion a crash interrupted. Nothing to do for a store already encrypted.
pub(crate) fn encrypt_in_place(db: &Path, key: &StoreKey) -> Result<(), KeyError> {
    encrypt_stopping_after(db, key, None)
}

pub(crate) fn encrypt_stopping_after(db: &Path, key: &StoreKey, stop: Option<Step>) -> Result<(), KeyError> {
    let fail = |detail: String| KeyError::Conversion { path: db.to_path_buf(), detail };
    finish_interrupted(db, key).map_err(|e| fail(e.to_string()))?;
    if key::file_state(db) != FileState::Plain {
        return Ok(());
    }
    let encrypting = with_suffix(db, ".encrypting");
    let plain_copy = with_suffix(db, ".plain");
    shred_with_sidecars(&encrypting).map_err(|e| fail(e.to_string()))?;
    let counts = export(db, &encrypting, key).map_err(|e| fail(e.to_string()))?;
    if stop == Some(Step::Exported) {
        return Ok(());
    }
    verify(&encrypting, key, &counts).map_err(fail)?;
    if stop == Some(Step::Verified) {
        return Ok(());
    }
    // The plain file stays until the encrypted one has opened in its place.
    std::fs::copy(db, &plain_copy).map_err(|e| fail(e.to_string()))?;
    if stop == Some(Step::KeptPlain) {
        return Ok(());
    }
    // The plain WAL was folded in and emptied by `export`; an old WAL must
    // never meet the new file.
    for suffix in ["-wal", "-shm"] {
        shred(&with_suffix(db, suffix)).map_err(|e| fail(e.to_string()))?;
    }
    std::fs::rename(&encrypting, db).map_err(|e| fail(e.to_string()))?;
    if stop == Some(Step::Swapped) {
        return Ok(());
    }
    finish_interrupted(db, key).map_err(|e| fail(e.to_string()))
}

/// Complete or undo what an interrupted conversion left beside `db`.
fn finish_interrupted(db: &Path, key: &StoreKey) -> std::io::Result<()> {
    let plain_copy = with_suffix(db, ".plain");
    let encrypting = with_suffix(db, ".encrypting");
    if plain_copy.exists() {
        let encrypted_opens = key::file_state(db) == FileState::Other && opens(db, key);
        if !encrypted_opens && key::file_state(db) != FileState::Plain {
            // The swap did not happen or left an unreadable file: the plain
            // copy is the store (and is converted again by the caller).
            std::fs::rename(&plain_copy, db)?;
        }
    }
    shred_with_sidecars(&plain_copy)?;
    shred_with_sidecars(&encrypting)
}

fn opens(db: &Path, key: &StoreKey) -> bool {
    key::open_keyed(db, OpenFlags::SQLITE_OPEN_READ_ONLY, key)
        .and_then(|conn| conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)))
        .is_ok()
}

/// Table name and row count, for every table of a database.
type Counts = Vec<(String, i64)>;

fn counts(conn: &Connection, schema: &str) -> rusqlite::Result<Counts> {
    let mut stmt = conn.prepare(&format!(
        "SELECT name FROM {schema}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ))?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    names
        .into_iter()
        .map(|name| {
            let quoted = name.replace('"', "\"\"");
            let n = conn.query_row(&format!("SELECT count(*) FROM {schema}.\"{quoted}\""), [], |r| r.get(0))?;
            Ok((name, n))
        })
        .collect()
}

/// Write the encrypted copy; the plain file's table counts, for `verify`.
fn export(db: &Path, out: &Path, key: &StoreKey) -> rusqlite::Result<Counts> {
    let conn = key::open_plain(db, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let out_text = out.to_string_lossy();
    conn.execute_batch(&format!(
        "ATTACH DATABASE '{}' AS encrypted {}; PRAGMA cipher_log_level = NONE;",
        out_text.replace('\'', "''"),
        key.attach_clause()
    ))?;
    conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
    conn.execute_batch(&format!("PRAGMA encrypted.user_version = {version}; DETACH DATABASE encrypted;"))?;
    counts(&conn, "main")
}

fn verify(encrypted: &Path, key: &StoreKey, plain_counts: &Counts) -> Result<(), String> {
    let conn = key::open_keyed(encrypted, OpenFlags::SQLITE_OPEN_READ_ONLY, key).map_err(|e| e.to_string())?;
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|e| e.to_string())?;
    if check != "ok" {
        return Err(format!("the encrypted copy fails integrity_check: {check}"));
    }
    let found = counts(&conn, "main").map_err(|e| e.to_string())?;
    if &found != plain_counts {
        return Err("the encrypted copy does not hold the same rows as the plain store".into());
    }
    Ok(())
}

fn shred_with_sidecars(path: &Path) -> std::io::Result<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        shred(&with_suffix(path, suffix))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain_store(db: &Path) {
        let conn = Connection::open(db).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE learners (id TEXT, email TEXT); \
             INSERT INTO learners VALUES ('l1', 'plain.person@example.org'); PRAGMA user_version = 5;",
        )
        .unwrap();
        // Left open-and-closed in WAL mode, as the previous version left it.
    }

    fn read_back(db: &Path, key: &StoreKey) -> (i64, String) {
        let conn = key::open_keyed(db, OpenFlags::SQLITE_OPEN_READ_ONLY, key).unwrap();
        let version = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        let email = conn.query_row("SELECT email FROM learners", [], |r| r.get(0)).unwrap();
        (version, email)
    }

    fn folder_holds(dir: &Path, needle: &str) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| std::fs::read(p).unwrap().windows(needle.len()).any(|w| w == needle.as_bytes()))
            .collect()
    }

    #[test]
    fn a_plain_store_is_encrypted_with_nothing_lost_and_no_plain_copy_left() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("circles.sqlite");
        plain_store(&db);
        let key = StoreKey::for_tests();
        encrypt_in_place(&db, &key).unwrap();
        assert_eq!(key::file_state(&db), FileState::Other);
        assert_eq!(read_back(&db, &key), (5, "plain.person@example.org".into()));
        assert_eq!(folder_holds(dir.path(), "plain.person@"), Vec::<PathBuf>::new());
    }

    #[test]
    fn a_conversion_stopped_after_any_step_leaves_a_readable_store_and_finishes_at_the_next_open() {
        for step in [Step::Exported, Step::Verified, Step::KeptPlain, Step::Swapped] {
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("circles.sqlite");
            plain_store(&db);
            let key = StoreKey::for_tests();
            encrypt_stopping_after(&db, &key, Some(step)).unwrap();
            // Readable as it stands: plain, or encrypted with the key.
            let readable = match key::file_state(&db) {
                FileState::Plain => Connection::open(&db)
                    .unwrap()
                    .query_row("SELECT count(*) FROM learners", [], |r| r.get::<_, i64>(0))
                    .unwrap(),
                _ => key::open_keyed(&db, OpenFlags::SQLITE_OPEN_READ_ONLY, &key)
                    .unwrap()
                    .query_row("SELECT count(*) FROM learners", [], |r| r.get::<_, i64>(0))
                    .unwrap(),
            };
            assert_eq!(readable, 1, "{step:?}");
            encrypt_in_place(&db, &key).unwrap();
            assert_eq!(read_back(&db, &key), (5, "plain.person@example.org".into()), "{step:?}");
            assert_eq!(folder_holds(dir.path(), "plain.person@"), Vec::<PathBuf>::new(), "{step:?}");
        }
    }

    #[test]
    fn an_unreadable_swapped_file_gives_way_to_the_kept_plain_copy() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("circles.sqlite");
        plain_store(&db);
        let key = StoreKey::for_tests();
        encrypt_stopping_after(&db, &key, Some(Step::KeptPlain)).unwrap();
        // The swap wrote a file that does not open (a torn write).
        std::fs::write(&db, [3u8; 4096]).unwrap();
        encrypt_in_place(&db, &key).unwrap();
        assert_eq!(read_back(&db, &key), (5, "plain.person@example.org".into()));
    }
}
