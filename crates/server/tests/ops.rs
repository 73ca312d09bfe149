//! The operator's commands through the real `circles-server` binary:
//! `backup` while clients push through the HTTP API, `restore` into a fresh
//! path, `check` on both backends (and the problems it must find), the
//! config file, and every refusal (changing nothing).

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use circles_core::sync::wire::PROTOCOL_HEADER;
use common::device::Device;
use common::{admin, Backend, ServerProcess, TestDb, TestServer, PASSWORD};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_circles-server");

/// The binary with raw arguments (no --db added); (success, stdout, stderr).
fn run(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(BIN)
        .args(args)
        .env("CIRCLES_PASSWORD", PASSWORD)
        .env_remove("CIRCLES_SERVER_DB")
        .env_remove("CIRCLES_SERVER_CONFIG")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite:{}", path.display())
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

fn login(url: &str, device_id: &str) -> String {
    let body =
        json!({"email": "dana@example.org", "password": PASSWORD, "device_name": "test", "device_id": device_id});
    let resp = http().post(format!("{url}/v1/login")).header(PROTOCOL_HEADER, "1").json(&body).send().unwrap();
    assert_eq!(resp.status(), 200);
    resp.json::<Value>().unwrap()["token"].as_str().unwrap().to_string()
}

/// Push one batch of 10 new course titles; the change ids if acknowledged.
fn push_batch(url: &str, token: &str, device: &str, batch_seq: i64) -> Option<Vec<String>> {
    let changes: Vec<_> = (0..10)
        .map(|i| {
            common::device::change_by(
                device,
                "courses",
                &uuid::Uuid::now_v7().to_string(),
                "title",
                json!(format!("Course {batch_seq}.{i}")),
            )
        })
        .collect();
    let ids = changes.iter().map(|c| c.change_id.clone()).collect();
    let batch = json!({"batch_id": uuid::Uuid::now_v7().to_string(), "batch_seq": batch_seq, "changes": changes});
    let resp = http()
        .post(format!("{url}/v1/push"))
        .header(PROTOCOL_HEADER, "1")
        .bearer_auth(token)
        .json(&batch)
        .send()
        .ok()?;
    (resp.status() == 200).then_some(ids)
}

/// Every course change id on the server, as a new laptop of the account pulls them.
fn all_course_changes(url: &str) -> Vec<String> {
    let token = login(url, "restored-check-laptop");
    let (mut cursor, mut ids) = (0, Vec::new());
    loop {
        let page: Value = http()
            .get(format!("{url}/v1/pull?cursor={cursor}&limit=5000"))
            .header(PROTOCOL_HEADER, "1")
            .bearer_auth(&token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let courses = page["changes"].as_array().unwrap().iter().filter(|c| c["table"] == "courses");
        ids.extend(courses.map(|c| c["change_id"].as_str().unwrap().to_string()));
        cursor = page["cursor"].as_i64().unwrap();
        if page["has_more"] == json!(false) {
            return ids;
        }
    }
}

/// When a push was acknowledged, and its change ids.
type Acked = (Instant, Vec<String>);

#[test]
fn backup_under_load_restores_every_acknowledged_change() {
    let live = TestDb::new(Backend::Sqlite);
    let (ok, _, err) = admin(&live.url, &["user", "add", "--email", "dana@example.org", "--name", "Dana"]);
    assert!(ok, "{err}");
    let server = ServerProcess::start(&live.url);

    // Four laptops push as fast as they are answered; each acknowledgement
    // is noted with its time.
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let pushers: Vec<_> = (0..4)
        .map(|n| {
            let (url, stop, acked) = (server.url.clone(), stop.clone(), acked.clone());
            std::thread::spawn(move || {
                let device = format!("load-laptop-{n}");
                let token = login(&url, &device);
                let mut seq = 0;
                while !stop.load(Ordering::Relaxed) {
                    if let Some(ids) = push_batch(&url, &token, &device, seq + 1) {
                        seq += 1;
                        acked.lock().unwrap().push((Instant::now(), ids));
                    }
                }
            })
        })
        .collect();
    while acked.lock().unwrap().len() < 40 {
        std::thread::sleep(Duration::from_millis(20));
    }

    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("nightly.sqlite");
    let started = Instant::now();
    let (ok, out, err) = admin(&live.url, &["backup", "--out", backup.to_str().unwrap()]);
    let finished = Instant::now();
    assert!(ok, "backup failed: {err}");
    assert!(out.contains("backup written to") && out.contains("changes (last seq"), "{out}");
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    for p in pushers {
        p.join().unwrap();
    }
    let acked = acked.lock().unwrap();
    let during = acked.iter().filter(|(t, _)| *t > started && *t < finished).count();
    assert!(during > 0, "no push was acknowledged while the backup ran: the test did not test anything");
    assert!(acked.iter().any(|(t, _)| *t > finished), "pushes went on after the backup");
    drop(server);

    // Restore into a fresh path, check it, serve it.
    let fresh = tempfile::tempdir().unwrap();
    let restored = sqlite_url(&fresh.path().join("restored.sqlite"));
    let (ok, out, err) = admin(&restored, &["restore", "--from", backup.to_str().unwrap()]);
    assert!(ok, "restore failed: {err}");
    assert!(out.contains("restored into"), "{out}");
    let (ok, out, err) = admin(&restored, &["check"]);
    assert!(ok, "check failed on the restored database: {out}{err}");
    assert!(out.contains("log seqs       ok") && out.contains("field states   ok"), "{out}");
    // The live database, after all that load, is consistent too.
    let (ok, out, err) = admin(&live.url, &["check"]);
    assert!(ok, "check failed on the live database: {out}{err}");

    let server = ServerProcess::start(&restored);
    let present: std::collections::HashSet<String> = all_course_changes(&server.url).into_iter().collect();
    let before: Vec<&String> = acked.iter().filter(|(t, _)| *t < started).flat_map(|(_, ids)| ids).collect();
    assert!(before.len() >= 400);
    let missing: Vec<_> = before.iter().filter(|id| !present.contains(**id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged changes are missing after restore: {:?}",
        missing.len(),
        &missing[..missing.len().min(3)]
    );
}

/// A server database with a few pushed changes: (server, the course row, its
/// two title changes' seqs).
fn with_history(backend: Backend) -> TestServer {
    let server = TestServer::start(backend);
    server.add_user("dana@example.org", "Dana");
    let mut laptop = Device::new(&server, "dana@example.org", "check-laptop");
    let raw = server.raw();
    for title in ["First", "Second"] {
        let (status, body) = laptop.push(&raw, vec![laptop.change("courses", "course-1", "title", json!(title))]);
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = laptop.push(&raw, vec![laptop.change("courses", "course-2", "title", json!("Other"))]);
    assert_eq!(status, 200, "{body}");
    server
}

fn check_finds_planted_problems(backend: Backend) {
    let server = with_history(backend);
    let db = &server.db;
    let (ok, out, err) = admin(&db.url, &["check"]);
    assert!(ok, "{out}{err}");
    let integrity = if backend == Backend::Sqlite { "integrity      ok" } else { "integrity      skipped: PostgreSQL" };
    assert!(out.contains(integrity), "{out}");
    for line in ["log seqs       ok", "field states   ok", "row creators   ok", "references     ok", "is consistent"] {
        assert!(out.contains(line), "{line:?} not in {out}");
    }

    // A hole in the log: the first title change (superseded, so only the gap is wrong).
    let seqs = db.query("SELECT seq FROM changes WHERE row_id = 'course-1' ORDER BY seq");
    let first: i64 = seqs[0][0].as_ref().unwrap().parse().unwrap();
    db.query(&format!("DELETE FROM changes WHERE seq = {first}"));
    // A field state that is not its last change.
    db.query("UPDATE field_state SET value = '\"Tampered\"' WHERE row_id = 'course-2' AND field = 'title'");
    // A global row whose maker was forgotten.
    db.query("DELETE FROM row_creator WHERE row_id = 'course-2'");
    let (ok, out, err) = admin(&db.url, &["check"]);
    assert!(!ok, "check passed a damaged database: {out}");
    assert!(out.contains(&format!("log seqs       1 problem: seq {first} is missing")), "{out}");
    assert!(
        out.contains(
            "field states   1 problem: courses course-2 title: the field state differs from the change at seq"
        ),
        "{out}"
    );
    assert!(out.contains("row creators   1 problem: courses course-2: made at seq"), "{out}");
    assert!(out.contains("references     ok"), "{out}");
    assert!(err.contains("3 of 5 checks found problems"), "{err}");
}

both_backends!(check_finds_planted_problems);

#[test]
fn check_finds_broken_references_and_missing_states() {
    let server = with_history(Backend::Sqlite);
    let db = &server.db;
    let conn = rusqlite::Connection::open(db.dir.path().join("server.sqlite")).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         INSERT INTO tokens (id, user_id, device_id, device_name, token_hash, created_at)
         VALUES ('tok-x', 'ghost', 'nowhere', 'n', 'h', 't');
         DELETE FROM field_state WHERE row_id = 'course-1';",
    )
    .unwrap();
    drop(conn);
    let (ok, out, _) = admin(&db.url, &["check"]);
    assert!(!ok);
    assert!(out.contains("references     2 problems: token tok-x: its device nowhere is bound to no account; token tok-x: its user ghost does not exist"), "{out}");
    assert!(
        out.contains("field states   1 problem: courses course-1 title: no field state for the change at seq"),
        "{out}"
    );
}

#[test]
fn postgres_backup_and_restore_point_to_pg_dump() {
    let db = TestDb::new(Backend::Postgres);
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("b.sqlite");
    let (ok, _, err) = admin(&db.url, &["backup", "--out", out_file.to_str().unwrap()]);
    assert!(!ok && err.contains("pg_dump --format=custom") && err.contains("pg_restore"), "{err}");
    assert!(!out_file.exists());
    let (ok, _, err) = admin(&db.url, &["restore", "--from", out_file.to_str().unwrap()]);
    assert!(!ok && err.contains("pg_restore"), "{err}");
}

/// A SQLite server database holding one user, its path.
fn database_with_a_user(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let (ok, _, err) = admin(&sqlite_url(&path), &["user", "add", "--email", "dana@example.org", "--name", "Dana"]);
    assert!(ok, "{err}");
    path
}

#[test]
fn restore_refuses_a_non_empty_database_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let live = database_with_a_user(dir.path(), "live.sqlite");
    let backup = dir.path().join("backup.sqlite");
    let (ok, _, err) = admin(&sqlite_url(&live), &["backup", "--out", backup.to_str().unwrap()]);
    assert!(ok, "{err}");
    let before = std::fs::read(&live).unwrap();
    let (ok, _, err) = admin(&sqlite_url(&live), &["restore", "--from", backup.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("restore onto a non-empty database") && err.contains("holds 1 users"), "{err}");
    assert!(err.contains("move that file away"), "{err}");
    assert_eq!(std::fs::read(&live).unwrap(), before, "the database was changed");
    // No --force exists to get around it.
    let (ok, _, err) = admin(&sqlite_url(&live), &["restore", "--force", "--from", backup.to_str().unwrap()]);
    assert!(!ok && err.contains("--force"), "{err}");

    // An empty server database (started, no users) may be replaced.
    let empty = dir.path().join("empty.sqlite");
    let (ok, _, err) = admin(&sqlite_url(&empty), &["user", "list"]);
    assert!(ok, "{err}");
    let (ok, out, err) = admin(&sqlite_url(&empty), &["restore", "--from", backup.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("1 users"), "{out}");
    let (_, users, _) = admin(&sqlite_url(&empty), &["user", "list"]);
    assert!(users.contains("dana@example.org"), "{users}");
}

#[test]
fn restore_refuses_what_is_not_a_circles_backup() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("server.sqlite");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database at all, just some words that are long enough to fill a page header").unwrap();
    let other = dir.path().join("other-app.sqlite");
    rusqlite::Connection::open(&other).unwrap().execute_batch("CREATE TABLE recipes (name TEXT);").unwrap();
    let app_store = dir.path().join("circles-app");
    common::open_laptop(&app_store);
    let app_file = std::fs::read_dir(&app_store)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "sqlite" || e == "db"))
        .expect("the app's store file");
    for (file, why) in [
        (&text, "it is not a SQLite database"),
        (&other, "without the server's tables (users, changes, field_state"),
        // The app's store is encrypted (crates/core/src/store/key.rs): no SQLite file to the server.
        (&app_file, "it is not a SQLite database"),
    ] {
        let (ok, _, err) = admin(&sqlite_url(&target), &["restore", "--from", file.to_str().unwrap()]);
        assert!(!ok, "{} was restored", file.display());
        assert!(err.contains("is not a Circles server backup") && err.contains(why), "{err}");
        assert!(!target.exists(), "a refused restore left {}", target.display());
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let (ok, _, err) = admin(&sqlite_url(&target), &["restore", "--from", dir.path().join("nope").to_str().unwrap()]);
    assert!(!ok && err.contains("there is no file at"), "{err}");
}

#[test]
fn backup_refuses_an_existing_file_and_an_unwritable_folder() {
    let dir = tempfile::tempdir().unwrap();
    let live = sqlite_url(&database_with_a_user(dir.path(), "live.sqlite"));
    let out_file = dir.path().join("copy.sqlite");
    std::fs::write(&out_file, "keep me").unwrap();
    let (ok, _, err) = admin(&live, &["backup", "--out", out_file.to_str().unwrap()]);
    assert!(!ok && err.contains("already exists") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "keep me");
    let (ok, out, err) = admin(&live, &["backup", "--force", "--out", out_file.to_str().unwrap()]);
    assert!(ok && out.contains("1 users"), "{out}{err}");

    // A folder that cannot be written: under a regular file (even root cannot
    // create there), and a folder without write permission (for root, who
    // may write anywhere, a file system no one may create files in).
    let under_file = dir.path().join("copy.sqlite").join("backup.sqlite");
    let (ok, _, err) = admin(&live, &["backup", "--out", under_file.to_str().unwrap()]);
    assert!(!ok && err.contains("cannot write in the folder") && err.contains("it is not a folder"), "{err}");
    let no_write = if unsafe { libc::geteuid() } == 0 {
        std::path::PathBuf::from("/proc/circles-backup.sqlite")
    } else {
        use std::os::unix::fs::PermissionsExt;
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
        locked.join("backup.sqlite")
    };
    let (ok, _, err) = admin(&live, &["backup", "--out", no_write.to_str().unwrap()]);
    assert!(!ok && err.contains("cannot write in the folder"), "{err}");
    assert!(!no_write.exists());
    let (ok, _, err) = admin(&live, &["backup", "--out", dir.path().to_str().unwrap()]);
    assert!(!ok && err.contains("is a folder"), "{err}");
    let (ok, _, err) = admin(&sqlite_url(&dir.path().join("missing.sqlite")), &["backup", "--out", "/tmp/x.sqlite"]);
    assert!(!ok && err.contains("there is no server database at"), "{err}");
}

#[test]
fn config_file_is_used_and_overridden_and_bad_ones_start_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("from-config.sqlite");
    let config = dir.path().join("server.toml");
    std::fs::write(&config, format!("database = \"{}\"\nlisten = \"127.0.0.1:0\"\n", db.display())).unwrap();
    let cfg = config.to_str().unwrap();
    let (ok, _, err) = run(&["--config", cfg, "user", "add", "--email", "dana@example.org", "--name", "Dana"]);
    assert!(ok, "{err}");
    assert!(db.exists(), "the config's database was not used");
    // --db overrides the file.
    let other = dir.path().join("from-flag.sqlite");
    let (ok, out, _) = run(&["--config", cfg, "--db", other.to_str().unwrap(), "user", "list"]);
    assert!(ok && !out.contains("dana"), "{out}");

    let bad_key = dir.path().join("bad-key.toml");
    let never = dir.path().join("never.sqlite");
    std::fs::write(&bad_key, format!("database = \"{}\"\nlisen = \"127.0.0.1:0\"\n", never.display())).unwrap();
    let (ok, _, err) = run(&["--config", bad_key.to_str().unwrap(), "serve"]);
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "config {}: unknown key `lisen` (line 2); known keys: database, listen",
            bad_key.display()
        )),
        "{err}"
    );
    let bad_value = dir.path().join("bad-value.toml");
    std::fs::write(&bad_value, format!("database = \"{}\"\n\nlisten = \"nope\"\n", never.display())).unwrap();
    let (ok, _, err) = run(&["--config", bad_value.to_str().unwrap(), "serve"]);
    assert!(!ok);
    assert!(err.contains("`listen` = \"nope\" is not an address like 127.0.0.1:8080 (line 3)"), "{err}");
    let (ok, _, err) = run(&["--config", dir.path().join("absent.toml").to_str().unwrap(), "serve"]);
    assert!(!ok && err.contains("cannot read it"), "{err}");
    assert!(!never.exists(), "a bad config still opened the database");
}

#[test]
fn the_example_config_file_is_valid() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/server/server.toml");
    let text = std::fs::read_to_string(&example).unwrap();
    // Every key is in it, commented; uncommented, the values are accepted.
    let uncommented: String = text
        .lines()
        .map(|l| l.strip_prefix("# ").filter(|v| v.contains(" = ") || v.starts_with('[')).unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.toml");
    std::fs::write(&path, &uncommented).unwrap();
    let config = circles_server::config::ServerConfig::load(Some(&path), Default::default()).unwrap();
    assert!(config.public_url.is_some() && config.mail.url.is_some() && config.mail.from.is_some());
    assert!(config.sms.is_some(), "every SMS key is in the example");
    let keys = circles_server::config::KEYS.iter().chain(circles_server::config::MAIL_KEYS);
    for key in keys.chain(circles_server::config::SMS_KEYS) {
        assert!(text.contains(&format!("# {key} = ")) || ["mail", "sms"].contains(key), "{key} is not in the example");
    }
    assert!(text.contains("# [mail]") && text.contains("# [sms]"));
    // As shipped (all commented) it is valid too.
    circles_server::config::ServerConfig::load(Some(&example), Default::default()).unwrap();
}

#[test]
fn restore_refuses_a_database_a_server_is_using() {
    let dir = tempfile::tempdir().unwrap();
    let live = database_with_a_user(dir.path(), "live.sqlite");
    let backup = dir.path().join("backup.sqlite");
    let (ok, _, err) = admin(&sqlite_url(&live), &["backup", "--out", backup.to_str().unwrap()]);
    assert!(ok, "{err}");
    // An empty database, but served: replacing it under the server would
    // lose what it writes next.
    let served = sqlite_url(&dir.path().join("served.sqlite"));
    let server = ServerProcess::start(&served);
    let (ok, _, err) = admin(&served, &["restore", "--from", backup.to_str().unwrap()]);
    assert!(!ok && err.contains("is in use (is the server running on it? stop it first)"), "{err}");
    drop(server);
    let (ok, _, err) = admin(&served, &["restore", "--from", backup.to_str().unwrap()]);
    assert!(ok, "{err}");
}
