//! A hostile (or buggy) laptop, signed in as a real account, pushes what
//! the sync client never would. The server checks every change with the
//! rules of a local write, and who may write what: each push below is
//! refused as a whole with a code naming the change, the field and the
//! rule, and an honest laptop goes on syncing and converging afterwards.

mod common;

use circles_core::hlc::{wall_clock_millis, Hlc};
use circles_core::{CircleInput, CourseInput, LearnerInput};
use common::device::Device;
use common::{Backend, Client, RawClient, TestServer};
use serde_json::{json, Value};

fn id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A server with two accounts: Alice, an organizer of the Chicago team
/// with an honest laptop, and Mallory with a hand-made client.
struct World {
    server: TestServer,
    raw: RawClient,
    alice: Client,
    alice_id: String,
    mallory: Device,
    team: String,
}

fn world(backend: Backend) -> World {
    let server = TestServer::start(backend);
    let alice_id = server.add_user("alice@example.org", "Alice");
    server.add_user("mallory@example.org", "Mallory");
    let team = server.storage.add_team("Chicago").unwrap();
    server.storage.add_organizer(&team, "alice@example.org").unwrap();
    let raw = server.raw();
    let alice = Client::new(&server, "alice@example.org");
    let mallory = Device::new(&server, "mallory@example.org", "mallory-laptop");
    World { server, raw, alice, alice_id, mallory, team }
}

impl World {
    /// Alice's laptop still syncs, and what she writes reaches the server.
    fn honest_laptop_still_syncs(&mut self) {
        let title = format!("Still syncing {}", id());
        self.alice.store.create_course(&CourseInput::new(title.clone())).unwrap();
        let report = self.alice.sync();
        assert_eq!(report.refused, 0, "nothing of Alice's is refused");
        assert_eq!(self.alice.store.pending_count().unwrap(), 0, "Alice's changes all reached the server");
        let (seen, _) = self.mallory.pull_all(&self.raw, 0, 1000);
        assert!(!seen.is_empty());
    }
}

/// Assert a refused push: the status, and for 422 the refused change's
/// field and rule code.
fn assert_refused(answer: &(u16, Value), status: u16, field: &str, rule: &str) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    if status == 422 {
        assert_eq!(body["code"], json!("invalid_change"), "{body}");
        assert_eq!(body["refused"]["field"], json!(field), "{body}");
        assert_eq!(body["refused"]["rule"]["code"], json!(rule), "{body}");
        assert!(body["refused"]["change_id"].as_str().is_some_and(|c| !c.is_empty()), "{body}");
    } else {
        assert_eq!(body["code"], json!("forbidden"), "{body}");
    }
}

fn a_membership_naming_no_team_is_refused(backend: Backend) {
    let mut w = world(backend);
    let row = id();
    let answer = w.mallory.push(
        &w.raw,
        vec![
            w.mallory.change("team_members", &row, "team_id", json!("no-such-team")),
            w.mallory.change("team_members", &row, "facilitator_id", json!(w.alice_id)),
        ],
    );
    assert_refused(&answer, 422, "team_id", "reference");
    w.honest_laptop_still_syncs();
}

fn a_clock_counter_beyond_bounds_is_refused(backend: Backend) {
    let mut w = world(backend);
    let mut change = w.mallory.change("courses", &id(), "title", json!("Overflow"));
    change.hlc = Hlc { millis: wall_clock_millis(), counter: u32::MAX };
    let answer = w.mallory.push(&w.raw, vec![change]);
    assert_refused(&answer, 422, "hlc", "out_of_range");
    w.honest_laptop_still_syncs();
}

fn text_a_local_write_refuses_is_refused(backend: Backend) {
    let mut w = world(backend);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("title", json!("Bell\u{7}"), "control_characters"),
        ("title", json!("NUL\u{0}byte"), "control_characters"),
        ("title", json!("\u{1b}[2J\u{1b}[31mred"), "control_characters"),
        ("title", json!("invoice\u{202e}fdp.exe"), "control_characters"),
        ("title", json!("x".repeat(10_000)), "too_long"),
        ("title", json!("   "), "required"),
        ("title", json!(42), "choice"),
        ("link", json!("javascript:alert(1)"), "url"),
        ("language", json!("English"), "language"),
        ("topics", json!(serde_json::to_string(&["ok", "\u{1b}]0;pwned\u{7}"]).unwrap()), "control_characters"),
        ("topics", json!("not json"), "choice"),
        ("created_at", json!("yesterday"), "date"),
        ("archived", json!(7), "out_of_range"),
    ];
    for (field, value, rule) in cases {
        let answer = w.mallory.push(&w.raw, vec![w.mallory.change("courses", &id(), field, value.clone())]);
        assert_refused(&answer, 422, field, rule);
    }
    // A learner's contact details follow the same rules, in a circle
    // Mallory facilitates.
    let circle = id();
    let answer = w.mallory.push(&w.raw, vec![w.mallory.change("circles", &circle, "name", json!("Mallory's"))]);
    assert_eq!(answer.0, 200, "{}", answer.1);
    for (field, value, rule) in [
        ("email", json!("not-an-email"), "email"),
        ("mobile", json!("call me"), "mobile"),
        ("name", json!("=HYPERLINK(\"http://x\")\u{0}"), "control_characters"),
    ] {
        let learner = id();
        let answer = w.mallory.push(
            &w.raw,
            vec![
                w.mallory.change("learners", &learner, "circle_id", json!(circle)),
                w.mallory.change("learners", &learner, field, value),
            ],
        );
        assert_refused(&answer, 422, field, rule);
    }
    w.honest_laptop_still_syncs();
}

fn ids_must_be_well_formed(backend: Backend) {
    let mut w = world(backend);
    let answer = w.mallory.push(&w.raw, vec![w.mallory.change("courses", "é🙂", "title", json!("Unicode id"))]);
    assert_refused(&answer, 422, "row_id", "id");
    let answer = w.mallory.push(&w.raw, vec![w.mallory.change("courses", "a b\u{1b}", "title", json!("Spaced id"))]);
    assert_refused(&answer, 422, "row_id", "id");
    let answer = w.mallory.push(&w.raw, vec![w.mallory.change("circles", &id(), "course_id", json!("../../etc"))]);
    assert_refused(&answer, 422, "course_id", "id");
    w.honest_laptop_still_syncs();
}

/// The shared rows every laptop applies: teams, facilitators, memberships,
/// courses. Mallory may make her own, never change anyone else's.
fn shared_rows_are_written_only_by_their_owners(backend: Backend) {
    let mut w = world(backend);
    let alices_course = w.alice.store.create_course(&CourseInput::new("Alice's course")).unwrap();
    w.alice.sync();

    let team = w.team.clone();
    let attacks = vec![
        w.mallory.change("teams", &team, "name", json!("Pwned")),
        w.mallory.change("facilitators", &w.alice_id, "name", json!("Not Alice")),
        w.mallory.change("facilitators", &w.alice_id, "email", json!("mallory@example.org")),
        w.mallory.change("courses", &alices_course, "deleted", json!(1)),
    ];
    for attack in attacks {
        let answer = w.mallory.push(&w.raw, vec![attack]);
        assert_refused(&answer, 403, "", "");
    }
    // Nor may she make herself an organizer of Alice's team.
    let row = id();
    let answer = w.mallory.push(
        &w.raw,
        vec![
            w.mallory.change("team_members", &row, "team_id", json!(team)),
            w.mallory.change("team_members", &row, "role", json!("organizer")),
        ],
    );
    assert_refused(&answer, 403, "", "");

    // What she made is hers: a course, a team, its course list.
    let (course, her_team, listed) = (id(), id(), id());
    let answer = w.mallory.push(
        &w.raw,
        vec![
            w.mallory.change("courses", &course, "title", json!("Mallory's course")),
            w.mallory.change("teams", &her_team, "name", json!("Mallory's team")),
            w.mallory.change("team_courses", &listed, "team_id", json!(her_team)),
            w.mallory.change("team_courses", &listed, "course_id", json!(course)),
        ],
    );
    assert_eq!(answer.0, 200, "{}", answer.1);
    let answer = w.mallory.push(&w.raw, vec![w.mallory.change("courses", &course, "title", json!("Renamed"))]);
    assert_eq!(answer.0, 200, "{}", answer.1);
    // A course-list entry never moves to another team.
    let answer = w.mallory.push(&w.raw, vec![w.mallory.change("team_courses", &listed, "team_id", json!(team))]);
    assert_refused(&answer, 422, "team_id", "state");
    // Memberships, even of her own team, are the server's to write (invitations, the team screen).
    let member = id();
    let answer = w.mallory.push(
        &w.raw,
        vec![
            w.mallory.change("team_members", &member, "team_id", json!(her_team)),
            w.mallory.change("team_members", &member, "facilitator_id", json!(w.alice_id)),
        ],
    );
    assert_refused(&answer, 403, "", "");
    assert!(answer.1["message"].as_str().unwrap().contains("team membership is changed on the server"));

    // Alice, an organizer, may rename her team and her own name.
    let mut alice_device = Device::new(&w.server, "alice@example.org", "alice-tablet");
    let answer = alice_device.push(
        &w.raw,
        vec![
            alice_device.change("teams", &team, "name", json!("Chicago Public Library")),
            alice_device.change("facilitators", &w.alice_id, "name", json!("Alice A.")),
        ],
    );
    assert_eq!(answer.0, 200, "{}", answer.1);
    w.honest_laptop_still_syncs();
    let names: Vec<String> = w.alice.store.teams().unwrap().into_iter().map(|t| t.name).collect();
    assert!(names.contains(&"Chicago Public Library".to_string()), "{names:?}");
    assert!(!names.contains(&"Pwned".to_string()));
}

/// A mark names a learner of its own circle, and rows name rows that exist.
fn references_stay_in_their_circle(backend: Backend) {
    let mut w = world(backend);
    // Alice's circle, with a learner Mallory somehow learned the id of.
    let alices =
        w.alice.store.create_circle(&CircleInput::new("Alice's circle", "America/Chicago", "18:30", 90), None).unwrap();
    let learner =
        w.alice.store.add_learner(&alices, &LearnerInput { name: "Lena".into(), ..LearnerInput::default() }).unwrap();
    w.alice.sync();

    let (circle, meeting) = (id(), id());
    let answer = w.mallory.push(
        &w.raw,
        vec![
            w.mallory.change("circles", &circle, "name", json!("Mallory's")),
            w.mallory.change("meetings", &meeting, "circle_id", json!(circle)),
        ],
    );
    assert_eq!(answer.0, 200, "{}", answer.1);
    let mark = id();
    let answer = w.mallory.push(
        &w.raw,
        vec![
            w.mallory.change("attendance", &mark, "meeting_id", json!(meeting)),
            w.mallory.change("attendance", &mark, "learner_id", json!(learner)),
        ],
    );
    assert_refused(&answer, 422, "learner_id", "reference");
    assert!(!answer.1["message"].as_str().unwrap().contains("Lena"), "nothing of Alice's circle is told");
    // A circle on a course that does not exist.
    let answer = w.mallory.push(&w.raw, vec![w.mallory.change("circles", &circle, "course_id", json!(id()))]);
    assert_refused(&answer, 422, "course_id", "reference");
    // Rows made earlier in the same push may be named.
    let (course, learner) = (id(), id());
    let answer = w.mallory.push(
        &w.raw,
        vec![
            w.mallory.change("courses", &course, "title", json!("New")),
            w.mallory.change("circles", &circle, "course_id", json!(course)),
            w.mallory.change("learners", &learner, "circle_id", json!(circle)),
            w.mallory.change("attendance", &mark, "meeting_id", json!(meeting)),
            w.mallory.change("attendance", &mark, "learner_id", json!(learner)),
        ],
    );
    assert_eq!(answer.0, 200, "{}", answer.1);
    w.honest_laptop_still_syncs();
}

both_backends!(
    a_membership_naming_no_team_is_refused,
    a_clock_counter_beyond_bounds_is_refused,
    text_a_local_write_refuses_is_refused,
    ids_must_be_well_formed,
    shared_rows_are_written_only_by_their_owners,
    references_stay_in_their_circle,
);
