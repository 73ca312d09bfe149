//! The sync server over real HTTP: accounts, push and pull, scope, conflicts
//! and every kind of bad input.

mod common;

use chrono::NaiveDate;
use circles_core::sync::engine::{sync_once, SyncError, Transport};
use circles_core::sync::wire::{PushOutcome, PushRequest, WireChange, MAX_PUSH_CHANGES};
use circles_core::{CircleInput, LearnerInput, Mark, WeeklyRule};
use common::{snapshot, Backend, Client, TestServer};
use serde_json::json;

fn first_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
}

fn new_circle(client: &mut Client, name: &str) -> String {
    client
        .store
        .create_circle(
            &CircleInput::new(name, "America/Chicago", "18:30", 90),
            Some(&WeeklyRule { first_date: first_date(), count: 4 }),
        )
        .unwrap()
}

fn max_seq(server: &TestServer) -> i64 {
    server.db.max_seq()
}

fn two_laptops_converge_and_exports_match(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("fatima@example.org", "Fatima");
    let mut a = Client::new(&server, "fatima@example.org");
    let mut b = Client::new(&server, "fatima@example.org");
    let circle = new_circle(&mut a, "Public Speaking");
    let ana = a.store.add_learner(&circle, &LearnerInput::new("Ana")).unwrap();
    a.sync();
    b.sync();
    // Offline on both: different learners marked at the same meeting, and the same one.
    let meeting = b.store.meetings(&circle).unwrap()[0].id.clone();
    let bo = b.store.add_learner(&circle, &LearnerInput::new("Bo")).unwrap();
    b.store.mark_attendance(&meeting, &bo, Mark::Present).unwrap();
    a.store.mark_attendance(&meeting, &ana, Mark::Late).unwrap();
    b.store.mark_attendance(&meeting, &ana, Mark::Late).unwrap();
    a.sync();
    b.sync();
    a.sync();
    assert_eq!(snapshot(&a.store), snapshot(&b.store));
    assert_eq!(
        serde_json::to_value(a.store.export_circle(&circle).unwrap()).unwrap(),
        serde_json::to_value(b.store.export_circle(&circle).unwrap()).unwrap()
    );
    assert_eq!(a.store.meeting_marks(&meeting).unwrap().len(), 2);
    assert!(a.store.conflicts(true).unwrap().is_empty(), "same value or different learners: no conflict");
    assert_eq!(a.store.verify_change_log().unwrap(), vec![]);
    assert_eq!(b.store.sync_status().unwrap().pending, 0);
}

fn concurrent_edits_converge_and_the_loser_sees_both_values(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("fatima@example.org", "Fatima");
    let mut a = Client::new(&server, "fatima@example.org");
    let mut b = Client::new(&server, "fatima@example.org");
    let circle = new_circle(&mut a, "Reading");
    let ana = a.store.add_learner(&circle, &LearnerInput::new("Ana")).unwrap();
    a.sync();
    b.sync();
    let meeting = a.store.meetings(&circle).unwrap()[0].id.clone();
    a.store.mark_attendance(&meeting, &ana, Mark::Present).unwrap();
    b.store.mark_attendance(&meeting, &ana, Mark::Absent).unwrap(); // later: wins
    a.sync();
    b.sync();
    a.sync();
    assert_eq!(snapshot(&a.store), snapshot(&b.store));
    assert_eq!(a.store.meeting_marks(&meeting).unwrap()[0].mark, Mark::Absent);
    let lost = a.store.conflicts(false).unwrap();
    assert_eq!(lost.len(), 1, "the losing laptop records the conflict");
    assert_eq!((lost[0].lost_value.clone(), lost[0].won_value.clone()), (json!("present"), json!("absent")));
    assert!(b.store.conflicts(true).unwrap().is_empty(), "the winner has nothing to resolve");

    // Choosing the lost value is a new edit that wins everywhere.
    a.store.resolve_conflict(&lost[0].id, circles_core::sync::Resolution::RestoreLost).unwrap();
    a.sync();
    b.sync();
    assert_eq!(b.store.meeting_marks(&meeting).unwrap()[0].mark, Mark::Present);
    assert_eq!(snapshot(&a.store), snapshot(&b.store));
}

fn a_retried_batch_is_answered_from_the_record(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("fatima@example.org", "Fatima");
    let mut a = Client::new(&server, "fatima@example.org");
    new_circle(&mut a, "Retry");
    let batch = a.store.next_push_batch(1000).unwrap().unwrap();
    let first = a.transport.push(&batch).unwrap();
    let seq_after_first = max_seq(&server);
    // The response was "lost": the client sends the same batch again.
    assert_eq!(a.store.next_push_batch(1000).unwrap().unwrap(), batch, "the pending batch is re-sent verbatim");
    let second = a.transport.push(&batch).unwrap();
    assert_eq!(first, second);
    assert_eq!(max_seq(&server), seq_after_first, "nothing applied twice");
    assert!(first.results.iter().all(|r| r.outcome == PushOutcome::Applied));
    a.store.ack_push(&batch, &second).unwrap();
    assert_eq!(a.store.pending_count().unwrap(), 0);

    // A gap in the batch numbers is refused.
    let mut skipped = batch.clone();
    skipped.batch_seq = 5;
    skipped.batch_id = "another".into();
    let err = a.transport.push(&skipped).unwrap_err();
    assert!(err.to_string().contains("batch_gap") && err.to_string().contains("expected batch number 2"), "{err}");
    // The same number with another batch id is refused too.
    skipped.batch_seq = 1;
    let err = a.transport.push(&skipped).unwrap_err();
    assert!(err.to_string().contains("batch_conflict"), "{err}");
}

fn pulling_in_pages_skips_and_repeats_nothing(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("fatima@example.org", "Fatima");
    let mut a = Client::new(&server, "fatima@example.org");
    for i in 0..12 {
        new_circle(&mut a, &format!("Circle {i}"));
    }
    a.sync();
    let total = max_seq(&server);
    assert!(total > 600, "{total}");
    // Another laptop of the same account pages through everything.
    let b = Client::new(&server, "fatima@example.org");
    let pages = |client: &Client| {
        let mut changes = Vec::new();
        let mut cursor = 0;
        loop {
            let page = client.transport.pull(cursor, 0, 250).unwrap();
            assert!(page.changes.len() <= 250);
            changes.extend(page.changes);
            cursor = page.cursor;
            if !page.has_more {
                break;
            }
            assert_eq!(page.remaining as i64, total - cursor);
        }
        (changes, cursor)
    };
    let (everything, cursor) = pages(&b);
    assert_eq!(cursor, total);
    assert_eq!(everything.iter().map(|c| c.seq).collect::<Vec<_>>(), (1..=total).collect::<Vec<_>>());

    // The laptop that pushed them gets the others' changes (here the
    // server's) and none of its own back, with the same cursors.
    let (others, cursor) = pages(&a);
    assert_eq!(cursor, total);
    let expected: Vec<_> = everything.iter().filter(|c| c.change.device_id != a.store.device_id()).cloned().collect();
    assert!(!expected.is_empty() && expected.len() < 10, "{} changes by others", expected.len());
    assert_eq!(others, expected);

    let mut c = Client::new(&server, "fatima@example.org");
    let report = c.sync();
    assert_eq!(report.pulled as i64, total);
    assert_eq!(snapshot(&a.store), snapshot(&c.store));
}

fn facilitators_see_and_write_only_their_circles_and_organizers_their_team(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("fatima@example.org", "Fatima");
    server.add_user("carlos@example.org", "Carlos");
    server.add_user("olga@example.org", "Olga");
    let team = server.storage_add_team_with_organizer("Riverbend Public Library", "olga@example.org");
    // A circle goes only on a team its writer is in.
    server.storage.add_team_member(&team, "fatima@example.org", circles_core::TeamRole::Member).unwrap();
    let mut fatima = Client::new(&server, "fatima@example.org");
    let mut carlos = Client::new(&server, "carlos@example.org");
    let mut olga = Client::new(&server, "olga@example.org");
    fatima.sync(); // receives the team row made by the server
    let course = fatima.store.create_course(&circles_core::CourseInput::new("Public Speaking")).unwrap();
    let mut input = CircleInput::new("In the team", "America/Chicago", "18:30", 90);
    input.team_id = Some(team.clone());
    input.course_id = Some(course.clone());
    let in_team = fatima.store.create_circle(&input, Some(&WeeklyRule { first_date: first_date(), count: 2 })).unwrap();
    let private = new_circle(&mut fatima, "Fatima's own");
    fatima.sync();

    carlos.sync();
    assert!(carlos.store.circles().unwrap().is_empty(), "no circle of someone else is ever sent");
    assert_eq!(carlos.store.course(&course).unwrap().fields.title, "Public Speaking", "the catalogue is for everyone");

    olga.sync();
    let seen: Vec<String> = olga.store.circles().unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(seen, vec![in_team.clone()], "the organizer sees the team's circle only");
    assert!(olga.store.meetings(&in_team).unwrap().len() == 2);
    let _ = private;

    // Carlos writes to Fatima's circle: refused, nothing changes.
    let before = max_seq(&server);
    let raw = server.raw();
    let token = server.token("carlos@example.org", carlos.store.device_id());
    let change = json!({
        "change_id": "c-intrusion", "table": "circles", "row_id": in_team, "field": "name",
        "value": "Taken over", "hlc": "001700000000000-0000000000", "device_id": carlos.store.device_id()
    });
    let body = json!({"batch_id": "b1", "batch_seq": 1, "changes": [change]}).to_string();
    let (status, err) = raw.send("POST", "/v1/push", Some(&token), Some("1"), Some(&body));
    assert_eq!((status, err["code"].as_str()), (403, Some("forbidden")), "{err}");
    assert_eq!(max_seq(&server), before);
}

trait TeamSetup {
    fn storage_add_team_with_organizer(&self, name: &str, organizer: &str) -> String;
}

impl TeamSetup for TestServer {
    fn storage_add_team_with_organizer(&self, name: &str, organizer: &str) -> String {
        let team = self.storage.add_team(name).unwrap();
        self.storage.add_organizer(&team, organizer).unwrap();
        team
    }
}

fn tokens_can_be_listed_and_revoked(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("fatima@example.org", "Fatima");
    let raw = server.raw();
    let t1 = server.token("fatima@example.org", "device-1");
    let t2 = server.token("fatima@example.org", "device-2");
    let (status, list) = raw.send("GET", "/v1/tokens", Some(&t1), Some("1"), None);
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let id2 = list.as_array().unwrap().iter().find(|t| t["device_id"] == "device-2").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = raw.send("DELETE", &format!("/v1/tokens/{id2}"), Some(&t1), Some("1"), None);
    assert_eq!(status, 204);
    let (status, err) = raw.send("GET", "/v1/pull", Some(&t2), Some("1"), None);
    assert_eq!((status, err["code"].as_str()), (401, Some("unauthorized")));
    let (status, _) = raw.send("POST", "/v1/logout", Some(&t1), Some("1"), None);
    assert_eq!(status, 200);
    let (status, _) = raw.send("GET", "/v1/pull", Some(&t1), Some("1"), None);
    assert_eq!(status, 401);
    let (status, err) = raw.send(
        "POST",
        "/v1/login",
        None,
        Some("1"),
        Some(
            &json!({"email": "fatima@example.org", "password": "wrong", "device_name": "x", "device_id": "d"})
                .to_string(),
        ),
    );
    assert_eq!((status, err["code"].as_str()), (401, Some("invalid_credentials")));
    let (status, err) = raw.send(
        "POST",
        "/v1/login",
        None,
        Some("1"),
        Some(
            &json!({"email": "nobody@example.org", "password": "wrong", "device_name": "x", "device_id": "d"})
                .to_string(),
        ),
    );
    assert_eq!((status, err["message"].clone()), (401, json!("that email and password do not match an account")));
}

fn change(device: &str, table: &str, field: &str, value: serde_json::Value) -> WireChange {
    WireChange {
        change_id: uuid::Uuid::now_v7().to_string(),
        table: table.into(),
        row_id: uuid::Uuid::now_v7().to_string(),
        field: field.into(),
        value,
        hlc: circles_core::hlc::Hlc { millis: circles_core::hlc::wall_clock_millis(), counter: 0 },
        device_id: device.into(),
        base_seq: None,
    }
}

fn batch(changes: Vec<WireChange>) -> String {
    serde_json::to_string(&PushRequest { batch_id: "batch-1".into(), batch_seq: 1, changes }).unwrap()
}

fn bad_input_gets_a_specific_json_error_and_changes_nothing(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("fatima@example.org", "Fatima");
    let raw = server.raw();
    let token = server.token("fatima@example.org", "dev-a");
    let revoked = server.token("fatima@example.org", "dev-b");
    let (_, list) = raw.send("GET", "/v1/tokens", Some(&token), Some("1"), None);
    let revoked_id = list.as_array().unwrap().iter().find(|t| t["device_id"] == "dev-b").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    raw.send("DELETE", &format!("/v1/tokens/{revoked_id}"), Some(&token), Some("1"), None);
    let ok = change("dev-a", "courses", "title", json!("Python"));
    let too_many: Vec<WireChange> = (0..=MAX_PUSH_CHANGES).map(|_| ok.clone()).collect();
    let mut future = ok.clone();
    future.hlc.millis += 3_600_000;
    let unknown_field_body = json!({"batch_id": "b", "batch_seq": 1, "changes": [], "surprise": true}).to_string();

    // The account's facilitator row is logged by the server itself.
    let base = max_seq(&server);
    // (what, path, token, protocol header, body, expected status, expected code)
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>, Option<String>, u16, &'a str);
    let cases: Vec<Case> = vec![
        ("malformed JSON", "/v1/push", Some(&token), Some("1"), Some("{not json".into()), 400, "bad_request"),
        ("unknown top-level field", "/v1/push", Some(&token), Some("1"), Some(unknown_field_body), 400, "bad_request"),
        (
            "unknown table",
            "/v1/push",
            Some(&token),
            Some("1"),
            Some(batch(vec![change("dev-a", "passwords", "title", json!("x"))])),
            422,
            "invalid_change",
        ),
        (
            "unknown field",
            "/v1/push",
            Some(&token),
            Some("1"),
            Some(batch(vec![change("dev-a", "courses", "owner", json!("x"))])),
            422,
            "invalid_change",
        ),
        (
            "wrong kind of value",
            "/v1/push",
            Some(&token),
            Some("1"),
            Some(batch(vec![change("dev-a", "courses", "archived", json!("yes"))])),
            422,
            "invalid_change",
        ),
        ("oversized batch", "/v1/push", Some(&token), Some("1"), Some(batch(too_many)), 413, "batch_too_large"),
        (
            "another device's change",
            "/v1/push",
            Some(&token),
            Some("1"),
            Some(batch(vec![change("dev-z", "courses", "title", json!("x"))])),
            403,
            "wrong_device",
        ),
        ("clock hours ahead", "/v1/push", Some(&token), Some("1"), Some(batch(vec![future])), 422, "clock_skew"),
        ("no token", "/v1/push", None, Some("1"), Some(batch(vec![ok.clone()])), 401, "unauthorized"),
        ("wrong token", "/v1/push", Some("0000"), Some("1"), Some(batch(vec![ok.clone()])), 401, "unauthorized"),
        ("revoked token", "/v1/push", Some(&revoked), Some("1"), Some(batch(vec![ok.clone()])), 401, "unauthorized"),
        (
            "no protocol header",
            "/v1/push",
            Some(&token),
            None,
            Some(batch(vec![ok.clone()])),
            426,
            "protocol_unsupported",
        ),
        (
            "stale protocol",
            "/v1/push",
            Some(&token),
            Some("0"),
            Some(batch(vec![ok.clone()])),
            426,
            "protocol_unsupported",
        ),
        ("cursor from the future", "/v1/pull?cursor=999999", Some(&token), Some("1"), None, 400, "cursor_from_future"),
        ("negative cursor", "/v1/pull?cursor=-1", Some(&token), Some("1"), None, 400, "bad_request"),
        ("garbage cursor", "/v1/pull?cursor=abc", Some(&token), Some("1"), None, 400, "bad_request"),
        ("unknown endpoint", "/v1/nothing", Some(&token), Some("1"), None, 404, "not_found"),
    ];
    for (what, path, tok, protocol, body, status, code) in cases {
        let method = if body.is_some() { "POST" } else { "GET" };
        let (got, err) = raw.send(method, path, tok, protocol, body.as_deref());
        assert_eq!((got, err["code"].as_str()), (status, Some(code)), "{what}: {err}");
        assert!(!err["message"].as_str().unwrap_or_default().is_empty(), "{what}: a message for a person");
        assert_eq!(max_seq(&server), base, "{what} changed nothing");
    }
    // A body that is not the JSON expected is told where it went wrong.
    let misplaced = json!({"batch_id": "b", "batch_seq": 1, "changes": [{"change_id": 7}]}).to_string();
    let (status, err) = raw.send("POST", "/v1/push", Some(&token), Some("1"), Some(&misplaced));
    assert_eq!(status, 400);
    assert!(err["message"].as_str().unwrap().contains("changes[0].change_id"), "{err}");
    let (status, err) = raw.send("GET", "/v1/push", Some(&token), Some("1"), None);
    assert_eq!((status, err["code"].as_str()), (405, Some("method_not_allowed")));
    // The good batch still goes through afterwards, as batch 1.
    let (status, _) = raw.send("POST", "/v1/push", Some(&token), Some("1"), Some(&batch(vec![ok])));
    assert_eq!(status, 200);
    assert_eq!(max_seq(&server), base + 1);
}

fn a_client_with_a_fast_clock_corrects_itself(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("fatima@example.org", "Fatima");
    let mut a = Client::new(&server, "fatima@example.org");
    let mut b = Client::new(&server, "fatima@example.org");
    // A's clock is three hours fast: its edits would win every conflict.
    a.store.set_clock_offset(3 * 3_600_000).unwrap();
    let circle = new_circle(&mut a, "Fast clock");
    a.sync();
    b.sync();
    assert_eq!(b.store.circles().unwrap().len(), 1);
    let newest: String =
        common::laptop_sql(a.store.path()).query_row("SELECT max(hlc) FROM changes", [], |r| r.get(0)).unwrap();
    let newest: circles_core::hlc::Hlc = newest.parse().unwrap();
    assert!(newest.millis < circles_core::hlc::wall_clock_millis() + 60_000, "the changes were re-stamped");
    // After the correction a later edit elsewhere wins, as it should.
    a.store.update_circle(&circle, &CircleInput::new("From A", "America/Chicago", "18:30", 90)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    b.store.update_circle(&circle, &CircleInput::new("From B, later", "America/Chicago", "18:30", 90)).unwrap();
    a.sync();
    b.sync();
    a.sync();
    assert_eq!(a.store.circle(&circle).unwrap().fields.name, "From B, later");
    assert_eq!(snapshot(&a.store), snapshot(&b.store));
}

fn health_hello_and_openapi(backend: Backend) {
    let server = TestServer::start(backend);
    let raw = server.raw();
    assert_eq!(raw.send("GET", "/healthz", None, None, None), (200, json!({"status": "ok"})));
    let (status, hello) = raw.send("GET", "/v1/hello", None, None, None);
    assert_eq!((status, hello["protocols"].clone()), (200, json!([1])));
    let (status, doc) = raw.send("GET", "/openapi.json", None, None, None);
    assert_eq!((status, doc["openapi"].as_str()), (200, Some("3.1.0")));
    assert!(doc["paths"]["/v1/push"].is_object());
    assert!(doc["paths"]["/metrics"].is_object());
    let metrics = server.raw().http.get(format!("{}/metrics", server.url)).send().unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().unwrap();
    for expected in [
        "circles_http_requests_total{route=\"/v1/hello\",method=\"GET\",status=\"200\"} 1",
        "circles_http_request_duration_seconds_bucket{",
        "circles_push_batch_changes_count",
    ] {
        assert!(text.contains(expected), "/metrics lacks {expected}:\n{text}");
    }
}

/// A server that takes fewer changes per push than this client sends (or a
/// body over its limit): it answers 413 before applying anything.
struct SmallerLimit<'a> {
    inner: &'a dyn Transport,
    max: usize,
    refused: std::cell::Cell<usize>,
}

impl Transport for SmallerLimit<'_> {
    fn hello(&self) -> Result<circles_core::sync::wire::Hello, SyncError> {
        self.inner.hello()
    }
    fn push(&self, batch: &PushRequest) -> Result<circles_core::sync::wire::PushResponse, SyncError> {
        if batch.changes.len() > self.max {
            self.refused.set(self.refused.get() + 1);
            return Err(SyncError::Refused { status: 413, code: "batch_too_large".into(), message: "too many".into() });
        }
        self.inner.push(batch)
    }
    fn pull(
        &self,
        cursor: i64,
        conflict_cursor: i64,
        limit: usize,
    ) -> Result<circles_core::sync::wire::PullResponse, SyncError> {
        self.inner.pull(cursor, conflict_cursor, limit)
    }
}

fn a_batch_too_large_for_the_server_goes_again_in_halves(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("fatima@example.org", "Fatima");
    let mut a = Client::new(&server, "fatima@example.org");
    for i in 0..300 {
        a.store.create_course(&circles_core::CourseInput::new(format!("Course {i}"))).unwrap();
    }
    let waiting = a.store.pending_count().unwrap();
    assert!(waiting > 3_000, "{waiting}");
    let older = SmallerLimit { inner: &a.transport, max: 1_000, refused: Default::default() };
    let report = sync_once(&mut a.store, &older, &mut |_| {}).unwrap();
    assert_eq!((report.pushed, report.refused), (waiting, 0));
    // 3,300 changes: refused whole and in halves, then taken in quarters.
    assert_eq!(older.refused.get(), 2);
    assert_eq!(a.store.pending_count().unwrap(), 0);
    let mut b = Client::new(&server, "fatima@example.org");
    b.sync();
    assert_eq!(snapshot(&a.store), snapshot(&b.store));
}

both_backends!(
    a_batch_too_large_for_the_server_goes_again_in_halves,
    two_laptops_converge_and_exports_match,
    concurrent_edits_converge_and_the_loser_sees_both_values,
    a_retried_batch_is_answered_from_the_record,
    pulling_in_pages_skips_and_repeats_nothing,
    facilitators_see_and_write_only_their_circles_and_organizers_their_team,
    tokens_can_be_listed_and_revoked,
    bad_input_gets_a_specific_json_error_and_changes_nothing,
    a_client_with_a_fast_clock_corrects_itself,
    health_hello_and_openapi,
);
