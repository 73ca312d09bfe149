//! The mail outbox against a real SMTP server process (aiosmtpd, see
//! `common/smtp.rs`) and real `circles-server` processes, on SQLite and
//! PostgreSQL:
//!
//! - a queued message reaches the SMTP server once, with its headers, text,
//!   HTML and attachment;
//! - with the SMTP server down a message stays pending with its attempts and
//!   last error, and goes out once the SMTP server is up;
//! - two server processes on one PostgreSQL database deliver 200 messages
//!   exactly once;
//! - a server killed (SIGKILL) mid-batch and started again loses nothing and
//!   sends at most the one message in flight twice (the count is printed);
//! - the file transport writes .eml files; a dedupe key enqueued twice is one
//!   message; `mail retry` sends a failed message again; bad flags are clear errors.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use circles_server::mail::{Email, Kind};
use circles_server::storage::{Channel, MailAttachment, MailOutcome, MailState};
use circles_server::Storage;
use common::smtp::{free_port, mail_flags, state_counts, wait_until, Received, SmtpSink};
use common::{admin, Backend, ServerProcess, TestDb};

const ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Circles//EN\r\nBEGIN:VEVENT\r\nUID:m1@circles\r\n\
                   DTSTART:20261207T183000Z\r\nSUMMARY:Public Speaking\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

fn serve(db: &TestDb, url: &str) -> ServerProcess {
    let flags = mail_flags(url);
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    ServerProcess::start_with(&db.url, &args, &[])
}

fn enqueue(storage: &Arc<dyn Storage>, email: &Email) -> String {
    storage.enqueue_mail(&email.to_new_mail().unwrap()).unwrap().0
}

/// How many copies of each subject arrived.
fn by_subject(messages: &[Received]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for m in messages {
        *counts.entry(m.header("Subject").unwrap_or_default()).or_insert(0) += 1;
    }
    counts
}

fn a_queued_message_reaches_the_smtp_server_once(backend: Backend) {
    let db = TestDb::new(backend);
    let storage = db.open();
    let sink = SmtpSink::start();
    let _server = serve(&db, &sink.url());
    let mut email = Email::new(
        Kind::Reminder,
        "learner@example.org",
        "Reminder: Public Speaking on Monday",
        "Your circle meets on Monday at 18:30.\n",
    );
    email.html = Some("<p>Your circle meets on <b>Monday</b> at 18:30.</p>".into());
    email.attachments =
        vec![MailAttachment { name: "meeting.ics".into(), content_type: "text/calendar".into(), content: ICS.into() }];
    let id = enqueue(&storage, &email);
    // And one from the admin command, which a running server finds by polling.
    let (ok, out, err) = admin(&db.url, &["mail", "test", "--to", "organizer@example.org"]);
    assert!(ok, "{out}{err}");

    let messages = sink.wait_for(2, Duration::from_secs(20));
    let reminder = messages.iter().find(|m| m.header("To").as_deref() == Some("learner@example.org")).unwrap();
    assert_eq!(reminder.header("From").as_deref(), Some("Circles <circles@example.org>"));
    assert_eq!(reminder.header("Subject").as_deref(), Some("Reminder: Public Speaking on Monday"));
    assert_eq!(reminder.header("Message-ID"), Some(format!("<{id}@example.org>")));
    assert_eq!(reminder.header("X-MailFrom").as_deref(), Some("circles@example.org"), "the envelope sender");
    assert!(reminder.raw.contains("Your circle meets on Monday at 18:30."), "{}", reminder.raw);
    assert!(reminder.raw.contains("Content-Type: text/html"), "{}", reminder.raw);
    assert!(reminder.raw.contains("<b>Monday</b>"), "{}", reminder.raw);
    assert!(reminder.raw.contains("filename=\"meeting.ics\""), "{}", reminder.raw);
    assert!(reminder.raw.contains("Content-Type: text/calendar"), "{}", reminder.raw);
    assert!(reminder.raw.contains("SUMMARY:Public Speaking"), "{}", reminder.raw);
    let test = messages.iter().find(|m| m.header("To").as_deref() == Some("organizer@example.org")).unwrap();
    assert_eq!(test.header("Subject").as_deref(), Some("Circles: a test message"));

    // Sent, recorded, and never again.
    wait_until("both recorded as sent", Duration::from_secs(10), || state_counts(&storage).get("sent") == Some(&2));
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(sink.messages().len(), 2);
    let (ok, out, err) = admin(&db.url, &["mail", "list", "--state", "sent"]);
    assert!(ok, "{err}");
    assert!(out.contains(&id) && out.contains("learner@example.org") && out.contains("  sent  1  -  -"), "{out}");
}

fn smtp_down_keeps_mail_pending_until_it_is_up(backend: Backend) {
    let db = TestDb::new(backend);
    let storage = db.open();
    let port = free_port();
    let _server = serve(&db, &format!("smtp://127.0.0.1:{port}"));
    let id = enqueue(&storage, &Email::new(Kind::Test, "a@example.org", "Waiting", "For the SMTP server.\n"));

    wait_until("two failed attempts recorded", Duration::from_secs(20), || {
        let m = &storage.mail_summaries(None, 10).unwrap()[0];
        m.attempts >= 2 && m.state == MailState::Pending
    });
    let m = storage.mail_summaries(None, 10).unwrap().remove(0);
    assert_eq!(m.id, id);
    let error = m.last_error.unwrap();
    assert!(error.to_lowercase().contains("connect") || error.contains("refused"), "{error}");
    let (ok, out, _) = admin(&db.url, &["mail", "list", "--state", "pending"]);
    assert!(ok && out.contains(&id) && out.contains("pending"), "{out}");

    let sink = SmtpSink::start_on(port);
    let messages = sink.wait_for(1, Duration::from_secs(20));
    assert_eq!(messages[0].header("Subject").as_deref(), Some("Waiting"));
    wait_until("recorded as sent", Duration::from_secs(10), || {
        storage.mail_summaries(Some(MailState::Sent), 10).unwrap().len() == 1
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sink.messages().len(), 1);
}

fn queue(storage: &Arc<dyn Storage>, n: usize) {
    for i in 0..n {
        enqueue(
            storage,
            &Email::new(Kind::Reminder, &format!("l{i}@example.org"), &format!("message {i}"), "Hello.\n"),
        );
    }
}

#[test]
fn two_servers_on_one_postgres_deliver_each_message_once() {
    let db = TestDb::new(Backend::Postgres);
    let storage = db.open();
    queue(&storage, 200);
    let sink = SmtpSink::start();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| serve(&db, &sink.url()));
        let b = s.spawn(|| serve(&db, &sink.url()));
        (a.join().unwrap(), b.join().unwrap())
    });
    let messages = sink.wait_for(200, Duration::from_secs(60));
    wait_until("all recorded as sent", Duration::from_secs(20), || state_counts(&storage).get("sent") == Some(&200));
    std::thread::sleep(Duration::from_millis(1000));
    let messages = if sink.messages().len() > messages.len() { sink.messages() } else { messages };
    let counts = by_subject(&messages);
    assert_eq!(counts.len(), 200, "every message arrived");
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    drop((a, b));
}

fn a_server_killed_mid_batch_loses_nothing(backend: Backend) {
    let db = TestDb::new(backend);
    let storage = db.open();
    queue(&storage, 200);
    let sink = SmtpSink::start();
    let mut first = serve(&db, &sink.url());
    let start = Instant::now();
    while sink.messages().len() < 20 {
        assert!(start.elapsed() < Duration::from_secs(30), "sending did not start");
        std::thread::sleep(Duration::from_millis(2));
    }
    first.kill();
    let at_kill = sink.messages().len();
    assert!(at_kill < 200, "the server was killed after it had sent everything: the test proves nothing");
    let _second = serve(&db, &sink.url());
    wait_until("all recorded as sent", Duration::from_secs(60), || state_counts(&storage).get("sent") == Some(&200));
    std::thread::sleep(Duration::from_millis(500));
    let counts = by_subject(&sink.messages());
    assert_eq!(counts.len(), 200, "no message lost");
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    // SMTP gives at-least-once in one narrow window: accepted by the SMTP
    // server, not yet recorded as sent. Each message is recorded on its own,
    // so at most the one in flight is sent twice.
    println!("{backend:?}: killed after {at_kill} of 200 messages; {duplicates} sent twice after the restart");
    assert!(duplicates <= 1, "{duplicates} duplicates: {counts:?}");
}

fn the_file_transport_writes_eml_files(backend: Backend) {
    let db = TestDb::new(backend);
    let storage = db.open();
    let folder = db.dir.path().join("outbox mail");
    let _server = serve(&db, &format!("file://{}", folder.display().to_string().replace(' ', "%20")));
    let mut email = Email::new(Kind::Invitation, "new@example.org", "Join the Chicago team", "Follow the link.\n");
    email.attachments =
        vec![MailAttachment { name: "meeting.ics".into(), content_type: "text/calendar".into(), content: ICS.into() }];
    let id = enqueue(&storage, &email);
    let file = folder.join(format!("{id}.eml"));
    wait_until("the .eml file is written", Duration::from_secs(20), || file.exists());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("Subject: Join the Chicago team"), "{text}");
    assert!(text.contains("To: new@example.org"), "{text}");
    assert!(text.contains("filename=\"meeting.ics\""), "{text}");
    wait_until("recorded as sent", Duration::from_secs(10), || state_counts(&storage).get("sent") == Some(&1));
    let files: Vec<_> = std::fs::read_dir(&folder).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
}

fn a_dedupe_key_enqueued_twice_is_one_message(backend: Backend) {
    let db = TestDb::new(backend);
    let storage = db.open();
    let mut email = Email::new(Kind::Reminder, "l@example.org", "Reminder", "Monday.\n");
    email.dedupe_key = Some("reminder:meeting-1:learner-1".into());
    let (first, new) = storage.enqueue_mail(&email.to_new_mail().unwrap()).unwrap();
    assert!(new);
    let (second, new) = storage.enqueue_mail(&email.to_new_mail().unwrap()).unwrap();
    assert!(!new, "the second is not a new message");
    assert_eq!(first, second);
    // Messages without a key are never merged.
    let plain = Email::new(Kind::Test, "l@example.org", "Reminder", "Monday.\n");
    enqueue(&storage, &plain);
    enqueue(&storage, &plain);
    assert_eq!(storage.mail_summaries(None, 10).unwrap().len(), 3);

    let sink = SmtpSink::start();
    let _server = serve(&db, &sink.url());
    sink.wait_for(3, Duration::from_secs(20));
    wait_until("all sent", Duration::from_secs(10), || state_counts(&storage).get("sent") == Some(&3));
    assert_eq!(sink.messages().len(), 3);
}

fn a_failed_message_goes_out_again_after_mail_retry(backend: Backend) {
    let db = TestDb::new(backend);
    let storage = db.open();
    let id = enqueue(&storage, &Email::new(Kind::PasswordReset, "r@example.org", "Reset", "A link.\n"));
    // A worker claims it and gives up on it.
    let now = circles_server::common::now_text();
    let claimed = storage.claim_mail(Channel::Email, "worker-1", &now, "9999-01-01T00:00:00.000Z", 10).unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].attempts, 1);
    assert!(
        storage.claim_mail(Channel::Email, "worker-2", &now, "9999-01-01T00:00:00.000Z", 10).unwrap().is_empty(),
        "held"
    );
    let failed = MailOutcome::Failed { error: "550 5.1.1 no such user".into() };
    assert!(!storage.finish_mail(&id, "worker-2", &failed).unwrap(), "only its holder records a failure");
    assert!(storage.finish_mail(&id, "worker-1", &failed).unwrap());

    let (ok, out, _) = admin(&db.url, &["mail", "list", "--state", "failed"]);
    assert!(ok && out.contains(&id) && out.contains("failed  1  -  550 5.1.1 no such user"), "{out}");
    let (ok, _, err) = admin(&db.url, &["mail", "retry", "no-such-id"]);
    assert!(!ok && err.contains("no message with id no-such-id"), "{err}");
    let (ok, out, err) = admin(&db.url, &["mail", "retry", &id]);
    assert!(ok, "{err}");
    assert!(out.contains("pending again"), "{out}");
    let (ok, _, err) = admin(&db.url, &["mail", "retry", &id]);
    assert!(!ok && err.contains("is pending: only a failed message can be retried"), "{err}");

    let sink = SmtpSink::start();
    let _server = serve(&db, &sink.url());
    let messages = sink.wait_for(1, Duration::from_secs(20));
    assert_eq!(messages[0].header("Subject").as_deref(), Some("Reset"));
    wait_until("sent", Duration::from_secs(10), || state_counts(&storage).get("sent") == Some(&1));
}

both_backends!(
    a_queued_message_reaches_the_smtp_server_once,
    smtp_down_keeps_mail_pending_until_it_is_up,
    a_server_killed_mid_batch_loses_nothing,
    the_file_transport_writes_eml_files,
    a_dedupe_key_enqueued_twice_is_one_message,
    a_failed_message_goes_out_again_after_mail_retry,
);

#[test]
fn bad_mail_flags_are_clear_errors() {
    let db = TestDb::new(Backend::Sqlite);
    let serve = |args: &[&str]| {
        let mut all = vec!["serve", "--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let (ok, _, err) = admin(&db.url, &all);
        assert!(!ok, "{args:?} was accepted");
        err
    };
    let err = serve(&["--mail-url", "smpt://localhost", "--mail-from", "a@example.org"]);
    assert!(
        err.contains("--mail-url: unknown scheme `smpt`; use smtp://, smtp+starttls://, smtps:// or file://"),
        "{err}"
    );
    let err = serve(&["--mail-url", "localhost:25", "--mail-from", "a@example.org"]);
    assert!(err.contains("--mail-url: `localhost:25` is not a URL"), "{err}");
    let err = serve(&["--mail-url", "smtp://localhost:2525"]);
    assert!(err.contains("--mail-from (or CIRCLES_MAIL_FROM) is needed with --mail-url"), "{err}");
    let err = serve(&["--mail-url", "smtp://localhost:2525", "--mail-from", "not an address"]);
    assert!(err.contains("--mail-from: `not an address` is not an address"), "{err}");
    let err = serve(&["--public-url", "ftp://example.org"]);
    assert!(err.contains("--public-url \"ftp://example.org\" is not an http(s) URL (scheme `ftp`)"), "{err}");
    let (ok, _, err) = admin(&db.url, &["mail", "test", "--to", "nobody"]);
    assert!(!ok && err.contains("--to: `nobody` is not an email address"), "{err}");
}

#[test]
fn without_a_mail_url_the_server_says_mail_is_off() {
    use std::io::{BufRead, BufReader};
    let db = TestDb::new(Backend::Sqlite);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_circles-server"))
        .args(["--db", &db.url, "serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .env_remove("CIRCLES_MAIL_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        said.push_str(&line);
        if line.contains("mail is off") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(said.contains("mail is off (no --mail-url)"), "{said}");
}
