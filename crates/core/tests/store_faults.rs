//! The store's own faults on real files, through the public API: damage is
//! found when a store opens (quick_check) and by `check_store`
//! (integrity_check) and can be set aside; a read-only folder or file is
//! refused as read-only, never called damaged. (A full disk is in
//! `store::health`'s unit tests: SQLite's page limit gives a real SQLITE_FULL.)

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use circles_core::{check_store, set_aside_store, CoreError, DemoMode, Store};

const PAGE: usize = 4096;

/// A store with the demo in it (about 300 pages), closed.
fn demo_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in(dir.path()).unwrap();
    store.load_demo(NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(), DemoMode::OnlyIntoEmptyStore).unwrap();
    drop(store); // the last connection checkpoints: everything is in the main file
    dir
}

/// Flip 64 bytes at the start of the page in the middle of the file (its
/// b-tree header and first cell pointers) and return the damaged bytes.
fn flip_64_bytes_in_the_middle(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    assert!(bytes.len() > 100 * PAGE, "enough data: {} bytes", bytes.len());
    let at = bytes.len() / 2 / PAGE * PAGE;
    for b in &mut bytes[at..at + 64] {
        *b ^= 0xff;
    }
    std::fs::write(path, &bytes).unwrap();
    bytes
}

#[test]
fn sixty_four_flipped_bytes_are_found_at_open_and_by_the_full_check() {
    let dir = demo_store();
    let path = dir.path().join("circles.sqlite");
    assert!(check_store(dir.path()).unwrap().is_ok(), "sound before");
    let damaged = flip_64_bytes_in_the_middle(&path);

    let err = Store::open_in(dir.path()).err().expect("a damaged store is refused");
    assert!(matches!(err, CoreError::Damaged { .. }), "{err}");
    assert_eq!(err.store_fault(), Some("store_damaged"));
    let words = err.to_string();
    assert!(words.contains("is damaged (quick_check: "), "{words}");
    // The way out is each edge's: the CLI names its commands, the app its buttons.
    assert!(!words.contains("`circles "), "no CLI command in the core's words: {words}");
    assert_eq!(std::fs::read(&path).unwrap(), damaged, "refused, never written to");

    let check = check_store(dir.path()).unwrap();
    assert!(check.exists && !check.is_ok(), "{check:?}");
    assert_eq!(std::fs::read(&path).unwrap(), damaged, "the check only reads");

    let aside = set_aside_store(dir.path()).unwrap();
    assert_eq!(std::fs::read(aside.join("circles.sqlite")).unwrap(), damaged, "kept as it was");
    let fresh = Store::open_in(dir.path()).unwrap();
    assert!(fresh.circles().unwrap().is_empty(), "a new, empty store to download into");
}

/// Folders and files made read-only for the test, for root too (CI runs
/// the tests as root, and root ignores permissions): the immutable
/// attribute when `chattr` can set it, permissions otherwise. Undone on drop.
struct ReadOnly {
    paths: Vec<PathBuf>,
}

impl ReadOnly {
    /// None when nothing here can make `paths` refuse a write (root on a
    /// file system without the immutable attribute); the caller then says so.
    fn make(paths: &[PathBuf]) -> Option<ReadOnly> {
        use std::os::unix::fs::PermissionsExt;
        let locked = ReadOnly { paths: paths.to_vec() };
        let immutable = std::process::Command::new("chattr")
            .arg("+i")
            .args(paths)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !immutable {
            for path in paths {
                let mode = if path.is_dir() { 0o555 } else { 0o444 };
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
            }
        }
        paths.iter().all(|p| refuses_writes(p)).then_some(locked)
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .args(&self.paths)
            .stderr(std::process::Stdio::null())
            .status();
        for path in &self.paths {
            let mode = if path.is_dir() { 0o755 } else { 0o644 };
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
        }
    }
}

fn refuses_writes(path: &Path) -> bool {
    if path.is_dir() {
        let probe = path.join("probe");
        let refused = std::fs::File::create(&probe).is_err();
        let _ = std::fs::remove_file(probe);
        refused
    } else {
        std::fs::OpenOptions::new().write(true).open(path).is_err()
    }
}

fn assert_read_only(err: CoreError) {
    assert!(matches!(err, CoreError::ReadOnly { path: Some(_) }), "{err}");
    assert_eq!(err.store_fault(), Some("store_read_only"));
    let words = err.to_string();
    assert!(words.contains("read-only") && words.contains("writable"), "{words}");
    assert!(!words.contains("damaged"), "{words}");
}

#[test]
fn a_read_only_folder_is_called_read_only_not_damaged() {
    let dir = demo_store();
    let path = dir.path().join("circles.sqlite");
    let before = std::fs::read(&path).unwrap();
    let Some(_locked) = ReadOnly::make(&[path.clone(), dir.path().to_path_buf()]) else {
        eprintln!("not run: nothing here makes a folder read-only for this user");
        return;
    };
    assert_read_only(Store::open_in(dir.path()).err().expect("refused"));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_read_only_file_in_a_writable_folder_is_refused_at_open() {
    let dir = demo_store();
    let path = dir.path().join("circles.sqlite");
    let Some(_locked) = ReadOnly::make(std::slice::from_ref(&path)) else {
        eprintln!("not run: nothing here makes a file read-only for this user");
        return;
    };
    // SQLite would open it read-only without a word, and fail at the first edit.
    assert_read_only(Store::open_in(dir.path()).err().expect("refused"));
}

#[test]
fn a_new_store_in_a_read_only_folder_is_called_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let Some(_locked) = ReadOnly::make(&[dir.path().to_path_buf()]) else {
        eprintln!("not run: nothing here makes a folder read-only for this user");
        return;
    };
    assert_read_only(Store::open_in(dir.path()).err().expect("refused"));
}
