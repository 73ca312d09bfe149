//! Newer versions of the app: a server told the newest version and its
//! download address (options or environment) announces them in every pull
//! answer, documented in openapi.json; a client keeps the last one it heard
//! and compares it with its own version; a server told nothing says nothing,
//! and a bad version or address stops the server at start with a clear error.

mod common;

use circles_core::sync::engine::sync_once;
use circles_core::sync::http::HttpTransport;
use circles_core::sync::wire::{AppRelease, LoginRequest, PROTOCOL_VERSION};
use circles_core::Store;
use circles_server::auth;
use common::{admin, Backend, ServerProcess, TestDb, PASSWORD};

const DOWNLOAD: &str = "https://circles.example.org/download";

fn sign_in(url: &str, store: &Store) -> String {
    HttpTransport::new(url, None)
        .unwrap()
        .login(&LoginRequest {
            email: "dana@example.org".into(),
            password: PASSWORD.into(),
            device_name: "laptop".into(),
            device_id: store.device_id().into(),
        })
        .unwrap()
        .token
}

fn a_server_tells_pullers_of_a_newer_app(backend: Backend) {
    let db = TestDb::new(backend);
    db.open().add_user("dana@example.org", "Dana", &auth::hash_password(PASSWORD).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = common::open_laptop(dir.path());

    // Told by options: every pull answer carries it, as documented.
    let server =
        ServerProcess::start_with(&db.url, &["--latest-app-version", "9.1.0", "--download-url", DOWNLOAD], &[]);
    let token = sign_in(&server.url, &store);
    let raw = common::RawClient { base: server.url.clone(), http: reqwest::blocking::Client::new() };
    let protocol = PROTOCOL_VERSION.to_string();
    let (status, page) = raw.send("GET", "/v1/pull?cursor=0", Some(&token), Some(&protocol), None);
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["app_release"], serde_json::json!({ "latest_version": "9.1.0", "download_url": DOWNLOAD }));

    let transport = HttpTransport::new(&server.url, Some(token.clone())).unwrap();
    sync_once(&mut store, &transport, &mut |_| {}).unwrap();
    let expected = AppRelease { latest_version: "9.1.0".into(), download_url: DOWNLOAD.into() };
    assert_eq!(store.newer_release("0.1.0").unwrap(), Some(expected.clone()));
    assert_eq!(store.newer_release("9.1.0").unwrap(), None, "not newer than itself");
    drop(server);
    // Offline, the notice stays.
    assert_eq!(store.newer_release("0.1.0").unwrap(), Some(expected));

    // Told by the environment.
    let server = ServerProcess::start_with(
        &db.url,
        &[],
        &[("CIRCLES_SERVER_LATEST_APP_VERSION", "10.0.0"), ("CIRCLES_SERVER_DOWNLOAD_URL", DOWNLOAD)],
    );
    let transport = HttpTransport::new(&server.url, Some(token.clone())).unwrap();
    sync_once(&mut store, &transport, &mut |_| {}).unwrap();
    assert_eq!(store.newer_release("9.1.0").unwrap().unwrap().latest_version, "10.0.0");
    drop(server);

    // Told nothing: the field is absent, and the client forgets the notice.
    let server = ServerProcess::start(&db.url);
    let raw = common::RawClient { base: server.url.clone(), http: reqwest::blocking::Client::new() };
    let (status, page) = raw.send("GET", "/v1/pull?cursor=0", Some(&token), Some(&protocol), None);
    assert_eq!(status, 200, "{page}");
    assert!(page.get("app_release").is_none(), "{page}");
    let transport = HttpTransport::new(&server.url, Some(token)).unwrap();
    sync_once(&mut store, &transport, &mut |_| {}).unwrap();
    assert_eq!(store.newer_release("0.1.0").unwrap(), None);
}

fn a_bad_version_or_address_stops_the_server_at_start(backend: Backend) {
    let db = TestDb::new(backend);
    let (ok, _, stderr) = admin(&db.url, &["serve", "--latest-app-version", "1.2", "--download-url", DOWNLOAD]);
    assert!(!ok);
    assert!(stderr.contains("\"1.2\" is not a version such as 1.2.0"), "{stderr}");
    let (ok, _, stderr) = admin(&db.url, &["serve", "--latest-app-version", "1.2.0", "--download-url", "ftp://x"]);
    assert!(!ok);
    assert!(stderr.contains("is not a web address starting with https:// or http://"), "{stderr}");
    let (ok, _, stderr) = admin(&db.url, &["serve", "--latest-app-version", "1.2.0"]);
    assert!(!ok, "a version without a download address is refused");
    assert!(stderr.contains("--download-url"), "{stderr}");
}

both_backends!(a_server_tells_pullers_of_a_newer_app, a_bad_version_or_address_stops_the_server_at_start);
