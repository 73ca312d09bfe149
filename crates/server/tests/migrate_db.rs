//! `circles-server migrate-db`: a SQLite server database holding every kind
//! of record (accounts, tokens, a revoked one, teams and members, circles, a revoked access,
//! conflicts, batches, per-token resync state, the mail outbox, invitations, a
//! team's email domain and password resets) is copied into PostgreSQL;
//! both are compared; clients then carry on against PostgreSQL with the same
//! tokens, batch numbers and cursors. A non-empty target is refused.

mod common;

use chrono::NaiveDate;
use circles_core::sync::http::HttpTransport;
use circles_core::{CircleInput, LearnerInput, Mark, WeeklyRule};
use circles_server::auth;
use circles_server::mail::{Email, Kind};
use circles_server::migrate;
use circles_server::protocol::invitations::{InvitationFacts, InvitationRequest};
use circles_server::storage::{Channel, MailAttachment, MailOutcome};
use common::{admin, snapshot, Backend, Client, TestDb, TestServer};

#[test]
fn a_sqlite_server_moves_to_postgres_with_nothing_lost() {
    let source = TestServer::start(Backend::Sqlite);
    let fatima = source.add_user("fatima@example.org", "Fatima");
    let olga_id = source.add_user("olga@example.org", "Olga");
    let team = source.storage.add_team("Riverbend Public Library").unwrap();
    source.storage.add_organizer(&team, "olga@example.org").unwrap();
    // On Olga's team, so that Olga is in Fatima's directory.
    source.storage.add_team_member(&team, "fatima@example.org", circles_core::TeamRole::Member).unwrap();
    let mut a = Client::new(&source, "fatima@example.org");
    let mut b = Client::new(&source, "fatima@example.org");
    let mut input = CircleInput::new("Public Speaking", "America/Chicago", "18:30", 90);
    input.description = "Speak with confidence".into();
    input.status = circles_core::CircleStatus::Published;
    input.venue.name = "Riverbend Library".into();
    let rule = WeeklyRule { first_date: NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(), count: 4 };
    let circle = a.store.create_circle(&input, Some(&rule)).unwrap();
    let ana_input = LearnerInput { consent: true, email: "ana@example.org".into(), ..LearnerInput::new("Ana") };
    let ana = a.store.add_learner(&circle, &ana_input).unwrap();
    a.sync();
    b.sync();
    // A conflict: both laptops mark Ana differently, offline.
    let meeting = a.store.meetings(&circle).unwrap()[0].id.clone();
    a.store.mark_attendance(&meeting, &ana, Mark::Present).unwrap();
    b.store.mark_attendance(&meeting, &ana, Mark::Excused).unwrap();
    a.sync();
    b.sync();
    // A change that arrives after a later one and loses (superseded, so
    // only recorded as seen).
    b.store.mark_attendance(&meeting, &ana, Mark::Late).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    a.store.mark_attendance(&meeting, &ana, Mark::Absent).unwrap();
    a.sync();
    b.sync();
    a.sync();
    // Olga co-facilitates for a while: a revocation.
    a.store.add_circle_facilitator(&circle, &fatima).unwrap();
    a.store.add_circle_facilitator(&circle, &olga_id).unwrap();
    a.sync();
    a.store.remove_circle_facilitator(&circle, &olga_id).unwrap();
    a.sync();
    let mut olga = Client::new(&source, "olga@example.org");
    olga.sync();
    // A signed-out device: its token is revoked, and must stay so.
    let revoked = source.token("fatima@example.org", "old-laptop");
    let revoked_id = source.storage.tokens(None).unwrap().into_iter().find(|t| t.device_id == "old-laptop").unwrap().id;
    assert!(source.storage.revoke_token(&revoked_id, None).unwrap());
    // The mail outbox: a pending message with HTML, an attachment and a
    // dedupe key, and one that failed.
    let mut email = Email::new(Kind::Reminder, "ana@example.org", "Reminder", "Monday at 18:30.\n");
    email.html = Some("<p>Monday at 18:30.</p>".into());
    email.dedupe_key = Some("reminder:m1:ana".into());
    email.attachments = vec![MailAttachment {
        name: "m.ics".into(),
        content_type: "text/calendar".into(),
        content: b"BEGIN:VCALENDAR".to_vec(),
    }];
    // An invitation (a copyable link) and a password reset link, as hashes.
    let olga_id = source.storage.user_by_email("olga@example.org").unwrap().unwrap().id;
    let request = InvitationRequest::default();
    let no_mail = |_: &InvitationFacts| -> Result<_, circles_server::error::ApiError> { unreachable!("no email") };
    source.storage.invite(&olga_id, &team, &request, &auth::token_hash("invitation"), &no_mail).unwrap();
    source.storage.set_join_domain(&olga_id, &team, Some("riverbend.org"), &auth::token_hash("domain")).unwrap();
    let reset = |to: &str| circles_server::pages::mail::reset(to, "https://circles.example.org/reset/x");
    assert!(source.storage.request_reset("olga@example.org", &auth::token_hash("reset"), &reset).unwrap());
    // The team's public page has its address.
    source.storage.public_team_slug(&team).unwrap();
    // A reminder planned (its send marked done), its mail to Ana queued with
    // her signed links (the server's link secret made).
    source.storage.set_learner_mail(circles_server::protocol::learner_mail::LearnerMail {
        base_url: "https://circles.example.org".into(),
        compose: Box::new(circles_server::pages::learner_mail::learner_message),
        sms: None,
    });
    let first = chrono::DateTime::parse_from_rfc3339("2026-12-06T12:00:00Z").unwrap().with_timezone(&chrono::Utc);
    assert_eq!(source.storage.send_due_reminders(first).unwrap(), 1);

    // Its message (and the reminder) sent already, so the outbox below holds what it says.
    let now = circles_server::common::now_text();
    let claimed = source.storage.claim_mail(Channel::Email, "w", &now, "9999-01-01T00:00:00.000Z", 10).unwrap();
    assert_eq!(claimed.len(), 2);
    for mail in &claimed {
        let sent = MailOutcome::Sent { at: now.clone(), provider_id: None };
        assert!(source.storage.finish_mail(&mail.id, "w", &sent).unwrap());
    }
    let failed = Email::new(Kind::Test, "gone@example.org", "Test", "A test.\n");
    let failed = source.storage.enqueue_mail(&failed.to_new_mail().unwrap()).unwrap().0;
    let now = circles_server::common::now_text();
    assert_eq!(source.storage.claim_mail(Channel::Email, "w", &now, "9999-01-01T00:00:00.000Z", 1).unwrap().len(), 1);
    let error = MailOutcome::Failed { error: "550 no such user".into() };
    assert!(source.storage.finish_mail(&failed, "w", &error).unwrap());
    let pending = source.storage.enqueue_mail(&email.to_new_mail().unwrap()).unwrap().0;

    let sqlite_path = source.db.dir.path().join("server.sqlite");
    let before = migrate::check_sqlite(&sqlite_path).unwrap();
    for t in &before {
        assert!(t.rows > 0, "the test database should hold every kind of record, but {} is empty", t.table);
    }

    let target = TestDb::new(Backend::Postgres);
    let from = format!("sqlite:{}", sqlite_path.display());
    let (ok, out, err) = admin(&source.db.url, &["migrate-db", "--from", &from, "--to", &target.url]);
    assert!(ok, "migrate-db failed: {err}");
    assert!(out.contains("migrated and verified"), "{out}");
    assert_eq!(migrate::check_postgres(&target.url).unwrap(), before, "every table, row for row");
    // A second run into the now non-empty database is refused, and changes nothing.
    let (ok, _, err) = admin(&source.db.url, &["migrate-db", "--from", &from, "--to", &target.url]);
    assert!(!ok && err.contains("not empty"), "{err}");
    assert_eq!(migrate::check_postgres(&target.url).unwrap(), before);
    // So is a target that is not PostgreSQL.
    let (ok, _, err) = admin(&source.db.url, &["migrate-db", "--from", &from, "--to", &from]);
    assert!(!ok && err.contains("--to must be a PostgreSQL database"), "{err}");

    // The copied outbox works: its pending message is claimed whole.
    let moved = target.open();
    let claimed = moved
        .claim_mail(Channel::Email, "w2", &circles_server::common::now_text(), "9999-01-01T00:00:00.000Z", 10)
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!((claimed[0].id.as_str(), claimed[0].attempts), (pending.as_str(), 1));
    assert_eq!(claimed[0].attachments, email.attachments);
    assert_eq!(claimed[0].html, email.html);
    let finished = MailOutcome::Sent { at: circles_server::common::now_text(), provider_id: None };
    assert!(moved.finish_mail(&pending, "w2", &finished).unwrap());
    drop(moved);
    let (ok, out, err) = admin(&target.url, &["mail", "list"]);
    assert!(ok && out.contains("sent  1") && out.contains("failed  1  -  550 no such user"), "{out}{err}");

    // The clients carry on against PostgreSQL: same tokens, next batch
    // numbers, same cursors.
    let target = TestServer::start_on(target);
    for client in [&mut a, &mut b, &mut olga] {
        client.transport = HttpTransport::new(&target.url, Some(client.token.clone())).unwrap();
    }
    let bo = b.store.add_learner(&circle, &LearnerInput::new("Bo")).unwrap();
    b.store.mark_attendance(&meeting, &bo, Mark::Late).unwrap();
    a.store.add_learner(&circle, &LearnerInput::new("Carla")).unwrap();
    for report in [b.sync(), a.sync(), b.sync()] {
        assert_eq!(report.refused, 0, "{report:?}");
    }
    assert_eq!(snapshot(&a.store), snapshot(&b.store));
    assert_eq!(a.store.learners(&circle).unwrap().len(), 3);
    // Ana's marks: the first disagreement, then the second, which each laptop lost once.
    assert_eq!(a.store.conflicts(false).unwrap().len() + b.store.conflicts(false).unwrap().len(), 3);
    let raw = target.raw();
    let (status, _) = raw.send("GET", "/v1/tokens", Some(&revoked), Some("1"), None);
    assert_eq!(status, 401, "a revoked token stays revoked");
    let (status, tokens) = raw.send("GET", "/v1/tokens", Some(&a.token), Some("1"), None);
    assert_eq!(status, 200);
    assert_eq!(tokens.as_array().unwrap().len(), 3, "{tokens}");
}

#[test]
fn migrate_db_refuses_a_missing_source() {
    let target = TestDb::new(Backend::Postgres);
    let (ok, _, err) =
        admin(&target.url, &["migrate-db", "--from", "sqlite:/nonexistent/server.sqlite", "--to", &target.url]);
    assert!(!ok && err.contains("does not exist"), "{err}");
}
