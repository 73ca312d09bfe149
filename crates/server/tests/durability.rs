//! The real `circles-server` binary killed with SIGKILL in the middle of a
//! stream of pushes: after a restart on the same database, every change whose
//! push was answered 200 is there, and the device's batch numbers go on.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use circles_core::hlc::{wall_clock_millis, Hlc};
use circles_core::sync::wire::{PushRequest, PushResponse, WireChange, PROTOCOL_HEADER};
use common::{Backend, TestDb};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_circles-server");
const PASSWORD: &str = "correct horse battery";
const DEVICE: &str = "durable-laptop";

fn admin(db: &str, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("--db")
        .arg(db)
        .args(args)
        .env("CIRCLES_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Start the server on an OS-chosen port; returns it and its address.
fn start(db: &str) -> (Child, String) {
    let mut child = Command::new(BIN)
        .arg("--db")
        .arg(db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    (child, url.to_string())
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap()
}

fn login(url: &str, device_id: &str) -> String {
    let body =
        json!({"email": "dana@example.org", "password": PASSWORD, "device_name": "test", "device_id": device_id});
    let resp = http().post(format!("{url}/v1/login")).header(PROTOCOL_HEADER, "1").json(&body).send().unwrap();
    assert_eq!(resp.status(), 200);
    resp.json::<Value>().unwrap()["token"].as_str().unwrap().to_string()
}

fn batch(seq: i64) -> PushRequest {
    let changes = (0..20)
        .map(|i| WireChange {
            change_id: uuid::Uuid::now_v7().to_string(),
            table: "courses".into(),
            row_id: uuid::Uuid::now_v7().to_string(),
            field: "title".into(),
            value: json!(format!("Course {seq}.{i}")),
            hlc: Hlc { millis: wall_clock_millis(), counter: 0 },
            device_id: DEVICE.into(),
            base_seq: None,
        })
        .collect();
    PushRequest { batch_id: uuid::Uuid::now_v7().to_string(), batch_seq: seq, changes }
}

fn push(url: &str, token: &str, batch: &PushRequest) -> Result<(u16, Value), reqwest::Error> {
    let resp =
        http().post(format!("{url}/v1/push")).header(PROTOCOL_HEADER, "1").bearer_auth(token).json(batch).send()?;
    let status = resp.status().as_u16();
    Ok((status, resp.json()?))
}

/// The ids of every course change on the server (the account's own
/// facilitator row aside), as another laptop of the account pulls them (a
/// device is not sent its own changes).
fn all_change_ids(url: &str) -> Vec<String> {
    let token = login(url, "dana-other-laptop");
    let mut cursor = 0;
    let mut ids = Vec::new();
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

fn every_acknowledged_push_survives_sigkill(backend: Backend) {
    let test_db = TestDb::new(backend);
    let db = test_db.url.as_str();
    admin(db, &["user", "add", "--email", "dana@example.org", "--name", "Dana"]);
    let (mut server, url) = start(db);
    let token = login(&url, DEVICE);

    // A client pushes batches as fast as it can until the server vanishes.
    let acknowledged = Arc::new(Mutex::new(Vec::<PushRequest>::new()));
    let in_flight = Arc::new(Mutex::new(None::<PushRequest>));
    let count = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let pusher = {
        let (url, token) = (url.clone(), token.clone());
        let (acknowledged, in_flight, count, stop) =
            (acknowledged.clone(), in_flight.clone(), count.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut seq = 1;
            let started = Instant::now();
            while !stop.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(60) {
                let b = batch(seq);
                *in_flight.lock().unwrap() = Some(b.clone());
                match push(&url, &token, &b) {
                    Ok((200, answer)) => {
                        let response: PushResponse = serde_json::from_value(answer).unwrap();
                        assert_eq!(response.results.len(), 20);
                        acknowledged.lock().unwrap().push(b);
                        *in_flight.lock().unwrap() = None;
                        count.fetch_add(1, Ordering::SeqCst);
                        seq += 1;
                    }
                    Ok((status, answer)) => panic!("push {seq} refused: {status} {answer}"),
                    Err(_) => return, // the server is gone; the batch's fate is unknown
                }
            }
        })
    };
    let started = Instant::now();
    while count.load(Ordering::SeqCst) < 25 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill().unwrap(); // SIGKILL: no shutdown, no flush, mid-stream
    server.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    pusher.join().unwrap();
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 25, "only {} batches before the kill", acknowledged.len());

    let (mut server, url) = start(db);
    let ids = all_change_ids(&url);
    for b in &acknowledged {
        for c in &b.changes {
            assert!(ids.contains(&c.change_id), "acknowledged change {} (batch {}) was lost", c.change_id, b.batch_seq);
        }
    }
    // The batch whose answer was lost is re-sent as it was: answered from
    // the record if it had committed, applied now if it had not.
    let lost_answer = in_flight.lock().unwrap().clone();
    eprintln!("killed after {} acknowledged batches; one in flight: {}", acknowledged.len(), lost_answer.is_some());
    let next = match lost_answer {
        Some(b) => {
            let (status, answer) = push(&url, &token, &b).unwrap();
            assert_eq!(status, 200, "{answer}");
            b.batch_seq + 1
        }
        None => acknowledged.len() as i64 + 1,
    };
    let (status, answer) = push(&url, &token, &batch(next + 1)).unwrap();
    assert_eq!((status, answer["code"].as_str()), (409, Some("batch_gap")), "{answer}");
    let (status, answer) = push(&url, &token, &batch(next)).unwrap();
    assert_eq!(status, 200, "{answer}");
    let ids = all_change_ids(&url);
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no change logged twice");
    assert_eq!(ids.len() as i64, next * 20);

    // A clean stop (SIGTERM) finishes and exits 0.
    let pid = server.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = server.wait().unwrap();
    assert!(status.success(), "{status}");
    let users = admin(db, &["user", "list"]);
    assert!(users.contains("dana@example.org"));
}

both_backends!(every_acknowledged_push_survives_sigkill);
