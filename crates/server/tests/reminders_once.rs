//! Reminders sent exactly once (issue 15, item 6), with real `circles-server`
//! processes, a real SMTP server (aiosmtpd, `common/smtp.rs`) and a
//! facilitator's replica that writes the circle and its learners and syncs:
//!
//! - PostgreSQL, two `serve` processes on one database, both mailing one
//!   SMTP server, and two `circles-server reminders run` processes started
//!   at the same moment as the servers (whose own reminder loops run at
//!   start): a meeting due now, 60 learners who agreed: exactly 60 messages
//!   arrive, one per learner, still 60 after a further wait (longer than a
//!   lease), and the outbox holds 60 messages, all sent. What makes it so:
//!   a reminder is planned once per meeting start (`learner_sends`) and
//!   each message carries a dedupe key, both inserted with ON CONFLICT DO
//!   NOTHING in the planning transaction, so racing runs queue one message
//!   per learner; claims are exclusive (FOR UPDATE SKIP LOCKED).
//! - SQLite and PostgreSQL, a server killed with SIGKILL mid-batch while it
//!   sends 60 reminders to a slow SMTP server (some sent, some not), then
//!   started again on the same database: every learner gets their reminder
//!   (none missing: the dead server's claim runs out and the new one takes
//!   it), the outbox says all 60 are sent, and at most one message comes
//!   twice: the one the SMTP server may have accepted just before the kill,
//!   not yet recorded as sent (SMTP's limit, `mail/mod.rs` "Sent once").
//!   Running the reminders again plans nothing more.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use circles_core::sync::engine::sync_once;
use circles_core::sync::http::HttpTransport;
use circles_core::sync::wire::LoginRequest;
use circles_core::{CircleInput, CircleStatus, LearnerInput, TeamRole};
use common::smtp::{mail_flags, state_counts, wait_until, Received, SmtpSink};
use common::{Backend, ServerProcess, TestDb, PASSWORD};

const PUBLIC: &str = "https://circles.example.org";
const LEARNERS: usize = 60;

/// Fatima, a member of the library's team; the team's id.
fn accounts(db: &TestDb) -> String {
    let storage = db.open();
    let hash = circles_server::auth::hash_password(PASSWORD).unwrap();
    storage.add_user("fatima@example.org", "Fatima Zahra Haddad", &hash).unwrap();
    let team = storage.add_team("Riverbend Public Library").unwrap();
    storage.add_team_member(&team, "fatima@example.org", TeamRole::Member).unwrap();
    team
}

/// Fatima's laptop writes a published circle of the team in Chicago at
/// 18:30 with one meeting on `date` and `LEARNERS` learners who agreed to
/// messages, and syncs it to the server at `server`. Their addresses.
fn write_circle(server: &str, team: &str, date: NaiveDate) -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut laptop = common::open_laptop(dir.path());
    let token = HttpTransport::new(server, None)
        .unwrap()
        .login(&LoginRequest {
            email: "fatima@example.org".into(),
            password: PASSWORD.into(),
            device_name: "library laptop".into(),
            device_id: laptop.device_id().into(),
        })
        .unwrap()
        .token;
    let transport = HttpTransport::new(server, Some(token)).unwrap();
    sync_once(&mut laptop, &transport, &mut |_| {}).unwrap();
    let mut input = CircleInput::new("Public Speaking", "America/Chicago", "18:30", 90);
    input.team_id = Some(team.to_string());
    input.status = CircleStatus::Published;
    input.venue.name = "Riverbend Library, room 2".into();
    let circle = laptop.create_circle(&input, None).unwrap();
    laptop.add_meeting(&circle, date, None).unwrap();
    let mut emails = BTreeSet::new();
    for i in 0..LEARNERS {
        let email = format!("learner{i}@example.org");
        let learner = LearnerInput {
            name: format!("Learner {i}"),
            email: email.clone(),
            consent: true,
            ..LearnerInput::default()
        };
        laptop.add_learner(&circle, &learner).unwrap();
        emails.insert(email);
    }
    sync_once(&mut laptop, &transport, &mut |_| {}).unwrap();
    emails
}

fn chicago(date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let tz = circles_core::schedule::parse_time_zone("America/Chicago").unwrap();
    tz.from_local_datetime(&date.and_hms_opt(hour, minute, 0).unwrap()).unwrap().with_timezone(&Utc)
}

/// `serve` mailing the sink at `url`, links at the public address.
fn serve(db: &TestDb, url: &str) -> ServerProcess {
    let mut flags = mail_flags(url);
    flags.extend(["--public-url".to_string(), PUBLIC.to_string()]);
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    ServerProcess::start_with(&db.url, &args, &[])
}

/// `circles-server reminders run --now T`, started (not waited for).
fn start_reminders_run(db: &TestDb, now: DateTime<Utc>) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_circles-server"))
        .args(["--db", &db.url, "reminders", "run", "--now", &now.to_rfc3339(), "--public-url", PUBLIC])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait for a run; what it printed ("N reminder(s) queued").
fn finish_run(run: std::process::Child) -> String {
    let out = run.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "reminders run failed: {stdout}{stderr}");
    stdout.trim().to_string()
}

/// How many messages each address received.
fn by_recipient(messages: &[Received]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for m in messages {
        *counts.entry(m.header("To").unwrap_or_default()).or_insert(0) += 1;
    }
    counts
}

fn count(db: &TestDb, sql: &str) -> usize {
    db.query(sql)[0][0].as_deref().unwrap().parse().unwrap()
}

#[test]
fn two_servers_and_two_runs_at_once_send_each_reminder_once() {
    let db = TestDb::new(Backend::Postgres);
    let team = accounts(&db);
    let sink = SmtpSink::start();
    // A meeting tomorrow evening in Chicago: its reminder (48 hours before)
    // is due now, by the real clock the servers' own loops read.
    let chicago_zone = circles_core::schedule::parse_time_zone("America/Chicago").unwrap();
    let today = Utc::now().with_timezone(&chicago_zone).date_naive();
    let date = today.checked_add_days(Days::new(1)).unwrap();
    let start = chicago(date, 18, 30);
    let now = Utc::now();
    assert!(start - chrono::Duration::hours(48) <= now && now < start, "due now: {start}");
    let emails = {
        // Written through a server without mail, gone before the race.
        let setup = ServerProcess::start(&db.url);
        write_circle(&setup.url, &team, date)
    };
    assert_eq!(count(&db, "SELECT count(*) FROM mail_outbox"), 0, "nothing queued before the race");

    // Two runs and two servers (whose loops run at start), all at once.
    let runs = [start_reminders_run(&db, now), start_reminders_run(&db, now)];
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| serve(&db, &sink.url()));
        let b = s.spawn(|| serve(&db, &sink.url()));
        (a.join().unwrap(), b.join().unwrap())
    });
    let said: Vec<String> = runs.into_iter().map(finish_run).collect();
    // Each run counts the messages it put in the outbox: together at most
    // one per learner (the servers' loops may have queued some or all).
    let by_runs: usize = said
        .iter()
        .map(|line| {
            line.strip_suffix(" reminder(s) queued").unwrap_or_else(|| panic!("{line}")).parse::<usize>().unwrap()
        })
        .sum();
    assert!(by_runs <= LEARNERS, "{said:?}");

    sink.wait_for(LEARNERS, Duration::from_secs(60));
    let storage = db.open();
    wait_until("all recorded as sent", Duration::from_secs(30), || {
        state_counts(&storage).get("sent") == Some(&LEARNERS)
    });
    // Longer than a lease (3 s) and many polls of both workers.
    std::thread::sleep(Duration::from_secs(5));
    let messages = sink.messages();
    let counts = by_recipient(&messages);
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    assert_eq!(counts.keys().cloned().collect::<BTreeSet<_>>(), emails, "one message per learner, none missing");
    assert_eq!(messages.len(), LEARNERS);
    for m in &messages {
        let subject = common::smtp::decoded_header(m, "Subject").unwrap_or_default();
        assert!(subject.starts_with("Reminder: Public Speaking"), "{subject}");
    }
    let states = state_counts(&storage);
    assert_eq!(states, HashMap::from([("sent", LEARNERS)]), "the outbox: {states:?}");
    assert_eq!(count(&db, "SELECT count(*) FROM learner_sends"), 1, "the reminder planned once");
    println!("two runs said {said:?}; {} messages, one per learner", messages.len());
    drop((a, b));
}

fn a_server_killed_mid_batch_sends_every_reminder_after_restart(backend: Backend) {
    let db = TestDb::new(backend);
    let team = accounts(&db);
    // 100 ms per message: 60 reminders take six seconds, in batches of 10.
    let sink = SmtpSink::start_slow(Duration::from_millis(100));
    let date = Utc::now().date_naive().checked_add_days(Days::new(10)).unwrap();
    let due = chicago(date, 18, 30) - chrono::Duration::hours(47);
    let mut first = serve(&db, &sink.url());
    let emails = write_circle(&first.url, &team, date);
    let queued = finish_run(start_reminders_run(&db, due));
    assert_eq!(queued, format!("{LEARNERS} reminder(s) queued"));

    // Killed in the middle of its second batch.
    wait_until("15 reminders sent", Duration::from_secs(60), || sink.messages().len() >= 15);
    first.kill();
    let at_kill = sink.messages().len();
    let storage = db.open();
    let states = state_counts(&storage);
    assert!(at_kill < LEARNERS, "killed after everything was sent: the test proves nothing");
    assert!(states.get("sent").copied().unwrap_or(0) < LEARNERS, "{states:?}");

    let _second = serve(&db, &sink.url());
    wait_until("all recorded as sent", Duration::from_secs(90), || {
        state_counts(&storage).get("sent") == Some(&LEARNERS)
    });
    std::thread::sleep(Duration::from_secs(1));
    let counts = by_recipient(&sink.messages());
    assert_eq!(counts.keys().cloned().collect::<BTreeSet<_>>(), emails, "every learner has their reminder");
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    println!("{backend:?}: killed after {at_kill} of {LEARNERS} (outbox then {states:?}); {duplicates} sent twice");
    assert!(duplicates <= 1, "{duplicates} duplicates (at most the one in flight): {counts:?}");
    // A copy sent again is the same message: its Message-ID (made from its
    // outbox id) is the first copy's, so mail programs show it once. Distinct
    // messages: exactly one per learner.
    let mut ids: HashMap<String, BTreeSet<String>> = HashMap::new();
    for m in sink.messages() {
        let id = m.header("Message-ID").expect("every message has a Message-ID");
        ids.entry(m.header("To").unwrap()).or_default().insert(id);
    }
    assert_eq!(ids.len(), LEARNERS);
    assert!(ids.values().all(|set| set.len() == 1), "one message per learner: {ids:?}");
    let states = state_counts(&storage);
    assert_eq!(states, HashMap::from([("sent", LEARNERS)]), "the outbox: {states:?}");
    // Planned once: running the reminders again queues nothing.
    assert_eq!(finish_run(start_reminders_run(&db, due)), "0 reminder(s) queued");
}

both_backends!(a_server_killed_mid_batch_sends_every_reminder_after_restart);
