//! The laptop's store encrypted at rest, through the real binary: the key in
//! the real keyring (scripts/with-keyring.sh runs the tests under a D-Bus
//! session with gnome-keyring), no keyring -> a specific error and nothing
//! made, a passphrase instead, a wrong passphrase refused with nothing
//! changed, and a plain store from before encryption converted in place.

mod common;

use std::path::Path;

use common::{circle_with_learners, Folder};

const EMAIL: &str = "ana@example.org";
const PASSPHRASE: &str = "a long library passphrase";
/// A D-Bus address where nothing answers: no keyring (and no autolaunch).
const NO_BUS: &str = "unix:path=/nonexistent/circles-test-bus";

/// Every file under `dir` (backups included) whose bytes hold `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    circles_core::files_holding(dir, needle).unwrap().iter().map(|p| p.display().to_string()).collect()
}

fn is_plain_sqlite(path: &Path) -> bool {
    std::fs::read(path).unwrap().starts_with(b"SQLite format 3\0")
}

/// A circle with two learners, one of them Ana Souza, whose email is `EMAIL`.
fn learner_with_email(folder: &Folder) -> String {
    circle_with_learners(folder).0
}

#[test]
fn the_store_its_wal_and_its_backups_hold_no_email_in_the_clear() {
    let folder = Folder::new();
    let circle = learner_with_email(&folder);
    let copy = folder.dir.path().join("backups").join("circles-by-hand.sqlite");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    folder.ok(&["backup", "--out", copy.to_str().unwrap()]);
    assert!(folder.ok(&["learner", "list", "--circle", &circle]).contains("Ana Souza"));
    assert!(!is_plain_sqlite(&folder.db()), "the store is encrypted");
    assert!(
        !folder.dir.path().join(circles_core::KEY_FILE).exists(),
        "the key is in the keyring, not beside the store"
    );
    assert_eq!(files_holding(folder.dir.path(), EMAIL), Vec::<String>::new());
    assert_eq!(files_holding(folder.dir.path(), "Ana Souza"), Vec::<String>::new());
}

#[test]
fn no_keyring_is_a_specific_error_and_makes_nothing() {
    let folder = Folder::new();
    let out = folder.command(&["course", "list"]).env("DBUS_SESSION_BUS_ADDRESS", NO_BUS).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("no keyring answered") && stderr.contains("CIRCLES_PASSPHRASE"), "{stderr}");
    assert!(!folder.db().exists(), "no store was made without a key");
}

#[test]
fn with_no_keyring_a_passphrase_works_and_a_wrong_one_changes_nothing() {
    let folder = Folder::new();
    let with = |passphrase: &str, args: &[&str]| {
        folder
            .command(args)
            .env("DBUS_SESSION_BUS_ADDRESS", NO_BUS)
            .env("CIRCLES_PASSPHRASE", passphrase)
            .output()
            .unwrap()
    };
    let short = with("short", &["course", "list"]);
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8 characters"));
    assert!(!folder.db().exists());

    let made = with(PASSPHRASE, &["course", "create", "--title", "Kept Safe"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    assert!(!is_plain_sqlite(&folder.db()));
    let key_file = std::fs::read_to_string(folder.dir.path().join(circles_core::KEY_FILE)).unwrap();
    assert!(key_file.contains("argon2id") && !key_file.contains("passphrase"), "{key_file}");

    let before = std::fs::read(folder.db()).unwrap();
    let wrong = with("not the passphrase", &["course", "create", "--title", "Intruder"]);
    assert!(!wrong.status.success());
    let stderr = String::from_utf8(wrong.stderr).unwrap();
    assert!(stderr.contains("passphrase does not open"), "{stderr}");
    assert_eq!(std::fs::read(folder.db()).unwrap(), before, "nothing changed");

    // The keyring cannot open a passphrase store: it asks for the passphrase.
    let asked = folder.fails(&["course", "list"]);
    assert!(asked.stderr.contains("locked with a passphrase"), "{}", asked.stderr);

    let listed = with(PASSPHRASE, &["course", "list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("Kept Safe"));
    assert!(!String::from_utf8_lossy(&listed.stdout).contains("Intruder"));
}

#[test]
fn a_plain_store_from_before_encryption_is_converted_with_nothing_lost() {
    // The store as the previous version left it: the same schema and rows,
    // in a plain SQLite file (exported from an encrypted one with an empty
    // key, SQLCipher's way of writing plain SQLite), in a folder this
    // computer's keyring has never seen.
    let made = Folder::new();
    let circle = learner_with_email(&made);
    let export_before = made.ok(&["export", "all"]);
    let plain = Folder::new();
    {
        let conn = circles_core::open_store_file_for_tests(made.dir.path()).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        let target = plain.db();
        conn.execute_batch(&format!(
            "ATTACH DATABASE '{}' AS plain KEY ''; SELECT sqlcipher_export('plain'); \
             PRAGMA plain.user_version = {version}; PRAGMA plain.journal_mode = WAL; DETACH DATABASE plain;",
            target.display()
        ))
        .unwrap();
    }
    let backups = plain.dir.path().join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    std::fs::copy(plain.db(), backups.join("circles-20260101T000000000Z-daily.sqlite")).unwrap();
    assert!(is_plain_sqlite(&plain.db()));
    assert!(!files_holding(plain.dir.path(), EMAIL).is_empty(), "the plain store shows the email");

    assert_eq!(plain.ok(&["export", "all"]), export_before, "nothing lost");
    assert!(!is_plain_sqlite(&plain.db()), "converted in place");
    assert_eq!(files_holding(plain.dir.path(), EMAIL), Vec::<String>::new(), "no plain copy left, backups included");
    let names: Vec<String> =
        std::fs::read_dir(plain.dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    assert!(!names.iter().any(|n| n.contains(".plain") || n.contains(".encrypting")), "{names:?}");
    assert!(plain.ok(&["learner", "list", "--circle", &circle]).contains("Ana Souza"));
}

#[test]
#[cfg(target_os = "linux")]
fn a_keyring_that_lost_the_key_says_how_to_recover_and_changes_nothing() {
    let folder = Folder::new();
    folder.id(&["course", "create", "--title", "Before The Loss"]);
    let user = folder.dir.path().canonicalize().unwrap().to_string_lossy().into_owned();
    keyring::Entry::new(circles_core::KEYRING_SERVICE, &user).unwrap().delete_credential().unwrap();
    let before = std::fs::read(folder.db()).unwrap();
    let lost = folder.fails(&["course", "list"]);
    assert!(lost.stderr.contains("sign in again and sync"), "{}", lost.stderr);
    assert_eq!(std::fs::read(folder.db()).unwrap(), before, "the file was left untouched");
    assert!(lost.stderr.contains("circles rebuild"), "the CLI names its way out: {}", lost.stderr);
    // That way out works: the unreadable file is set aside, and an empty store opens.
    let rebuilt = folder.ok(&["rebuild"]);
    assert!(rebuilt.starts_with("Moved the database to"), "{rebuilt}");
    assert!(folder.ok(&["course", "list"]).contains("No courses"), "an empty store");
}
