//! Erasing a learner everywhere (issue 16, item 3): after a learner's email
//! was written, edited concurrently on two laptops (a conflict) and synced,
//! the erase syncs, and then neither the server's database files (SQLite:
//! the main file and its WAL; PostgreSQL: every row of every table, read as
//! text) nor either laptop's data folder (store, WAL, automatic backups)
//! holds any of the emails; attendance counts are unchanged. An erase pushed
//! by someone outside the circle is refused 403 and purges nothing.

mod common;

use chrono::NaiveDate;
use circles_core::{CircleInput, CoreError, LearnerInput, Mark, WeeklyRule};
use common::device::Device;
use common::{files_holding, server_places_holding, Backend, Client, TestServer};
use serde_json::json;

/// Every email of the test shares this, so one search finds any of them.
const NEEDLE: &str = "ana.souza";

/// Marks of the learner, counted on a laptop.
fn marks(client: &Client, learner: &str) -> usize {
    client.store.export_learner(learner).unwrap().attendance.len()
}

fn an_erased_email_is_in_no_server_or_laptop_file(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("lena@example.org", "Lena");
    let mut a = Client::new(&server, "lena@example.org");
    let mut b = Client::new(&server, "lena@example.org");
    let rule = WeeklyRule { first_date: NaiveDate::from_ymd_opt(2027, 2, 1).unwrap(), count: 3 };
    let circle = a.store.create_circle(&CircleInput::new("Erase", "Europe/Lisbon", "18:00", 90), Some(&rule)).unwrap();
    let meetings: Vec<String> = a.store.meetings(&circle).unwrap().into_iter().map(|m| m.id).collect();
    let mut input = LearnerInput::new("Ana Souza");
    input.email = format!("{NEEDLE}@example.org");
    let ana = a.store.add_learner(&circle, &input).unwrap();
    a.store.mark_attendance(&meetings[0], &ana, Mark::Present).unwrap();
    a.store.mark_attendance(&meetings[1], &ana, Mark::Late).unwrap();
    a.sync();
    b.sync();
    // Edited on both laptops offline: one of them gets a conflict holding
    // the other's value, the server keeps it too.
    input.email = format!("{NEEDLE}.home@example.org");
    a.store.update_learner(&ana, &input).unwrap();
    input.email = format!("{NEEDLE}.work@example.org");
    b.store.update_learner(&ana, &input).unwrap();
    a.sync();
    b.sync();
    a.sync();
    let conflicts = server.db.query("SELECT count(*) FROM conflicts WHERE field = 'email'");
    assert_eq!(conflicts[0][0].as_deref(), Some("1"), "the concurrent edits made a conflict");
    // A daily backup on each laptop, made before the erase.
    a.store.backup_if_due().unwrap().expect("a backup");
    b.store.backup_if_due().unwrap().expect("a backup");
    assert!(!server_places_holding(&server.db, NEEDLE).is_empty(), "the server held the email");
    let (marks_a, marks_b) = (marks(&a, &ana), marks(&b, &ana));
    assert_eq!((marks_a, marks_b), (2, 2));

    a.store.erase_learner(&ana).unwrap();
    a.sync();
    b.sync();

    assert_eq!(server_places_holding(&server.db, NEEDLE), Vec::<String>::new(), "server");
    assert_eq!(files_holding(a.path(), NEEDLE), Vec::<String>::new(), "laptop a");
    assert_eq!(files_holding(b.path(), NEEDLE), Vec::<String>::new(), "laptop b");
    for client in [&a, &b] {
        let learner = client.store.learner(&ana).unwrap();
        assert!(learner.erased);
        assert_eq!((learner.fields.name.as_str(), learner.fields.email.as_str()), ("Erased learner", ""));
        assert_eq!(marks(client, &ana), 2, "attendance counts stay right");
        assert_eq!(client.store.learners(&circle).unwrap().len(), 1);
    }
    let state = server.db.field_state();
    let key = |f: &str| ("learners".to_string(), ana.clone(), f.to_string());
    assert_eq!(state[&key("name")], json!("Erased learner"));
    assert_eq!(state[&key("erased")], json!(1));

    // Erasing twice: a clear answer, and nothing to push.
    let seq = server.db.max_seq();
    let again = a.store.erase_learner(&ana).unwrap_err();
    assert!(matches!(again, CoreError::LearnerErased { .. }), "{again}");
    assert_eq!(again.code(), Some("learner_erased"));
    a.sync();
    assert_eq!(server.db.max_seq(), seq, "nothing changed on the server");
}

fn an_erase_from_outside_the_circle_is_refused_and_purges_nothing(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("lena@example.org", "Lena");
    server.add_user("mo@example.org", "Mo");
    let mut a = Client::new(&server, "lena@example.org");
    let circle = a.store.create_circle(&CircleInput::new("Lena's", "Europe/Lisbon", "18:00", 90), None).unwrap();
    let mut input = LearnerInput::new("Ana Souza");
    input.email = format!("{NEEDLE}@example.org");
    let ana = a.store.add_learner(&circle, &input).unwrap();
    a.sync();
    let before = server.db.field_state();

    let raw = server.raw();
    let mut mo = Device::new(&server, "mo@example.org", "mo-laptop");
    let changes = [("name", json!("Erased learner")), ("email", json!("")), ("erased", json!(1))]
        .into_iter()
        .map(|(field, value)| mo.change("learners", &ana, field, value))
        .collect();
    let (status, answer) = mo.push(&raw, changes);
    assert_eq!((status, answer["code"].as_str()), (403, Some("forbidden")), "{answer}");
    assert_eq!(server.db.field_state(), before, "nothing changed");
    let logged = server.db.query(&format!("SELECT count(*) FROM changes WHERE value LIKE '%{NEEDLE}%'"));
    assert_eq!(logged[0][0].as_deref(), Some("1"), "nothing was purged");
}

both_backends!(
    an_erased_email_is_in_no_server_or_laptop_file,
    an_erase_from_outside_the_circle_is_refused_and_purges_nothing
);
