//! Several `circles-server` processes (the real binary) on one PostgreSQL
//! database, clients picking a server at random for every request:
//!
//! - laptops editing and syncing at the same time converge;
//! - a batch retried on the other server is answered from the record;
//! - with pushers writing through both servers at once, a puller reading
//!   small pages through both never skips a change; one server is killed
//!   (SIGKILL) in the middle and no acknowledged change is lost, the
//!   clients carrying on through the other.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use circles_core::hlc::{wall_clock_millis, Hlc};
use circles_core::sync::engine::{sync_once, SyncError, Transport};
use circles_core::sync::http::HttpTransport;
use circles_core::sync::wire::{Hello, LoginRequest, PullResponse, PushRequest, PushResponse, WireChange};
use circles_core::{CircleInput, LearnerInput, Mark, Store, WeeklyRule};
use circles_server::auth;
use common::{snapshot, Backend, ServerProcess, TestDb, PASSWORD};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

/// A transport that sends every request to a server picked at random, and
/// to the next one if that one cannot be reached.
struct AnyServer {
    servers: Vec<HttpTransport>,
    rng: Mutex<StdRng>,
}

impl AnyServer {
    fn new(urls: &[String], token: &str, seed: u64) -> AnyServer {
        AnyServer {
            servers: urls.iter().map(|u| HttpTransport::new(u, Some(token.to_string())).unwrap()).collect(),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    fn call<T>(&self, f: impl Fn(&HttpTransport) -> Result<T, SyncError>) -> Result<T, SyncError> {
        let first = self.rng.lock().unwrap().gen_range(0..self.servers.len());
        let mut last = None;
        for i in 0..self.servers.len() {
            match f(&self.servers[(first + i) % self.servers.len()]) {
                Err(SyncError::Unreachable(e)) => last = Some(SyncError::Unreachable(e)),
                other => return other,
            }
        }
        Err(last.expect("at least one server"))
    }
}

impl Transport for AnyServer {
    fn hello(&self) -> Result<Hello, SyncError> {
        self.call(|t| t.hello())
    }
    fn push(&self, batch: &PushRequest) -> Result<PushResponse, SyncError> {
        self.call(|t| t.push(batch))
    }
    fn pull(&self, cursor: i64, conflict_cursor: i64, limit: usize) -> Result<PullResponse, SyncError> {
        self.call(|t| t.pull(cursor, conflict_cursor, limit))
    }
}

fn login(url: &str, email: &str, device: &str) -> String {
    HttpTransport::new(url, None)
        .unwrap()
        .login(&LoginRequest {
            email: email.into(),
            password: PASSWORD.into(),
            device_name: device.into(),
            device_id: device.into(),
        })
        .unwrap()
        .token
}

fn setup(users: &[&str]) -> (TestDb, ServerProcess, ServerProcess) {
    let db = TestDb::new(Backend::Postgres);
    {
        let storage = db.open();
        for email in users {
            storage.add_user(email, "Facilitator", &auth::hash_password(PASSWORD).unwrap()).unwrap();
        }
    }
    // Started together: both migrate (under the migration lock) at once.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| ServerProcess::start(&db.url));
        let b = s.spawn(|| ServerProcess::start(&db.url));
        (a.join().unwrap(), b.join().unwrap())
    });
    (db, a, b)
}

#[test]
fn laptops_syncing_at_once_through_two_servers_converge() {
    let (db, a, b) = setup(&["fatima@example.org"]);
    let urls = vec![a.url.clone(), b.url.clone()];
    let laptops: Vec<(tempfile::TempDir, String)> = (0..4)
        .map(|i| {
            let dir = tempfile::tempdir().unwrap();
            let store = common::open_laptop(dir.path());
            let token = login(&urls[i % 2], "fatima@example.org", store.device_id());
            (dir, token)
        })
        .collect();
    // One circle, known to everyone.
    let circle = {
        let mut store = common::open_laptop(laptops[0].0.path());
        let rule = WeeklyRule { first_date: NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(), count: 4 };
        let circle = store
            .create_circle(&CircleInput::new("Public Speaking", "America/Chicago", "18:30", 90), Some(&rule))
            .unwrap();
        sync_once(&mut store, &AnyServer::new(&urls, &laptops[0].1, 0), &mut |_| {}).unwrap();
        circle
    };
    // Four laptops edit and sync at the same time, each request to either server.
    std::thread::scope(|s| {
        for (i, (dir, token)) in laptops.iter().enumerate() {
            let (urls, circle) = (&urls, &circle);
            s.spawn(move || {
                let mut store = common::open_laptop(dir.path());
                let transport = AnyServer::new(urls, token, i as u64 + 1);
                let mut rng = StdRng::seed_from_u64(i as u64);
                sync_once(&mut store, &transport, &mut |_| {}).unwrap();
                for round in 0..12 {
                    let learners = store.learners(circle).unwrap();
                    let meetings = store.meetings(circle).unwrap();
                    if learners.is_empty() || rng.gen_bool(0.3) {
                        store.add_learner(circle, &LearnerInput::new(format!("Learner {i}.{round}"))).unwrap();
                    } else {
                        let l = &learners[rng.gen_range(0..learners.len())].id;
                        let m = &meetings[rng.gen_range(0..meetings.len())].id;
                        store.mark_attendance(m, l, Mark::ALL[rng.gen_range(0..4)]).unwrap();
                    }
                    let report = sync_once(&mut store, &transport, &mut |_| {}).unwrap();
                    assert_eq!(report.refused, 0);
                }
            });
        }
    });
    // Everyone syncs once more, then all hold the same, and so does the server.
    let mut stores: Vec<Store> = laptops.iter().map(|(dir, _)| common::open_laptop(dir.path())).collect();
    for _ in 0..2 {
        for (store, (_, token)) in stores.iter_mut().zip(&laptops) {
            sync_once(store, &AnyServer::new(&urls, token, 99), &mut |_| {}).unwrap();
        }
    }
    let reference = snapshot(&stores[0]);
    for store in &stores[1..] {
        assert_eq!(snapshot(store), reference);
        assert_eq!(store.sync_status().unwrap().pending, 0);
    }
    assert!(stores[0].learners(&circle).unwrap().len() >= 4);
    let server_learners = db.query("SELECT count(DISTINCT row_id) FROM field_state WHERE table_name = 'learners'");
    assert_eq!(
        server_learners[0][0].as_deref().unwrap().parse::<usize>().unwrap(),
        stores[0].learners(&circle).unwrap().len()
    );
}

fn course_batch(device: &str, seq: i64, n: usize) -> PushRequest {
    let changes = (0..n)
        .map(|i| WireChange {
            change_id: uuid::Uuid::now_v7().to_string(),
            table: "courses".into(),
            row_id: uuid::Uuid::now_v7().to_string(),
            field: "title".into(),
            value: json!(format!("Course {device} {seq}.{i}")),
            hlc: Hlc { millis: wall_clock_millis(), counter: 0 },
            device_id: device.into(),
            base_seq: None,
        })
        .collect();
    PushRequest { batch_id: uuid::Uuid::now_v7().to_string(), batch_seq: seq, changes }
}

#[test]
fn a_batch_retried_on_the_other_server_is_answered_from_the_record() {
    let (db, a, b) = setup(&["dana@example.org"]);
    let token = login(&a.url, "dana@example.org", "dana-laptop");
    let (ta, tb) =
        (HttpTransport::new(&a.url, Some(token.clone())).unwrap(), HttpTransport::new(&b.url, Some(token)).unwrap());
    let batch = course_batch("dana-laptop", 1, 5);
    let first = ta.push(&batch).unwrap();
    let seq = db.max_seq();
    assert_eq!(tb.push(&batch).unwrap(), first, "the other server answers from the record");
    assert_eq!(db.max_seq(), seq, "nothing applied twice");
    let mut other = course_batch("dana-laptop", 1, 5);
    other.batch_id = "another".into();
    assert!(tb.push(&other).unwrap_err().to_string().contains("batch_conflict"));
}

#[test]
fn no_change_is_skipped_or_lost_with_writers_on_two_servers_and_one_killed() {
    const PUSHERS: usize = 4;
    let (db, a, b) = setup(&["dana@example.org"]);
    let urls = vec![a.url.clone(), b.url.clone()];
    let b = Arc::new(Mutex::new(b));
    let acknowledged = Arc::new(Mutex::new(HashSet::<String>::new()));
    let batches = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();

    // Pushers: batches of 10 through random servers, each retried (same
    // batch) until answered, as the client does.
    let pushers: Vec<_> = (0..PUSHERS)
        .map(|p| {
            let device = format!("pusher-{p}");
            let transport = AnyServer::new(&urls, &login(&urls[p % 2], "dana@example.org", &device), p as u64);
            let (acknowledged, batches, stop) = (acknowledged.clone(), batches.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut seq = 1;
                while !stop.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(60) {
                    let batch = course_batch(&device, seq, 10);
                    let response = loop {
                        match transport.push(&batch) {
                            Ok(r) => break r,
                            Err(SyncError::Unreachable(_)) if started.elapsed() < Duration::from_secs(60) => {
                                std::thread::sleep(Duration::from_millis(20))
                            }
                            Err(e) => panic!("push {seq} of {device} failed: {e}"),
                        }
                    };
                    assert_eq!(response.results.len(), 10);
                    acknowledged.lock().unwrap().extend(batch.changes.iter().map(|c| c.change_id.clone()));
                    batches.fetch_add(1, Ordering::SeqCst);
                    seq += 1;
                }
            })
        })
        .collect();

    // A puller, small pages, random server, while the pushers write.
    let puller = {
        let transport = AnyServer::new(&urls, &login(&urls[0], "dana@example.org", "puller"), 7);
        let stop = stop.clone();
        std::thread::spawn(move || {
            let (mut cursor, mut seen, mut last_seq) = (0, Vec::<String>::new(), 0);
            let mut drain = |cursor: &mut i64| loop {
                let page = match transport.pull(*cursor, 0, 7) {
                    Ok(p) => p,
                    Err(SyncError::Unreachable(_)) => continue,
                    Err(e) => panic!("pull failed: {e}"),
                };
                assert!(!page.reset);
                for c in &page.changes {
                    assert!(c.seq > last_seq, "seqs arrive in order, once");
                    last_seq = c.seq;
                    if c.change.table == "courses" {
                        seen.push(c.change.change_id.clone());
                    }
                }
                *cursor = page.cursor;
                if !page.has_more {
                    return;
                }
            };
            while !stop.load(Ordering::SeqCst) {
                drain(&mut cursor);
            }
            drain(&mut cursor); // after the last acknowledgement
            seen
        })
    };

    // Kill server B in the middle of the load.
    while batches.load(Ordering::SeqCst) < 40 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
    }
    b.lock().unwrap().kill();
    let at_kill = batches.load(Ordering::SeqCst);
    while batches.load(Ordering::SeqCst) < at_kill + 40 && started.elapsed() < Duration::from_secs(45) {
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::SeqCst);
    for p in pushers {
        p.join().unwrap();
    }
    let total = batches.load(Ordering::SeqCst);
    assert!(
        total >= at_kill + 40,
        "the clients carried on through the other server ({at_kill} batches before the kill, {total} in all)"
    );
    let seen = {
        // The puller's last drain starts after every pusher has stopped.
        puller.join().unwrap()
    };
    let acknowledged = acknowledged.lock().unwrap();
    let seen_set: HashSet<&String> = seen.iter().collect();
    assert_eq!(seen_set.len(), seen.len(), "no change pulled twice");
    for id in acknowledged.iter() {
        assert!(seen_set.contains(id), "acknowledged change {id} was skipped by the puller or lost");
    }
    let logged = db.query("SELECT count(*) FROM changes WHERE table_name = 'courses'")[0][0].clone().unwrap();
    assert_eq!(logged.parse::<usize>().unwrap(), seen.len(), "the puller saw every logged change");
    eprintln!("{total} batches ({at_kill} before SIGKILL), {} changes, all pulled once", acknowledged.len());
}
