//! The SQLite backend under the sync rules: what a push leaves in the log
//! and the field states, groups and refused pushes, pull pages over scopes.

use super::*;
use crate::protocol::{PushJob, SyncService};
use crate::SqliteStorage;
use axum::http::StatusCode;
use circles_core::hlc::wall_clock_millis;
use circles_core::sync::wire::PushOutcome;
use serde_json::json;

fn server() -> (tempfile::TempDir, SqliteStorage, Session) {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(&dir.path().join("server.sqlite")).unwrap();
    let user_id = storage.add_user("a@example.org", "A", "not-a-hash").unwrap();
    let token_id = storage.create_token(&user_id, "dev-a", "laptop", "hash", "127.0.0.1").unwrap();
    (dir, storage, Session { user_id, device_id: "dev-a".into(), token_id })
}

fn change(id: &str, row: &str, field: &str, value: serde_json::Value, millis: u64) -> WireChange {
    WireChange {
        change_id: id.into(),
        table: "courses".into(),
        row_id: row.into(),
        field: field.into(),
        value,
        hlc: Hlc { millis, counter: 0 },
        device_id: "dev-a".into(),
        base_seq: None,
    }
}

fn push(
    storage: &SqliteStorage,
    session: &Session,
    seq: i64,
    changes: Vec<WireChange>,
) -> Vec<(PushOutcome, Option<i64>)> {
    let batch = PushRequest { batch_id: format!("batch-{seq}"), batch_seq: seq, changes };
    let response = storage.push(session, batch, wall_clock_millis()).unwrap();
    response.results.iter().map(|r| (r.outcome, r.seq)).collect()
}

/// What the server holds: its log and its field states.
#[allow(clippy::type_complexity)]
fn state(storage: &SqliteStorage) -> (Vec<(i64, String, String, String)>, Vec<(String, String, String, i64)>) {
    storage
        .backend()
        .read_sql(|tx| {
            let mut log = tx.prepare("SELECT seq, change_id, field, value FROM changes ORDER BY seq")?;
            let log = log
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut fields = tx.prepare("SELECT row_id, field, value, seq FROM field_state ORDER BY row_id, field")?;
            let fields = fields
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((log, fields))
        })
        .unwrap()
}

#[test]
fn a_push_logs_winners_in_order_after_the_servers_own_changes() {
    let (_dir, storage, session) = server();
    // `add_user` logged the account's facilitator row: seqs 1 to 4.
    let now = wall_clock_millis();
    let results = push(
        &storage,
        &session,
        1,
        vec![
            change("c1", "r1", "title", json!("First"), now),
            change("c2", "r1", "title", json!("Second"), now + 1),
            change("c1", "r1", "title", json!("First"), now),
            change("c3", "r1", "title", json!("Stale"), now - 1),
            change("c4", "r2", "title", json!("Other"), now),
        ],
    );
    use PushOutcome::*;
    assert_eq!(
        results,
        [(Applied, Some(5)), (Applied, Some(6)), (Duplicate, None), (Superseded, None), (Applied, Some(7))]
    );
    // A field won twice in one push holds the later winner.
    let (_, fields) = state(&storage);
    let courses: Vec<_> = fields.iter().filter(|f| f.0 == "r1" || f.0 == "r2").cloned().collect();
    assert_eq!(
        courses,
        [("r1".into(), "title".into(), "\"Second\"".into(), 6), ("r2".into(), "title".into(), "\"Other\"".into(), 7)]
    );
    // Seen before, in an earlier batch: a duplicate, whatever it carries.
    let results = push(&storage, &session, 2, vec![change("c2", "r1", "title", json!("Again"), now + 5)]);
    assert_eq!(results, [(Duplicate, None)]);
    // The server's own next change follows the pushed ones.
    storage.add_team("Team").unwrap();
    let results = push(&storage, &session, 3, vec![change("c5", "r1", "title", json!("Third"), now + 2)]);
    assert_eq!(results, [(Applied, Some(11))]);
    let (log, fields) = state(&storage);
    let seqs: Vec<i64> = log.iter().map(|l| l.0).collect();
    assert_eq!(seqs, (1..=11).collect::<Vec<_>>());
    let pushed: Vec<(i64, &str, &str)> =
        log.iter().filter(|l| l.1.starts_with('c')).map(|l| (l.0, l.1.as_str(), l.3.as_str())).collect();
    assert_eq!(
        pushed,
        [(5, "c1", "\"First\""), (6, "c2", "\"Second\""), (7, "c4", "\"Other\""), (11, "c5", "\"Third\"")]
    );
    let courses: Vec<_> = fields.iter().filter(|f| f.0 == "r1" || f.0 == "r2").cloned().collect();
    assert_eq!(
        courses,
        [("r1".into(), "title".into(), "\"Third\"".into(), 11), ("r2".into(), "title".into(), "\"Other\"".into(), 7)]
    );
    // The user's other laptop sees every seq once.
    let token_id = storage.create_token(&session.user_id, "dev-a2", "laptop 2", "hash-2", "127.0.0.1").unwrap();
    let laptop = Session { user_id: session.user_id.clone(), device_id: "dev-a2".into(), token_id };
    let page = storage.pull(&laptop, 0, 0, 100, now).unwrap();
    assert_eq!(page.changes.iter().map(|c| c.seq).collect::<Vec<_>>(), seqs);
    assert_eq!((page.cursor, page.has_more, page.remaining), (11, false, 0));
    let page = storage.pull(&laptop, 0, 0, 4, now).unwrap();
    assert_eq!((page.cursor, page.has_more, page.remaining), (4, true, 7));
    // The pushing device gets the server's changes, not its own.
    let page = storage.pull(&session, 0, 0, 100, now).unwrap();
    let others: Vec<i64> = seqs.iter().copied().filter(|s| ![5, 6, 7, 11].contains(s)).collect();
    assert_eq!(page.changes.iter().map(|c| c.seq).collect::<Vec<_>>(), others);
    assert_eq!((page.cursor, page.has_more, page.remaining), (11, false, 0));
    // A small page passes over the device's own changes (5, 6, 7) and
    // still brings the limit of the others'.
    let page = storage.pull(&session, 4, 0, 2, now).unwrap();
    assert_eq!(page.changes.iter().map(|c| c.seq).collect::<Vec<_>>(), [8, 9]);
    assert_eq!((page.cursor, page.has_more, page.remaining), (9, true, 2));
}

#[test]
fn a_refused_push_in_a_group_is_undone_alone() {
    let (_dir, storage, session) = server();
    let now = wall_clock_millis();
    let job = |batch_seq: i64, changes: Vec<WireChange>| {
        let batch = PushRequest { batch_id: format!("b{batch_seq}"), batch_seq, changes };
        (batch_seq as u64, PushJob::checked(&session, batch, now).unwrap())
    };
    let mut meeting = change("m1", "m1", "notes", json!("no circle"), now);
    meeting.table = "meetings".into();
    let jobs = vec![
        job(1, vec![change("c1", "r1", "title", json!("First"), now)]),
        // Refused after a change it would have logged: undone alone.
        job(2, vec![change("c2", "r2", "title", json!("Mine"), now), meeting]),
        job(2, vec![change("c3", "r3", "title", json!("Third"), now)]),
    ];
    let results = storage.write_group(&jobs);
    assert_eq!(results[0].as_ref().unwrap().results[0].seq, Some(5));
    assert_eq!(results[1].as_ref().unwrap_err().status, StatusCode::UNPROCESSABLE_ENTITY);
    // The refused batch's number is free again, and its change unseen.
    assert_eq!(results[2].as_ref().unwrap().results[0].seq, Some(6));
    let (log, _) = state(&storage);
    let pushed: Vec<&str> = log.iter().map(|l| l.1.as_str()).filter(|id| id.starts_with('c')).collect();
    assert_eq!(pushed, ["c1", "c3"]);
}

#[test]
fn a_refused_push_writes_nothing() {
    let (_dir, storage, session) = server();
    let before = state(&storage);
    let now = wall_clock_millis();
    let mut meeting = change("m1", "m1", "notes", json!("no circle"), now);
    meeting.table = "meetings".into();
    let batch = PushRequest {
        batch_id: "b".into(),
        batch_seq: 1,
        changes: vec![change("c1", "r1", "title", json!("Fine"), now), meeting],
    };
    assert!(storage.push(&session, batch, now).is_err());
    assert_eq!(state(&storage), before);
    // Nothing was recorded as seen either: the same change is new later.
    assert_eq!(
        push(&storage, &session, 1, vec![change("c1", "r1", "title", json!("Fine"), now)]),
        [(PushOutcome::Applied, Some(5))]
    );
}

#[test]
fn merging_keeps_the_first_of_two_increasing_lists() {
    assert_eq!(merge_sorted(&[1, 4, 9], &[2, 3, 10, 11], 5), [1, 2, 3, 4, 9]);
    assert_eq!(merge_sorted(&[], &[2, 3], 5), [2, 3]);
    assert_eq!(merge_sorted(&[1, 2], &[], 1), [1]);
}

/// Pages over interleaved scopes (circles, everyone's, people's): every change the user may see but
/// their own, once, in seq order, with the right count of what remains
/// (own changes included); nothing else.
#[test]
fn pages_over_several_scopes_hold_exactly_the_visible_changes_in_order() {
    let (_dir, storage, alice) = server();
    let bob_id = storage.add_user("b@example.org", "B", "not-a-hash").unwrap();
    let bob_token = storage.create_token(&bob_id, "dev-b", "laptop", "hash-b", "127.0.0.1").unwrap();
    let bob = Session { user_id: bob_id, device_id: "dev-b".into(), token_id: bob_token };
    let now = wall_clock_millis();
    let mut n = 0;
    let mut next = |session: &Session, table: &str, row: &str, batch_seq: i64| {
        n += 1;
        let mut c = change(&format!("{}-{n}", session.device_id), row, "name", json!(format!("v{n}")), now + n);
        c.device_id = session.device_id.clone();
        c.table = table.into();
        if table == "courses" {
            c.field = "title".into();
        }
        let batch = PushRequest { batch_id: format!("{}-{batch_seq}", session.device_id), batch_seq, changes: vec![c] };
        storage.push(session, batch, now).unwrap();
    };
    // Alice's two circles, Bob's one, and everyone's courses, interleaved.
    let script = [
        (&alice, "circles", "a1"),
        (&bob, "circles", "b1"),
        (&alice, "courses", "k1"),
        (&bob, "circles", "b1"),
        (&alice, "circles", "a2"),
        (&bob, "courses", "k2"),
        (&alice, "circles", "a1"),
        (&bob, "circles", "b1"),
        (&alice, "circles", "a2"),
        (&bob, "circles", "b1"),
        (&alice, "courses", "k1"),
    ];
    let (mut a_seq, mut b_seq) = (0, 0);
    for (session, table, row) in script {
        let seq = if session.device_id == "dev-a" { &mut a_seq } else { &mut b_seq };
        *seq += 1;
        next(session, table, row, *seq);
    }
    // Each sees neither the other's circles nor, as they share no team or
    // circle, the other's facilitator row (the directory is scoped).
    for (session, hidden, stranger) in [(&alice, "b1", &bob.user_id), (&bob, "a", &alice.user_id)] {
        let visible: Vec<(i64, String)> = storage
            .backend()
            .read_sql(|tx| {
                let mut stmt = tx.prepare("SELECT seq, row_id, device_id FROM changes ORDER BY seq")?;
                let rows =
                    stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
                Ok(rows
                    .filter_map(|r| r.ok())
                    .filter(|(_, row, _)| !row.starts_with(hidden) && row != stranger)
                    .map(|(s, _, d)| (s, d))
                    .collect())
            })
            .unwrap();
        let expected: Vec<i64> =
            visible.iter().filter(|(_, device)| *device != session.device_id).map(|(s, _)| *s).collect();
        assert!(expected.len() > 2 && expected.len() < visible.len());
        for limit in [1, 2, 3, 5, 100] {
            let (mut cursor, mut got) = (0, Vec::new());
            loop {
                let page = storage.pull(session, cursor, 0, limit, now).unwrap();
                got.extend(page.changes.iter().map(|c| c.seq));
                let after = visible.iter().filter(|(s, _)| *s > page.cursor).count();
                assert_eq!(page.remaining as usize, after, "limit {limit}");
                cursor = page.cursor;
                if !page.has_more {
                    break;
                }
            }
            assert_eq!(got, expected, "{} with pages of {limit}", session.device_id);
        }
    }
}
