//! Device identity belongs to the server: a device id is bound to the first
//! account that signs in with it, a token works only for its own account's
//! device, a device's conflicts go to its account alone; and a data folder
//! that was copied or restored from a backup (its batch numbers already
//! used) takes a new identity by itself, loses nothing and duplicates nothing.

mod common;

use circles_core::sync::account::sign_in;
use circles_core::sync::engine::{sync_once, Transport};
use circles_core::sync::http::HttpTransport;
use circles_core::{CourseFilter, CourseInput, Store};
use common::{snapshot, Backend, Client, TestServer, PASSWORD};
use serde_json::json;

fn login_body(email: &str, device_id: &str) -> String {
    json!({"email": email, "password": PASSWORD, "device_name": "laptop", "device_id": device_id}).to_string()
}

/// Open a copy of `from`'s data folder (every file, as a backup tool or a
/// copied folder would have it) as a second replica with the same token.
fn copy_of(server: &TestServer, from: &Client) -> Client {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(from.path()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    let store = common::open_laptop(dir.path());
    assert_eq!(store.device_id(), from.store.device_id(), "a copy has the same device id");
    let transport = HttpTransport::new(&server.url, Some(from.token.clone())).unwrap();
    Client { store, transport, token: from.token.clone(), dir }
}

/// Change one course's fields, as a person editing it would.
fn edit_course(store: &mut Store, id: &str, change: impl FnOnce(&mut CourseInput)) {
    let mut input = store.course(id).unwrap().fields;
    change(&mut input);
    store.update_course(id, &input).unwrap();
}

fn course_titles(store: &Store) -> Vec<String> {
    let mut titles: Vec<String> =
        store.list_courses(&CourseFilter::default()).unwrap().into_iter().map(|c| c.fields.title).collect();
    titles.sort();
    titles
}

/// How many changes of a row's field the server logged, by value.
fn logged(server: &TestServer, row: &str, field: &str) -> Vec<String> {
    server
        .db
        .query(&format!("SELECT value FROM changes WHERE row_id = '{row}' AND field = '{field}' ORDER BY seq"))
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect()
}

fn another_account_cannot_take_a_device_id(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("alice@example.org", "Alice");
    server.add_user("bob@example.org", "Bob");
    let raw = server.raw();
    let alice = Client::new(&server, "alice@example.org");
    let device = alice.store.device_id().to_string();

    // Pulled changes show device ids: Bob names Alice's.
    let (status, err) = raw.send("POST", "/v1/login", None, Some("1"), Some(&login_body("bob@example.org", &device)));
    assert_eq!((status, err["code"].as_str()), (409, Some("device_taken")), "{err}");
    // Alice signs out and in again on her own laptop: still hers.
    let (status, ok) = raw.send("POST", "/v1/login", None, Some("1"), Some(&login_body("alice@example.org", &device)));
    assert_eq!(status, 200, "{ok}");
    assert_eq!(ok["device_id"], json!(device), "the token is bound to the device it names");

    // Bob with his own token cannot push Alice's device's changes either.
    let bob = Client::new(&server, "bob@example.org");
    let change = json!({
        "change_id": "c-as-alice", "table": "courses", "row_id": "r1", "field": "title",
        "value": "Mine", "hlc": "001700000000000-0000000000", "device_id": device
    });
    let body = json!({"batch_id": "b1", "batch_seq": 1, "changes": [change]}).to_string();
    let (status, err) = raw.send("POST", "/v1/push", Some(&bob.token), Some("1"), Some(&body));
    assert_eq!((status, err["code"].as_str()), (403, Some("wrong_device")), "{err}");
}

fn a_device_s_conflicts_reach_only_its_account(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("alice@example.org", "Alice");
    server.add_user("bob@example.org", "Bob");
    server.add_user("carol@example.org", "Carol");
    let raw = server.raw();
    let mut alice = Client::new(&server, "alice@example.org");
    let mut carol = Client::new(&server, "carol@example.org");
    // A course both may edit: Alice's, listed by a team Carol organizes too.
    let team = server.storage.add_team("Readers").unwrap();
    server.storage.add_organizer(&team, "alice@example.org").unwrap();
    server.storage.add_organizer(&team, "carol@example.org").unwrap();
    let course = alice.store.create_course(&CourseInput::new("Python")).unwrap();
    alice.sync();
    alice.store.add_team_course(&team, &course).unwrap();
    alice.sync();
    carol.sync();
    // Concurrent edits of one title; Carol's clock is ahead, so Alice's loses.
    carol.store.set_clock_offset(5_000).unwrap();
    edit_course(&mut alice.store, &course, |c| c.title = "Alice's".into());
    edit_course(&mut carol.store, &course, |c| c.title = "Carol's".into());
    carol.sync();

    // A token an older server gave Bob under Alice's device id, before
    // devices were bound (written straight into the database).
    let legacy = "legacy-token-of-bob";
    let bob_id = server.db.query("SELECT id FROM users WHERE email = 'bob@example.org'")[0][0].clone().unwrap();
    server.db.query(&format!(
        "INSERT INTO tokens (id, user_id, device_id, device_name, token_hash, created_at, last_used_at)
         VALUES ('legacy', '{bob_id}', '{}', 'x', '{}', '2026-01-01T00:00:00Z', NULL)",
        alice.store.device_id(),
        circles_server::auth::token_hash(legacy)
    ));

    let report = alice.sync();
    assert_eq!(report.new_conflicts, 1, "Alice's device gets its conflict");
    let (status, err) = raw.send("GET", "/v1/pull?cursor=0&conflict_cursor=0", Some(legacy), Some("1"), None);
    assert_eq!((status, err["code"].as_str()), (401, Some("unauthorized")), "no conflicts for Bob: {err}");
    let (status, err) =
        raw.send("POST", "/v1/push", Some(legacy), Some("1"), Some(r#"{"batch_id":"b","batch_seq":1,"changes":[]}"#));
    assert_eq!(status, 401, "nor pushes under her device: {err}");
    // Alice's laptop still syncs.
    alice.store.create_course(&CourseInput::new("After")).unwrap();
    alice.sync();
    assert_eq!(alice.store.pending_count().unwrap(), 0);
}

fn a_copied_data_folder_takes_a_new_identity_and_loses_nothing(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("alice@example.org", "Alice");
    let mut a = Client::new(&server, "alice@example.org");
    let shared = a.store.create_course(&CourseInput::new("Shared")).unwrap();
    a.sync();
    // Waiting in the outbox when the folder is copied: both copies have it.
    let waiting = a.store.create_course(&CourseInput::new("Waiting")).unwrap();
    let mut b = copy_of(&server, &a);
    let old_device = a.store.device_id().to_string();

    // New changes on both, then both sync (each sync succeeds by itself).
    a.store.create_course(&CourseInput::new("Made on A")).unwrap();
    edit_course(&mut a.store, &shared, |c| c.provider = "A's provider".into());
    b.store.create_course(&CourseInput::new("Made on B")).unwrap();
    edit_course(&mut b.store, &shared, |c| c.language = "es".into());
    a.sync();
    b.sync();
    assert_ne!(b.store.device_id(), old_device, "the copy that found its batch number used took a new device id");
    assert_eq!(a.store.device_id(), old_device, "the other copy keeps its id");
    a.sync();
    b.sync();
    for client in [&a, &b] {
        assert_eq!(client.store.pending_count().unwrap(), 0, "nothing waits");
        assert_eq!(
            course_titles(&client.store),
            vec!["Made on A", "Made on B", "Shared", "Waiting"],
            "nothing lost, nothing twice"
        );
        let shared = client.store.course(&shared).unwrap().fields;
        assert_eq!((shared.provider.as_str(), shared.language.as_str()), ("A's provider", "es"));
    }
    assert_eq!(snapshot(&a.store), snapshot(&b.store), "both copies converge");
    assert_eq!(logged(&server, &waiting, "title"), vec![json!("Waiting").to_string()], "the waiting course once");
    // Later edits on both keep flowing, with no new identity.
    let b_device = b.store.device_id().to_string();
    a.store.create_course(&CourseInput::new("Later on A")).unwrap();
    b.store.create_course(&CourseInput::new("Later on B")).unwrap();
    a.sync();
    b.sync();
    a.sync();
    assert_eq!(b.store.device_id(), b_device);
    assert_eq!(a.store.device_id(), old_device);
    assert_eq!(snapshot(&a.store), snapshot(&b.store));
}

fn a_laptop_restored_from_a_backup_recovers_its_later_work(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("alice@example.org", "Alice");
    let mut a = Client::new(&server, "alice@example.org");
    a.store.create_course(&CourseInput::new("Before the backup")).unwrap();
    a.sync();
    let waiting = a.store.create_course(&CourseInput::new("Waiting at the backup")).unwrap();
    let backups = tempfile::tempdir().unwrap();
    let backup = backups.path().join("backup.sqlite");
    a.store.backup_to(&backup).unwrap();
    // After the backup: synced, then the disk is lost.
    a.sync();
    a.store.create_course(&CourseInput::new("After the backup")).unwrap();
    a.sync();
    let token = a.token.clone();
    let old_device = a.store.device_id().to_string();
    drop(a);

    let dir = tempfile::tempdir().unwrap();
    common::restore_laptop_backup(dir.path(), &backup);
    let store = common::open_laptop(dir.path());
    let mut restored =
        Client { store, transport: HttpTransport::new(&server.url, Some(token.clone())).unwrap(), token, dir };
    restored.store.create_course(&CourseInput::new("After the restore")).unwrap();
    restored.sync();
    assert_ne!(restored.store.device_id(), old_device);
    assert_eq!(restored.store.pending_count().unwrap(), 0);
    assert_eq!(
        course_titles(&restored.store),
        vec!["After the backup", "After the restore", "Before the backup", "Waiting at the backup"],
        "its own work after the backup comes back from the server"
    );
    assert_eq!(
        logged(&server, &waiting, "title").len(),
        1,
        "the change sent before and after the restore is logged once"
    );
    let mut other = Client::new(&server, "alice@example.org");
    other.sync();
    assert_eq!(snapshot(&other.store), snapshot(&restored.store), "converged with the server");
}

fn signing_in_with_a_device_id_of_another_account_takes_a_new_one(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("alice@example.org", "Alice");
    server.add_user("bob@example.org", "Bob");
    let alice = Client::new(&server, "alice@example.org");
    // Bob's data folder is a copy of Alice's (same device id).
    let bob_dir = tempfile::tempdir().unwrap();
    alice.store.backup_to(&bob_dir.path().join("circles.sqlite")).unwrap();
    let mut bob = common::open_laptop(bob_dir.path());
    bob.create_course(&CourseInput::new("Bob's")).unwrap();
    let response = sign_in(&mut bob, &server.url, "bob@example.org", PASSWORD, "Bob's laptop", false).unwrap();
    assert_ne!(bob.device_id(), alice.store.device_id(), "Bob's copy took a device id of its own");
    assert_eq!(response.device_id.as_deref(), Some(bob.device_id()));
    let account = bob.account().unwrap().unwrap();
    let transport = HttpTransport::new(&account.server_url, Some(account.token)).unwrap();
    sync_once(&mut bob, &transport, &mut |_| {}).unwrap();
    assert_eq!(bob.pending_count().unwrap(), 0);
}

fn a_database_from_before_device_binding_keeps_the_first_account_s_device(backend: Backend) {
    let db = common::TestDb::new(backend);
    drop(db.open());
    // Back to the schema before `devices`, with a device id two accounts signed in with.
    match backend {
        Backend::Sqlite => {
            for undo in [
                "DROP TABLE directory_contacts",
                "DROP INDEX changes_person",
                "DROP INDEX changes_everyone",
                "ALTER TABLE changes DROP COLUMN scope_person",
            ] {
                db.query(undo);
            }
            db.query("DROP TABLE devices");
            db.query("DROP TABLE row_creator");
            db.query("DROP TABLE mail_outbox");
            db.query("DROP TABLE team_join_domains");
            db.query("DROP TABLE invitations");
            db.query("DROP TABLE password_resets");
            db.query("DROP TABLE public_slugs");
            db.query("DROP TABLE audit_log");
            db.query("DROP TABLE server_secrets");
            db.query("DROP TABLE learner_sends");
            db.query("DROP TABLE team_members");
            db.query("DROP TABLE access_revocations");
            db.query("CREATE TABLE team_organizers (team_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (team_id, user_id))");
            db.query("ALTER TABLE users DROP COLUMN disabled_at");
            db.query("PRAGMA user_version = 2");
        }
        Backend::Postgres => {
            db.query(
                "DROP TABLE directory_contacts; DROP INDEX changes_person; DROP INDEX changes_everyone;
                 ALTER TABLE changes DROP COLUMN scope_person;
                 CREATE INDEX changes_global ON changes(seq) WHERE scope_circle IS NULL;
                 DROP TABLE devices; DROP TABLE row_creator; DROP TABLE mail_outbox;
                 DROP TABLE team_join_domains; DROP TABLE invitations; DROP TABLE password_resets; DROP TABLE public_slugs; DROP TABLE audit_log; DROP TABLE server_secrets;
                 DROP TABLE learner_sends;
                 DROP TABLE team_members; DROP TABLE access_revocations; ALTER TABLE users DROP COLUMN disabled_at;
                 CREATE TABLE team_organizers (team_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (team_id, user_id));
                 DELETE FROM circles_schema_migrations WHERE version >= 2",
            );
        }
    }
    let hash = circles_server::auth::hash_password(PASSWORD).unwrap();
    for (id, email) in [("u-alice", "alice@example.org"), ("u-bob", "bob@example.org")] {
        db.query(&format!(
            "INSERT INTO users (id, email, name, password_hash, created_at)
             VALUES ('{id}', '{email}', '{id}', '{hash}', '2026-01-01T00:00:00Z')"
        ));
    }
    // Made lately: a token unused for the idle time (90 days) would expire.
    let days_ago = |days: i64| {
        (chrono::Utc::now() - chrono::Duration::days(days)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    for (id, user, created) in [("t-alice", "u-alice", days_ago(3)), ("t-bob", "u-bob", days_ago(2))] {
        db.query(&format!(
            "INSERT INTO tokens (id, user_id, device_id, device_name, token_hash, created_at)
             VALUES ('{id}', '{user}', 'dev-shared', 'x', '{}', '{created}')",
            circles_server::auth::token_hash(id)
        ));
    }
    let server = TestServer::start_on(db);
    let raw = server.raw();
    let (status, _) = raw.send("GET", "/v1/pull", Some("t-alice"), Some("1"), None);
    assert_eq!(status, 200, "the account that signed in first keeps its device and token");
    let (status, _) = raw.send("GET", "/v1/pull", Some("t-bob"), Some("1"), None);
    assert_eq!(status, 401, "the later account's token under that device id stops working");
    let (status, err) =
        raw.send("POST", "/v1/login", None, Some("1"), Some(&login_body("bob@example.org", "dev-shared")));
    assert_eq!((status, err["code"].as_str()), (409, Some("device_taken")));
}

fn a_laptop_stopped_between_renewal_and_adoption_recovers(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("alice@example.org", "Alice");
    let mut a = Client::new(&server, "alice@example.org");
    a.store.create_course(&CourseInput::new("Waiting")).unwrap();
    // The server gave a new id and token, but the laptop stopped before
    // keeping them: its transport holds a token of another device than its changes.
    let lost = a.transport.renew_device().unwrap();
    a.sync();
    assert_ne!(a.store.device_id(), lost.device_id);
    assert_eq!(a.store.pending_count().unwrap(), 0);
    let mut other = Client::new(&server, "alice@example.org");
    other.sync();
    assert_eq!(course_titles(&other.store), vec!["Waiting"]);
}

both_backends!(
    a_laptop_stopped_between_renewal_and_adoption_recovers,
    a_database_from_before_device_binding_keeps_the_first_account_s_device,
    another_account_cannot_take_a_device_id,
    a_device_s_conflicts_reach_only_its_account,
    a_copied_data_folder_takes_a_new_identity_and_loses_nothing,
    a_laptop_restored_from_a_backup_recovers_its_later_work,
    signing_in_with_a_device_id_of_another_account_takes_a_new_one,
);
