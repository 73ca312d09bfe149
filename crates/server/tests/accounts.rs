//! Accounts a library can run, team roles on the server, and access that
//! can be taken away: the admin commands through the real binary, disabled
//! accounts, the password change, the organizers' member API, laptops'
//! membership pushes refused, and revocation (`revoked` in pull answers, no
//! more changes, pushes refused, a reset when granted again).

mod common;

use circles_core::TeamRole;
use common::device::Device;
use common::{admin, Backend, RawClient, TestDb, TestServer, PASSWORD};
use serde_json::{json, Value};

fn id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn send(raw: &RawClient, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    raw.send(method, path, token, Some("1"), body.as_deref())
}

fn login(raw: &RawClient, email: &str, password: &str, device: &str) -> (u16, Value) {
    send(
        raw,
        "POST",
        "/v1/login",
        None,
        Some(json!({"email": email, "password": password, "device_id": device, "device_name": "laptop"})),
    )
}

/// `circles-server` with a password of our choosing.
fn admin_with_password(db: &str, password: &str, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_circles-server"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("CIRCLES_PASSWORD", password)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn admin_commands_run_a_library(backend: Backend) {
    let db = TestDb::new(backend);
    let url = db.url.as_str();
    let ok = |args: &[&str]| {
        let (ok, out, err) = admin(url, args);
        assert!(ok, "{args:?} failed: {err}");
        out
    };
    let refused = |args: &[&str], why: &str| {
        let (ok, out, err) = admin(url, args);
        assert!(!ok, "{args:?} should fail: {out}");
        assert!(err.contains(why), "{args:?}: expected {why:?} in {err}");
    };

    // First run: the admin and the first team, the admin its organizer.
    let out = ok(&["init", "--email", "Ada@Example.org", "--name", "Ada", "--team", "Riverbend Library"]);
    let lines: Vec<&str> = out.lines().collect();
    let (ada, team) = (lines[0].to_string(), lines[1].to_string());
    refused(&["init", "--email", "bob@example.org", "--name", "Bob", "--team", "Other"], "already has 1 account");
    let members = ok(&["team", "members", "Riverbend Library"]);
    assert!(members.contains("ada@example.org  organizer"), "{members}");

    // Members by email, teams by name or id; errors name what was wrong.
    let bob = ok(&["user", "add", "--email", "bob@example.org", "--name", "Bob"]).trim().to_string();
    ok(&["team", "member", "add", "Riverbend Library", "bob@example.org"]);
    refused(&["team", "member", "add", "No Such Team", "bob@example.org"], "no team with id or name \"No Such Team\"");
    refused(&["team", "member", "add", &team, "nobody@example.org"], "no user with email nobody@example.org");
    refused(&["team", "member", "remove", &team, "ada@example.org"], "last organizer");
    refused(&["team", "member", "add", &team, "ada@example.org"], "last organizer");
    let members = ok(&["team", "members", &team]);
    assert!(members.contains("bob@example.org  member"), "{members}");

    // The synced membership rows are the server's, under core's ids.
    let row = |user: &str| {
        let id = circles_core::team_member_id(&team, user);
        db.query(&format!(
            "SELECT field, value, device_id FROM field_state WHERE table_name = 'team_members' AND row_id = '{id}' \
             ORDER BY field"
        ))
    };
    let bobs = row(&bob);
    assert!(bobs.iter().any(|r| r[0].as_deref() == Some("role") && r[1].as_deref() == Some("\"member\"")), "{bobs:?}");
    assert!(bobs.iter().all(|r| r[2].as_deref() == Some("server")), "{bobs:?}");
    assert!(row(&ada).iter().any(|r| r[1].as_deref() == Some("\"organizer\"")));

    // Bob becomes an organizer; Ada may then step down, and leave.
    ok(&["team", "member", "add", &team, "bob@example.org", "--organizer"]);
    ok(&["team", "member", "add", &team, "ada@example.org"]);
    ok(&["team", "member", "remove", &team, "ada@example.org"]);
    let members = ok(&["team", "members", &team]);
    assert!(!members.contains("ada@"), "{members}");
    assert!(row(&ada).iter().any(|r| r[0].as_deref() == Some("deleted") && r[1].as_deref() == Some("1")));
    refused(&["team", "member", "remove", &team, "ada@example.org"], "is not in team");

    // Disable, enable, reset a password; through a real server process.
    let server = common::ServerProcess::start(url);
    let raw = RawClient { base: server.url.clone(), http: reqwest::blocking::Client::new() };
    let (status, signed_in) = login(&raw, "bob@example.org", PASSWORD, "bob-laptop");
    assert_eq!(status, 200, "{signed_in}");
    let token = signed_in["token"].as_str().unwrap().to_string();
    ok(&["user", "disable", "bob@example.org"]);
    let (status, answer) = send(&raw, "GET", "/v1/pull", Some(&token), None);
    assert_eq!((status, answer["code"].as_str()), (401, Some("account_disabled")), "{answer}");
    let (status, answer) = login(&raw, "bob@example.org", PASSWORD, "bob-laptop");
    assert_eq!((status, answer["code"].as_str()), (403, Some("account_disabled")), "{answer}");
    ok(&["user", "enable", "bob@example.org"]);
    refused(&["user", "disable", "nobody@example.org"], "no user with email nobody@example.org");
    let (status, answer) = login(&raw, "bob@example.org", PASSWORD, "bob-laptop");
    assert_eq!(status, 200, "{answer}");
    let token = answer["token"].as_str().unwrap().to_string();

    let (ok_reset, _, err) = admin_with_password(url, "short", &["user", "reset-password", "bob@example.org"]);
    assert!(!ok_reset && err.contains("at least 8 characters"), "{err}");
    let (ok_reset, out, err) =
        admin_with_password(url, "a brand new secret", &["user", "reset-password", "bob@example.org"]);
    assert!(ok_reset, "{err}");
    assert!(out.contains("1 token(s) revoked"), "{out}");
    let (status, answer) = send(&raw, "GET", "/v1/pull", Some(&token), None);
    assert_eq!(status, 401, "a reset revokes the account's tokens: {answer}");
    assert_eq!(login(&raw, "bob@example.org", PASSWORD, "bob-laptop").0, 401);
    assert_eq!(login(&raw, "bob@example.org", "a brand new secret", "bob-laptop").0, 200);
}

fn a_disabled_account_is_refused_at_once_and_enabled_again(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("bob@example.org", "Bob");
    let raw = server.raw();
    let token = server.token("bob@example.org", "bob-laptop");
    let other = server.token("bob@example.org", "bob-tablet");
    assert_eq!(send(&raw, "GET", "/v1/pull", Some(&token), None).0, 200);

    server.storage.set_user_disabled("bob@example.org", true).unwrap();
    for t in [&token, &other] {
        let (status, answer) = send(&raw, "GET", "/v1/pull", Some(t), None);
        assert_eq!((status, answer["code"].as_str()), (401, Some("account_disabled")), "{answer}");
        let (status, answer) =
            send(&raw, "POST", "/v1/push", Some(t), Some(json!({"batch_id": "b", "batch_seq": 1, "changes": []})));
        assert_eq!((status, answer["code"].as_str()), (401, Some("account_disabled")), "{answer}");
    }
    let (status, answer) = login(&raw, "bob@example.org", PASSWORD, "bob-laptop");
    assert_eq!((status, answer["code"].as_str()), (403, Some("account_disabled")), "{answer}");
    // A wrong password says nothing about the account being disabled.
    let (status, answer) = login(&raw, "bob@example.org", "not the password", "bob-laptop");
    assert_eq!((status, answer["code"].as_str()), (401, Some("invalid_credentials")), "{answer}");

    // Enabled: sign-in works again; the old tokens stay revoked.
    server.storage.set_user_disabled("bob@example.org", false).unwrap();
    let (status, answer) = send(&raw, "GET", "/v1/pull", Some(&token), None);
    assert_eq!((status, answer["code"].as_str()), (401, Some("unauthorized")), "{answer}");
    let (status, answer) = login(&raw, "bob@example.org", PASSWORD, "bob-laptop");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(send(&raw, "GET", "/v1/pull", answer["token"].as_str(), None).0, 200);
}

fn a_password_is_changed_from_the_app(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("bob@example.org", "Bob");
    let raw = server.raw();
    let token = server.token("bob@example.org", "bob-laptop");
    let other = server.token("bob@example.org", "bob-tablet");
    let change = |current: &str, new: &str| {
        send(
            &raw,
            "POST",
            "/v1/account/password",
            Some(&token),
            Some(json!({"current_password": current, "new_password": new})),
        )
    };

    let (status, answer) = change("not my password", "a new secret phrase");
    assert_eq!((status, answer["code"].as_str()), (403, Some("wrong_password")), "{answer}");
    let (status, answer) = change(PASSWORD, "short");
    assert_eq!((status, answer["code"].as_str()), (422, Some("weak_password")), "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("at least 8 characters"), "{answer}");
    assert_eq!(send(&raw, "GET", "/v1/pull", Some(&other), None).0, 200, "nothing changed yet");

    let (status, answer) = change(PASSWORD, "a new secret phrase");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["revoked_tokens"], json!(1));
    assert_eq!(send(&raw, "GET", "/v1/pull", Some(&token), None).0, 200, "the caller's token is kept");
    assert_eq!(send(&raw, "GET", "/v1/pull", Some(&other), None).0, 401, "the other device signs in again");
    assert_eq!(login(&raw, "bob@example.org", PASSWORD, "bob-tablet").0, 401);
    assert_eq!(login(&raw, "bob@example.org", "a new secret phrase", "bob-tablet").0, 200);

    // Wrong current passwords count as failed sign-ins: past the free ones, wait.
    let mut statuses = Vec::new();
    while statuses.len() < 10 && statuses.last() != Some(&429) {
        let (status, answer) = change("guessing again", "another new phrase");
        assert!(status == 403 || answer["code"] == json!("too_many_attempts"), "{status} {answer}");
        statuses.push(status);
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert!(statuses.len() >= 6, "five failures are free: {statuses:?}");
}

fn organizers_change_their_team_members(backend: Backend) {
    let server = TestServer::start(backend);
    let olga = server.add_user("olga@example.org", "Olga");
    let bob = server.add_user("bob@example.org", "Bob");
    let stranger = server.add_user("sam@example.org", "Sam");
    let team = server.storage.add_team("Riverbend").unwrap();
    server.storage.add_team_member(&team, "olga@example.org", TeamRole::Organizer).unwrap();
    server.storage.add_team_member(&team, "bob@example.org", TeamRole::Member).unwrap();
    let raw = server.raw();
    let olgas = server.token("olga@example.org", "olga-laptop");
    let bobs = server.token("bob@example.org", "bob-laptop");
    let path = |user: &str| format!("/v1/teams/{team}/members/{user}");
    let code = |answer: &(u16, Value)| (answer.0, answer.1["code"].as_str().map(str::to_string));

    // A member is not an organizer.
    let answer = send(&raw, "PUT", &path(&bob), Some(&bobs), Some(json!({"role": "organizer"})));
    assert_eq!(code(&answer), (403, Some("not_organizer".into())), "{}", answer.1);
    let answer = send(&raw, "DELETE", &path(&olga), Some(&bobs), None);
    assert_eq!(code(&answer), (403, Some("not_organizer".into())), "{}", answer.1);
    // The last organizer stays.
    let answer = send(&raw, "DELETE", &path(&olga), Some(&olgas), None);
    assert_eq!(code(&answer), (409, Some("last_organizer".into())), "{}", answer.1);
    let answer = send(&raw, "PUT", &path(&olga), Some(&olgas), Some(json!({"role": "member"})));
    assert_eq!(code(&answer), (409, Some("last_organizer".into())), "{}", answer.1);
    // Unknown teams, people not in the team, roles that are none.
    let answer = send(&raw, "DELETE", &format!("/v1/teams/{}/members/{bob}", id()), Some(&olgas), None);
    assert_eq!(code(&answer), (404, Some("no_team".into())), "{}", answer.1);
    let answer = send(&raw, "DELETE", &path(&stranger), Some(&olgas), None);
    assert_eq!(code(&answer), (404, Some("not_a_member".into())), "{}", answer.1);
    let answer = send(&raw, "PUT", &path(&bob), Some(&olgas), Some(json!({"role": "boss"})));
    assert_eq!(answer.0, 400, "{}", answer.1);

    // Bob becomes an organizer; then Olga may step down and Bob remove her.
    assert_eq!(send(&raw, "PUT", &path(&bob), Some(&olgas), Some(json!({"role": "organizer"}))).0, 204);
    assert_eq!(send(&raw, "PUT", &path(&olga), Some(&olgas), Some(json!({"role": "member"}))).0, 204);
    assert_eq!(send(&raw, "DELETE", &path(&olga), Some(&bobs), None).0, 204);
    let members = server.storage.team_member_list(&team).unwrap();
    assert_eq!(
        members.iter().map(|m| (m.email.as_str(), m.role.as_str())).collect::<Vec<_>>(),
        vec![("bob@example.org", "organizer")]
    );
    // And those without a token are not asked who they are.
    assert_eq!(send(&raw, "DELETE", &path(&bob), None, None).0, 401);
}

fn laptops_may_not_push_memberships(backend: Backend) {
    let server = TestServer::start(backend);
    let olga = server.add_user("olga@example.org", "Olga");
    let team = server.storage.add_team("Riverbend").unwrap();
    server.storage.add_team_member(&team, "olga@example.org", TeamRole::Organizer).unwrap();
    let raw = server.raw();
    let mut device = Device::new(&server, "olga@example.org", "olga-laptop");
    // Even the team's organizer, even her own membership row.
    let row = circles_core::team_member_id(&team, &olga);
    let (status, answer) = device.push(&raw, vec![device.change("team_members", &row, "role", json!("member"))]);
    assert_eq!((status, answer["code"].as_str()), (403, Some("forbidden")), "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("team membership is changed on the server: invitations and the team screen"), "{message}");
    // A new membership too.
    let row = id();
    let (status, _) = device.push(
        &raw,
        vec![
            device.change("team_members", &row, "team_id", json!(team)),
            device.change("team_members", &row, "facilitator_id", json!(olga)),
        ],
    );
    assert_eq!(status, 403);
}

/// Fatima's circle (with her own co-facilitator row) and a learner; Carlos
/// added as co-facilitator. Returns (circle, learner, Carlos's link row).
fn circle_with_co_facilitator(
    raw: &RawClient,
    fatima: &mut Device,
    fatima_id: &str,
    carlos_id: &str,
) -> (String, String, String) {
    let (circle, learner, hers, his) = (id(), id(), id(), id());
    let mut changes = vec![
        fatima.change("circles", &circle, "name", json!("Reading")),
        fatima.change("learners", &learner, "circle_id", json!(circle)),
        fatima.change("learners", &learner, "name", json!("Ana")),
    ];
    for (link, user) in [(&hers, fatima_id), (&his, carlos_id)] {
        changes.push(fatima.change("circle_facilitators", link, "circle_id", json!(circle)));
        changes.push(fatima.change("circle_facilitators", link, "facilitator_id", json!(user)));
        changes.push(fatima.change("circle_facilitators", link, "deleted", json!(0)));
    }
    let (status, answer) = fatima.push(raw, changes);
    assert_eq!(status, 200, "{answer}");
    (circle, learner, his)
}

fn ids_of(page: &Value) -> Vec<String> {
    page["changes"].as_array().unwrap().iter().map(|c| c["row_id"].as_str().unwrap().to_string()).collect()
}

fn a_removed_co_facilitator_loses_the_circle(backend: Backend) {
    let server = TestServer::start(backend);
    let fatima_id = server.add_user("fatima@example.org", "Fatima");
    let carlos_id = server.add_user("carlos@example.org", "Carlos");
    let raw = server.raw();
    let mut fatima = Device::new(&server, "fatima@example.org", "fatima-laptop");
    let mut carlos = Device::new(&server, "carlos@example.org", "carlos-laptop");
    let (circle, learner, link) = circle_with_co_facilitator(&raw, &mut fatima, &fatima_id, &carlos_id);

    let (_, cursor) = carlos.pull_all(&raw, 0, 1000);
    let (status, answer) = carlos.push(&raw, vec![carlos.change("learners", &learner, "name", json!("Ana M."))]);
    assert_eq!(status, 200, "a co-facilitator edits the circle: {answer}");
    assert!(carlos.pull(&raw, 0, 1000).get("revoked").is_none(), "nothing revoked: the field is absent");

    // Fatima removes him (her laptop deletes his row), then goes on editing.
    let (status, answer) = fatima.push(&raw, vec![fatima.change("circle_facilitators", &link, "deleted", json!(1))]);
    assert_eq!(status, 200, "{answer}");
    let (status, _) = fatima.push(&raw, vec![fatima.change("learners", &learner, "name", json!("Ana María"))]);
    assert_eq!(status, 200);
    let revocation = server
        .db
        .query(&format!("SELECT seq FROM access_revocations WHERE user_id = '{carlos_id}' AND circle_id = '{circle}'"));
    assert_eq!(revocation.len(), 1, "{revocation:?}");

    let page = carlos.pull(&raw, cursor, 1000);
    assert_eq!(page["revoked"], json!([circle]), "{page}");
    assert!(!ids_of(&page).contains(&learner), "no more of the circle's changes: {page}");
    // On every page until the cursor passes the revocation; not after.
    let page = carlos.pull(&raw, cursor, 1);
    assert_eq!(page["revoked"], json!([circle]), "{page}");
    let (_, later) = carlos.pull_all(&raw, cursor, 1000);
    assert!(carlos.pull(&raw, later, 1000).get("revoked").is_none());
    let (status, answer) = carlos.push(&raw, vec![carlos.change("learners", &learner, "name", json!("Offline edit"))]);
    assert_eq!((status, answer["code"].as_str()), (403, Some("forbidden")), "{answer}");
    let access = server
        .db
        .query(&format!("SELECT 1 FROM circle_access WHERE user_id = '{carlos_id}' AND circle_id = '{circle}'"));
    assert!(access.is_empty());

    // Added again: his device's stream resets, the circle comes back whole,
    // and is no longer listed as revoked.
    let (status, _) = fatima.push(&raw, vec![fatima.change("circle_facilitators", &link, "deleted", json!(0))]);
    assert_eq!(status, 200);
    let page = carlos.pull(&raw, later, 1000);
    assert_eq!(page["reset"], json!(true), "{page}");
    let page = carlos.pull(&raw, 0, 1000);
    assert!(ids_of(&page).contains(&learner), "{page}");
    assert!(page.get("revoked").is_none(), "{page}");
    let (status, answer) = carlos.push(&raw, vec![carlos.change("learners", &learner, "name", json!("Ana"))]);
    assert_eq!(status, 200, "{answer}");

    // Fatima keeps her circle throughout: her own row names her.
    let (status, answer) = fatima.push(&raw, vec![fatima.change("learners", &learner, "name", json!("Ana F."))]);
    assert_eq!(status, 200, "{answer}");
}

fn an_organizer_who_loses_the_role_loses_the_teams_circles(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("fatima@example.org", "Fatima");
    let olga_id = server.add_user("olga@example.org", "Olga");
    server.add_user("ada@example.org", "Ada");
    let team = server.storage.add_team("Riverbend").unwrap();
    server.storage.add_team_member(&team, "olga@example.org", TeamRole::Organizer).unwrap();
    server.storage.add_team_member(&team, "ada@example.org", TeamRole::Organizer).unwrap();
    // A circle goes only on a team its writer is in.
    server.storage.add_team_member(&team, "fatima@example.org", TeamRole::Member).unwrap();
    let raw = server.raw();
    let mut fatima = Device::new(&server, "fatima@example.org", "fatima-laptop");
    let mut olga = Device::new(&server, "olga@example.org", "olga-laptop");
    let (circle, learner, moved) = (id(), id(), id());
    let (status, answer) = fatima.push(
        &raw,
        vec![
            fatima.change("circles", &circle, "name", json!("Reading")),
            fatima.change("circles", &circle, "team_id", json!(team)),
            fatima.change("learners", &learner, "circle_id", json!(circle)),
            fatima.change("learners", &learner, "name", json!("Ana")),
            fatima.change("circles", &moved, "name", json!("Writing")),
            fatima.change("circles", &moved, "team_id", json!(team)),
        ],
    );
    assert_eq!(status, 200, "{answer}");
    let (seen, cursor) = olga.pull_all(&raw, 0, 1000);
    assert!(!seen.is_empty());
    assert_eq!(olga.push(&raw, vec![olga.change("learners", &learner, "name", json!("Ana O."))]).0, 200);

    // A circle leaving the team leaves its organizers.
    let (status, _) = fatima.push(&raw, vec![fatima.change("circles", &moved, "team_id", Value::Null)]);
    assert_eq!(status, 200);
    let page = olga.pull(&raw, cursor, 1000);
    assert_eq!(page["revoked"], json!([moved]), "{page}");

    // Demoted: the team's circles go.
    server.storage.add_team_member(&team, "olga@example.org", TeamRole::Member).unwrap();
    let page = olga.pull(&raw, cursor, 1000);
    let mut expected = vec![circle.clone(), moved.clone()];
    expected.sort();
    assert_eq!(page["revoked"], json!(expected), "{page}");
    let (status, answer) = olga.push(&raw, vec![olga.change("learners", &learner, "name", json!("Ana again"))]);
    assert_eq!((status, answer["code"].as_str()), (403, Some("forbidden")), "{answer}");
    // An organizer again: the circle is back, by a reset.
    server.storage.add_team_member(&team, "olga@example.org", TeamRole::Organizer).unwrap();
    assert_eq!(olga.pull(&raw, cursor, 1000)["reset"], json!(true));
    let access = server.db.query(&format!("SELECT circle_id FROM circle_access WHERE user_id = '{olga_id}'"));
    assert_eq!(access, vec![vec![Some(circle.clone())]]);
    // Removed from the team: gone again.
    server.storage.remove_team_member(&team, "olga@example.org").unwrap();
    let page = olga.pull(&raw, cursor, 1000);
    assert!(page["revoked"].as_array().unwrap().contains(&json!(circle)), "{page}");
}

/// Organizers kept before this version (the server's list, never synced)
/// become members with the organizer role, and laptops are told: the server
/// writes their synced rows when it opens the database.
fn organizers_from_before_become_synced_members(backend: Backend) {
    let db = TestDb::new(backend);
    let (olga, team) = {
        let storage = db.open();
        let olga = storage
            .add_user("olga@example.org", "Olga", &circles_server::auth::hash_password(PASSWORD).unwrap())
            .unwrap();
        (olga, storage.add_team("Riverbend").unwrap())
    };
    // The schema as it was before the accounts migration (and the
    // directory's, the audit log's, link secrets', SMS's and learners'
    // sends', which come after it).
    let undo = "DROP TABLE learner_sends; DROP INDEX mail_outbox_deliveries;
         ALTER TABLE mail_outbox DROP COLUMN delivery_logged; ALTER TABLE mail_outbox DROP COLUMN delivery;
         DROP INDEX mail_outbox_due; ALTER TABLE mail_outbox DROP COLUMN channel;
         ALTER TABLE mail_outbox DROP COLUMN provider_id; CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);
         DROP TABLE server_secrets; DROP TABLE audit_log; DROP TABLE public_slugs; DROP TABLE directory_contacts; DROP INDEX changes_person; DROP INDEX changes_everyone;
         ALTER TABLE changes DROP COLUMN scope_person;
         DROP TABLE team_members; DROP TABLE access_revocations; ALTER TABLE users DROP COLUMN disabled_at;
         CREATE TABLE team_organizers (team_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (team_id, user_id));";
    match backend {
        Backend::Sqlite => {
            for statement in undo.split(';').filter(|s| !s.trim().is_empty()) {
                db.query(statement);
            }
            db.query("PRAGMA user_version = 6");
        }
        Backend::Postgres => {
            db.query(&format!(
                "{undo} CREATE INDEX changes_global ON changes(seq) WHERE scope_circle IS NULL;
                 DELETE FROM circles_schema_migrations WHERE version >= 6"
            ));
        }
    }
    db.query(&format!("INSERT INTO team_organizers (team_id, user_id) VALUES ('{team}', '{olga}')"));
    let before = db.max_seq();

    let storage = db.open();
    let members = storage.team_member_list(&team).unwrap();
    assert_eq!(
        members.iter().map(|m| (m.user_id.as_str(), m.role.as_str())).collect::<Vec<_>>(),
        vec![(olga.as_str(), "organizer")]
    );
    let row = circles_core::team_member_id(&team, &olga);
    let role = db.query(&format!(
        "SELECT value FROM field_state WHERE table_name = 'team_members' AND row_id = '{row}' AND field = 'role'"
    ));
    assert_eq!(role, vec![vec![Some("\"organizer\"".to_string())]]);
    let written = db.max_seq();
    assert_eq!(written, before + 5, "the membership's five fields");
    drop(storage);
    // Opened again: nothing more to write.
    drop(db.open());
    assert_eq!(db.max_seq(), written);
}

both_backends!(
    organizers_from_before_become_synced_members,
    admin_commands_run_a_library,
    a_disabled_account_is_refused_at_once_and_enabled_again,
    a_password_is_changed_from_the_app,
    organizers_change_their_team_members,
    laptops_may_not_push_memberships,
    a_removed_co_facilitator_loses_the_circle,
    an_organizer_who_loses_the_role_loses_the_teams_circles,
);
