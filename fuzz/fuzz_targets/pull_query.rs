//! The server's pull query: `GET /v1/pull?cursor=&conflict_cursor=&limit=`
//! takes three numbers from any signed-in client, and they reach the tuned
//! SQL of the storage backend. Whatever they are, a pull must end in a page
//! or a 4xx (never a panic or a 5xx), and a page must hold only what the
//! puller may see: nothing of another account's circle, none of the
//! puller's own changes, seqs after the cursor in ascending order, no more
//! than the limit asked for (0 taken as 1, capped at `MAX_PULL_LIMIT`); before
//! them only people's rows for contacts found since the cursor.
//!
//! One SQLite server per process, filled once through real pushes from two
//! laptops (each account with a circle, learners, meetings and marks, and a
//! course everyone sees), then pulled with the fuzzed numbers as either
//! account.
#![no_main]

use std::collections::HashSet;
use std::sync::OnceLock;

use chrono::NaiveDate;
use circles_core::hlc::wall_clock_millis;
use circles_core::sync::wire::MAX_PULL_LIMIT;
use circles_core::{CircleInput, CourseInput, LearnerInput, Mark, Store, WeeklyRule};
use circles_server::storage::Session;
use circles_server::{SqliteStorage, SyncService};
use libfuzzer_sys::fuzz_target;

struct Server {
    storage: SqliteStorage,
    /// Per account: its session, and the change ids of its circle's rows
    /// (which the other account must never receive).
    accounts: Vec<(Session, HashSet<String>)>,
    _dir: tempfile::TempDir,
}

/// A laptop of `email` makes a circle with learners, meetings and marks and
/// a course, and pushes it all; returns its session and its circle's change ids.
fn laptop(storage: &SqliteStorage, email: &str, work: &std::path::Path) -> (Session, HashSet<String>) {
    let user_id = storage.add_user(email, email, "not-a-hash").expect("add user");
    let mut store = Store::open_in_with(
        &work.join(email),
        &circles_core::KeySource::Raw(circles_core::StoreKey::from_bytes([1; 32])),
    )
    .expect("open store");
    let device_id = store.device_id().to_string();
    let token_id =
        storage.create_token(&user_id, &device_id, "laptop", &format!("hash-{email}"), "127.0.0.1").expect("token");
    let session = Session { user_id, device_id, token_id };

    let rule = WeeklyRule { first_date: NaiveDate::from_ymd_opt(2026, 1, 5).expect("date"), count: 3 };
    let circle = store
        .create_circle(&CircleInput::new(&format!("Circle of {email}"), "America/Chicago", "18:00", 90), Some(&rule))
        .expect("circle");
    let meetings = store.meetings(&circle).expect("meetings");
    for name in ["Ana", "Ben", "Chen"] {
        let learner = store.add_learner(&circle, &LearnerInput::new(name)).expect("learner");
        store.mark_attendance(&meetings[0].id, &learner, Mark::Present).expect("mark");
    }
    store.create_course(&CourseInput::new(format!("Course of {email}"))).expect("course");

    let mut scoped = HashSet::new();
    while let Some(batch) = store.next_push_batch(50).expect("batch") {
        for change in &batch.changes {
            if change.table != "courses" && change.table != "facilitators" {
                scoped.insert(change.change_id.clone());
            }
        }
        let response = storage.push(&session, batch.clone(), wall_clock_millis()).expect("an honest push is accepted");
        store.ack_push(&batch, &response).expect("ack");
    }
    assert!(!scoped.is_empty());
    (session, scoped)
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = SqliteStorage::open(&dir.path().join("server.sqlite")).expect("server database");
        let accounts = ["ann@example.org", "bo@example.org"].map(|email| laptop(&storage, email, dir.path())).to_vec();
        Server { storage, accounts, _dir: dir }
    })
}

fuzz_target!(|query: (bool, i64, i64, u32, u64)| {
    let (as_second, cursor, conflict_cursor, limit, now_ms) = query;
    let server = server();
    let (me, other) = if as_second { (1, 0) } else { (0, 1) };
    let (session, _) = &server.accounts[me];
    let (_, not_mine) = &server.accounts[other];
    let page = match server.storage.pull(session, cursor, conflict_cursor, limit as usize, now_ms) {
        Ok(page) => page,
        Err(e) => {
            assert!(e.status.is_client_error(), "cursor {cursor} limit {limit}: {} {}", e.status, e.message);
            return;
        }
    };
    // First, people's rows as they stand for contacts found since the
    // cursor (at or below it: docs/sync-protocol.md, the scoped directory);
    // then the page proper. The server takes 0 as 1 (a page must move on)
    // and caps at the most a page may hold.
    let caught_up = if page.reset { 0 } else { page.changes.iter().take_while(|c| c.seq <= cursor).count() };
    for change in &page.changes[..caught_up] {
        let table = change.change.table.as_str();
        assert!(table == "facilitators" || table == "team_members", "a change at or below the cursor: {change:?}");
    }
    let page_size = (limit as usize).clamp(1, MAX_PULL_LIMIT);
    let paged = &page.changes[caught_up..];
    assert!(paged.len() <= page_size, "{} changes for limit {limit}", paged.len());
    for change in &page.changes[..caught_up] {
        assert!(!not_mine.contains(&change.change.change_id), "another account's circle leaked: {change:?}");
        assert_ne!(change.change.device_id, session.device_id, "the puller's own change came back: {change:?}");
    }
    let mut last = if page.reset { i64::MIN } else { cursor };
    for change in paged {
        assert!(!not_mine.contains(&change.change.change_id), "another account's circle leaked: {change:?}");
        assert_ne!(change.change.device_id, session.device_id, "the puller's own change came back: {change:?}");
        assert!(change.seq > last, "seq {} after {last} (cursor {cursor})", change.seq);
        last = change.seq;
    }
});
