//! What learners receive, end to end on SQLite and PostgreSQL: a real
//! `circles-server` process mailing a real SMTP server (aiosmtpd), a
//! facilitator's replica that writes everything offline and syncs, and
//! `circles-server reminders run --now` as the server's clock:
//!
//! - a meeting's reminder goes out once, at its time (48 hours before, the
//!   circle's default), to learners who agreed, hold a place and did not opt
//!   out: the meeting's local time, the facilitator's words written offline,
//!   RSVP links, a valid .ics of that meeting; never before its time, never
//!   twice; the laptop then pulls "sent" per learner (`deliveries`);
//! - a meeting moved across a daylight-saving change sends one notice with
//!   its new local time (and an .ics at the right instant); a cancelled one
//!   a cancellation; a learner with a mobile only gets them as texts
//!   (through a Twilio-shaped test provider);
//! - a message to the circle written offline goes out at the sync, once;
//! - a laptop may not write what only the server writes (answers,
//!   deliveries): 403, nothing written.

mod common;

use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use circles_core::sync::engine::sync_once;
use circles_core::sync::http::HttpTransport;
use circles_core::sync::wire::LoginRequest;
use circles_core::{CircleInput, CircleStatus, LearnerInput, Store, TeamRole};
use common::sms::SmsSink;
use common::smtp::{Received, SmtpSink};
use common::{admin, Backend, ServerProcess, TestDb, PASSWORD};

const PUBLIC: &str = "https://circles.example.org";
const SMS_ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";

struct Env {
    db: TestDb,
    _server: ServerProcess,
    sink: SmtpSink,
    team: String,
    fatima: Store,
    transport: HttpTransport,
    _dir: tempfile::TempDir,
}

fn env(backend: Backend) -> Env {
    env_with(backend, None)
}

/// With `sms`, the server texts learners too, through that test provider.
fn env_with(backend: Backend, sms: Option<&SmsSink>) -> Env {
    let sink = SmtpSink::start();
    let db = TestDb::new(backend);
    let storage = db.open();
    let hash = circles_server::auth::hash_password(PASSWORD).unwrap();
    storage.add_user("fatima@example.org", "Fatima Zahra Haddad", &hash).unwrap();
    let team = storage.add_team("Riverbend Public Library").unwrap();
    storage.add_team_member(&team, "fatima@example.org", TeamRole::Member).unwrap();
    drop(storage);
    let mut flags = common::smtp::mail_flags(&sink.url());
    flags.extend(["--public-url".to_string(), PUBLIC.to_string()]);
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    if let Some(sms) = sms {
        args.extend(["--sms-url", &sms.url, "--sms-account", SMS_ACCOUNT, "--sms-from", "+13125550100"]);
    }
    let token: &[(&str, &str)] = if sms.is_some() { &[("CIRCLES_SMS_TOKEN", "test-auth-token-1234")] } else { &[] };
    let server = ServerProcess::start_with(&db.url, &args, token);
    let (mut fatima, transport, dir) = common::signed_in_laptop(&server.url, "fatima@example.org", "library laptop");
    sync_once(&mut fatima, &transport, &mut |_| {}).unwrap();
    Env { db, _server: server, sink, team, fatima, transport, _dir: dir }
}

fn learner(name: &str, email: &str, edit: impl FnOnce(&mut LearnerInput)) -> LearnerInput {
    let mut input = LearnerInput { name: name.into(), email: email.into(), consent: true, ..LearnerInput::default() };
    edit(&mut input);
    input
}

impl Env {
    fn sync(&mut self) {
        sync_once(&mut self.fatima, &self.transport, &mut |_| {}).unwrap();
    }

    /// A published circle of the team in Chicago at 18:30 with meetings on
    /// `dates`, and four learners of whom only Ana may be written to.
    fn circle(&mut self, dates: &[NaiveDate]) -> (String, Vec<String>) {
        let mut input = CircleInput::new("Public Speaking", "America/Chicago", "18:30", 90);
        input.team_id = Some(self.team.clone());
        input.status = CircleStatus::Published;
        input.venue.name = "Riverbend Library, room 2".into();
        let id = self.fatima.create_circle(&input, None).unwrap();
        let mut meetings = Vec::new();
        for date in dates {
            meetings.push(self.fatima.add_meeting(&id, *date, None).unwrap());
        }
        let f = &mut self.fatima;
        f.add_learner(&id, &learner("Ana Lima", "ana@example.org", |_| {})).unwrap();
        f.add_learner(&id, &learner("Ben Ode", "ben@example.org", |l| l.consent = false)).unwrap();
        f.add_learner(&id, &learner("Cy Park", "cy@example.org", |l| l.withdrawn = true)).unwrap();
        f.add_learner(&id, &learner("Dee Ruiz", "dee@example.org", |l| l.email_opt_out = true)).unwrap();
        self.sync();
        (id, meetings)
    }

    /// `circles-server reminders run --now T`: the server's clock set to T.
    fn reminders_at(&self, now: DateTime<Utc>) -> String {
        let now = now.to_rfc3339();
        let (ok, out, err) = admin(&self.db.url, &["reminders", "run", "--now", &now, "--public-url", PUBLIC]);
        assert!(ok, "{err}");
        out
    }
}

fn chicago(date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let tz = circles_core::schedule::parse_time_zone("America/Chicago").unwrap();
    tz.from_local_datetime(&date.and_hms_opt(hour, minute, 0).unwrap()).unwrap().with_timezone(&Utc)
}

fn subject(mail: &Received) -> Option<String> {
    common::smtp::decoded_header(mail, "Subject")
}

/// The message's text, with quoted-printable soft breaks undone.
fn text(mail: &Received) -> String {
    mail.raw.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
}

fn a_reminder_goes_out_once_at_its_time(backend: Backend) {
    let mut env = env(backend);
    let date = Utc::now().date_naive().checked_add_days(Days::new(10)).unwrap();
    let (circle, meetings) = env.circle(&[date]);
    env.fatima.set_reminder_message(&meetings[0], "Bring a two-minute story about a pet.").unwrap();
    env.sync();
    let start = chicago(date, 18, 30);

    // Not before its time.
    assert!(env.reminders_at(start - chrono::Duration::hours(49)).starts_with("0 reminder"));
    // At its time, once, however often the clock ticks.
    assert!(env.reminders_at(start - chrono::Duration::hours(47)).starts_with("1 reminder"));
    assert!(env.reminders_at(start - chrono::Duration::hours(46)).starts_with("0 reminder"));
    let messages = env.sink.wait_for(1, Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(env.sink.messages().len(), 1, "only Ana agreed, holds a place and did not opt out");
    let mail = &messages[0];
    assert_eq!(mail.header("To").as_deref(), Some("ana@example.org"));
    let weekday = date.format("%A").to_string();
    let when = format!("{weekday} {}, 18:30–20:00", date.format("%Y-%m-%d"));
    assert_eq!(subject(mail).as_deref(), Some(format!("Reminder: Public Speaking, {when}").as_str()));
    let body = text(mail);
    assert!(body.contains("Bring a two-minute story about a pet."), "the facilitator's words: {body}");
    assert!(body.contains("America/Chicago"), "{body}");
    assert!(body.contains(&format!("{PUBLIC}/l/")), "RSVP and withdraw links: {body}");
    assert!(body.contains("meeting.ics") && body.contains("text/calendar"), "{body}");

    // The .ics holds that one meeting at its instant.
    let ics = common::smtp::attachment(mail, "meeting.ics").expect("an .ics attachment");
    assert!(ics.starts_with("BEGIN:VCALENDAR\n") && ics.trim_end().ends_with("END:VCALENDAR"), "{ics}");
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 1, "{ics}");
    assert!(ics.contains(&format!("DTSTART:{}", start.format("%Y%m%dT%H%M%SZ"))), "{ics}");
    assert!(ics.contains(&format!("UID:{}@circles", meetings[0])), "{ics}");

    // The laptop learns it was sent, per learner.
    let ana = env.fatima.learners(&circle).unwrap().into_iter().find(|l| l.fields.name == "Ana Lima").unwrap();
    let mut sent = Vec::new();
    for _ in 0..100 {
        env.sync();
        sent = env.fatima.deliveries(&circle).unwrap();
        if !sent.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!((sent[0].learner_id.as_str(), sent[0].kind.as_str()), (ana.id.as_str(), "reminder"));
    assert_eq!((sent[0].channel.as_str(), sent[0].status.as_str(), sent[0].problem.as_str()), ("email", "sent", ""));
    assert_eq!(sent[0].meeting_id.as_deref(), Some(meetings[0].as_str()));
    // And the laptop no longer lists it as to come.
    let outgoing = env.fatima.circle_outgoing(&circle, start - chrono::Duration::hours(46)).unwrap();
    assert!(outgoing.planned.is_empty(), "{:?}", outgoing.planned);
}

fn a_meeting_moved_across_a_clock_change_sends_a_notice(backend: Backend) {
    let texts = SmsSink::start();
    let mut env = env_with(backend, Some(&texts));
    // Chicago moves its clocks forward on Sunday 14 March 2027: Thursday
    // the 11th is at UTC-6, Thursday the 18th at UTC-5.
    let before = NaiveDate::from_ymd_opt(2027, 3, 11).unwrap();
    let after = NaiveDate::from_ymd_opt(2027, 3, 18).unwrap();
    let cancelled = NaiveDate::from_ymd_opt(2027, 3, 25).unwrap();
    let (circle, meetings) = env.circle(&[before, cancelled]);
    // Eve gave a mobile only: she is texted.
    let eve = learner("Eve Moss", "", |l| l.mobile = "+1 312 555 0199".into());
    env.fatima.add_learner(&circle, &eve).unwrap();
    env.sync();
    assert!(env.sink.messages().is_empty(), "new meetings send no notice");
    assert!(texts.requests().is_empty(), "nor a text");

    env.fatima.reschedule_meeting(&meetings[0], after, None).unwrap();
    env.sync();
    let messages = env.sink.wait_for(1, Duration::from_secs(30));
    let mail = &messages[0];
    assert_eq!(mail.header("To").as_deref(), Some("ana@example.org"));
    assert_eq!(
        subject(mail).as_deref(),
        Some("New time: Public Speaking, Thursday 2027-03-18, 18:30–20:00"),
        "the new local time, not shifted by the clock change"
    );
    let ics = common::smtp::attachment(mail, "meeting.ics").expect("an .ics attachment");
    assert!(ics.contains("DTSTART:20270318T233000Z"), "18:30 in Chicago's summer time is 23:30 UTC: {ics}");
    let sent = texts.wait_for(1, Duration::from_secs(30));
    assert_eq!(sent[0].field("To"), "+13125550199");
    let body = sent[0].field("Body");
    assert!(body.starts_with("New time: Public Speaking, Thursday 2027-03-18, 18:30–20:00"), "{body}");
    assert!(body.contains("Reply STOP"), "{body}");

    // Syncing again sends nothing more; a cancellation sends its notice.
    env.sync();
    env.fatima.set_meeting_status(&meetings[1], circles_core::MeetingStatus::Cancelled).unwrap();
    env.sync();
    let messages = env.sink.wait_for(2, Duration::from_secs(30));
    let cancel = messages.iter().find(|m| subject(m).unwrap_or_default().starts_with("Cancelled")).unwrap();
    assert_eq!(subject(cancel).as_deref(), Some("Cancelled: Public Speaking, Thursday 2027-03-25, 18:30–20:00"));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(env.sink.messages().len(), 2);
    let sent = texts.wait_for(2, Duration::from_secs(30));
    assert_eq!(sent.len(), 2, "one text per notice: {sent:?}");
    assert!(sent[1].field("Body").starts_with("Cancelled: Public Speaking"), "{:?}", sent[1]);
}

fn a_message_written_offline_goes_out_at_the_sync(backend: Backend) {
    let mut env = env(backend);
    let date = Utc::now().date_naive().checked_add_days(Days::new(10)).unwrap();
    let (circle, _) = env.circle(&[date]);
    let id = env.fatima.add_circle_message(&circle, "Room change", "We meet in room 3 from now on.").unwrap();
    assert!(env.fatima.circle_messages(&circle).unwrap()[0].waiting_for_sync);
    assert!(env.sink.messages().is_empty(), "nothing leaves the laptop before it syncs");
    env.sync();
    assert!(!env.fatima.circle_messages(&circle).unwrap()[0].waiting_for_sync);
    let messages = env.sink.wait_for(1, Duration::from_secs(30));
    assert_eq!(subject(&messages[0]).as_deref(), Some("Public Speaking: Room change"));
    assert!(text(&messages[0]).contains("We meet in room 3 from now on."));
    // Edited after it went: not sent again.
    env.sync();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(env.sink.messages().len(), 1);
    let _ = id;
}

fn a_laptop_may_not_write_what_only_the_server_writes(backend: Backend) {
    let env = env(backend);
    let raw = common::RawClient { base: env._server.url.clone(), http: reqwest::blocking::Client::new() };
    let token = HttpTransport::new(&env._server.url, None)
        .unwrap()
        .login(&LoginRequest {
            email: "fatima@example.org".into(),
            password: PASSWORD.into(),
            device_name: "hostile laptop".into(),
            device_id: "hostile-laptop".into(),
        })
        .unwrap()
        .token;
    let mut device = common::device::Device { id: "hostile-laptop".into(), token, batch_seq: 0 };
    let before = env.db.max_seq();
    for (table, field, value) in
        [("meeting_rsvps", "answer", serde_json::json!("yes")), ("deliveries", "status", serde_json::json!("sent"))]
    {
        let change = device.change(table, &uuid::Uuid::now_v7().to_string(), field, value);
        let (status, answer) = device.push(&raw, vec![change]);
        assert_eq!(status, 403, "{table}: {answer}");
        assert!(answer["message"].as_str().unwrap().contains("only the server writes"), "{answer}");
    }
    assert_eq!(env.db.max_seq(), before);
}

both_backends!(
    a_reminder_goes_out_once_at_its_time,
    a_meeting_moved_across_a_clock_change_sends_a_notice,
    a_message_written_offline_goes_out_at_the_sync,
    a_laptop_may_not_write_what_only_the_server_writes,
);
