//! Running the real `circles` binary on a temporary data folder.

#![allow(dead_code)] // each test file uses its own subset of the helpers

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

pub struct Folder {
    pub dir: tempfile::TempDir,
}

/// What a failed command left behind.
pub struct Failure {
    pub code: i32,
    pub stderr: String,
    pub stdout: String,
}

impl Folder {
    pub fn new() -> Folder {
        Folder { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("circles.sqlite")
    }

    /// `circles --data-dir <this folder> ...`, with no settings inherited
    /// from the environment of whoever runs the tests.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("circles").expect("the circles binary is built");
        cmd.env_remove("CIRCLES_DATA_DIR")
            .env_remove("RUST_LOG")
            .env_remove("CIRCLES_PASSPHRASE")
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(args);
        cmd
    }

    /// Run a command that must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.command(args).output().expect("run circles");
        let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
        let stderr = String::from_utf8(out.stderr).expect("utf-8 stderr");
        assert!(out.status.success(), "circles {args:?} failed ({:?}):\n{stderr}{stdout}", out.status.code());
        assert!(stderr.is_empty(), "circles {args:?} wrote to stderr:\n{stderr}");
        stdout
    }

    /// Run a command that prints an id; the id.
    pub fn id(&self, args: &[&str]) -> String {
        let out = self.ok(args);
        let id = out.trim().to_string();
        assert!(!id.is_empty() && !id.contains(char::is_whitespace), "not a lone id: {out:?}");
        id
    }

    /// Run a command that must print JSON; the parsed value.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("circles {args:?} printed invalid JSON ({e}):\n{out}"))
    }

    /// Run a command that must fail; what it printed.
    pub fn fails(&self, args: &[&str]) -> Failure {
        let out = self.command(args).output().expect("run circles");
        let failure = Failure {
            code: out.status.code().expect("exited, not killed"),
            stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
            stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        };
        assert!(!out.status.success(), "circles {args:?} should have failed but printed:\n{}", failure.stdout);
        failure
    }

    /// Run a command that must be refused as bad input (exit code 1) with an
    /// `error: ...` line containing `expected`, leaving the data exactly as
    /// it was (same database bytes, same export of every circle).
    pub fn refuses(&self, args: &[&str], expected: &str) -> Failure {
        let before = self.state();
        let failure = self.fails(args);
        assert_eq!(failure.code, 1, "circles {args:?}: exit code\n{}", failure.stderr);
        assert!(failure.stderr.starts_with("error: "), "circles {args:?}: stderr is {:?}", failure.stderr);
        assert!(
            failure.stderr.contains(expected),
            "circles {args:?}: expected {expected:?} in stderr, got:\n{}",
            failure.stderr
        );
        assert!(failure.stdout.is_empty(), "circles {args:?}: printed on stdout:\n{}", failure.stdout);
        assert!(self.state() == before, "circles {args:?} changed the saved data");
        failure
    }

    /// The database file's bytes and the full export: together they show
    /// any change to saved data.
    pub fn state(&self) -> (Vec<u8>, String) {
        let bytes = std::fs::read(self.db()).unwrap_or_default();
        let export = self.ok(&["export", "all"]);
        (bytes, export)
    }
}

/// A circle with a course, six Tuesday meetings from 2026-03-03 and two
/// learners; returns (circle, meetings, [ana, ben]).
pub fn circle_with_learners(folder: &Folder) -> (String, Vec<String>, [String; 2]) {
    let course = folder.id(&["course", "create", "--title", "Public Speaking", "--provider", "Coursera"]);
    let circle = folder.id(&[
        "circle",
        "create",
        "--name",
        "Speak Up",
        "--time-zone",
        "America/New_York",
        "--start-time",
        "18:30",
        "--duration",
        "90",
        "--first-date",
        "2026-03-03",
        "--meetings",
        "6",
        "--course",
        &course,
        "--venue-name",
        "Harbor Street Library",
    ]);
    let meetings = meeting_ids(folder, &circle);
    let ana = folder.id(&["learner", "add", "--circle", &circle, "--name", "Ana Souza", "--email", "ana@example.org"]);
    let ben = folder.id(&["learner", "add", "--circle", &circle, "--name", "Ben Okafor"]);
    (circle, meetings, [ana, ben])
}

pub fn meeting_ids(folder: &Folder, circle: &str) -> Vec<String> {
    folder
        .json(&["schedule", "list", "--circle", circle])
        .as_array()
        .expect("a list of meetings")
        .iter()
        .map(|m| m["id"].as_str().expect("meeting id").to_string())
        .collect()
}
