//! `circles backup` and `circles restore` with the real binary: a backup
//! brings the data back as it was, the replaced data is kept aside, and a
//! file that is not a Circles store is refused with nothing changed.

mod common;

use common::Folder;

fn titles(folder: &Folder) -> Vec<String> {
    let list = folder.json(&["course", "list"]);
    let mut titles: Vec<String> =
        list.as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap().to_string()).collect();
    titles.sort();
    titles
}

#[test]
fn a_backup_is_restored_and_the_replaced_data_kept_aside() {
    let folder = Folder::new();
    folder.id(&["course", "create", "--title", "Before"]);
    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("copy.sqlite");
    let out = folder.ok(&["backup", "--out", file.to_str().unwrap()]);
    assert!(out.contains("backed up to"), "{out}");
    let again = folder.fails(&["backup", "--out", file.to_str().unwrap()]);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    folder.id(&["course", "create", "--title", "After"]);

    let out = folder.ok(&["restore", file.to_str().unwrap()]);
    assert!(out.contains("kept in"), "{out}");
    assert_eq!(titles(&folder), vec!["Before"]);
    let aside: Vec<_> = std::fs::read_dir(folder.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.to_string_lossy();
            name.contains("before-restore-") && !name.ends_with("-wal") && !name.ends_with("-shm")
        })
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    // The copy kept aside is encrypted with this folder's key: restoring it
    // here shows the replaced data is all there.
    folder.ok(&["restore", aside[0].to_str().unwrap()]);
    assert_eq!(titles(&folder), vec!["After", "Before"], "the replaced data is all there");
}

#[test]
fn restoring_a_file_that_is_not_a_circles_store_changes_nothing() {
    let folder = Folder::new();
    folder.id(&["course", "create", "--title", "Mine"]);
    let before = std::fs::read(folder.db()).unwrap();
    let other = tempfile::tempdir().unwrap();
    let text = other.path().join("notes.sqlite");
    std::fs::write(&text, "just some words").unwrap();
    let failure = folder.fails(&["restore", text.to_str().unwrap()]);
    assert_eq!(failure.code, 1);
    assert!(failure.stderr.contains("not a Circles database"), "{}", failure.stderr);
    assert_eq!(std::fs::read(folder.db()).unwrap(), before);
    assert_eq!(std::fs::read_to_string(&text).unwrap(), "just some words");
    assert_eq!(titles(&folder), vec!["Mine"]);
}
