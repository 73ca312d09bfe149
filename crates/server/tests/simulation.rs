//! A seeded simulation of sync: five laptops of one facilitator and a server,
//! random offline edits of every entity, random sync order, dropped requests
//! and responses, duplicated deliveries, and laptops that crash in the middle
//! of a sync or between edits. At the end every replica and the server hold
//! identical data, and every edit the server acknowledged is present or
//! superseded by a later one.
//!
//! The seed fixes the sequence of operations and faults; clocks and ids come
//! from the real clock, so a rerun follows the same script. A failure prints
//! its seed: rerun one with `SIM_SEED=N cargo test -p circles-server --test simulation`.
//! `SIM_SEEDS` sets how many seeds run (default 200).
//!
//! A hostile sixth laptop, another account, pushes between the steps: bad
//! values, unknown fields, clocks far ahead or at the counter's end, rows
//! of circles it does not facilitate, other people's shared rows, dangling
//! references, malformed ids, and good changes mixed with bad ones. Every
//! such push is refused whole (never a server error), nothing of it reaches
//! any replica, and the honest laptops converge as before.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use circles_core::hlc::{wall_clock_millis, Hlc};
use circles_core::schema::ALL_TABLES;
use circles_core::sync::engine::{sync_once, SyncError, Transport};
use circles_core::sync::wire::{
    Hello, PullResponse, PushRequest, PushResponse, WireChange, MAX_CLOCK_SKEW_MS, MAX_PUSH_CHANGES, PROTOCOL_VERSION,
};
use circles_core::value_to_json;
use circles_core::{
    CircleInput, CourseInput, FeedbackInput, GuideSection, LearnerInput, Mark, MeetingStatus, Store, WeeklyRule,
};
use circles_server::error::ApiError;
use circles_server::storage::Session;
use circles_server::{auth, Storage};
use common::{Backend, TestDb};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CLIENTS: usize = 5;

/// (hlc, device) of every change the server acknowledged, by field.
type Acknowledged = RefCell<Vec<((String, String, String), (Hlc, String))>>;

struct FaultyTransport<'a> {
    storage: &'a dyn Storage,
    session: Session,
    rng: &'a RefCell<StdRng>,
    faults: bool,
    /// Transport calls left before the laptop "crashes" (None: no crash).
    calls_left: Cell<Option<u32>>,
    acknowledged: &'a Acknowledged,
}

fn refused(e: ApiError) -> SyncError {
    SyncError::Refused { status: e.status.as_u16(), code: e.code.to_string(), message: e.message }
}

impl FaultyTransport<'_> {
    fn crash_or_drop(&self, what: &str) -> Result<(), SyncError> {
        if let Some(left) = self.calls_left.get() {
            if left == 0 {
                return Err(SyncError::Unreachable("the laptop crashed".into()));
            }
            self.calls_left.set(Some(left - 1));
        }
        if self.faults && self.rng.borrow_mut().gen_bool(0.1) {
            return Err(SyncError::Unreachable(format!("{what} dropped")));
        }
        Ok(())
    }

    fn chance(&self, p: f64) -> bool {
        self.faults && self.rng.borrow_mut().gen_bool(p)
    }
}

impl Transport for FaultyTransport<'_> {
    fn hello(&self) -> Result<Hello, SyncError> {
        Ok(Hello {
            protocols: vec![PROTOCOL_VERSION],
            server_time_ms: wall_clock_millis(),
            max_push_changes: MAX_PUSH_CHANGES,
            max_clock_skew_ms: MAX_CLOCK_SKEW_MS,
        })
    }

    fn push(&self, batch: &PushRequest) -> Result<PushResponse, SyncError> {
        self.crash_or_drop("push request")?;
        let response = self.storage.push(&self.session, batch.clone(), wall_clock_millis()).map_err(refused)?;
        if self.chance(0.05) {
            let again = self.storage.push(&self.session, batch.clone(), wall_clock_millis()).map_err(refused)?;
            assert_eq!(again, response, "a duplicated batch is answered from the record");
        }
        // The server has committed: from here on these edits must never be lost.
        for change in &batch.changes {
            self.acknowledged.borrow_mut().push((
                (change.table.clone(), change.row_id.clone(), change.field.clone()),
                (change.hlc, change.device_id.clone()),
            ));
        }
        if self.chance(0.1) {
            return Err(SyncError::Unreachable("push response dropped".into()));
        }
        Ok(response)
    }

    fn pull(&self, cursor: i64, conflict_cursor: i64, limit: usize) -> Result<PullResponse, SyncError> {
        self.crash_or_drop("pull request")?;
        let limit = if self.faults { limit.min(self.rng.borrow_mut().gen_range(5..200)) } else { limit };
        let page =
            self.storage.pull(&self.session, cursor, conflict_cursor, limit, wall_clock_millis()).map_err(refused)?;
        if self.chance(0.1) {
            return Err(SyncError::Unreachable("pull response dropped".into()));
        }
        Ok(page)
    }
}

struct Laptop {
    dir: tempfile::TempDir,
    store: Store,
    session: Session,
}

impl Laptop {
    fn restart(&mut self) {
        // Dropping the store closes it as a crash would leave it: every
        // committed step is on disk, nothing else.
        let path = self.dir.path().to_path_buf();
        let store = common::open_laptop(&path);
        self.store = store;
    }
}

fn pick<T: Clone>(rng: &mut StdRng, items: &[T]) -> Option<T> {
    (!items.is_empty()).then(|| items[rng.gen_range(0..items.len())].clone())
}

/// One random local edit; refusals by validation are part of the game.
fn random_edit(rng: &mut StdRng, store: &mut Store) {
    let circles: Vec<String> = store.circles().unwrap().into_iter().map(|c| c.id).collect();
    let circle = pick(rng, &circles);
    let meetings: Vec<String> =
        circle.as_ref().map(|c| store.meetings(c).unwrap().into_iter().map(|m| m.id).collect()).unwrap_or_default();
    let learners: Vec<String> =
        circle.as_ref().map(|c| store.learners(c).unwrap().into_iter().map(|l| l.id).collect()).unwrap_or_default();
    let meeting = pick(rng, &meetings);
    let learner = pick(rng, &learners);
    let n: u32 = rng.gen_range(0..1000);
    let _ = match (rng.gen_range(0..14), circle, meeting, learner) {
        (0, _, _, _) if circles.len() < 4 => {
            let first = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap() + Duration::days(rng.gen_range(0..6));
            let rule = WeeklyRule { first_date: first, count: rng.gen_range(2..5) };
            store
                .create_circle(&CircleInput::new(format!("Circle {n}"), "America/Chicago", "18:30", 90), Some(&rule))
                .map(drop)
        }
        (1, Some(c), _, _) => store.add_learner(&c, &LearnerInput::new(format!("Learner {n}"))).map(drop),
        (2..=4, _, Some(m), Some(l)) => store.mark_attendance(&m, &l, Mark::ALL[rng.gen_range(0..4)]),
        (5, Some(c), _, _) => {
            let mut input = store.circle(&c).unwrap().fields;
            input.name = format!("Renamed {n}");
            store.update_circle(&c, &input)
        }
        (6, _, Some(m), _) => {
            let status = if rng.gen_bool(0.5) { MeetingStatus::Cancelled } else { MeetingStatus::Scheduled };
            store.set_meeting_status(&m, status)
        }
        (7, _, _, Some(l)) => {
            let mut input = store.learner(&l).unwrap().fields;
            input.email = format!("learner{n}@example.org");
            store.update_learner(&l, &input)
        }
        (8, _, _, Some(l)) => store.set_learner_withdrawn(&l, rng.gen_bool(0.5)),
        (9, _, _, Some(l)) if rng.gen_bool(0.3) => store.delete_learner(&l),
        (10, _, Some(m), _) => {
            store.set_meeting_feedback(&m, &FeedbackInput { rating: Some(rng.gen_range(1..=5)), ..Default::default() })
        }
        (11, _, Some(m), _) => {
            let sections = vec![GuideSection {
                title: format!("Section {n}"),
                minutes: rng.gen_range(5..60),
                notes: String::new(),
            }];
            store.set_meeting_guide(&m, &sections, true)
        }
        (12, _, _, _) => store.create_course(&CourseInput::new(format!("Course {n}"))).map(drop),
        (13, _, Some(m), _) => {
            let date = store.meeting(&m).unwrap().local_date + Duration::days(rng.gen_range(-3..4));
            store.reschedule_meeting(&m, date, None)
        }
        _ => Ok(()),
    };
}

/// A hostile laptop: another account, pushing by hand.
struct Hostile {
    rng: StdRng,
    session: Session,
    refused: usize,
}

impl Hostile {
    fn change(&mut self, table: &str, row_id: &str, field: &str, value: serde_json::Value) -> WireChange {
        common::device::change_by(&self.session.device_id, table, row_id, field, value)
    }

    /// A batch no honest client would send, built from what an attacker
    /// could learn: the ids of rows on the server, the victim's user id.
    fn batch(&mut self, db: &TestDb, victim_user: &str) -> Vec<WireChange> {
        let new_id = || uuid::Uuid::now_v7().to_string();
        let ids = |sql: &str| -> Vec<String> { db.query(sql).into_iter().filter_map(|r| r[0].clone()).collect() };
        let circles = ids("SELECT row_id FROM row_scope WHERE table_name = 'circles'");
        let courses = ids("SELECT DISTINCT row_id FROM field_state WHERE table_name = 'courses'");
        let victim_circle = pick(&mut self.rng, &circles);
        let victim_course = pick(&mut self.rng, &courses);
        let good_course = |h: &mut Hostile| h.change("courses", &new_id(), "title", serde_json::json!("Mine"));
        use serde_json::json;
        match self.rng.gen_range(0..12) {
            0 => vec![self.change("courses", &new_id(), "title", json!("\u{1b}[2Jescape"))],
            1 => {
                let row = new_id();
                vec![
                    self.change("team_members", &row, "team_id", json!("no-such-team")),
                    self.change("team_members", &row, "facilitator_id", json!(victim_user)),
                ]
            }
            2 => {
                let mut c = good_course(self);
                c.hlc.counter = u32::MAX;
                vec![c]
            }
            3 => {
                let mut c = good_course(self);
                c.hlc.millis += 86_400_000;
                vec![c]
            }
            4 => match victim_circle {
                Some(circle) => vec![self.change("circles", &circle, "name", json!("Taken over"))],
                None => vec![self.change("courses", &new_id(), "nope", json!("unknown field"))],
            },
            5 => match victim_circle {
                Some(circle) => vec![self.change("learners", &new_id(), "circle_id", json!(circle))],
                None => vec![self.change("nope", &new_id(), "title", json!("unknown table"))],
            },
            6 => vec![self.change("facilitators", victim_user, "email", json!("mallory@example.org"))],
            7 => match victim_course {
                Some(course) => vec![self.change("courses", &course, "deleted", json!(1))],
                None => vec![self.change("courses", &new_id(), "archived", json!(5))],
            },
            8 => vec![self.change("courses", "é🙂", "title", json!("Unicode id"))],
            9 => vec![self.change("courses", &new_id(), "title", json!("x".repeat(10_000)))],
            10 => vec![self.change("circles", &new_id(), "course_id", json!(new_id()))],
            _ => vec![good_course(self), self.change("courses", &new_id(), "language", json!("Klingon!"))],
        }
    }

    /// Push a hostile batch: it must be refused whole, as a client error.
    fn push(&mut self, storage: &dyn Storage, db: &TestDb, victim_user: &str, seed: u64) {
        let changes = self.batch(db, victim_user);
        let batch = PushRequest { batch_id: uuid::Uuid::now_v7().to_string(), batch_seq: 1, changes };
        match storage.push(&self.session, batch.clone(), wall_clock_millis()) {
            Ok(answer) => panic!("seed {seed}: a hostile push was accepted: {batch:?} -> {answer:?}"),
            Err(e) => {
                assert!(e.status.is_client_error(), "seed {seed}: {batch:?} -> {e}");
                self.refused += 1;
            }
        }
    }
}

fn field_versions(store: &Store) -> HashMap<(String, String, String), (Hlc, String)> {
    let conn = common::laptop_sql(store.path());
    let mut stmt = conn.prepare("SELECT table_name, row_id, field, hlc, device_id FROM field_versions").unwrap();
    stmt.query_map([], |r| {
        let hlc: String = r.get(3)?;
        Ok(((r.get(0)?, r.get(1)?, r.get(2)?), (hlc.parse().unwrap(), r.get(4)?)))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// Every synced field of every row, as JSON, keyed by (table, row, field).
fn replica_values(store: &Store) -> HashMap<(String, String, String), serde_json::Value> {
    let conn = common::laptop_sql(store.path());
    let mut out = HashMap::new();
    for table in ALL_TABLES {
        let mut stmt = conn.prepare(&format!("SELECT id, {} FROM {}", table.fields.join(", "), table.name)).unwrap();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let id: String = row.get(0).unwrap();
            for (i, field) in table.fields.iter().enumerate() {
                let value: rusqlite::types::Value = row.get(i + 1).unwrap();
                out.insert((table.name.to_string(), id.clone(), field.to_string()), value_to_json(&value));
            }
        }
    }
    out
}

fn run_seed(backend: Backend, seed: u64, steps: usize) -> usize {
    let rng = RefCell::new(StdRng::seed_from_u64(seed));
    let db = TestDb::new(backend);
    let storage = db.open();
    // A cheap hash: the simulation is about sync, not password hashing.
    let user = storage.add_user("fatima@example.org", "Fatima", "$argon2id$unused").unwrap();
    let mut laptops: Vec<Laptop> = (0..CLIENTS)
        .map(|i| {
            let dir = tempfile::tempdir().unwrap();
            let store = common::open_laptop(dir.path());
            let token = format!("token-{seed}-{i}");
            storage.create_token(&user, store.device_id(), "laptop", &auth::token_hash(&token), "127.0.0.1").unwrap();
            let session = storage.session(&auth::token_hash(&token)).unwrap().unwrap();
            Laptop { dir, store, session }
        })
        .collect();
    let acknowledged: Acknowledged = RefCell::new(Vec::new());
    let mut edits = 0;
    let mallory = storage.add_user("mallory@example.org", "Mallory", "$argon2id$unused").unwrap();
    let hostile_token = format!("hostile-{seed}");
    storage.create_token(&mallory, "mallory-laptop", "laptop", &auth::token_hash(&hostile_token), "127.0.0.1").unwrap();
    let mut hostile = Hostile {
        // Its own stream, so the honest laptops follow the same script as without it.
        rng: StdRng::seed_from_u64(seed ^ 0x00BA_D0BA_D0BA_D0BA),
        session: storage.session(&auth::token_hash(&hostile_token)).unwrap().unwrap(),
        refused: 0,
    };

    for _ in 0..steps {
        if hostile.rng.gen_bool(0.2) {
            hostile.push(&*storage, &db, &user, seed);
        }
        let i = rng.borrow_mut().gen_range(0..CLIENTS);
        let action = rng.borrow_mut().gen_range(0..100);
        let laptop = &mut laptops[i];
        match action {
            0..=64 => {
                random_edit(&mut rng.borrow_mut(), &mut laptop.store);
                edits += 1;
            }
            65..=94 => {
                let crash = {
                    let mut r = rng.borrow_mut();
                    if r.gen_bool(0.15) {
                        Some(r.gen_range(0..4))
                    } else {
                        None
                    }
                };
                let transport = FaultyTransport {
                    storage: &*storage,
                    session: laptop.session.clone(),
                    rng: &rng,
                    faults: true,
                    calls_left: Cell::new(crash),
                    acknowledged: &acknowledged,
                };
                match sync_once(&mut laptop.store, &transport, &mut |_| {}) {
                    Ok(_) | Err(SyncError::Unreachable(_)) => {}
                    Err(e) => panic!("seed {seed}: sync failed for a reason other than the network: {e}"),
                }
                if crash.is_some() {
                    laptop.restart();
                }
            }
            _ => laptop.restart(),
        }
    }

    // The network heals: everyone syncs until nothing moves.
    for _ in 0..3 {
        for laptop in laptops.iter_mut() {
            let transport = FaultyTransport {
                storage: &*storage,
                session: laptop.session.clone(),
                rng: &rng,
                faults: false,
                calls_left: Cell::new(None),
                acknowledged: &acknowledged,
            };
            sync_once(&mut laptop.store, &transport, &mut |_| {}).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        }
    }

    // Fatima's laptops hold what she may see: not Mallory's facilitator row
    // (they share no team or circle; the directory is scoped).
    let mut server = db.field_state();
    server.retain(|(table, row, _), _| !(table == "facilitators" && *row == mallory));
    let hostile_rows = db.query("SELECT COUNT(*) FROM field_state WHERE device_id = 'mallory-laptop'");
    assert_eq!(hostile_rows[0][0].as_deref(), Some("0"), "seed {seed}: a hostile change reached the server");
    assert!(steps < 50 || hostile.refused > 0, "seed {seed}: the hostile laptop never pushed");
    let reference = replica_values(&laptops[0].store);
    assert_eq!(reference, server, "seed {seed}: laptop 0 and the server differ");
    for (i, laptop) in laptops.iter().enumerate() {
        assert_eq!(replica_values(&laptop.store), reference, "seed {seed}: laptop {i} differs from laptop 0");
        assert_eq!(laptop.store.pending_count().unwrap(), 0, "seed {seed}: laptop {i} still has changes waiting");
        assert_eq!(laptop.store.refused_count().unwrap(), 0, "seed {seed}: laptop {i} had changes refused");
        let versions = field_versions(&laptop.store);
        for (key, (hlc, device)) in acknowledged.borrow().iter() {
            let (final_hlc, final_device) =
                versions.get(key).unwrap_or_else(|| panic!("seed {seed}: {key:?} lost on laptop {i}"));
            assert!(
                (final_hlc, final_device) >= (hlc, device),
                "seed {seed}: acknowledged edit {key:?} at {hlc} by {device} lost on laptop {i}"
            );
        }
    }
    edits
}

fn with_seed_report(backend: Backend, seed: u64, steps: usize) -> usize {
    match std::panic::catch_unwind(|| run_seed(backend, seed, steps)) {
        Ok(edits) => edits,
        Err(panic) => {
            eprintln!("simulation on {backend:?} failed with seed {seed}; rerun with SIM_SEED={seed}");
            std::panic::resume_unwind(panic)
        }
    }
}

fn replicas_converge_under_faults_across_many_seeds(backend: Backend) {
    if let Ok(seed) = std::env::var("SIM_SEED") {
        with_seed_report(backend, seed.parse().expect("SIM_SEED is a number"), 120);
        return;
    }
    let seeds: u64 = std::env::var("SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    let edits: usize = (0..seeds).map(|seed| with_seed_report(backend, seed, 120)).sum();
    eprintln!("{backend:?}: {seeds} seeds, {edits} random edits: all replicas converged");
}

fn a_long_run_converges(backend: Backend) {
    let edits = with_seed_report(backend, 0xC1_2C1E, 2_500);
    assert!(edits > 1_500, "{edits}");
}

both_backends!(replicas_converge_under_faults_across_many_seeds, a_long_run_converges);
