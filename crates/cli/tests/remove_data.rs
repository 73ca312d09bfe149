//! `circles remove-data` for a shared computer, through the real binary:
//! it asks for --yes, refuses while changes made here have not reached a
//! server (nothing removed), refuses in the demo, and otherwise leaves no
//! Circles file and no learner's email in the folder, keeping the person's
//! own files; the store's key goes from the keyring, so an old copy of the
//! file can no longer be read. Run under a keyring (scripts/with-keyring.sh).

mod common;

use common::{circle_with_learners, Folder};

#[test]
fn data_is_removed_only_when_confirmed_and_nothing_waiting_is_lost_silently() {
    let f = Folder::new();
    let (_circle, _meetings, [ana, _ben]) = circle_with_learners(&f);
    f.ok(&["learner", "edit", &ana, "--email", "ana.remove@example.org"]);
    std::fs::write(f.dir.path().join("my notes.txt"), "mine").unwrap();
    f.ok(&["backup", "--out", f.dir.path().join("backups-by-hand.sqlite").to_str().unwrap()]);

    f.refuses(&["remove-data"], "add --yes to confirm); nothing was removed");
    let waiting = f.refuses(&["remove-data", "--yes"], "have not reached the server yet");
    assert!(waiting.stderr.contains("nothing was removed"), "{}", waiting.stderr);

    // A copy of the store's bytes made before (a disk image, a snapshot).
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("copy.sqlite");
    std::fs::copy(f.db(), &copy).unwrap();

    let out = f.ok(&["remove-data", "--yes", "--discard-waiting-changes"]);
    assert!(out.starts_with("removed "), "{out}");
    assert!(!f.db().exists());
    assert!(circles_core::files_holding(f.dir.path(), "ana.remove@example.org")
        .unwrap()
        .iter()
        .all(|p| p.ends_with("backups-by-hand.sqlite")));
    let mut left: Vec<String> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["backups-by-hand.sqlite", "my notes.txt"], "the person's own files stay");

    // The key went with the files: the old copy put back cannot be read.
    std::fs::copy(&copy, f.db()).unwrap();
    let lost = f.fails(&["circle", "list"]);
    assert!(lost.stderr.contains("sign in again and sync"), "{}", lost.stderr);
    std::fs::remove_file(f.db()).unwrap();

    // The folder opens again as a new, empty store.
    let info = f.json(&["circle", "list"]);
    assert_eq!(info.as_array().map(Vec::len), Some(0));
}

#[test]
fn the_demo_is_left_not_removed() {
    let f = Folder::new();
    f.ok(&["demo"]);
    f.refuses(&["remove-data", "--yes", "--discard-waiting-changes"], "This is the demo");
}
