//! Learners' signed links end to end, on SQLite and PostgreSQL, against a
//! real `circles-server` process, a real SMTP server and a facilitator's
//! replica that syncs:
//!
//! - an RSVP "yes": opening the link (GET) writes nothing, its button
//!   (POST) writes the answer, which the laptop pulls (`meeting_rsvps`);
//!   the same answer again writes nothing and says "already recorded"; yes
//!   then no is a new answer;
//! - withdraw in a full circle: the learner is withdrawn on the laptop and
//!   the first waitlisted learner gets the place and a mail;
//! - email and SMS opt-outs set the learner's flags;
//! - a forged link (a byte changed, another purpose, another learner) is a
//!   404, an expired one a 410, an RSVP to a cancelled meeting a 410: none
//!   writes anything;
//! - a circle's name holding HTML comes back escaped; pages are in the
//!   circle's language;
//! - `circles-server link make` prints a link, or a clear refusal;
//! - posts are limited per client address (429, nothing written).

mod common;

use std::time::Duration;

use base64::Engine;
use chrono::{Days, NaiveDate, Utc};
use circles_core::sync::engine::sync_once;
use circles_core::sync::http::HttpTransport;
use circles_core::{CircleInput, CircleStatus, LearnerInput, Store, TeamRole};
use circles_server::protocol::links::Purpose;
use circles_server::Storage;
use common::smtp::SmtpSink;
use common::{Backend, ServerProcess, TestDb, PASSWORD};
use std::sync::Arc;

const PUBLIC: &str = "https://circles.example.org";

struct Env {
    db: TestDb,
    storage: Arc<dyn Storage>,
    server: ServerProcess,
    sink: SmtpSink,
    team: String,
    fatima: Store,
    transport: HttpTransport,
    _dir: tempfile::TempDir,
}

struct Page {
    status: u16,
    body: String,
}

fn env(backend: Backend) -> Env {
    let sink = SmtpSink::start();
    let db = TestDb::new(backend);
    let storage = db.open();
    let hash = circles_server::auth::hash_password(PASSWORD).unwrap();
    storage.add_user("fatima@example.org", "Fatima Haddad", &hash).unwrap();
    let team = storage.add_team("Riverbend Public Library").unwrap();
    storage.add_team_member(&team, "fatima@example.org", TeamRole::Member).unwrap();
    let mut flags = common::smtp::mail_flags(&sink.url());
    flags.extend(["--public-url".to_string(), PUBLIC.to_string()]);
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = ServerProcess::start_with(&db.url, &args, &[]);
    let (mut fatima, transport, dir) = common::signed_in_laptop(&server.url, "fatima@example.org", "library laptop");
    sync_once(&mut fatima, &transport, &mut |_| {}).unwrap();
    Env { db, storage, server, sink, team, fatima, transport, _dir: dir }
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

impl Env {
    fn sync(&mut self) {
        sync_once(&mut self.fatima, &self.transport, &mut |_| {}).unwrap();
    }

    /// A published circle with a meeting a week ahead and learners (name,
    /// email), synced: (circle, meeting, learner ids).
    fn circle(&mut self, name: &str, learners: &[(&str, &str)], edit: impl FnOnce(&mut CircleInput)) -> Circle {
        let mut input = CircleInput::new(name, "America/Chicago", "18:30", 90);
        input.team_id = Some(self.team.clone());
        input.status = CircleStatus::Published;
        input.signup_open = true;
        input.venue.name = "Riverbend Library, room 2".into();
        edit(&mut input);
        let id = self.fatima.create_circle(&input, None).unwrap();
        let date = today().checked_add_days(Days::new(7)).unwrap();
        self.fatima.add_meeting(&id, date, None).unwrap();
        let meeting = self.fatima.meetings(&id).unwrap()[0].id.clone();
        let learners = learners
            .iter()
            .map(|(name, email)| {
                let input = LearnerInput { email: email.to_string(), consent: true, ..LearnerInput::new(*name) };
                self.fatima.add_learner(&id, &input).unwrap()
            })
            .collect();
        self.sync();
        Circle { id, meeting, learners, date }
    }

    /// A link's path on the test server, made as the reminders make them.
    fn link(&self, purpose: Purpose, learner: &str, meeting: Option<&str>) -> String {
        self.link_made_at(purpose, learner, meeting, Utc::now())
    }

    fn link_made_at(
        &self,
        purpose: Purpose,
        learner: &str,
        meeting: Option<&str>,
        now: chrono::DateTime<Utc>,
    ) -> String {
        let url = self.storage.make_learner_link(PUBLIC, purpose, learner, meeting, now).unwrap();
        let path = url.strip_prefix(PUBLIC).unwrap().to_string();
        assert!(path.starts_with("/l/"), "{url}");
        path
    }

    fn get(&self, path: &str) -> Page {
        self.request(reqwest::blocking::Client::new().get(format!("{}{path}", self.server.url)))
    }

    fn post(&self, path: &str) -> Page {
        self.request(reqwest::blocking::Client::new().post(format!("{}{path}", self.server.url)).form(&[("x", "")]))
    }

    fn request(&self, request: reqwest::blocking::RequestBuilder) -> Page {
        let response = request.header("accept-language", "en").send().unwrap();
        let status = response.status().as_u16();
        Page { status, body: response.text().unwrap() }
    }

    /// (log length, messages in the outbox).
    fn written(&self) -> (i64, usize) {
        (self.db.max_seq(), self.storage.mail_summaries(None, 1000).unwrap().len())
    }
}

struct Circle {
    id: String,
    meeting: String,
    learners: Vec<String>,
    date: NaiveDate,
}

fn an_rsvp_reaches_the_laptop_once(backend: Backend) {
    let mut env = env(backend);
    let c = env.circle("Reading group", &[("Lena Okafor", "lena@example.org")], |_| {});
    let lena = &c.learners[0];
    let yes = env.link(Purpose::RsvpYes, lena, Some(&c.meeting));

    // Opening it (as a mail scanner does) writes nothing.
    let before = env.written();
    let page = env.get(&yes);
    assert_eq!(page.status, 200, "{}", page.body);
    let when = format!("{} {} at 18:30", c.date.format("%A"), c.date.format("%-d %B"));
    assert!(page.body.contains(&format!("Yes, I'm coming to Reading group on {when}")), "{}", page.body);
    assert!(page.body.contains("method=\"post\""), "{}", page.body);
    assert_eq!(env.written(), before, "a GET writes nothing");

    let page = env.post(&yes);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("you're coming to Reading group"), "{}", page.body);
    let after_yes = env.written();
    assert!(after_yes.0 > before.0);
    env.sync();
    let rsvps = env.fatima.meeting_rsvps(&c.meeting).unwrap();
    assert_eq!(rsvps.len(), 1, "{rsvps:?}");
    assert_eq!((rsvps[0].learner_id.as_str(), rsvps[0].answer.as_str()), (lena.as_str(), "yes"));

    // Twice: "already recorded", nothing written.
    let page = env.post(&yes);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Already recorded"), "{}", page.body);
    assert_eq!(env.written(), after_yes, "the second click writes nothing");
    assert!(env.get(&yes).body.contains("Already recorded"));

    // Yes, then no: a new answer on the same row.
    let no = env.link(Purpose::RsvpNo, lena, Some(&c.meeting));
    let page = env.post(&no);
    assert!(page.body.contains("can't come to Reading group"), "{}", page.body);
    env.sync();
    let rsvps = env.fatima.meeting_rsvps(&c.meeting).unwrap();
    assert_eq!(rsvps.iter().map(|r| r.answer.as_str()).collect::<Vec<_>>(), ["no"]);

    // A cancelled meeting takes no answer (410), and nothing is written.
    env.fatima.set_meeting_status(&c.meeting, circles_core::MeetingStatus::Cancelled).unwrap();
    env.sync();
    let before = env.written();
    let page = env.post(&yes);
    assert_eq!(page.status, 410, "{}", page.body);
    assert!(page.body.contains("no longer takes answers"), "{}", page.body);
    assert_eq!(env.written(), before);
}

fn a_withdraw_link_gives_the_place_to_the_first_waiting(backend: Backend) {
    let mut env = env(backend);
    let c = env.circle("Small circle", &[("Ana First", "ana@example.org")], |c| c.signup_limit = Some(1));
    // Two signups on the public page wait for a place.
    let (ok, out, err) = common::admin(&env.db.url, &["team", "public-link", &env.team]);
    assert!(ok, "{err}");
    reqwest::blocking::get(format!("{}{}", env.server.url, out.trim())).unwrap();
    let slug = env.db.query(&format!("SELECT slug FROM public_slugs WHERE kind = 'circle' AND target_id = '{}'", c.id));
    let path = format!("/circles/{}", slug[0][0].clone().unwrap());
    for (name, email) in [("Lena Okafor", "lena@example.org"), ("Omar Haddad", "omar@example.org")] {
        let page = reqwest::blocking::Client::new()
            .post(format!("{}{path}", env.server.url))
            .form(&[("name", name), ("email", email), ("consent", "1")])
            .send()
            .unwrap();
        assert!(page.text().unwrap().contains("You are on the waitlist"));
    }
    env.sink.wait_for(2, Duration::from_secs(30));

    let withdraw = env.link(Purpose::Withdraw, &c.learners[0], None);
    let before = env.written();
    let page = env.get(&withdraw);
    assert!(page.body.contains("Withdraw from Small circle"), "{}", page.body);
    assert_eq!(env.written(), before);
    let page = env.post(&withdraw);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("You have withdrawn from Small circle"), "{}", page.body);
    let after = env.written();
    let page = env.post(&withdraw);
    assert!(page.body.contains("Already recorded"), "{}", page.body);
    assert_eq!(env.written(), after, "the second click writes nothing");

    env.sync();
    let learners = env.fatima.learners(&c.id).unwrap();
    let by_name = |name: &str| learners.iter().find(|l| l.fields.name == name).unwrap();
    assert!(by_name("Ana First").fields.withdrawn);
    assert_eq!(by_name("Lena Okafor").waitlist_position, None, "Lena has the place");
    assert_eq!(by_name("Omar Haddad").waitlist_position, Some(1));
    let messages = env.sink.wait_for(3, Duration::from_secs(30));
    let places: Vec<_> = messages
        .iter()
        .filter(|m| m.header("Subject").as_deref() == Some("You have a place: Small circle"))
        .filter_map(|m| m.header("To"))
        .collect();
    assert_eq!(places, ["lena@example.org"]);

    // A withdrawn learner's RSVP is refused.
    let yes = env.link(Purpose::RsvpYes, &c.learners[0], Some(&c.meeting));
    let page = env.post(&yes);
    assert_eq!(page.status, 410, "{}", page.body);
    assert!(page.body.contains("no longer applies"), "{}", page.body);
}

fn opt_outs_set_the_flags(backend: Backend) {
    let mut env = env(backend);
    let c = env.circle("Reading group", &[("Lena Okafor", "lena@example.org")], |_| {});
    let lena = &c.learners[0];
    for (purpose, says) in
        [(Purpose::EmailOptOut, "no more emails about Reading group"), (Purpose::SmsOptOut, "no more text messages")]
    {
        let path = env.link(purpose, lena, None);
        let page = env.post(&path);
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains(says), "{}", page.body);
        let after = env.written();
        assert!(env.post(&path).body.contains("Already recorded"));
        assert_eq!(env.written(), after);
    }
    env.sync();
    let learner = env.fatima.learner(lena).unwrap();
    assert!(learner.fields.email_opt_out && learner.fields.sms_opt_out && !learner.fields.withdrawn);
}

fn forged_and_expired_links_change_nothing(backend: Backend) {
    let mut env = env(backend);
    let c = env.circle("Reading group", &[("Lena Okafor", "lena@example.org"), ("Omar", "omar@example.org")], |_| {});
    let (lena, omar) = (&c.learners[0], &c.learners[1]);
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let yes = env.link(Purpose::RsvpYes, lena, Some(&c.meeting));
    let token = yes.strip_prefix("/l/").unwrap();
    let bytes = engine.decode(token).unwrap();
    let (payload, signature) = bytes.split_at(bytes.len() - 32);
    let payload = String::from_utf8(payload.to_vec()).unwrap();
    let resigned = |payload: String| {
        let mut forged = payload.into_bytes();
        forged.extend_from_slice(signature);
        format!("/l/{}", engine.encode(forged))
    };
    let mut one_byte = bytes.clone();
    one_byte[3] ^= 1;
    let forged = [
        format!("/l/{}", engine.encode(&one_byte)),
        resigned(payload.replacen("rsvp_yes", "rsvp_no", 1)),
        resigned(payload.replacen(lena.as_str(), omar, 1)),
        format!("/l/{}", &token[..token.len() - 2]),
        "/l/not-a-link".to_string(),
    ];
    let before = env.written();
    for path in &forged {
        for page in [env.get(path), env.post(path)] {
            assert_eq!(page.status, 404, "{path}: {}", page.body);
            assert!(page.body.contains("This link is not valid"), "{}", page.body);
        }
    }
    // Expired: a withdraw link made 181 days ago.
    let old = env.link_made_at(Purpose::Withdraw, lena, None, Utc::now() - chrono::Duration::days(181));
    for page in [env.get(&old), env.post(&old)] {
        assert_eq!(page.status, 410, "{}", page.body);
        assert!(page.body.contains("This link has expired"), "{}", page.body);
    }
    assert_eq!(env.written(), before, "nothing written");
    env.sync();
    assert!(env.fatima.meeting_rsvps(&c.meeting).unwrap().is_empty());
    assert!(!env.fatima.learner(lena).unwrap().fields.withdrawn);
}

fn pages_escape_and_speak_the_circle_language(backend: Backend) {
    let mut env = env(backend);
    let name = "<script>alert(1)</script> & co";
    let c = env.circle(name, &[("Lena Okafor", "lena@example.org")], |c| c.language = "es".into());
    let yes = env.link(Purpose::RsvpYes, &c.learners[0], Some(&c.meeting));
    let page = env.get(&yes);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"), "{}", page.body);
    assert!(page.body.contains("<html lang=\"es\"") && page.body.contains("Sí, iré a"), "{}", page.body);
    let page = env.post(&yes);
    assert!(!page.body.contains("<script>alert") && page.body.contains("Gracias"), "{}", page.body);
    let page = env.get(&format!("{yes}?lang=pt"));
    assert!(page.body.contains("<html lang=\"pt\""), "{}", page.body);
}

fn the_admin_command_makes_links(backend: Backend) {
    let mut env = env(backend);
    let c = env.circle("Reading group", &[("Lena Okafor", "lena@example.org")], |_| {});
    let lena = c.learners[0].clone();
    let db = env.db.url.clone();
    let make = |args: &[&str]| common::admin(&db, &[&["link", "make"], args].concat());
    let (ok, out, err) =
        make(&["--purpose", "rsvp_yes", "--learner", &lena, "--meeting", &c.meeting, "--public-url", PUBLIC]);
    assert!(ok, "{err}");
    let path = out.trim().strip_prefix(PUBLIC).unwrap().to_string();
    let page = env.post(&path);
    assert!(page.body.contains("you're coming to Reading group"), "{}", page.body);
    env.sync();
    assert_eq!(env.fatima.meeting_rsvps(&c.meeting).unwrap()[0].answer, "yes");
    // Refused, each with a clear message.
    for (args, says) in [
        (vec!["--purpose", "rsvp_maybe", "--learner", &lena, "--public-url", PUBLIC], "unknown purpose rsvp_maybe"),
        (vec!["--purpose", "withdraw", "--learner", "nobody", "--public-url", PUBLIC], "no learner with id nobody"),
        (vec!["--purpose", "rsvp_no", "--learner", &lena, "--public-url", PUBLIC], "needs --meeting"),
        (vec!["--purpose", "withdraw", "--learner", &lena], "set --public-url"),
    ] {
        let (ok, _, err) = make(&args);
        assert!(!ok && err.contains(says), "{args:?}: {err}");
    }
}

fn link_posts_are_rate_limited(backend: Backend) {
    let mut env = env(backend);
    let c = env.circle("Reading group", &[("Lena Okafor", "lena@example.org")], |_| {});
    let yes = env.link(Purpose::RsvpYes, &c.learners[0], Some(&c.meeting));
    // Forged links count too: guessing is what the limit slows down.
    let statuses: Vec<u16> = (0..22).map(|i| env.post(&format!("/l/forged{i}")).status).collect();
    assert!(statuses[..20].iter().all(|s| *s == 404) && statuses[21] == 429, "{statuses:?}");
    let before = env.written();
    let page = env.post(&yes);
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.body.contains("Please try again later"), "{}", page.body);
    assert_eq!(env.written(), before, "nothing written");
    assert_eq!(env.get(&yes).status, 200, "opening a link is not limited");
}

both_backends!(
    an_rsvp_reaches_the_laptop_once,
    a_withdraw_link_gives_the_place_to_the_first_waiting,
    opt_outs_set_the_flags,
    forged_and_expired_links_change_nothing,
    pages_escape_and_speak_the_circle_language,
    the_admin_command_makes_links,
    link_posts_are_rate_limited,
);
