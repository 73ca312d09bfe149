//! The per-user data folder (no `--data-dir`, no `CIRCLES_DATA_DIR`) does not
//! follow the app's identifier: when it changed from `org.p2pu.circles` to
//! `app.learningcircles.circles` (issue 17), a store made before was still
//! found in `~/.local/share/circles` (`$XDG_DATA_HOME/circles`). The desktop
//! app resolves its folder with the same function (`circles_core::data_dir`).

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

/// `circles ARGS --json` as a person runs it: HOME (and maybe XDG_DATA_HOME) set, no data folder given.
fn circles_at_home(home: &Path, xdg_data_home: Option<&Path>, args: &[&str]) -> Value {
    let mut cmd = Command::cargo_bin("circles").expect("the circles binary is built");
    cmd.env_remove("CIRCLES_DATA_DIR").env_remove("RUST_LOG").env_remove("XDG_DATA_HOME").env("HOME", home);
    if let Some(dir) = xdg_data_home {
        cmd.env("XDG_DATA_HOME", dir);
    }
    let out = cmd.args(args).arg("--json").output().expect("run circles");
    assert!(out.status.success(), "circles {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// A store with one course, made in `dir` as an earlier release made it.
fn store_made_before(dir: &Path) {
    let mut cmd = Command::cargo_bin("circles").expect("the circles binary is built");
    cmd.env_remove("CIRCLES_DATA_DIR").arg("--data-dir").arg(dir).args(["course", "create", "--title", "Made before"]);
    cmd.assert().success();
}

fn course_titles(list: &Value) -> Vec<&str> {
    list.as_array().expect("a list").iter().map(|c| c["title"].as_str().expect("a title")).collect()
}

#[test]
fn an_existing_store_in_the_per_user_folder_is_found() {
    let home = tempfile::tempdir().unwrap();
    let folder = home.path().join(".local/share/circles");
    store_made_before(&folder);

    let info = circles_at_home(home.path(), None, &["info"]);
    assert_eq!(info["data_dir"].as_str(), Some(folder.to_str().unwrap()));
    assert_eq!(course_titles(&circles_at_home(home.path(), None, &["course", "list"])), ["Made before"]);
    let made: Vec<_> =
        std::fs::read_dir(home.path().join(".local/share")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(made, ["circles"], "no folder named after an identifier");
}

#[test]
fn xdg_data_home_decides_where_the_per_user_folder_is() {
    let home = tempfile::tempdir().unwrap();
    let data_home = home.path().join("data");
    let folder = data_home.join("circles");
    store_made_before(&folder);

    let info = circles_at_home(home.path(), Some(&data_home), &["info"]);
    assert_eq!(info["data_dir"].as_str(), Some(folder.to_str().unwrap()));
    assert_eq!(course_titles(&circles_at_home(home.path(), Some(&data_home), &["course", "list"])), ["Made before"]);
}
