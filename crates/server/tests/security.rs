//! The server and the wire (issue 16, item 4): a token unused for the idle
//! time is refused (401 `token_expired`) and revoked; the audit log lists
//! failed and good sign-ins, an erase and the expiry, readable through
//! `circles-server audit`, and holds no learner's personal data; built-in
//! TLS serves HTTPS from PEM files, and bad ones stop the server before it
//! listens, named.

mod common;

use chrono::NaiveDate;
use circles_core::sync::engine::{sync_once, SyncError};
use circles_core::{CircleInput, LearnerInput, WeeklyRule};
use circles_server::storage::{AuditQuery, AuditRecord};
use common::{admin, Backend, Client, ServerProcess, TestServer, PASSWORD};

fn audit(server: &TestServer) -> Vec<AuditRecord> {
    server.storage.audit_entries(&AuditQuery { limit: 1000, ..AuditQuery::default() }).unwrap()
}

fn events(entries: &[AuditRecord], event: &str) -> Vec<AuditRecord> {
    entries.iter().filter(|e| e.event == event).cloned().collect()
}

fn tokens_expire_and_the_audit_log_says_who_did_what(backend: Backend) {
    let server = TestServer::start(backend);
    let lena_id = server.add_user("lena@example.org", "Lena");
    server.add_user("omar@example.org", "Omar");
    let raw = server.raw();

    // A wrong password, and an email with no account: both noted, the typed email kept.
    let wrong = |email: &str| {
        let body = serde_json::json!({
            "email": email, "password": "not the password", "device_name": "x", "device_id": "dev-x"
        });
        raw.send("POST", "/v1/login", None, Some("1"), Some(&body.to_string()))
    };
    assert_eq!(wrong("lena@example.org").0, 401);
    assert_eq!(wrong("mallory@example.org").0, 401);

    // Lena signs in, keeps a learner, erases them.
    let mut lena = Client::new(&server, "lena@example.org");
    let rule = WeeklyRule { first_date: NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(), count: 2 };
    let circle =
        lena.store.create_circle(&CircleInput::new("Audit", "Europe/Lisbon", "18:00", 90), Some(&rule)).unwrap();
    let mut input = LearnerInput::new("Rita Audit");
    input.email = "rita.audit@example.org".into();
    let learner = lena.store.add_learner(&circle, &input).unwrap();
    lena.sync();
    lena.store.erase_learner(&learner).unwrap();
    lena.sync();

    let entries = audit(&server);
    let failed = events(&entries, "sign_in_failed");
    assert_eq!(failed.len(), 2, "{entries:#?}");
    assert!(failed.iter().any(|e| e.subject == "lena@example.org" && e.detail == "wrong password"), "{failed:#?}");
    assert!(
        failed.iter().any(|e| e.subject == "mallory@example.org" && e.detail == "no account with this email"),
        "{failed:#?}"
    );
    assert!(failed.iter().all(|e| e.address.as_deref() == Some("127.0.0.1") && e.actor.is_none()));
    let signed_in = events(&entries, "sign_in");
    assert_eq!(signed_in.len(), 1, "{entries:#?}");
    assert_eq!(signed_in[0].actor_email.as_deref(), Some("lena@example.org"));
    assert_eq!(signed_in[0].address.as_deref(), Some("127.0.0.1"));
    let erased = events(&entries, "learner_erased");
    assert_eq!(erased.len(), 1, "{entries:#?}");
    assert_eq!((erased[0].subject.as_str(), erased[0].actor.as_deref()), (learner.as_str(), Some(lena_id.as_str())));
    assert_eq!(erased[0].detail, format!("circle {circle}"));
    // The log keeps no learner's personal data: an erase must not leave it there.
    let text = format!("{entries:?}");
    assert!(!text.contains("rita.audit") && !text.contains("Rita"), "{text}");
    assert!(!text.contains(PASSWORD) && !text.contains(&lena.token), "no password or token in the log");

    // Lena's laptop sits unused past the idle time (90 days by default).
    server.db.query("UPDATE tokens SET last_used_at = '2020-01-01T00:00:00.000Z'");
    let omar = Client::new(&server, "omar@example.org");
    match sync_once(&mut lena.store, &lena.transport, &mut |_| {}) {
        Err(SyncError::Refused { status: 401, code, message }) => {
            assert_eq!(code, "token_expired");
            assert!(message.contains("expired after 90 days without a sync; sign in again"), "{message}");
        }
        other => panic!("an expired token must be refused, got {other:?}"),
    }
    // Revoked: asked again, it is simply unknown.
    let (status, body) = raw.send("GET", "/v1/pull", Some(&lena.token), Some("1"), None);
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")), "{body}");
    // A token in use is not touched by another's expiry.
    let (status, _) = raw.send("GET", "/v1/pull", Some(&omar.token), Some("1"), None);
    assert_eq!(status, 200);
    let expired = events(&audit(&server), "token_expired");
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].actor.as_deref(), Some(lena_id.as_str()));
    assert!(expired[0].detail.starts_with("unused since 2020-01-01"), "{:?}", expired[0]);

    // Signing in again works, and is noted.
    let lena_again = server.token("lena@example.org", lena.store.device_id());
    let (status, _) = raw.send("GET", "/v1/pull", Some(&lena_again), Some("1"), None);
    assert_eq!(status, 200);
    assert_eq!(events(&audit(&server), "sign_in").len(), 3);
}

fn the_audit_command_reads_filters_and_prunes(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("lena@example.org", "Lena");
    // A typed email with a terminal escape: kept, but printed escaped.
    let body = serde_json::json!({
        "email": "x\u{1b}[2Jx@example.org", "password": "nope nope", "device_name": "x", "device_id": "dev-x"
    });
    assert_eq!(server.raw().send("POST", "/v1/login", None, Some("1"), Some(&body.to_string())).0, 401);
    server.token("lena@example.org", "dev-lena");
    let db = server.db.url.clone();

    let (ok, out, err) = admin(&db, &["audit", "--event", "sign_in_failed"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines[0].contains("sign_in_failed") && lines[0].contains("127.0.0.1"), "{out}");
    assert!(lines[0].contains("x\\u{1b}[2Jx@example.org") && !out.contains('\u{1b}'), "escaped: {out:?}");

    let (ok, out, _) = admin(&db, &["audit", "--json", "--since", "2020-01-01"]);
    assert!(ok);
    let rows: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(rows.len() >= 3, "account created, failed and good sign-in: {out}");
    assert_eq!(rows[0]["event"], "sign_in", "newest first: {out}");
    assert_eq!(rows[0]["actor_email"], "lena@example.org");
    let (ok, out, _) = admin(&db, &["audit", "--since", "2999-01-01"]);
    assert!(ok && out.is_empty(), "{out}");

    // Bad input: named, and nothing deleted.
    let (ok, _, err) = admin(&db, &["audit", "--event", "nonsense"]);
    assert!(!ok && err.contains("--event \"nonsense\" is not an audit event; known events: sign_in,"), "{err}");
    let (ok, _, err) = admin(&db, &["audit", "--since", "last tuesday"]);
    assert!(!ok && err.contains("is neither a day (2026-12-01) nor a time"), "{err}");
    let (ok, _, err) = admin(&db, &["audit", "--prune-before", "2999-01-01"]);
    assert!(!ok && err.contains("is in the future"), "{err}");
    let (ok, _, err) = admin(&db, &["audit", "--limit", "0"]);
    assert!(!ok && err.contains("--limit"), "{err}");
    let before = audit(&server).len();

    let (ok, out, err) = admin(&db, &["audit", "--prune-before", "2020-01-01"]);
    assert!(ok, "{err}");
    assert!(out.contains("deleted 0 audit entries"), "{out}");
    let after = audit(&server);
    assert_eq!(after.len(), before + 1, "pruning is noted");
    assert_eq!(after[0].event, "audit_pruned");
}

both_backends!(tokens_expire_and_the_audit_log_says_who_did_what, the_audit_command_reads_filters_and_prunes);

/// A throwaway certificate authority and a certificate it signed for
/// 127.0.0.1 and localhost: (CA PEM, certificate PEM, key PEM).
fn certificates() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.subject_alt_names.push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let cert = params.signed_by(&key, &ca_cert, &ca_key).unwrap();
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

#[test]
fn the_server_serves_https_from_pem_files() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates();
    let (cert_file, key_file) = (dir.path().join("fullchain.pem"), dir.path().join("privkey.pem"));
    std::fs::write(&cert_file, &cert).unwrap();
    std::fs::write(&key_file, &key).unwrap();
    let db = format!("sqlite:{}", dir.path().join("server.sqlite").display());
    let (cert_arg, key_arg) = (cert_file.to_str().unwrap(), key_file.to_str().unwrap());
    let server = ServerProcess::start_with(&db, &["--tls-cert", cert_arg, "--tls-key", key_arg], &[]);
    assert!(server.url.starts_with("https://127.0.0.1:"), "{}", server.url);

    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .build()
        .unwrap();
    let response = client.get(format!("{}/healthz", server.url)).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["strict-transport-security"], "max-age=31536000");
    let hello: serde_json::Value = client.get(format!("{}/v1/hello", server.url)).send().unwrap().json().unwrap();
    assert!(hello["protocols"].is_array(), "{hello}");
    // The same port refuses plain HTTP, and a client that does not trust the
    // certificate gets no answer.
    let plain = server.url.replace("https://", "http://");
    assert!(reqwest::blocking::get(format!("{plain}/healthz")).is_err());
    assert!(reqwest::blocking::get(format!("{}/healthz", server.url)).is_err());
    // A client that connects and says nothing holds up no one.
    let port = server.url.rsplit(':').next().unwrap().to_string();
    let _silent = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    assert_eq!(client.get(format!("{}/healthz", server.url)).send().unwrap().status(), 200);
}

#[test]
fn bad_certificate_files_stop_the_server_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("server.sqlite").display());
    let (_, cert, key) = certificates();
    let (_, _, other_key) = certificates();
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let (cert, key, other_key, junk) =
        (file("cert.pem", &cert), file("key.pem", &key), file("other.pem", &other_key), file("junk.pem", "hello"));
    // `serve` that must not start: killed after 20 s if it does (then the
    // test fails on its output, instead of waiting forever).
    let serve = |args: &[&str]| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_circles-server"))
            .args(["--db", &db, "serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let cases: [(&[&str], &str); 5] = [
        (
            &["--tls-cert", "/nonexistent/cert.pem", "--tls-key", &key],
            "--tls-cert /nonexistent/cert.pem: cannot read it",
        ),
        (&["--tls-cert", &junk, "--tls-key", &key], "no certificate in it"),
        (&["--tls-cert", &cert, "--tls-key", &junk], "cannot read a private key from it"),
        (&["--tls-cert", &cert, "--tls-key", &other_key], "cannot be used together"),
        (&["--tls-cert", &cert], "needs --tls-key"),
    ];
    for (args, expected) in cases {
        let (ok, out, err) = serve(args);
        assert!(!ok, "{args:?} must not start: {out}");
        assert!(err.contains(expected), "{args:?}: expected {expected:?} in {err}");
        assert!(!out.contains("listening"), "{args:?}: {out}");
    }
    let (ok, _, err) = serve(&["--token-idle-days", "0"]);
    assert!(!ok && err.contains("--token-idle-days"), "{err}");
}
