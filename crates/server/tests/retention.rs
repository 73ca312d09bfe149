//! A team's retention period (issue 16, item 3): a team anonymizes its
//! learners 90 days after a circle ends; the server's run erases the
//! learners of a circle that ended 100 days ago (a deleted one too) and
//! leaves one that ended 10 days ago alone. Afterwards the erased emails are
//! in no server file (SQLite: the database and its WAL; PostgreSQL: every
//! row of every table, read as text) and, once they synced, in no file of
//! either laptop (store, WAL, automatic backups); attendance counts stay; a
//! second run (the admin command) changes nothing. The period is refused
//! whole when out of range or not a number, and when a non-organizer pushes
//! it; nothing is written then. The team's privacy notice (the other
//! organizers' setting on the Teams screen) is refused the same way: from a
//! member, or longer than 500 characters.

mod common;

use chrono::{Days, NaiveDate, Utc};
use circles_core::{CircleInput, LearnerInput, Mark, TeamRole};
use common::device::Device;
use common::{admin, files_holding, server_places_holding, Backend, Client, ServerProcess, TestServer};
use serde_json::{json, Value};

/// Every email of the old circle shares this; the recent circle's, `RECENT`.
const OLD: &str = "old.learner";
const RECENT: &str = "recent.learner";

fn days_ago(days: u64) -> NaiveDate {
    Utc::now().date_naive().checked_sub_days(Days::new(days)).unwrap()
}

/// A circle on `team` whose meetings were `days` days ago (the last one
/// first: that is when it ended), with learners `needle.1@…`, `needle.2@…`;
/// each marked at every meeting. (circle, learners)
fn circle_with_learners(
    client: &mut Client,
    team: &str,
    name: &str,
    days: &[u64],
    needle: &str,
) -> (String, Vec<String>) {
    let mut input = CircleInput::new(name, "America/Chicago", "18:30", 90);
    input.team_id = Some(team.to_string());
    let circle = client.store.create_circle(&input, None).unwrap();
    let meetings: Vec<String> =
        days.iter().map(|d| client.store.add_meeting(&circle, days_ago(*d), None).unwrap()).collect();
    let mut learners = Vec::new();
    for n in 1..=2 {
        let mut learner = LearnerInput::new(format!("Learner {n} of {name}"));
        learner.email = format!("{needle}.{n}@example.org");
        learner.goals = format!("{needle} goals");
        let id = client.store.add_learner(&circle, &learner).unwrap();
        for meeting in &meetings {
            client.store.mark_attendance(meeting, &id, Mark::Present).unwrap();
        }
        learners.push(id);
    }
    (circle, learners)
}

fn marks(client: &Client, learner: &str) -> usize {
    client.store.export_learner(learner).unwrap().attendance.len()
}

struct World {
    server: TestServer,
    team: String,
    /// Lena organizes the team; Mo is a member.
    lena: Client,
}

fn world(backend: Backend) -> World {
    let server = TestServer::start(backend);
    server.add_user("lena@example.org", "Lena");
    server.add_user("mo@example.org", "Mo");
    let team = server.storage.add_team("Riverbend").unwrap();
    server.storage.add_team_member(&team, "lena@example.org", TeamRole::Organizer).unwrap();
    server.storage.add_team_member(&team, "mo@example.org", TeamRole::Member).unwrap();
    let mut lena = Client::new(&server, "lena@example.org");
    lena.sync();
    World { server, team, lena }
}

fn learners_of_an_ended_circle_are_anonymized_everywhere(backend: Backend) {
    let World { server, team, lena: mut a } = world(backend);
    a.store.set_team_retention(&team, Some(90)).unwrap();
    let (old, old_learners) = circle_with_learners(&mut a, &team, "Ended long ago", &[114, 107, 100], OLD);
    let (recent, recent_learners) = circle_with_learners(&mut a, &team, "Ended lately", &[24, 17, 10], RECENT);
    // A third learner of the old circle, deleted: erased too.
    let mut gone = LearnerInput::new("Gone Learner");
    gone.email = format!("{OLD}.gone@example.org");
    let gone = a.store.add_learner(&old, &gone).unwrap();
    a.store.delete_learner(&gone).unwrap();
    a.sync();
    let mut b = Client::new(&server, "lena@example.org");
    b.sync();
    // A daily backup on the second laptop, made before the run.
    b.store.backup_if_due().unwrap().expect("a backup");
    assert!(!server_places_holding(&server.db, OLD).is_empty(), "the server held the emails");
    let state = server.db.field_state();
    assert_eq!(state[&("teams".to_string(), team.clone(), "anonymize_after_days".to_string())], json!(90));

    let run = server.storage.apply_retention(Utc::now()).unwrap();
    assert_eq!(run.len(), 1, "{run:?}");
    assert_eq!((run[0].team_id.as_str(), run[0].team_name.as_str()), (team.as_str(), "Riverbend"));
    assert_eq!((run[0].days, run[0].anonymized), (90, 3), "{run:?}");
    // Each is in the audit log, erased by the server itself (no account).
    let audit = server
        .storage
        .audit_entries(&circles_server::storage::AuditQuery {
            event: Some("learner_erased".into()),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(audit.len(), 3, "{audit:#?}");
    assert!(audit.iter().all(|e| e.actor.is_none() && e.detail.contains("retention, 90 days")), "{audit:#?}");

    assert_eq!(server_places_holding(&server.db, OLD), Vec::<String>::new(), "server");
    assert!(!server_places_holding(&server.db, RECENT).is_empty(), "the recent circle is untouched");
    let state = server.db.field_state();
    let field = |row: &str, f: &str| state[&("learners".to_string(), row.to_string(), f.to_string())].clone();
    for learner in old_learners.iter().chain([&gone]) {
        assert_eq!(field(learner, "erased"), json!(1));
        assert_eq!(field(learner, "name"), json!("Erased learner"));
        assert_eq!((field(learner, "email"), field(learner, "goals")), (json!(""), json!("")));
    }
    for (n, learner) in recent_learners.iter().enumerate() {
        assert_eq!(field(learner, "erased"), json!(0));
        assert_eq!(field(learner, "email"), json!(format!("{RECENT}.{}@example.org", n + 1)));
    }

    // A second run (the operator's command): nothing left to do.
    let seq = server.db.max_seq();
    let (ok, out, err) = admin(&server.db.url, &["retention", "run"]);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("{team}  Riverbend  90 days  0 learner(s) anonymized")), "{out}");
    assert!(out.contains("0 learner(s) anonymized in 1 team(s)"), "{out}");
    assert_eq!(server.db.max_seq(), seq, "a second run writes nothing");

    // Both laptops pull the erase as they would a laptop's, and blank their copies.
    a.sync();
    b.sync();
    for (client, name) in [(&a, "laptop a"), (&b, "laptop b")] {
        assert_eq!(files_holding(client.path(), OLD), Vec::<String>::new(), "{name}");
        for learner in &old_learners {
            let l = client.store.learner(learner).unwrap();
            assert!(l.erased, "{name}");
            assert_eq!((l.fields.name.as_str(), l.fields.email.as_str()), ("Erased learner", ""));
            assert_eq!(marks(client, learner), 3, "{name}: attendance marks stay");
        }
        assert!(client.store.learner_or_deleted(&gone).unwrap().erased, "{name}");
        for (n, learner) in recent_learners.iter().enumerate() {
            let l = client.store.learner(learner).unwrap();
            assert!(!l.erased, "{name}");
            assert_eq!(l.fields.email, format!("{RECENT}.{}@example.org", n + 1), "{name}");
            assert_eq!(marks(client, learner), 3);
        }
        assert_eq!(client.store.learners(&old).unwrap().len(), 2, "the rows stay, anonymized");
        assert_eq!(client.store.learners(&recent).unwrap().len(), 2);
        assert_eq!(client.store.team_retention(&team).unwrap(), Some(90), "{name}");
    }
}

fn a_team_without_a_period_keeps_its_learners(backend: Backend) {
    let World { server, team, lena: mut a } = world(backend);
    circle_with_learners(&mut a, &team, "Ended long ago", &[400, 393], OLD);
    a.sync();
    let seq = server.db.max_seq();
    assert_eq!(server.storage.apply_retention(Utc::now()).unwrap(), vec![]);
    let (ok, out, err) = admin(&server.db.url, &["retention", "run"]);
    assert!(ok, "{err}");
    assert!(out.contains("no team has a retention period"), "{out}");
    // Turned on, then off again before the run: still nothing.
    a.store.set_team_retention(&team, Some(30)).unwrap();
    a.store.set_team_retention(&team, None).unwrap();
    a.sync();
    let seq_after = server.db.max_seq();
    assert!(seq_after > seq);
    assert_eq!(server.storage.apply_retention(Utc::now()).unwrap(), vec![]);
    assert_eq!(server.db.max_seq(), seq_after, "nothing written");
    assert!(!server_places_holding(&server.db, OLD).is_empty());
}

fn serve_applies_the_periods_when_it_starts(backend: Backend) {
    let World { server, team, lena: mut a } = world(backend);
    a.store.set_team_retention(&team, Some(90)).unwrap();
    let (_, learners) = circle_with_learners(&mut a, &team, "Ended long ago", &[107, 100], OLD);
    a.sync();
    // A `serve` process on the same database runs retention as it starts.
    let _process = ServerProcess::start(&server.db.url);
    let erased = |learner: &str| {
        server.db.field_state().get(&("learners".to_string(), learner.to_string(), "erased".to_string())).cloned()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while learners.iter().any(|l| erased(l) != Some(json!(1))) {
        assert!(std::time::Instant::now() < deadline, "serve did not apply the retention period at start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(server_places_holding(&server.db, OLD), Vec::<String>::new(), "server");
}

/// Assert a refused push: the status, and for 422 the refused field and rule code.
fn assert_refused(answer: &(u16, Value), status: u16, rule: &str) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    if status == 422 {
        assert_eq!(body["code"], json!("invalid_change"), "{body}");
        assert_eq!(body["refused"]["field"], json!("anonymize_after_days"), "{body}");
        assert_eq!(body["refused"]["rule"]["code"], json!(rule), "{body}");
    } else {
        assert_eq!(body["code"], json!("forbidden"), "{body}");
    }
}

fn a_bad_or_unauthorized_period_is_refused_whole(backend: Backend) {
    let World { server, team, lena: _lena } = world(backend);
    let raw = server.raw();
    let before = (server.db.field_state(), server.db.max_seq());
    let mut lena = Device::new(&server, "lena@example.org", "lena-raw");
    for bad in [json!(5), json!(29), json!(3651), json!("abc"), json!(90.5), json!(-90)] {
        // With a valid change beside it: the batch is refused whole.
        let changes = vec![
            lena.change("teams", &team, "name", json!("Riverbend Library")),
            lena.change("teams", &team, "anonymize_after_days", bad.clone()),
        ];
        let answer = lena.push(&raw, changes);
        assert_refused(&answer, 422, "out_of_range");
        assert_eq!((server.db.field_state(), server.db.max_seq()), before, "{bad}: nothing written");
    }
    // A member who does not organize the team may not set it, even in range.
    let mut mo = Device::new(&server, "mo@example.org", "mo-raw");
    let answer = mo.push(&raw, vec![mo.change("teams", &team, "anonymize_after_days", json!(90))]);
    assert_refused(&answer, 403, "");
    assert_eq!((server.db.field_state(), server.db.max_seq()), before, "nothing written");
    // Nor the team's privacy notice.
    let notice = json!("https://library.example.org/privacy");
    let answer = mo.push(&raw, vec![mo.change("teams", &team, "privacy_notice", notice.clone())]);
    assert_refused(&answer, 403, "");
    assert_eq!((server.db.field_state(), server.db.max_seq()), before, "nothing written");
    // The organizer's notice: too long, refused whole.
    let answer = lena.push(&raw, vec![lena.change("teams", &team, "privacy_notice", json!("x".repeat(501)))]);
    assert_eq!(answer.0, 422, "{}", answer.1);
    assert_eq!(answer.1["refused"]["field"], json!("privacy_notice"), "{}", answer.1);
    assert_eq!((server.db.field_state(), server.db.max_seq()), before, "nothing written");
    let answer = lena.push(&raw, vec![lena.change("teams", &team, "privacy_notice", notice)]);
    assert_eq!(answer.0, 200, "{}", answer.1);
    // The organizer may, and may turn it off.
    for good in [json!(30), json!(3650), Value::Null] {
        let answer = lena.push(&raw, vec![lena.change("teams", &team, "anonymize_after_days", good.clone())]);
        assert_eq!(answer.0, 200, "{good}: {}", answer.1);
    }
}

both_backends!(
    learners_of_an_ended_circle_are_anonymized_everywhere,
    a_team_without_a_period_keeps_its_learners,
    serve_applies_the_periods_when_it_starts,
    a_bad_or_unauthorized_period_is_refused_whole
);
