//! The public pages end to end, on SQLite and PostgreSQL, against a real
//! `circles-server` process, a real SMTP server (aiosmtpd) and a real
//! facilitator's replica that publishes circles and syncs, followed with
//! plain HTTP requests as a browser without JavaScript would:
//!
//! - a team's listing (its address from `team public-link`) shows only
//!   published circles that have not ended, filters by language, day and
//!   online/in person, never shows a circle's id; the embeddable listing
//!   may be framed, the others may not; JSON and iCalendar feeds;
//! - a circle's page: its meetings in its zone, facilitators' first names
//!   only; a draft's page is a 404, an ended circle's a 410;
//! - a signup becomes a learner the facilitator's laptop pulls, and its
//!   confirmation (with an .ics) reaches the SMTP server; the same email
//!   again is one learner;
//! - a full circle puts a signup on its waitlist with its number (page and
//!   mail); a withdrawal pushed by a laptop gives the place to the first in
//!   line, who is mailed; the same withdrawal from two laptops frees one
//!   place; a raised limit or a deleted learner fills places too; laptops
//!   see "online" and the waitlist; a laptop may not put anyone on the
//!   waitlist; the consent names the team's privacy notice, escaped;
//! - closed, honeypot, bad email or mobile, over-long fields, no
//!   consent, no contact: each a clear answer that changes nothing;
//! - HTML typed in every field comes back escaped; the signup post is
//!   rate limited per address (429).

mod common;

use std::time::Duration;

use chrono::{Datelike, Days, NaiveDate, Utc};
use circles_core::sync::engine::sync_once;
use circles_core::sync::http::HttpTransport;
use circles_core::{CircleInput, CircleStatus, Store, TeamRole};
use circles_server::Storage;
use common::smtp::SmtpSink;
use common::{admin, Backend, ServerProcess, TestDb, PASSWORD};
use std::sync::Arc;

const PUBLIC: &str = "https://circles.example.org";

struct Env {
    db: TestDb,
    storage: Arc<dyn Storage>,
    server: ServerProcess,
    sink: SmtpSink,
    team: String,
    /// The team listing's path, `/teams/{slug}`.
    listing: String,
    fatima: Store,
    transport: HttpTransport,
    _dir: tempfile::TempDir,
}

struct Page {
    status: u16,
    body: String,
    frames: String,
    csp: String,
}

fn env(backend: Backend) -> Env {
    let sink = SmtpSink::start();
    let db = TestDb::new(backend);
    let storage = db.open();
    let hash = circles_server::auth::hash_password(PASSWORD).unwrap();
    storage.add_user("fatima@example.org", "Fatima Zahra Haddad", &hash).unwrap();
    let team = storage.add_team("Riverbend Public Library").unwrap();
    storage.add_team_member(&team, "fatima@example.org", TeamRole::Member).unwrap();
    let server = ServerProcess::start_with(
        &db.url,
        &[
            "--mail-url",
            &sink.url(),
            "--mail-from",
            "Circles <circles@example.org>",
            "--public-url",
            PUBLIC,
            "--mail-backoff-ms",
            "300",
            "--mail-poll-ms",
            "100",
        ],
        &[],
    );
    let (fatima, transport, dir) = fatimas_laptop(&server.url, "library laptop");
    let (ok, out, err) = admin(&db.url, &["team", "public-link", "Riverbend Public Library"]);
    assert!(ok, "{err}");
    let listing = out.trim().to_string();
    assert!(listing.starts_with("/teams/") && !listing.contains(&team), "{listing}");
    let (_, again, _) = admin(&db.url, &["team", "public-link", &team]);
    assert_eq!(again.trim(), listing, "a team keeps its address");
    Env { db, storage, server, sink, team, listing, fatima, transport, _dir: dir }
}

/// A laptop of Fatima's, signed in to the server at `url` and synced.
fn fatimas_laptop(url: &str, device_name: &str) -> (Store, HttpTransport, tempfile::TempDir) {
    let (mut store, transport, dir) = common::signed_in_laptop(url, "fatima@example.org", device_name);
    sync_once(&mut store, &transport, &mut |_| {}).unwrap();
    (store, transport, dir)
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

impl Env {
    fn sync(&mut self) {
        sync_once(&mut self.fatima, &self.transport, &mut |_| {}).unwrap();
    }

    /// A circle of the team, with meetings `days` from today (negative: past), synced.
    fn circle(&mut self, name: &str, days: &[i64], edit: impl FnOnce(&mut CircleInput)) -> String {
        let mut input = CircleInput::new(name, "America/Chicago", "18:30", 90);
        input.team_id = Some(self.team.clone());
        input.status = CircleStatus::Published;
        input.venue.name = "Riverbend Library, room 2".into();
        input.description = "We meet weekly.".into();
        edit(&mut input);
        let id = self.fatima.create_circle(&input, None).unwrap();
        for &d in days {
            let date = if d >= 0 {
                today().checked_add_days(Days::new(d as u64)).unwrap()
            } else {
                today().checked_sub_days(Days::new((-d) as u64)).unwrap()
            };
            self.fatima.add_meeting(&id, date, None).unwrap();
        }
        self.sync();
        id
    }

    fn get(&self, path: &str) -> Page {
        self.request(reqwest::blocking::Client::new().get(format!("{}{path}", self.server.url)))
    }

    fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.request(reqwest::blocking::Client::new().post(format!("{}{path}", self.server.url)).form(form))
    }

    fn request(&self, request: reqwest::blocking::RequestBuilder) -> Page {
        let response = request.header("accept-language", "en").send().unwrap();
        let header =
            |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let (frames, csp) = (header("x-frame-options"), header("content-security-policy"));
        let status = response.status().as_u16();
        Page { status, body: response.text().unwrap(), frames, csp }
    }

    /// The public path of a circle (its slug is made once it was listed).
    fn circle_path(&self, circle: &str) -> String {
        let rows =
            self.db.query(&format!("SELECT slug FROM public_slugs WHERE kind = 'circle' AND target_id = '{circle}'"));
        let slug = rows.first().and_then(|r| r[0].clone()).unwrap_or_else(|| panic!("no slug for {circle}"));
        format!("/circles/{slug}")
    }

    /// (log length, messages in the outbox): what a refused signup must leave as it was.
    fn written(&self) -> (i64, usize) {
        (self.db.max_seq(), self.storage.mail_summaries(None, 1000).unwrap().len())
    }
}

fn weekday_of(days_ahead: u64) -> &'static str {
    const DAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    DAYS[today().checked_add_days(Days::new(days_ahead)).unwrap().weekday().num_days_from_monday() as usize]
}

fn the_listing_shows_upcoming_published_circles_with_filters(backend: Backend) {
    let mut env = env(backend);
    let speaking = env.circle("Public Speaking", &[7, 14], |_| {});
    let spanish = env.circle("Python en español", &[8, 15], |c| {
        c.language = "es".into();
        c.online = true;
        c.meeting_link = "https://meet.example.org/secret-room".into();
    });
    let draft = env.circle("A draft circle", &[7], |c| c.status = CircleStatus::Draft);
    let ended = env.circle("Last spring's circle", &[-30, -23], |_| {});

    let page = env.get(&env.listing);
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.frames, "DENY");
    assert!(page.csp.contains("frame-ancestors 'none'"), "{}", page.csp);
    assert!(page.body.contains("Learning circles at Riverbend Public Library"), "{}", page.body);
    assert!(page.body.contains("Public Speaking") && page.body.contains("Python en español"), "{}", page.body);
    assert!(!page.body.contains("A draft circle") && !page.body.contains("Last spring"), "{}", page.body);
    for id in [&speaking, &spanish, &draft, &ended, &env.team] {
        assert!(!page.body.contains(id.as_str()), "the listing shows the id {id}");
    }
    assert!(!page.body.contains("secret-room"), "the meeting link is for learners who signed up");

    let only = |query: &str| {
        let page = env.get(&format!("{}?{query}", env.listing));
        assert_eq!(page.status, 200);
        (page.body.contains("Public Speaking"), page.body.contains("Python en español"))
    };
    assert_eq!(only("language=es"), (false, true));
    assert_eq!(only("language=en"), (true, false));
    assert_eq!(only("format=online"), (false, true));
    assert_eq!(only("format=in_person"), (true, false));
    assert_eq!(only(&format!("day={}", weekday_of(7))), (true, false));
    assert_eq!(only(&format!("day={}", weekday_of(8))), (false, true));
    assert_eq!(only(&format!("day={}&format=online", weekday_of(7))), (false, false));

    // The embeddable listing may be framed by any site; its links leave the frame.
    let embed = env.get(&format!("{}/embed", env.listing));
    assert_eq!(embed.status, 200);
    assert_eq!(embed.frames, "", "no X-Frame-Options on the embeddable listing");
    assert!(embed.csp.contains("frame-ancestors *"), "{}", embed.csp);
    assert!(embed.body.contains("target=\"_blank\""), "{}", embed.body);

    // JSON and iCalendar feeds, filters included.
    let json: serde_json::Value =
        reqwest::blocking::get(format!("{}{}/circles.json", env.server.url, env.listing)).unwrap().json().unwrap();
    common::openapi::check_response("GET", &format!("{}/circles.json", env.listing), 200, &json);
    let unknown = reqwest::blocking::get(format!("{}/teams/0123456789abcdef/circles.json", env.server.url)).unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
    let unknown: serde_json::Value = unknown.json().unwrap();
    assert_eq!(unknown["code"], "public_page_unknown");
    common::openapi::check_response("GET", "/teams/0123456789abcdef/circles.json", 404, &unknown);
    let circles = json["circles"].as_array().unwrap();
    assert_eq!(circles.len(), 2, "{json}");
    assert_eq!(circles[0]["name"], "Public Speaking");
    assert!(circles[0]["url"].as_str().unwrap().starts_with(&format!("{PUBLIC}/circles/")));
    assert_eq!(circles[0]["facilitators"], serde_json::json!(["Fatima"]));
    let text = json.to_string();
    assert!(!text.contains(&speaking) && !text.contains("secret-room") && !text.contains("fatima@"), "{text}");
    let ics = reqwest::blocking::get(format!("{}{}/circles.ics?language=es", env.server.url, env.listing)).unwrap();
    assert!(ics.headers()["content-type"].to_str().unwrap().starts_with("text/calendar"));
    let ics = ics.text().unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"), "{ics}");
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 2, "{ics}");
    assert!(ics.contains("SUMMARY:Python en español") && !ics.contains("Public Speaking"), "{ics}");

    // The circle's page: every meeting in the circle's zone, first names only.
    let page = env.get(&env.circle_path(&speaking));
    assert_eq!(page.status, 200, "{}", page.body);
    let first = today().checked_add_days(Days::new(7)).unwrap();
    assert!(page.body.contains(&format!("{}, 18:30–20:00", first.format("%Y-%m-%d"))), "{}", page.body);
    assert!(page.body.contains("America/Chicago"));
    assert!(page.body.contains("Facilitated by Fatima."), "{}", page.body);
    assert!(!page.body.contains("Haddad") && !page.body.contains("fatima@example.org"));
    assert!(!page.body.contains(&speaking));
    assert!(page.body.contains("name=\"website\""), "the honeypot field is there");
    let ics = reqwest::blocking::get(format!("{}{}/calendar.ics", env.server.url, env.circle_path(&speaking)))
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 2, "{ics}");
    // A Spanish circle's page is in Spanish unless asked otherwise.
    let page = env.get(&env.circle_path(&spanish));
    assert!(page.body.contains("<html lang=\"es\"") && page.body.contains("Inscribirme"), "{}", page.body);

    // An ended circle's page is a 410; a circle put back to draft, a 404; an unknown slug, a 404.
    let page = env.get(&env.circle_path(&ended));
    assert_eq!(page.status, 410, "{}", page.body);
    assert!(page.body.contains("This circle has ended"));
    let path = env.circle_path(&speaking);
    let mut input = env.fatima.circle(&speaking).unwrap().fields;
    input.status = CircleStatus::Draft;
    env.fatima.update_circle(&speaking, &input).unwrap();
    env.sync();
    let page = env.get(&path);
    assert_eq!(page.status, 404, "{}", page.body);
    assert!(page.body.contains("Page not found") && !page.body.contains("Public Speaking"), "{}", page.body);
    assert_eq!(env.get("/circles/0123456789abcdef").status, 404);
    assert_eq!(env.get("/teams/0123456789abcdef").status, 404);
    let page = env.post(&path, &[("name", "Lena"), ("email", "lena@example.org"), ("consent", "1")]);
    assert_eq!(page.status, 404, "no signup to a draft");
}

fn a_signup_reaches_the_laptop_and_mails_a_confirmation(backend: Backend) {
    let mut env = env(backend);
    let circle = env.circle("Public Speaking", &[7, 14], |c| c.signup_question = "Why this course?".into());
    env.get(&env.listing);
    let path = env.circle_path(&circle);
    let page = env.get(&path);
    assert!(page.body.contains("Why this course?"), "the circle's question is asked");
    let page = env.post(
        &path,
        &[
            ("name", "Lena Okafor"),
            ("email", "Lena@Example.org"),
            ("mobile", "+1 312 555 0143"),
            ("goals", "Speak up at work"),
            ("support_needs", "A seat near the door"),
            ("question_answer", "A friend said so"),
            ("consent", "1"),
            ("website", ""),
        ],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("You are signed up"), "{}", page.body);

    env.sync();
    let learners = env.fatima.learners(&circle).unwrap();
    assert_eq!(learners.len(), 1, "{learners:?}");
    let lena = &learners[0].fields;
    assert_eq!(
        (lena.name.as_str(), lena.email.as_str(), lena.mobile.as_str()),
        ("Lena Okafor", "lena@example.org", "+13125550143")
    );
    assert_eq!((lena.goals.as_str(), lena.support_needs.as_str()), ("Speak up at work", "A seat near the door"));
    assert_eq!(lena.question_answer, "A friend said so");
    assert!(lena.consent && !lena.walk_in && !lena.withdrawn);

    let messages = env.sink.wait_for(1, Duration::from_secs(30));
    let mail = &messages[0];
    assert_eq!(mail.header("To").as_deref(), Some("lena@example.org"));
    assert_eq!(mail.header("Subject").as_deref(), Some("You are signed up: Public Speaking"));
    let raw = mail.raw.replace("=\n", "");
    assert!(raw.contains("circle.ics") && raw.contains("text/calendar"), "{raw}");
    assert!(raw.contains(&format!("{PUBLIC}{path}")), "the page's link: {raw}");

    // The same email again is the same learner: a friendly page, nothing written.
    let before = env.written();
    let page = env.post(&path, &[("name", "Lena O."), ("email", "lena@example.org"), ("consent", "1")]);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("You are already signed up"), "{}", page.body);
    assert_eq!(env.written(), before);
    env.sync();
    assert_eq!(env.fatima.learners(&circle).unwrap().len(), 1);
}

fn refused_signups_change_nothing(backend: Backend) {
    let mut env = env(backend);
    let closed = env.circle("Closed circle", &[7], |c| c.signup_open = false);
    let open = env.circle("Open circle", &[7], |_| {});
    env.get(&env.listing);
    // (A full circle takes signups on its waitlist: `a_full_circle_waitlists...`.)
    let before = env.written();
    let lena = [("name", "Lena"), ("email", "lena@example.org"), ("consent", "1")];
    let page = env.post(&env.circle_path(&closed), &lena);
    assert_eq!(page.status, 409, "{}", page.body);
    assert!(page.body.contains("Signups are closed"));
    assert_eq!(env.written(), before);

    let open_path = env.circle_path(&open);
    // The honeypot filled: told what a person would be, nothing written.
    let page = env.post(
        &open_path,
        &[("name", "Bot"), ("email", "bot@example.org"), ("consent", "1"), ("website", "http://spam.example")],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(env.written(), before, "a filled honeypot writes nothing");

    let long = "x".repeat(201);
    let huge = "y".repeat(20_001);
    for (form, field, message) in [
        (vec![("name", "Lena"), ("email", "lena@"), ("consent", "1")], "email", "Enter an email address"),
        (vec![("name", "Lena"), ("mobile", "555"), ("consent", "1")], "mobile", "Enter a mobile number"),
        (vec![("name", long.as_str()), ("email", "lena@example.org"), ("consent", "1")], "name", "Enter your name"),
        (
            vec![("name", "Lena"), ("email", "lena@example.org"), ("goals", huge.as_str()), ("consent", "1")],
            "goals",
            "too long",
        ),
        (vec![("name", "Lena"), ("email", "lena@example.org")], "consent", "Tick the box"),
        (vec![("name", "Lena"), ("consent", "1")], "email", "Enter an email address or a mobile number"),
        (vec![("name", "  "), ("email", "lena@example.org"), ("consent", "1")], "name", "Enter your name"),
    ] {
        let page = env.post(&open_path, &form);
        assert_eq!(page.status, 422, "{field}: {}", page.body);
        assert!(
            page.body.contains(&format!("href=\"#{field}\"")),
            "{field}: an error tied to the field: {}",
            page.body
        );
        assert!(page.body.contains(message), "{field}: {message}: {}", page.body);
        assert!(page.body.contains(&format!("id=\"{field}\"")));
        assert_eq!(env.written(), before, "{field}: nothing written");
    }
    env.sync();
    for circle in [&closed, &open] {
        assert!(env.fatima.learners(circle).unwrap().is_empty());
    }
}

impl Env {
    fn sign_up(&self, path: &str, name: &str, email: &str) -> Page {
        self.post(path, &[("name", name), ("email", email), ("consent", "1")])
    }
}

/// Each learner of a circle on a laptop: (name, "online" or "", waitlist number).
fn roster(store: &Store, circle: &str) -> Vec<(String, String, Option<u32>)> {
    let mut all: Vec<_> = store
        .learners(circle)
        .unwrap()
        .into_iter()
        .filter(|l| !l.fields.withdrawn)
        .map(|l| (l.fields.name, l.signup_source, l.waitlist_position))
        .collect();
    all.sort();
    all
}

/// Who got a message with this subject, by address (the outbox sends in any order).
fn places_to(messages: &[common::smtp::Received], subject: &str) -> Vec<String> {
    let mut to: Vec<String> = messages
        .iter()
        .filter(|m| m.header("Subject").as_deref() == Some(subject))
        .filter_map(|m| m.header("To"))
        .collect();
    to.sort();
    to
}

fn a_full_circle_waitlists_and_a_freed_place_goes_to_the_next(backend: Backend) {
    let mut env = env(backend);
    let circle = env.circle("Small circle", &[7, 14], |c| c.signup_limit = Some(1));
    env.get(&env.listing);
    let path = env.circle_path(&circle);
    let page = env.sign_up(&path, "Ana First", "ana@example.org");
    assert!(page.body.contains("You are signed up"), "{}", page.body);
    let page = env.get(&path);
    assert!(page.body.contains("Every place in this circle is taken") && page.body.contains("Join the waitlist"));

    // Beyond the limit: on the waitlist, with a number, on the page and in the mail.
    let page = env.sign_up(&path, "Lena Okafor", "lena@example.org");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("You are on the waitlist") && page.body.contains("<strong>1</strong>"), "{}", page.body);
    let page = env.sign_up(&path, "Omar Haddad", "omar@example.org");
    assert!(page.body.contains("<strong>2</strong>"), "{}", page.body);
    let messages = env.sink.wait_for(3, Duration::from_secs(30));
    assert_eq!(places_to(&messages, "You are on the waitlist: Small circle"), ["lena@example.org", "omar@example.org"]);
    let omar_mail = messages.iter().find(|m| m.header("To").as_deref() == Some("omar@example.org")).unwrap();
    assert!(omar_mail.raw.replace("=\n", "").contains("number 2 on the waitlist"), "{}", omar_mail.raw);

    // The laptops see who signed up online and who waits.
    env.sync();
    let online = || "online".to_string();
    let expected = vec![
        ("Ana First".to_string(), online(), None),
        ("Lena Okafor".to_string(), online(), Some(1)),
        ("Omar Haddad".to_string(), online(), Some(2)),
    ];
    assert_eq!(roster(&env.fatima, &circle), expected);
    let (mut home, home_transport, _home_dir) = fatimas_laptop(&env.server.url, "home laptop");
    assert_eq!(roster(&home, &circle), expected);

    // Both laptops withdraw Ana offline; the first push gives her place to
    // Lena, the second frees nothing more.
    let ana =
        |store: &Store| store.learners(&circle).unwrap().into_iter().find(|l| l.fields.name == "Ana First").unwrap().id;
    let ana_id = ana(&env.fatima);
    env.fatima.set_learner_withdrawn(&ana_id, true).unwrap();
    home.set_learner_withdrawn(&ana_id, true).unwrap();
    env.sync();
    sync_once(&mut home, &home_transport, &mut |_| {}).unwrap();
    env.sync();
    let after = vec![("Lena Okafor".to_string(), online(), None), ("Omar Haddad".to_string(), online(), Some(1))];
    assert_eq!(roster(&env.fatima, &circle), after);
    assert_eq!(roster(&home, &circle), after);
    let messages = env.sink.wait_for(4, Duration::from_secs(30));
    assert_eq!(places_to(&messages, "You have a place: Small circle"), ["lena@example.org"]);
    let lena_place =
        messages.iter().find(|m| m.header("Subject").as_deref() == Some("You have a place: Small circle")).unwrap();
    assert!(lena_place.raw.contains("circle.ics"), "the schedule comes with the place");

    // A raised limit fills the new place at once (the push that raises it).
    let mut input = env.fatima.circle(&circle).unwrap().fields;
    input.signup_limit = Some(2);
    env.fatima.update_circle(&circle, &input).unwrap();
    env.sync();
    env.sync();
    assert_eq!(
        roster(&env.fatima, &circle),
        vec![("Lena Okafor".to_string(), online(), None), ("Omar Haddad".to_string(), online(), None)]
    );
    let messages = env.sink.wait_for(5, Duration::from_secs(30));
    assert_eq!(places_to(&messages, "You have a place: Small circle"), ["lena@example.org", "omar@example.org"]);

    // A learner deleted on a laptop frees a place too.
    let page = env.sign_up(&path, "Pia Santos", "pia@example.org");
    assert!(page.body.contains("<strong>1</strong>"), "{}", page.body);
    env.sync();
    let lena = env.fatima.learners(&circle).unwrap().into_iter().find(|l| l.fields.name == "Lena Okafor").unwrap();
    env.fatima.delete_learner(&lena.id).unwrap();
    env.sync();
    env.sync();
    assert_eq!(
        roster(&env.fatima, &circle),
        vec![("Omar Haddad".to_string(), online(), None), ("Pia Santos".to_string(), online(), None)]
    );
    let messages = env.sink.wait_for(7, Duration::from_secs(30));
    let places = places_to(&messages, "You have a place: Small circle");
    assert_eq!(places, ["lena@example.org", "omar@example.org", "pia@example.org"]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(env.sink.messages().len(), 7, "one message per place, no more");
}

/// A place freed while the circle is a draft stays free (no one is told they
/// have a place in a circle that is not on offer) until it is published
/// again; the push that publishes it gives the place.
fn a_place_freed_in_a_draft_waits_for_it_to_be_published(backend: Backend) {
    let mut env = env(backend);
    let circle = env.circle("Small circle", &[7, 14], |c| c.signup_limit = Some(1));
    env.get(&env.listing);
    let path = env.circle_path(&circle);
    env.sign_up(&path, "Ana First", "ana@example.org");
    env.sign_up(&path, "Lena Okafor", "lena@example.org");
    env.sink.wait_for(2, Duration::from_secs(30));
    env.sync();
    let mut input = env.fatima.circle(&circle).unwrap().fields;
    input.status = CircleStatus::Draft;
    env.fatima.update_circle(&circle, &input).unwrap();
    let ana = env.fatima.learners(&circle).unwrap().into_iter().find(|l| l.fields.name == "Ana First").unwrap().id;
    env.fatima.set_learner_withdrawn(&ana, true).unwrap();
    env.sync();
    env.sync();
    let online = || "online".to_string();
    assert_eq!(roster(&env.fatima, &circle), vec![("Lena Okafor".to_string(), online(), Some(1))]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(env.sink.messages().len(), 2, "no place, no mail");

    input.status = CircleStatus::Published;
    env.fatima.update_circle(&circle, &input).unwrap();
    env.sync();
    env.sync();
    assert_eq!(roster(&env.fatima, &circle), vec![("Lena Okafor".to_string(), online(), None)]);
    let messages = env.sink.wait_for(3, Duration::from_secs(30));
    assert_eq!(places_to(&messages, "You have a place: Small circle"), ["lena@example.org"]);
}

/// A laptop may admit someone but never put anyone on the waitlist or mark
/// them as signed up online: those changes are the server's (core's rule).
fn a_laptop_may_not_waitlist_anyone(backend: Backend) {
    use circles_core::hlc::Hlc;
    use circles_core::sync::engine::Transport;
    use circles_core::sync::wire::{PushRequest, WireChange};
    let mut env = env(backend);
    let circle = env.circle("Small circle", &[7], |_| {});
    let learner = env.fatima.add_learner(&circle, &circles_core::LearnerInput::new("Ana")).unwrap();
    env.sync();
    let before = env.written();
    let device = env.fatima.device_id().to_string();
    for (field, value) in [("waitlisted_at", "2026-12-02T10:00:00.000Z"), ("signup_source", "online")] {
        let change = WireChange {
            change_id: uuid::Uuid::now_v7().to_string(),
            device_id: device.clone(),
            table: "learners".into(),
            row_id: learner.clone(),
            field: field.into(),
            value: serde_json::Value::from(value),
            hlc: Hlc { millis: Utc::now().timestamp_millis() as u64, counter: 0 },
            base_seq: None,
        };
        let batch = PushRequest { batch_id: uuid::Uuid::now_v7().to_string(), batch_seq: 1, changes: vec![change] };
        let refused = env.transport.push(&batch).unwrap_err().to_string();
        assert!(refused.contains("only the server"), "{field}: {refused}");
    }
    assert_eq!(env.written(), before, "nothing written");
}

/// Beside the consent box: who sees the data (the default sentence), or the
/// team's own notice, a link or a text, escaped; set by an organizer on a
/// laptop and synced.
fn the_consent_names_the_team_privacy_notice(backend: Backend) {
    let mut env = env(backend);
    env.storage.add_team_member(&env.team, "fatima@example.org", TeamRole::Organizer).unwrap();
    let circle = env.circle("Public Speaking", &[7], |_| {});
    env.get(&env.listing);
    let path = env.circle_path(&circle);
    let page = env.get(&path);
    assert!(page.body.contains("id=\"privacy-notice\""), "{}", page.body);
    assert!(
        page.body.contains("seen by this circle&#39;s facilitators and the organizers of its team")
            || page.body.contains("seen by this circle's facilitators and the organizers of its team"),
        "{}",
        page.body
    );
    assert!(page.body.contains("aria-describedby=\"privacy-notice\""), "tied to the checkbox");

    let team = env.team.clone();
    env.fatima.set_team_privacy_notice(&team, "<b>We keep signups one year</b>").unwrap();
    env.sync();
    let page = env.get(&path);
    assert!(page.body.contains("&lt;b&gt;We keep signups one year&lt;/b&gt;"), "{}", page.body);
    assert!(!page.body.contains("<b>We keep"), "escaped");

    env.fatima.set_team_privacy_notice(&team, "https://library.example.org/privacy").unwrap();
    env.sync();
    let page = env.get(&path);
    assert!(
        page.body.contains("<a href=\"https://library.example.org/privacy\">Read the team&#39;s privacy notice</a>")
            || page.body.contains("<a href=\"https://library.example.org/privacy\">Read the team's privacy notice</a>"),
        "{}",
        page.body
    );

    // Too long: refused on the laptop, nothing written.
    let waiting = env.fatima.pending_changes(1000).unwrap().len();
    assert!(env.fatima.set_team_privacy_notice(&team, &"x".repeat(501)).is_err());
    assert_eq!(env.fatima.pending_changes(1000).unwrap().len(), waiting);
}

fn everything_typed_comes_back_escaped(backend: Backend) {
    let mut env = env(backend);
    let script = "<script>alert(1)</script>";
    let circle = env.circle("<b>Bold</b> & \"quoted\"", &[7], |c| c.signup_question = script.into());
    let listing = env.get(&env.listing);
    assert!(listing.body.contains("&lt;b&gt;Bold&lt;/b&gt; &amp; &quot;quoted&quot;"), "{}", listing.body);
    assert!(!listing.body.contains("<b>Bold"));
    let path = env.circle_path(&circle);
    let page = env.get(&path);
    assert!(!page.body.contains(script) && page.body.contains("&lt;script&gt;"), "{}", page.body);

    // Every field holds a script and the email is bad: the form comes back with all of it escaped.
    let fields = ["name", "email", "mobile", "goals", "support_needs", "question_answer", "consent"];
    let form: Vec<(&str, &str)> = fields.iter().map(|f| (*f, script)).collect();
    let before = env.written();
    let page = env.post(&path, &form);
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(!page.body.contains("<script"), "{}", page.body);
    assert!(page.body.matches("&lt;script&gt;alert(1)&lt;/script&gt;").count() >= 5, "{}", page.body);
    assert_eq!(env.written(), before);

    // A signup whose fields hold HTML is stored as typed and shown escaped.
    let page = env.post(
        &path,
        &[
            ("name", script),
            ("email", "lena@example.org"),
            ("goals", script),
            ("question_answer", script),
            ("consent", "1"),
        ],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("<script") && !page.body.contains("<b>Bold"), "{}", page.body);
    env.sync();
    assert_eq!(env.fatima.learners(&circle).unwrap()[0].fields.name, script);
}

fn the_signup_post_is_rate_limited(backend: Backend) {
    let mut env = env(backend);
    let circle = env.circle("Public Speaking", &[7], |_| {});
    env.get(&env.listing);
    let path = env.circle_path(&circle);
    let before = env.written();
    let mut statuses = Vec::new();
    for _ in 0..22 {
        statuses.push(env.post(&path, &[("name", "Lena")]).status);
    }
    assert!(statuses[..20].iter().all(|s| *s == 422), "{statuses:?}");
    let page = env.post(&path, &[("name", "Lena"), ("email", "lena@example.org"), ("consent", "1")]);
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.body.contains("Please try again later"), "{}", page.body);
    assert_eq!(env.written(), before);
    assert_eq!(env.get(&path).status, 200, "the page itself is not limited");
}

both_backends!(
    the_listing_shows_upcoming_published_circles_with_filters,
    a_signup_reaches_the_laptop_and_mails_a_confirmation,
    refused_signups_change_nothing,
    everything_typed_comes_back_escaped,
    the_signup_post_is_rate_limited,
    a_full_circle_waitlists_and_a_freed_place_goes_to_the_next,
    a_laptop_may_not_waitlist_anyone,
    a_place_freed_in_a_draft_waits_for_it_to_be_published,
    the_consent_names_the_team_privacy_notice,
);
