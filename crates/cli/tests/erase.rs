//! A learner's data rights through the real binary: `circles learner export`
//! writes everything held about them as JSON; `circles learner erase` asks
//! for --yes, then leaves their old email in no file of the data folder, and
//! refuses to erase twice or an unknown learner, changing nothing.

mod common;

use std::path::Path;

use common::{circle_with_learners, Folder};

fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    circles_core::files_holding(dir, needle).unwrap().iter().map(|p| p.display().to_string()).collect()
}

#[test]
fn a_learner_is_exported_then_erased_from_every_file() {
    let f = Folder::new();
    let (_circle, meetings, [ana, _ben]) = circle_with_learners(&f);
    f.ok(&["learner", "edit", &ana, "--email", "ana.souza@example.org", "--support-needs", "uses a wheelchair"]);
    f.ok(&["attendance", "mark", "--meeting", &meetings[0], "--learner", &ana, "--mark", "p"]);

    let elsewhere = tempfile::tempdir().unwrap();
    let file = elsewhere.path().join("ana.json");
    f.ok(&["learner", "export", &ana, "--out", file.to_str().unwrap()]);
    let export: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(export["learner"]["email"], "ana.souza@example.org");
    assert_eq!(export["circle"]["name"], "Speak Up");
    assert_eq!(export["attendance"][0]["mark"], "present");
    // The store is encrypted at rest: not even the old email shows in a file
    // before the erase (tests/encryption.rs); the erase is checked below.
    assert_eq!(files_holding(f.dir.path(), "ana@example.org"), Vec::<String>::new(), "encrypted at rest");

    f.refuses(&["learner", "erase", &ana], "run again with --yes to erase (nothing was changed)");
    let out = f.ok(&["learner", "erase", &ana, "--yes"]);
    assert!(out.starts_with(&format!("Erased learner {ana}")), "{out}");
    for needle in ["ana@example.org", "ana.souza@example.org", "uses a wheelchair", "Ana Souza"] {
        assert_eq!(files_holding(f.dir.path(), needle), Vec::<String>::new(), "{needle}");
    }
    let shown = f.json(&["learner", "show", &ana]);
    assert_eq!(
        (shown["name"].as_str(), shown["email"].as_str(), shown["erased"].as_bool()),
        (Some("Erased learner"), Some(""), Some(true))
    );
    let marks = f.json(&["learner", "export", &ana]);
    assert_eq!(marks["attendance"].as_array().unwrap().len(), 1, "the mark stays");

    f.refuses(&["learner", "erase", &ana, "--yes"], "was erased");
    f.refuses(&["learner", "edit", &ana, "--email", "new@example.org"], "was erased");
    f.refuses(&["learner", "erase", "00000000-nope", "--yes"], "learner");
}
