//! Invitations and password resets end to end, on SQLite and PostgreSQL,
//! against a real `circles-server` process and a real SMTP server
//! (aiosmtpd, `common/smtp.rs`): the organizer's API (validated against
//! docs/openapi.json), the message that arrives, and the pages its link
//! opens, followed with plain HTTP requests as a browser without
//! JavaScript would (GET the form, POST it); then the new account signs in.
//!
//! - invited by email: the mail's link, the form, the account, sign-in,
//!   the member listed, the link refused a second time with nothing written;
//! - a copyable link (no email), a refused form (errors tied to fields,
//!   nothing written);
//! - resend (the old link stops working), cancel, expired, forged;
//! - an existing member, a pending invitation, a bad email, an existing
//!   account joining with its password; a non-organizer and an unknown team;
//! - a co-facilitator invitation: the new person syncs and sees the circle;
//! - a team's email domain: its join link, an address there gets an
//!   invitation by mail, others are refused, a new link replaces the old;
//! - password reset: same answer for unknown emails, the mail, the new
//!   password, old password and tokens refused, the link used once;
//! - the SMTP server down: the invitation is stored, its mail goes out later;
//! - no public URL: a clear `no_public_url`.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use circles_core::sync::engine::sync_once;
use circles_core::sync::http::HttpTransport;
use circles_core::sync::wire::LoginRequest;
use circles_core::{CircleInput, Store};
use circles_server::storage::MailState;
use circles_server::Storage;
use common::smtp::{free_port, Received, SmtpSink};
use common::{Backend, RawClient, ServerProcess, TestDb, TestServer, PASSWORD};
use serde_json::{json, Value};

const PUBLIC: &str = "https://circles.example.org";
const TEAM: &str = "Riverbend Public Library";
const NEW_PASSWORD: &str = "a new and long password";

struct Env {
    db: TestDb,
    storage: Arc<dyn Storage>,
    server: ServerProcess,
    api: RawClient,
    team: String,
    /// Olga organizes the team; her token.
    olga: String,
}

fn serve(db: &TestDb, mail_url: &str) -> ServerProcess {
    ServerProcess::start_with(
        &db.url,
        &[
            "--mail-url",
            mail_url,
            "--mail-from",
            "Circles <circles@example.org>",
            "--public-url",
            PUBLIC,
            "--mail-backoff-ms",
            "300",
            "--mail-lease-ms",
            "3000",
            "--mail-poll-ms",
            "100",
        ],
        &[],
    )
}

fn env_with(backend: Backend, mail_url: impl FnOnce() -> String) -> Env {
    let db = TestDb::new(backend);
    let storage = db.open();
    let hash = circles_server::auth::hash_password(PASSWORD).unwrap();
    storage.add_user("olga@example.org", "Olga", &hash).unwrap();
    let team = storage.add_team(TEAM).unwrap();
    storage.add_organizer(&team, "olga@example.org").unwrap();
    let server = serve(&db, &mail_url());
    let api = RawClient { base: server.url.clone(), http: reqwest::blocking::Client::new() };
    let olga = login(&api, "olga@example.org", PASSWORD).expect("olga signs in");
    Env { db, storage, server, api, team, olga }
}

fn env(backend: Backend, sink: &SmtpSink) -> Env {
    env_with(backend, || sink.url())
}

fn login_as(api: &RawClient, email: &str, password: &str, device: &str) -> Result<String, (u16, Value)> {
    let body = json!({"email": email, "password": password, "device_id": device, "device_name": "laptop"});
    let (status, answer) = api.send("POST", "/v1/login", None, Some("1"), Some(&body.to_string()));
    if status == 200 {
        Ok(answer["token"].as_str().unwrap().to_string())
    } else {
        Err((status, answer))
    }
}

fn login(api: &RawClient, email: &str, password: &str) -> Result<String, (u16, Value)> {
    login_as(api, email, password, &format!("dev-{}", uuid::Uuid::now_v7().simple()))
}

impl Env {
    fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        self.api.send(method, path, Some(token), Some("1"), body.map(|b| b.to_string()).as_deref())
    }

    fn invite(&self, token: &str, body: Value) -> (u16, Value) {
        self.call("POST", &format!("/v1/teams/{}/invitations", self.team), token, Some(body))
    }

    fn members(&self) -> Value {
        let (status, body) = self.call("GET", &format!("/v1/teams/{}/members", self.team), &self.olga, None);
        assert_eq!(status, 200, "{body}");
        body
    }

    fn users(&self) -> usize {
        self.storage.users().unwrap().len()
    }

    /// A page: (status, body, content type, CSP).
    fn page(&self, method: &str, path: &str, form: &[(&str, &str)]) -> Page {
        let url = format!("{}{path}", self.server.url);
        let http = reqwest::blocking::Client::new();
        let request = match method {
            "GET" => http.get(url),
            _ => http.post(url).form(form),
        };
        let response = request.header("accept-language", "en").send().unwrap();
        let header =
            |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let (content_type, csp, frames) =
            (header("content-type"), header("content-security-policy"), header("x-frame-options"));
        let status = response.status().as_u16();
        let body = response.text().unwrap();
        assert!(content_type.starts_with("text/html"), "{method} {path}: {status} {content_type}\n{body}");
        assert!(csp.contains("default-src 'none'") && csp.contains("form-action 'self'"), "{csp}");
        assert_eq!(frames, "DENY");
        Page { status, body }
    }
}

struct Page {
    status: u16,
    body: String,
}

/// The path of the link (`/join/...` or `/reset/...`) in a message, checking
/// it starts with the public URL.
fn link_in(message: &Received, kind: &str) -> String {
    // Quoted-printable soft line breaks, should the body be encoded so.
    let raw = message.raw.replace("=\n", "").replace("=3D", "=");
    let marker = format!("{PUBLIC}/{kind}/");
    let at = raw.find(&marker).unwrap_or_else(|| panic!("no {marker} link in:\n{raw}")) + marker.len();
    let token: String = raw[at..].chars().take_while(char::is_ascii_hexdigit).collect();
    assert_eq!(token.len(), 64, "a 256-bit token in hex: {token}");
    format!("/{kind}/{token}")
}

/// The links of the messages to `to`, once `n` arrived (in no particular order).
fn links_to(sink: &SmtpSink, to: &str, n: usize, kind: &str) -> Vec<String> {
    let start = Instant::now();
    loop {
        let all: Vec<Received> =
            sink.messages().into_iter().filter(|m| m.header("To").as_deref() == Some(to)).collect();
        if all.len() >= n {
            return all.iter().map(|m| link_in(m, kind)).collect();
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{} of {n} messages to {to} within 30 s", all.len());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The one message to `to`, waiting for it.
fn mail_to(sink: &SmtpSink, to: &str) -> Received {
    let start = Instant::now();
    loop {
        let mut all: Vec<Received> =
            sink.messages().into_iter().filter(|m| m.header("To").as_deref() == Some(to)).collect();
        if !all.is_empty() {
            assert_eq!(all.len(), 1, "one message to {to}");
            return all.remove(0);
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no message to {to} within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn join_new(env: &Env, path: &str, name: &str) -> Page {
    env.page("POST", path, &[("name", name), ("password", NEW_PASSWORD), ("confirm", NEW_PASSWORD)])
}

fn invited_by_email_joins_and_signs_in(backend: Backend) {
    let sink = SmtpSink::start();
    let env = env(backend, &sink);
    let (status, invitation) = env.invite(&env.olga, json!({"email": "Ana@Example.org "}));
    assert_eq!(status, 201, "{invitation}");
    assert_eq!(invitation["email"], "ana@example.org");
    assert_eq!(invitation["role"], "member");
    assert!(invitation.get("link").is_none(), "the link goes by mail only: {invitation}");
    assert!(env.db.query("SELECT token_hash FROM invitations")[0][0].as_ref().unwrap().len() == 64);

    let message = mail_to(&sink, "ana@example.org");
    assert_eq!(message.header("Subject").as_deref(), Some(&*format!("Olga invited you to {TEAM} on Circles")));
    let path = link_in(&message, "join");
    assert!(!env.db.query("SELECT token_hash FROM invitations")[0][0].as_ref().unwrap().contains(&path[6..]));

    let form = env.page("GET", &path, &[]);
    assert_eq!(form.status, 200, "{}", form.body);
    for expected in ["<html lang=\"en\"", TEAM, "ana@example.org", "name=\"name\"", "name=\"confirm\"", "Join the team"]
    {
        assert!(form.body.contains(expected), "{expected} missing:\n{}", form.body);
    }
    assert!(!form.body.contains("name=\"email\""), "the invited email is not asked for");
    let users = env.users();
    let done = join_new(&env, &path, "Ana Lima");
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains(&format!("Welcome to {TEAM}")) && done.body.contains(PUBLIC), "{}", done.body);
    assert_eq!(env.users(), users + 1);

    let ana = login(&env.api, "ana@example.org", NEW_PASSWORD).expect("the new account signs in");
    assert!(!ana.is_empty());
    let members = env.members();
    let listed: Vec<(&str, &str)> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(listed, [("olga@example.org", "organizer"), ("ana@example.org", "member")]);
    assert!(members["members"][1]["last_sync_at"].is_string(), "{members}");
    assert_eq!(members["invitations"], json!([]), "used: no longer pending");
    // Memberships are synced rows written by the server: the organizer's and the new member's.
    let rows = env.db.query("SELECT row_id FROM field_state WHERE table_name = 'team_members' AND field = 'role'");
    assert_eq!(rows.len(), 2);

    // The link is used: refused, and nothing more is written.
    let seq = env.db.max_seq();
    let again = join_new(&env, &path, "Someone Else");
    assert_eq!(again.status, 410, "{}", again.body);
    assert!(again.body.contains("This link was used already"), "{}", again.body);
    assert_eq!((env.users(), env.db.max_seq()), (users + 1, seq));
    assert_eq!(env.page("GET", &path, &[]).status, 410);
}

fn a_copied_link_lets_anyone_join_once(backend: Backend) {
    let sink = SmtpSink::start();
    let env = env(backend, &sink);
    let (status, invitation) = env.invite(&env.olga, json!({}));
    assert_eq!(status, 201, "{invitation}");
    assert!(invitation["email"].is_null());
    let link = invitation["link"].as_str().expect("a link to copy");
    let path = link.strip_prefix(PUBLIC).unwrap().to_string();
    assert!(path.starts_with("/join/"));

    let form = env.page("GET", &format!("{path}?lang=es"), &[]);
    assert_eq!(form.status, 200);
    assert!(form.body.contains("<html lang=\"es\"") && form.body.contains("Unirme al equipo"), "{}", form.body);
    assert!(form.body.contains("name=\"email\""), "a link asks for the email");

    // Refused: every problem at once, tied to its field, nothing written.
    let users = env.users();
    let refused = env.page(
        "POST",
        &path,
        &[("email", "not an email"), ("name", " "), ("password", "short"), ("confirm", "short")],
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("role=\"alert\""), "{}", refused.body);
    assert!(refused.body.contains("aria-describedby=\"email-error\""), "{}", refused.body);
    assert!(refused.body.contains("href=\"#email\""), "{}", refused.body);
    let refused = env.page(
        "POST",
        &path,
        &[("email", "bo@example.org"), ("name", " "), ("password", "long enough!"), ("confirm", "not the same")],
    );
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("aria-describedby=\"name-hint name-error\""), "{}", refused.body);
    assert!(refused.body.contains("aria-describedby=\"confirm-error\""), "{}", refused.body);
    assert!(refused.body.contains("The two passwords are not the same."), "{}", refused.body);
    assert!(refused.body.contains("value=\"bo@example.org\""), "what was typed is kept");
    assert!(!refused.body.contains("long enough!"), "a password is never sent back");
    assert_eq!(env.users(), users);

    let done = env.page(
        "POST",
        &path,
        &[("email", "Bo@Example.org"), ("name", "Bo"), ("password", NEW_PASSWORD), ("confirm", NEW_PASSWORD)],
    );
    assert_eq!(done.status, 200, "{}", done.body);
    login(&env.api, "bo@example.org", NEW_PASSWORD).expect("signs in");
    assert_eq!(env.page("GET", &path, &[]).status, 410, "once");
    assert!(sink.messages().is_empty(), "a copied link sends nothing");
}

fn resend_makes_a_new_link_and_cancel_ends_it(backend: Backend) {
    let sink = SmtpSink::start();
    let env = env(backend, &sink);
    let (_, invitation) = env.invite(&env.olga, json!({"email": "cy@example.org"}));
    let id = invitation["id"].as_str().unwrap().to_string();
    let first = link_in(&mail_to(&sink, "cy@example.org"), "join");
    let (status, resent) =
        env.call("POST", &format!("/v1/teams/{}/invitations/{id}/resend", env.team), &env.olga, None);
    assert_eq!(status, 200, "{resent}");
    assert!(resent["expires_at"].as_str() >= invitation["expires_at"].as_str());
    let second = links_to(&sink, "cy@example.org", 2, "join").into_iter().find(|l| *l != first).unwrap();
    assert_ne!(first, second);
    assert_eq!(env.page("GET", &first, &[]).status, 404, "the old link stopped working");
    assert_eq!(env.page("GET", &second, &[]).status, 200);
    assert_eq!(env.members()["invitations"][0]["id"], id.as_str());

    let (status, _) = env.call("DELETE", &format!("/v1/teams/{}/invitations/{id}", env.team), &env.olga, None);
    assert_eq!(status, 204);
    let cancelled = env.page("GET", &second, &[]);
    assert_eq!(cancelled.status, 410);
    assert!(cancelled.body.contains("This invitation was cancelled"), "{}", cancelled.body);
    let users = env.users();
    assert_eq!(join_new(&env, &second, "Cy").status, 410);
    assert_eq!(env.users(), users);
    assert_eq!(env.members()["invitations"], json!([]));
    let (status, body) = env.call("DELETE", &format!("/v1/teams/{}/invitations/{id}", env.team), &env.olga, None);
    assert_eq!((status, body["code"].as_str()), (409, Some("invitation_closed")));
    let (status, body) = env.call("DELETE", &format!("/v1/teams/{}/invitations/nope", env.team), &env.olga, None);
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, _) = env.call("POST", &format!("/v1/teams/{}/invitations/nope/resend", env.team), &env.olga, None);
    assert_eq!(status, 404);
}

fn expired_and_forged_links_are_refused(backend: Backend) {
    let sink = SmtpSink::start();
    let env = env(backend, &sink);
    let (_, invitation) = env.invite(&env.olga, json!({}));
    let path = invitation["link"].as_str().unwrap().strip_prefix(PUBLIC).unwrap().to_string();
    env.db.query("UPDATE invitations SET expires_at = '2020-01-01T00:00:00.000Z'");
    let expired = env.page("GET", &path, &[]);
    assert_eq!(expired.status, 410);
    assert!(expired.body.contains("This link has expired"), "{}", expired.body);
    let (users, seq) = (env.users(), env.db.max_seq());
    let posted = env.page(
        "POST",
        &path,
        &[("email", "dee@example.org"), ("name", "Dee"), ("password", NEW_PASSWORD), ("confirm", NEW_PASSWORD)],
    );
    assert_eq!(posted.status, 410);
    assert_eq!((env.users(), env.db.max_seq()), (users, seq), "nothing written");
    assert_eq!(env.members()["invitations"], json!([]), "an expired invitation is not pending");

    let forged = format!("/join/{}", "ab".repeat(32));
    let page = env.page("GET", &forged, &[]);
    assert_eq!(page.status, 404);
    assert!(page.body.contains("This link does not work"), "{}", page.body);
    assert_eq!(env.page("POST", &forged, &[("name", "X")]).status, 404);
    assert_eq!(env.page("GET", "/join/x", &[]).status, 404);
}

fn members_invitations_and_bad_input_are_clear(backend: Backend) {
    let sink = SmtpSink::start();
    let env = env(backend, &sink);
    let (status, body) = env.invite(&env.olga, json!({"email": "olga@example.org"}));
    assert_eq!((status, body["code"].as_str()), (409, Some("already_member")), "{body}");
    let (status, _) = env.invite(&env.olga, json!({"email": "eve@example.org"}));
    assert_eq!(status, 201);
    let (status, body) = env.invite(&env.olga, json!({"email": "EVE@example.org"}));
    assert_eq!((status, body["code"].as_str()), (409, Some("already_invited")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("resend it"), "{body}");
    let (status, body) = env.invite(&env.olga, json!({"email": "eve@@example"}));
    assert_eq!((status, body["code"].as_str()), (422, Some("invalid_email")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("not a valid email address"), "{body}");
    let (status, body) = env.invite(&env.olga, json!({"role": "boss"}));
    assert_eq!((status, body["code"].as_str()), (422, Some("invalid_role")), "{body}");
    let (status, body) = env.invite(&env.olga, json!({"emails": "x@example.org"}));
    assert_eq!(status, 400, "{body}");
    let (status, body) = env.invite(&env.olga, json!({"circle_id": "no-such-circle"}));
    assert_eq!(status, 404, "{body}");

    // Someone with an account joins with its password, not a new one.
    let hash = circles_server::auth::hash_password(PASSWORD).unwrap();
    env.storage.add_user("fatima@example.org", "Fatima", &hash).unwrap();
    let (status, _) = env.invite(&env.olga, json!({"email": "fatima@example.org", "role": "organizer"}));
    assert_eq!(status, 201);
    let path = link_in(&mail_to(&sink, "fatima@example.org"), "join");
    let form = env.page("GET", &path, &[]);
    assert!(
        form.body.contains("already has a Circles account") && !form.body.contains("name=\"name\""),
        "{}",
        form.body
    );
    let users = env.users();
    let wrong = env.page("POST", &path, &[("password", "not her password")]);
    assert_eq!(wrong.status, 422);
    assert!(
        wrong.body.contains("That is not this account&#39;s password.")
            || wrong.body.contains("That is not this account's password."),
        "{}",
        wrong.body
    );
    let done = env.page("POST", &path, &[("password", PASSWORD)]);
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(env.users(), users, "no second account");
    let members = env.members();
    let fatima = members["members"].as_array().unwrap().iter().find(|m| m["email"] == "fatima@example.org").unwrap();
    assert_eq!(fatima["role"], "organizer");
    assert_eq!(members["invitations"].as_array().unwrap().len(), 1, "eve's is still pending");
    assert_eq!(members["invitations"][0]["email"], "eve@example.org");

    // A member who opens a copied link has nothing to join: the link stays.
    let (_, link) = env.invite(&env.olga, json!({}));
    let path = link["link"].as_str().unwrap().strip_prefix(PUBLIC).unwrap().to_string();
    let seq = env.db.max_seq();
    let member = env.page("POST", &path, &[("email", "olga@example.org"), ("password", PASSWORD)]);
    assert_eq!(member.status, 409, "{}", member.body);
    assert!(member.body.contains("You are in this team already"), "{}", member.body);
    assert_eq!(env.db.max_seq(), seq, "nothing written");
    assert_eq!(env.page("GET", &path, &[]).status, 200, "the link still works");
}

fn only_organizers_manage_a_team(backend: Backend) {
    let sink = SmtpSink::start();
    let env = env(backend, &sink);
    let hash = circles_server::auth::hash_password(PASSWORD).unwrap();
    env.storage.add_user("carlos@example.org", "Carlos", &hash).unwrap();
    let carlos = login(&env.api, "carlos@example.org", PASSWORD).unwrap();
    let (_, invitation) = env.invite(&env.olga, json!({"email": "gil@example.org"}));
    let id = invitation["id"].as_str().unwrap();
    let team = &env.team;
    for (method, path, body) in [
        ("POST", format!("/v1/teams/{team}/invitations"), Some(json!({"email": "x@example.org"}))),
        ("GET", format!("/v1/teams/{team}/members"), None),
        ("POST", format!("/v1/teams/{team}/invitations/{id}/resend"), None),
        ("DELETE", format!("/v1/teams/{team}/invitations/{id}"), None),
    ] {
        let (status, answer) = env.call(method, &path, &carlos, body);
        assert_eq!((status, answer["code"].as_str()), (403, Some("forbidden")), "{method} {path}: {answer}");
    }
    let (status, _) = env.call("GET", "/v1/teams/no-such-team/members", &env.olga, None);
    assert_eq!(status, 404);
    let (status, _) = env.call("POST", "/v1/teams/no-such-team/invitations", &env.olga, Some(json!({})));
    assert_eq!(status, 404);
    let (status, answer) = env.api.send("GET", &format!("/v1/teams/{team}/members"), None, Some("1"), None);
    assert_eq!(status, 401, "{answer}");
    assert_eq!(env.members()["invitations"].as_array().unwrap().len(), 1, "still pending");
}

/// A replica signed in to a server process.
fn replica(url: &str, email: &str, password: &str) -> (Store, HttpTransport, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_laptop(dir.path());
    let t = HttpTransport::new(url, None).unwrap();
    let token = t
        .login(&LoginRequest {
            email: email.into(),
            password: password.into(),
            device_name: "laptop".into(),
            device_id: store.device_id().into(),
        })
        .unwrap()
        .token;
    (store, HttpTransport::new(url, Some(token)).unwrap(), dir)
}

fn a_co_facilitator_invitation_shares_the_circle(backend: Backend) {
    let sink = SmtpSink::start();
    let env = env(backend, &sink);
    let hash = circles_server::auth::hash_password(PASSWORD).unwrap();
    env.storage.add_user("fatima@example.org", "Fatima", &hash).unwrap();
    let (mut fatima, transport, _dir) = replica(&env.server.url, "fatima@example.org", PASSWORD);
    sync_once(&mut fatima, &transport, &mut |_| {}).unwrap();
    let circle =
        fatima.create_circle(&CircleInput::new("Public Speaking", "America/Chicago", "18:30", 90), None).unwrap();
    sync_once(&mut fatima, &transport, &mut |_| {}).unwrap();

    // Fatima facilitates the circle but is not in the team: she may not bring anyone into it.
    let token = login(&env.api, "fatima@example.org", PASSWORD).unwrap();
    let (status, body) = env.invite(&token, json!({"email": "hana@example.org", "circle_id": circle}));
    assert_eq!(status, 403, "{body}");
    // A member of the team who facilitates the circle, organizing nothing: she may invite a
    // co-facilitator, not an organizer.
    env.storage.add_team_member(&env.team, "fatima@example.org", circles_core::TeamRole::Member).unwrap();
    let (status, body) =
        env.invite(&token, json!({"email": "hana@example.org", "circle_id": circle, "role": "organizer"}));
    assert_eq!(status, 403, "{body}");
    let (status, body) = env.invite(&token, json!({"email": "hana@example.org", "circle_id": circle}));
    assert_eq!(status, 201, "{body}");
    let message = mail_to(&sink, "hana@example.org");
    assert!(message.raw.contains("co-facilitate the circle"), "{}", message.raw);
    let path = link_in(&message, "join");
    let form = env.page("GET", &path, &[]);
    assert!(form.body.contains("Public Speaking"), "{}", form.body);
    assert_eq!(join_new(&env, &path, "Hana").status, 200);

    let (mut hana, transport, _dir2) = replica(&env.server.url, "hana@example.org", NEW_PASSWORD);
    sync_once(&mut hana, &transport, &mut |_| {}).unwrap();
    let seen: Vec<String> = hana.circles().unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(seen, std::slice::from_ref(&circle), "the co-facilitator sees the circle after sync");
    // And may edit it.
    hana.update_circle(&circle, &CircleInput::new("Public Speaking II", "America/Chicago", "18:30", 90)).unwrap();
    sync_once(&mut hana, &transport, &mut |_| {}).unwrap();
    assert_eq!(hana.pending_count().unwrap(), 0, "accepted by the server");
}

fn a_password_reset_by_email(backend: Backend) {
    let sink = SmtpSink::start();
    let env = env(backend, &sink);
    let old_token = env.olga.clone();
    let ask = env.page("GET", "/reset", &[]);
    assert_eq!(ask.status, 200);
    assert!(ask.body.contains("name=\"email\""), "{}", ask.body);
    let unknown = env.page("POST", "/reset", &[("email", "nobody@example.org")]);
    let known = env.page("POST", "/reset", &[("email", "Olga@example.org")]);
    assert_eq!((unknown.status, known.status), (200, 200));
    assert_eq!(
        unknown.body.replace("nobody@example.org", "X"),
        known.body.replace("olga@example.org", "X"),
        "the same answer whether or not the account exists"
    );
    let message = mail_to(&sink, "olga@example.org");
    assert_eq!(message.header("Subject").as_deref(), Some("Reset your Circles password"));
    let path = link_in(&message, "reset");
    assert_eq!(env.db.query("SELECT count(*) FROM password_resets")[0][0].as_deref(), Some("1"));

    let form = env.page("GET", &format!("{path}?lang=pt"), &[]);
    assert_eq!(form.status, 200);
    assert!(form.body.contains("<html lang=\"pt\"") && form.body.contains("olga@example.org"), "{}", form.body);
    let short = env.page("POST", &path, &[("password", "short"), ("confirm", "short")]);
    assert_eq!(short.status, 422);
    assert!(short.body.contains("at least 8 characters"), "{}", short.body);
    login(&env.api, "olga@example.org", PASSWORD).expect("nothing changed yet");
    let done = env.page("POST", &path, &[("password", NEW_PASSWORD), ("confirm", NEW_PASSWORD)]);
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Your password is changed"), "{}", done.body);

    let (status, body) = login(&env.api, "olga@example.org", PASSWORD).unwrap_err();
    assert_eq!((status, body["code"].as_str()), (401, Some("invalid_credentials")));
    let (status, _) = env.api.send("GET", "/v1/tokens", Some(&old_token), Some("1"), None);
    assert_eq!(status, 401, "every token of the account was revoked");
    login(&env.api, "olga@example.org", NEW_PASSWORD).expect("the new password works");

    let again = env.page("POST", &path, &[("password", "yet another one"), ("confirm", "yet another one")]);
    assert_eq!(again.status, 410);
    assert!(again.body.contains("This link was used already"), "{}", again.body);
    login(&env.api, "olga@example.org", NEW_PASSWORD).expect("still the password set once");
    assert_eq!(env.page("GET", &format!("/reset/{}", "cd".repeat(32)), &[]).status, 404);

    // An hour later the link would have expired.
    assert_eq!(env.page("POST", "/reset", &[("email", "olga@example.org")]).status, 200);
    let second = links_to(&sink, "olga@example.org", 2, "reset").into_iter().find(|l| *l != path).unwrap();
    env.db.query("UPDATE password_resets SET expires_at = '2020-01-01T00:00:00.000Z' WHERE used_at IS NULL");
    assert_eq!(env.page("GET", &second, &[]).status, 410);
    // A few per hour per account, then the same answer and no message.
    for _ in 0..3 {
        assert_eq!(env.page("POST", "/reset", &[("email", "olga@example.org")]).status, 200);
    }
    links_to(&sink, "olga@example.org", 3, "reset");
    std::thread::sleep(Duration::from_millis(1500));
    let to_olga = sink.messages().iter().filter(|m| m.header("To").as_deref() == Some("olga@example.org")).count();
    assert_eq!(to_olga, 3, "three resets an hour");
}

fn a_team_email_domain_lets_its_people_join(backend: Backend) {
    let sink = SmtpSink::start();
    let env = env(backend, &sink);
    let route = format!("/v1/teams/{}/join-domain", env.team);
    let (status, body) = env.call("PUT", &route, &env.olga, Some(json!({"domain": "not a domain"})));
    assert_eq!((status, body["code"].as_str()), (422, Some("invalid_domain")), "{body}");
    let hash = circles_server::auth::hash_password(PASSWORD).unwrap();
    env.storage.add_user("carlos@example.org", "Carlos", &hash).unwrap();
    let carlos = login(&env.api, "carlos@example.org", PASSWORD).unwrap();
    let (status, _) = env.call("PUT", &route, &carlos, Some(json!({"domain": "riverbend.org"})));
    assert_eq!(status, 403);
    let (status, set) = env.call("PUT", &route, &env.olga, Some(json!({"domain": "@Riverbend.org"})));
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["domain"], "riverbend.org");
    let path = set["link"].as_str().unwrap().strip_prefix(PUBLIC).unwrap().to_string();
    assert!(path.starts_with("/join-team/"), "{path}");

    let form = env.page("GET", &path, &[]);
    assert_eq!(form.status, 200);
    assert!(form.body.contains("riverbend.org") && form.body.contains(TEAM), "{}", form.body);
    let elsewhere = env.page("POST", &path, &[("email", "zoe@gmail.com")]);
    assert_eq!(elsewhere.status, 422);
    assert!(elsewhere.body.contains("Use your address at riverbend.org."), "{}", elsewhere.body);
    let asked = env.page("POST", &path, &[("email", "Zoe@Riverbend.org")]);
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(asked.body.contains("Check your email"), "{}", asked.body);
    // The address is verified by the ordinary invitation mailed to it.
    let join = link_in(&mail_to(&sink, "zoe@riverbend.org"), "join");
    assert_eq!(join_new(&env, &join, "Zoe").status, 200);
    login(&env.api, "zoe@riverbend.org", NEW_PASSWORD).expect("signs in");
    assert!(env.members()["members"].as_array().unwrap().iter().any(|m| m["email"] == "zoe@riverbend.org"));
    // In the team already: the same answer, no second message.
    let again = env.page("POST", &path, &[("email", "zoe@riverbend.org")]);
    assert_eq!(
        (again.status, again.body.replace("zoe@riverbend.org", "X")),
        (200, asked.body.replace("zoe@riverbend.org", "X"))
    );
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(sink.messages().len(), 1);

    // A new link replaces the old; no domain, no link.
    let (_, replaced) = env.call("PUT", &route, &env.olga, Some(json!({"domain": "riverbend.org"})));
    assert_eq!(env.page("GET", &path, &[]).status, 404, "the old link stopped working");
    let newer = replaced["link"].as_str().unwrap().strip_prefix(PUBLIC).unwrap().to_string();
    assert_eq!(env.page("GET", &newer, &[]).status, 200);
    let (status, cleared) = env.call("PUT", &route, &env.olga, Some(json!({"domain": null})));
    assert_eq!(status, 200, "{cleared}");
    assert!(cleared["domain"].is_null() && cleared.get("link").is_none(), "{cleared}");
    assert_eq!(env.page("GET", &newer, &[]).status, 404);
    assert_eq!(env.page("POST", &newer, &[("email", "yan@riverbend.org")]).status, 404);
}

fn smtp_down_the_invitation_waits_for_it(backend: Backend) {
    let port = free_port();
    let env = env_with(backend, || format!("smtp://127.0.0.1:{port}"));
    let (status, _) = env.invite(&env.olga, json!({"email": "ida@example.org"}));
    assert_eq!(status, 201, "stored although mail cannot go out now");
    let start = Instant::now();
    while !env
        .storage
        .mail_summaries(None, 10)
        .unwrap()
        .iter()
        .any(|m| m.attempts >= 1 && m.state == MailState::Pending)
    {
        assert!(start.elapsed() < Duration::from_secs(20), "no failed attempt recorded");
        std::thread::sleep(Duration::from_millis(50));
    }
    let sink = SmtpSink::start_on(port);
    let path = link_in(&mail_to(&sink, "ida@example.org"), "join");
    assert_eq!(env.page("GET", &path, &[]).status, 200);
    assert_eq!(join_new(&env, &path, "Ida").status, 200);
    login(&env.api, "ida@example.org", NEW_PASSWORD).expect("signs in");
}

fn without_a_public_url_links_are_refused(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("olga@example.org", "Olga");
    let team = server.storage.add_team(TEAM).unwrap();
    server.storage.add_organizer(&team, "olga@example.org").unwrap();
    let token = server.token("olga@example.org", "olga-laptop");
    let raw = server.raw();
    for body in [json!({"email": "x@example.org"}), json!({})] {
        let (status, answer) = raw.send(
            "POST",
            &format!("/v1/teams/{team}/invitations"),
            Some(&token),
            Some("1"),
            Some(&body.to_string()),
        );
        assert_eq!((status, answer["code"].as_str()), (503, Some("no_public_url")), "{answer}");
        assert!(answer["message"].as_str().unwrap().contains("--public-url"));
    }
    let page = reqwest::blocking::get(format!("{}/reset", server.url)).unwrap();
    assert_eq!(page.status().as_u16(), 503);
    assert!(page.text().unwrap().contains("--public-url"));
    assert!(server.storage.mail_summaries(None, 10).unwrap().is_empty());
}

both_backends!(
    invited_by_email_joins_and_signs_in,
    a_copied_link_lets_anyone_join_once,
    resend_makes_a_new_link_and_cancel_ends_it,
    expired_and_forged_links_are_refused,
    members_invitations_and_bad_input_are_clear,
    only_organizers_manage_a_team,
    a_co_facilitator_invitation_shares_the_circle,
    a_password_reset_by_email,
    a_team_email_domain_lets_its_people_join,
    smtp_down_the_invitation_waits_for_it,
    without_a_public_url_links_are_refused,
);
