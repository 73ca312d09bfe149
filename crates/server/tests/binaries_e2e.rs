//! End to end through the real binaries: one `circles-server` process and
//! two `circles` clients with their own data folders, offline edits on both,
//! sync, identical exports.
//!
//! The `circles` binary is taken from the same target folder; `cargo build
//! --workspace` (which scripts/test.sh runs first) puts it there.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{Backend, TestDb};

const PASSWORD: &str = "correct horse battery";

fn circles_bin() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_circles-server"))
        .with_file_name(format!("circles{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} is missing: run `cargo build --workspace` before this test", path.display());
    path
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(db: &str) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_circles-server"))
        .args(["--db", db, "serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();
    (Server(child), url)
}

fn circles(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(circles_bin())
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("CIRCLES_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "circles {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A server process with one account (Fatima) and two laptops' data
/// folders signed in to it; the server stops when the first item is dropped.
struct TwoLaptops {
    _server: Server,
    _db: TestDb,
    _tmp: tempfile::TempDir,
    a: PathBuf,
    b: PathBuf,
}

fn two_laptops_signed_in(backend: Backend) -> TwoLaptops {
    let tmp = tempfile::tempdir().unwrap();
    let test_db = TestDb::new(backend);
    let db = test_db.url.as_str();
    let add = Command::new(env!("CARGO_BIN_EXE_circles-server"))
        .args(["--db", db, "user", "add", "--email", "fatima@example.org", "--name", "Fatima"])
        .env("CIRCLES_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
    let (server, url) = start_server(db);
    let (a, b) = (tmp.path().join("laptop-a"), tmp.path().join("laptop-b"));
    for dir in [&a, &b] {
        circles(dir, &["login", "--server", &url, "--email", "fatima@example.org"]);
    }
    TwoLaptops { _server: server, _db: test_db, _tmp: tmp, a, b }
}

fn two_cli_clients_and_a_server_process_converge(backend: Backend) {
    let laptops = two_laptops_signed_in(backend);
    let (a, b) = (laptops.a.clone(), laptops.b.clone());
    let circle = circles(
        &a,
        &[
            "circle",
            "create",
            "--name",
            "Public Speaking",
            "--time-zone",
            "America/Chicago",
            "--start-time",
            "18:30",
            "--duration",
            "90",
            "--first-date",
            "2026-12-07",
            "--meetings",
            "4",
        ],
    );
    let ana = circles(&a, &["learner", "add", "--circle", &circle, "--name", "Ana", "--email", "ana@example.org"]);
    circles(&a, &["sync"]);
    circles(&b, &["sync"]);

    // Offline on both laptops.
    let meetings: serde_json::Value =
        serde_json::from_str(&circles(&b, &["--json", "schedule", "list", "--circle", &circle])).unwrap();
    let first_meeting = meetings[0]["id"].as_str().unwrap().to_string();
    circles(&a, &["learner", "add", "--circle", &circle, "--name", "Bo", "--walk-in"]);
    circles(&a, &["attendance", "mark", "--meeting", &first_meeting, "--learner", &ana, "--mark", "present"]);
    circles(&b, &["learner", "add", "--circle", &circle, "--name", "Carla", "--email", "carla@example.org"]);
    circles(&b, &["meeting", "cancel", meetings[3]["id"].as_str().unwrap()]);
    circles(&b, &["circle", "edit", &circle, "--description", "Speak with confidence"]);

    for dir in [&a, &b, &a] {
        circles(dir, &["sync"]);
    }
    let export_a = circles(&a, &["export", "circle", &circle]);
    let export_b = circles(&b, &["export", "circle", &circle]);
    assert_eq!(export_a, export_b, "both laptops export the same circle");
    assert_eq!(circles(&a, &["export", "attendance", &circle]), circles(&b, &["export", "attendance", &circle]));
    let exported: serde_json::Value = serde_json::from_str(&export_a).unwrap();
    let text = exported.to_string();
    for expected in ["Ana", "Bo", "Carla", "Speak with confidence", "cancelled", "present"] {
        assert!(text.contains(expected), "the merged circle holds {expected}");
    }
    let status: serde_json::Value = serde_json::from_str(&circles(&b, &["--json", "status"])).unwrap();
    assert_eq!((status["pending"].as_u64(), status["open_conflicts"].as_u64()), (Some(0), Some(0)));
}

both_backends!(two_cli_clients_and_a_server_process_converge);

/// The laptops' stores are encrypted with keys from the real keyring (the
/// tests run under scripts/with-keyring.sh): after learners were written,
/// pushed and pulled onto a second laptop, no file in either data folder
/// (database, WAL, shared memory, backups) holds a learner's email in the clear.
#[test]
fn synced_laptops_hold_no_learner_email_in_the_clear() {
    const EMAIL: &str = "never.in.the.clear@example.org";
    let laptops = two_laptops_signed_in(Backend::Sqlite);
    let (a, b) = (laptops.a.clone(), laptops.b.clone());
    let circle = circles(
        &a,
        &[
            "circle",
            "create",
            "--name",
            "Private Matters",
            "--time-zone",
            "America/Chicago",
            "--start-time",
            "18:30",
            "--duration",
            "90",
            "--first-date",
            "2026-12-07",
            "--meetings",
            "2",
        ],
    );
    circles(&a, &["learner", "add", "--circle", &circle, "--name", "Dana", "--email", EMAIL]);
    circles(&a, &["sync"]);
    circles(&b, &["sync"]);
    assert!(circles(&b, &["learner", "list", "--circle", &circle]).contains(EMAIL), "pulled onto laptop b");
    for dir in [&a, &b] {
        assert!(!std::fs::read(dir.join("circles.sqlite")).unwrap().starts_with(b"SQLite format 3\0"));
        assert_eq!(circles_core::files_holding(dir, EMAIL).unwrap(), Vec::<PathBuf>::new(), "{}", dir.display());
    }
}
