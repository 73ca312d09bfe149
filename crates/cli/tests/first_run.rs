//! The demo's own folder through the real binary: `circles demo` without a
//! folder goes to the demo folder (never the real one), into a given folder
//! only if it is empty or already the demo, never into one with an account
//! (`--force` included); a demo folder refuses to sign in or sync with one
//! clear message, and `--reset` starts it afresh.

mod common;

use std::path::Path;

use assert_cmd::Command;
use circles_core::sync::status::Account;
use circles_core::Store;
use common::Folder;

const DEMO_REFUSAL: &str = "This is the demo: it never syncs. Leave the demo to connect to your library's server.";

/// `circles` with no data folder named: only a throwaway home to find one in.
fn bare(home: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::cargo_bin("circles").unwrap();
    cmd.env_remove("CIRCLES_DATA_DIR")
        .env_remove("CIRCLES_DEMO_DIR")
        .env_remove("RUST_LOG")
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .args(args);
    cmd.output().unwrap()
}

fn sign_in_without_a_server(f: &Folder) {
    let mut store = Store::open_in(f.dir.path()).unwrap();
    store
        .save_account(&Account {
            server_url: "https://circles.example.org".into(),
            email: "dana@example.org".into(),
            user_name: "Dana".into(),
            user_id: String::new(),
            token: "a token".into(),
        })
        .unwrap();
}

#[test]
fn without_a_folder_the_demo_goes_to_its_own_folder_and_the_real_one_is_untouched() {
    let home = tempfile::tempdir().unwrap();
    let out = bare(home.path(), &["demo"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let real = home.path().join("data").join("circles");
    let demo = real.join("demo");
    assert!(stdout.contains(&format!("Loaded the demo into {}:", demo.display())), "{stdout}");
    assert!(stdout.contains("This folder is the demo: it never signs in or syncs."), "{stdout}");
    assert!(demo.join("circles.sqlite").is_file());
    assert!(!real.join("circles.sqlite").exists(), "the real folder was not even opened");

    // Again: refused (already the demo), and --reset starts it afresh.
    let again = bare(home.path(), &["demo"]);
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8(again.stderr).unwrap();
    assert!(stderr.contains("already has 5 circle(s) (the demo's)"), "{stderr}");
    assert!(stderr.contains("circles demo --reset"), "{stderr}");
    let reset = bare(home.path(), &["demo", "--reset"]);
    assert!(reset.status.success(), "{}", String::from_utf8_lossy(&reset.stderr));
    assert!(String::from_utf8(reset.stdout).unwrap().contains("Started the demo afresh"));

    // CIRCLES_DEMO_DIR puts it elsewhere.
    let elsewhere = home.path().join("elsewhere");
    let mut cmd = Command::cargo_bin("circles").unwrap();
    let out = cmd
        .env_remove("CIRCLES_DATA_DIR")
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("CIRCLES_DEMO_DIR", &elsewhere)
        .args(["demo", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(elsewhere.join("circles.sqlite").is_file());
}

#[test]
fn the_demo_is_refused_in_a_folder_with_an_account_even_forced() {
    let f = Folder::new();
    sign_in_without_a_server(&f);
    for args in [vec!["demo"], vec!["demo", "--force"], vec!["demo", "--today", "2026-03-10", "--force"]] {
        let refused = f.refuses(&args, "this data folder has an account");
        assert!(refused.stderr.contains("https://circles.example.org"), "{}", refused.stderr);
        assert!(refused.stderr.contains("hint: run `circles demo` without --data-dir"), "{}", refused.stderr);
        assert!(!refused.stderr.contains("--force"), "never suggested: {}", refused.stderr);
    }
    // Signed out, the server is still remembered: still refused.
    let mut store = Store::open_in(f.dir.path()).unwrap();
    store.forget_token().unwrap();
    drop(store);
    f.refuses(&["demo", "--force"], "this data folder has an account");
    // And a reset never replaces a real folder.
    f.refuses(&["demo", "--reset"], "does not hold the demo, so it was not reset");
}

#[test]
fn the_demo_is_refused_beside_real_circles_unless_forced_and_then_never_syncs() {
    let f = Folder::new();
    f.ok(&[
        "circle",
        "create",
        "--name",
        "Real Circle",
        "--time-zone",
        "UTC",
        "--start-time",
        "18:00",
        "--duration",
        "60",
    ]);
    let refused = f.refuses(&["demo"], "already has 1 circle(s) (real)");
    assert!(refused.stderr.contains("hint: run `circles demo --force`"), "{}", refused.stderr);
    let forced = f.ok(&["demo", "--force", "--today", "2026-03-10"]);
    assert!(forced.contains("This folder is the demo: it never signs in or syncs."), "{forced}");
    assert_eq!(f.json(&["status"])["demo"], true);
}

#[test]
fn a_demo_folder_refuses_to_sign_in_or_sync_with_one_clear_message() {
    let f = Folder::new();
    f.ok(&["demo", "--today", "2026-03-10"]);
    let before = f.state();
    for args in [vec!["login", "--server", "http://127.0.0.1:9", "--email", "dana@example.org"], vec!["sync"]] {
        let failure = f.fails(&args);
        assert_eq!(failure.code, 1);
        assert!(failure.stderr.starts_with(&format!("error: {DEMO_REFUSAL}")), "{args:?}: {}", failure.stderr);
        assert!(failure.stderr.contains("hint: this data folder holds the demo"), "{}", failure.stderr);
    }
    assert!(f.state() == before, "nothing changed");
    let status = f.ok(&["status"]);
    assert!(status.contains("none: this is the demo, which never signs in or syncs"), "{status}");
    assert_eq!(f.json(&["status"])["demo"], true);
    assert_eq!(f.json(&["status"])["newer_release"], serde_json::Value::Null);
}
