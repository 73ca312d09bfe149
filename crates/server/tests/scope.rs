//! Scope over time: access gained after a client's cursor (co-facilitator,
//! organizer) must lead to exactly one full resync that converges, even when
//! the resync takes many pages; a row can never be moved out of its circle;
//! and the limits of the HTTP layer answer JSON like everything else.

mod common;

use chrono::NaiveDate;
use circles_core::{CircleInput, WeeklyRule};
use common::device::Device;
use common::{Backend, Client, RawClient, TestServer};
use serde_json::{json, Value};

fn id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Fatima's circle with a meeting, then course changes that everyone sees.
fn setup(server: &TestServer, fatima: &mut Device, raw: &RawClient) -> (String, Vec<String>) {
    let circle = id();
    let meeting = id();
    let mut changes = vec![
        fatima.change("circles", &circle, "name", json!("Reading")),
        fatima.change("meetings", &meeting, "circle_id", json!(circle)),
        fatima.change("meetings", &meeting, "local_date", json!("2026-12-07")),
    ];
    for i in 0..12 {
        changes.push(fatima.change("courses", &id(), "title", json!(format!("Course {i}"))));
    }
    let circle_changes = changes[..3].iter().map(|c| c.change_id.clone()).collect();
    let (status, answer) = fatima.push(raw, changes);
    assert_eq!(status, 200, "{answer}");
    let _ = server;
    (circle, circle_changes)
}

fn a_new_co_facilitator_resyncs_once_even_over_many_pages(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("fatima@example.org", "Fatima");
    let carlos_id = server.add_user("carlos@example.org", "Carlos");
    let raw = server.raw();
    let mut fatima = Device::new(&server, "fatima@example.org", "fatima-laptop");
    let carlos = Device::new(&server, "carlos@example.org", "carlos-laptop");
    let (circle, circle_changes) = setup(&server, &mut fatima, &raw);

    let (seen, cursor) = carlos.pull_all(&raw, 0, 5);
    // Fatima's facilitator row is not his to see: they share no team or circle yet.
    assert_eq!(seen.len(), 12 + 4, "only the catalogue and his own facilitator row");
    assert!(circle_changes.iter().all(|c| !seen.contains(c)));

    // Fatima adds Carlos as co-facilitator (his user id is his facilitator id).
    let link = id();
    let (status, answer) = fatima.push(
        &raw,
        vec![
            fatima.change("circle_facilitators", &link, "circle_id", json!(circle)),
            fatima.change("circle_facilitators", &link, "facilitator_id", json!(carlos_id)),
            fatima.change("circle_facilitators", &link, "deleted", json!(0)),
        ],
    );
    assert_eq!(status, 200, "{answer}");

    // Carlos's old cursor predates his access: one reset, then a full pull
    // in small pages that must not reset again.
    assert_eq!(carlos.pull(&raw, cursor, 5)["reset"], json!(true));
    let (seen, _) = carlos.pull_all(&raw, cursor, 4);
    for c in &circle_changes {
        assert!(seen.contains(c), "the circle's older changes arrive after the reset");
    }
    // And an up-to-date cursor is not reset again.
    let (_, cursor) = carlos.pull_all(&raw, 0, 1000);
    assert_eq!(carlos.pull(&raw, cursor, 5)["reset"], json!(false));
}

fn a_new_organizer_resyncs_once_even_over_many_pages(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("fatima@example.org", "Fatima");
    server.add_user("olga@example.org", "Olga");
    let raw = server.raw();
    let mut fatima = Device::new(&server, "fatima@example.org", "fatima-laptop");
    let olga = Device::new(&server, "olga@example.org", "olga-laptop");
    let team = { server.storage.add_team("Riverbend Public Library").unwrap() };
    // A circle goes only on a team its writer is in.
    server.storage.add_team_member(&team, "fatima@example.org", circles_core::TeamRole::Member).unwrap();
    let (circle, circle_changes) = setup(&server, &mut fatima, &raw);
    let (status, answer) = fatima.push(&raw, vec![fatima.change("circles", &circle, "team_id", json!(team))]);
    assert_eq!(status, 200, "{answer}");
    let (seen, cursor) = olga.pull_all(&raw, 0, 5);
    assert!(circle_changes.iter().all(|c| !seen.contains(c)), "not an organizer yet");

    {
        server.storage.add_organizer(&team, "olga@example.org").unwrap();
    }
    assert_eq!(olga.pull(&raw, cursor, 5)["reset"], json!(true));
    let (seen, _) = olga.pull_all(&raw, cursor, 4);
    for c in &circle_changes {
        assert!(seen.contains(c), "the team's circle arrives after the reset");
    }
}

fn a_row_cannot_be_moved_to_another_circle(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("fatima@example.org", "Fatima");
    server.add_user("carlos@example.org", "Carlos");
    let raw = server.raw();
    let mut fatima = Device::new(&server, "fatima@example.org", "fatima-laptop");
    let mut carlos = Device::new(&server, "carlos@example.org", "carlos-laptop");
    let (fatimas, learner) = (id(), id());
    let fatimas_changes = vec![
        fatima.change("circles", &fatimas, "name", json!("Fatima's")),
        fatima.change("learners", &learner, "circle_id", json!(fatimas)),
        fatima.change("learners", &learner, "name", json!("Ana")),
    ];
    let fatimas_ids: Vec<String> = fatimas_changes.iter().map(|c| c.change_id.clone()).collect();
    let (status, _) = fatima.push(&raw, fatimas_changes);
    assert_eq!(status, 200);
    let carloss = id();
    let (status, _) = carlos.push(&raw, vec![carlos.change("circles", &carloss, "name", json!("Carlos's"))]);
    assert_eq!(status, 200);

    // Carlos claims Fatima's learner for his circle, then edits her.
    let (status, err) = carlos.push(&raw, vec![carlos.change("learners", &learner, "circle_id", json!(carloss))]);
    assert!(status == 403 || status == 422, "{status} {err}");
    let (status, err) = carlos.push(&raw, vec![carlos.change("learners", &learner, "name", json!("Taken"))]);
    assert_eq!((status, err["code"].as_str()), (403, Some("forbidden")), "{err}");
    let (seen, _) = carlos.pull_all(&raw, 0, 1000);
    // His own circle's change stays on his laptop: a device is not sent its own changes.
    assert_eq!(seen.len(), 4, "Carlos sees his own facilitator row only");
    assert!(fatimas_ids.iter().all(|c| !seen.contains(c)));

    // Fatima herself cannot move it either: its history lives in her circle.
    let other = id();
    let (status, _) = fatima.push(&raw, vec![fatima.change("circles", &other, "name", json!("Another"))]);
    assert_eq!(status, 200);
    let (status, err) = fatima.push(&raw, vec![fatima.change("learners", &learner, "circle_id", json!(other))]);
    assert_eq!((status, err["code"].as_str()), (422, Some("invalid_change")), "{err}");
    // Re-sending the same parent is fine (a replica recording the row again).
    let (status, err) = fatima.push(&raw, vec![fatima.change("learners", &learner, "circle_id", json!(fatimas))]);
    assert_eq!(status, 200, "{err}");
}

fn accounts_are_facilitators_so_a_co_facilitator_can_be_added_from_the_app(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("fatima@example.org", "Fatima");
    let carlos_id = server.add_user("carlos@example.org", "Carlos");
    // On one team, so each has the other in their directory.
    let team = server.storage.add_team("Riverbend Public Library").unwrap();
    for email in ["fatima@example.org", "carlos@example.org"] {
        server.storage.add_team_member(&team, email, circles_core::TeamRole::Member).unwrap();
    }
    let mut fatima = Client::new(&server, "fatima@example.org");
    let mut carlos = Client::new(&server, "carlos@example.org");
    // Enough data that the resync after Carlos is added takes several pages
    // of the real client (1,000 changes each).
    let mut circles = Vec::new();
    for i in 0..16 {
        circles.push(
            fatima
                .store
                .create_circle(
                    &CircleInput::new(format!("Circle {i}"), "America/Chicago", "18:30", 90),
                    Some(&WeeklyRule { first_date: NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(), count: 8 }),
                )
                .unwrap(),
        );
    }
    fatima.sync();
    carlos.sync();
    assert!(carlos.store.circles().unwrap().is_empty());
    // The account is a facilitator row its teammates' replicas receive.
    assert_eq!(fatima.store.facilitator(&carlos_id).unwrap().name, "Carlos");
    fatima.store.add_circle_facilitator(&circles[3], &carlos_id).unwrap();
    fatima.sync();
    carlos.sync();
    let seen: Vec<String> = carlos.store.circles().unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(seen, vec![circles[3].clone()]);
    assert_eq!(carlos.store.meetings(&circles[3]).unwrap().len(), 8);
}

fn http_limits_answer_json(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("fatima@example.org", "Fatima");
    let raw = server.raw();
    let token = server.token("fatima@example.org", "dev-a");
    // Over the body limit: refused from the Content-Length alone, before the
    // body is read (a client still writing it may see the connection close
    // instead, so this speaks raw HTTP and sends only the head).
    let head = format!(
        "POST /v1/push HTTP/1.1\r\nHost: x\r\ncircles-protocol: 1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        9 << 20
    );
    let mut stream = std::net::TcpStream::connect(raw.base.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    std::io::Write::write_all(&mut stream, head.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = std::io::Read::read_to_string(&mut stream, &mut answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(head.to_lowercase().contains("content-type: application/json"), "{answer}");
    let err: Value = serde_json::from_str(body).unwrap();
    assert_eq!(err["code"], "too_large");
    // Not JSON at all.
    let resp = raw
        .http
        .post(format!("{}/v1/push", raw.base))
        .header("circles-protocol", "1")
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 415);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let err: Value = resp.json().unwrap();
    assert_eq!(err["code"], "unsupported_media_type");
}

both_backends!(
    a_new_co_facilitator_resyncs_once_even_over_many_pages,
    a_new_organizer_resyncs_once_even_over_many_pages,
    a_row_cannot_be_moved_to_another_circle,
    accounts_are_facilitators_so_a_co_facilitator_can_be_added_from_the_app,
    http_limits_answer_json,
);
