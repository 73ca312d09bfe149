//! Sign-in under attack, against a real server: wrong passwords make an
//! account and an address wait (429 `too_many_attempts` with Retry-After),
//! the right password included, until the wait is over; an unknown email is
//! treated exactly like a known one; other accounts and addresses go on.
//! Time is a clock the test moves (no sleeps, no timing assertions), except
//! in the one test that waits out a real one-second wait.

mod common;

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use circles_core::sync::wire::PROTOCOL_HEADER;
use circles_server::throttle::{BackoffPolicy, SignInGuard, SignInLimits};
use circles_server::AppState;
use common::{Backend, TestDb, PASSWORD};

/// A real server whose sign-in limits and clock the test chooses.
struct Server {
    url: String,
    storage: Arc<dyn circles_server::Storage>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Last: dropped after the storage that uses it.
    _db: TestDb,
}

/// A clock that moves only when told.
#[derive(Clone)]
struct HandClock {
    start: Instant,
    offset: Arc<Mutex<Duration>>,
}

impl HandClock {
    fn new() -> HandClock {
        HandClock { start: Instant::now(), offset: Arc::default() }
    }

    fn advance(&self, by: Duration) {
        *self.offset.lock().unwrap() += by;
    }

    fn as_clock(&self) -> circles_server::throttle::Clock {
        let clock = self.clone();
        Arc::new(move || clock.start + *clock.offset.lock().unwrap())
    }
}

fn policy(free_failures: u32) -> BackoffPolicy {
    BackoffPolicy {
        free_failures,
        first_wait: Duration::from_secs(10),
        max_wait: Duration::from_secs(60),
        forget_after: Duration::from_secs(3600),
        max_entries: 1_000,
    }
}

/// Three free failures per account, ten per address.
fn limits() -> SignInLimits {
    SignInLimits { account: policy(3), address: policy(10), ..SignInLimits::default() }
}

impl Server {
    fn start(backend: Backend, guard: SignInGuard) -> Server {
        let db = TestDb::new(backend);
        let storage = db.open();
        let served = storage.clone();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let state = AppState::with_sign_in(served, guard);
                circles_server::serve_state(listener, state, async {
                    let _ = shutdown_rx.await;
                })
                .await
                .unwrap();
            });
        });
        let addr = addr_rx.recv().unwrap();
        Server { url: format!("http://{addr}"), storage, shutdown: Some(shutdown), thread: Some(thread), _db: db }
    }

    fn add_user(&self, email: &str) {
        self.storage.add_user(email, "Someone", &circles_server::auth::hash_password(PASSWORD).unwrap()).unwrap();
    }

    /// A client whose connections come from `from` (any 127.x.y.z is this machine).
    fn client(&self, from: [u8; 4]) -> Signer {
        let http = reqwest::blocking::Client::builder().local_address(IpAddr::from(from)).build().unwrap();
        Signer { url: self.url.clone(), http, forwarded_for: None }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Signer {
    url: String,
    http: reqwest::blocking::Client,
    forwarded_for: Option<String>,
}

/// What a sign-in got back: status, error code, Retry-After.
#[derive(Debug, Clone, PartialEq)]
struct Answer {
    status: u16,
    code: Option<String>,
    retry_after: Option<u64>,
}

impl Answer {
    fn refused_for(&self) -> Option<u64> {
        (self.status == 429 && self.code.as_deref() == Some("too_many_attempts")).then_some(self.retry_after?)
    }
}

impl Signer {
    fn sign_in(&self, email: &str, password: &str) -> Answer {
        // A device id is one account's: each account signs in from its own.
        let account: String =
            email.trim().to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let device_id = format!("device-of-{account}");
        let body = serde_json::json!({
            "email": email, "password": password, "device_name": "laptop", "device_id": device_id,
        });
        let mut request = self.http.post(format!("{}/v1/login", self.url)).header(PROTOCOL_HEADER, "1").json(&body);
        if let Some(address) = &self.forwarded_for {
            request = request.header("x-forwarded-for", address);
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().parse().unwrap());
        let body: serde_json::Value = response.json().unwrap();
        let code = body["code"].as_str().map(str::to_string);
        if status == 200 {
            assert!(body["token"].is_string(), "{body}");
        }
        Answer { status, code, retry_after }
    }

    fn wrong(&self, email: &str) -> Answer {
        self.sign_in(email, "not the password")
    }

    fn right(&self, email: &str) -> Answer {
        self.sign_in(email, PASSWORD)
    }
}

fn unauthorized() -> Answer {
    Answer { status: 401, code: Some("invalid_credentials".into()), retry_after: None }
}

fn throttled(seconds: u64) -> Answer {
    Answer { status: 429, code: Some("too_many_attempts".into()), retry_after: Some(seconds) }
}

fn signed_in() -> Answer {
    Answer { status: 200, code: None, retry_after: None }
}

fn wrong_passwords_wait_and_then_the_right_one_works(backend: Backend) {
    let clock = HandClock::new();
    let server = Server::start(backend, SignInGuard::with_clock(limits(), clock.as_clock()));
    server.add_user("ann@example.org");
    let laptop = server.client([127, 0, 0, 1]);

    for _ in 0..3 {
        assert_eq!(laptop.wrong("ann@example.org"), unauthorized(), "the first three failures are free");
    }
    assert_eq!(laptop.wrong("ann@example.org"), unauthorized(), "the fourth is checked, then the account waits");
    assert_eq!(laptop.right("ann@example.org"), throttled(10), "even the right password waits");
    assert_eq!(laptop.wrong(" ANN@example.org"), throttled(10), "the same account, however the email is written");

    clock.advance(Duration::from_secs(4));
    assert_eq!(laptop.right("ann@example.org"), throttled(6), "Retry-After counts down");
    clock.advance(Duration::from_secs(6));
    assert_eq!(laptop.wrong("ann@example.org"), unauthorized());
    assert_eq!(laptop.right("ann@example.org"), throttled(20), "each failure past the free ones doubles the wait");

    clock.advance(Duration::from_secs(20));
    assert_eq!(laptop.right("ann@example.org"), signed_in(), "the right password works once the wait is over");
    for _ in 0..3 {
        assert_eq!(laptop.wrong("ann@example.org"), unauthorized(), "a success starts the count again");
    }
}

// Throttling is in memory: the tests below need only one backend.

#[test]
fn unknown_emails_are_throttled_like_known_ones() {
    let clock = HandClock::new();
    let server = Server::start(Backend::Sqlite, SignInGuard::with_clock(limits(), clock.as_clock()));
    server.add_user("ann@example.org");
    let answers = |email: &str, from: [u8; 4]| {
        let laptop = server.client(from);
        let mut seen: Vec<Answer> = (0..6).map(|_| laptop.wrong(email)).collect();
        clock.advance(Duration::from_secs(10));
        seen.push(laptop.wrong(email));
        seen.push(laptop.right(email));
        seen
    };
    let known = answers("ann@example.org", [127, 0, 0, 2]);
    let unknown = answers("nobody@example.org", [127, 0, 0, 3]);
    assert_eq!(known, unknown, "a 429 must not tell whether an account exists");
    assert_eq!(known[4], throttled(10));
}

#[test]
fn a_throttled_account_or_address_leaves_the_others_alone() {
    let clock = HandClock::new();
    let server = Server::start(Backend::Sqlite, SignInGuard::with_clock(limits(), clock.as_clock()));
    for email in ["ann@example.org", "bob@example.org", "cy@example.org"] {
        server.add_user(email);
    }
    let attacker = server.client([127, 0, 0, 1]);
    let library = server.client([127, 0, 0, 2]);

    for _ in 0..4 {
        attacker.wrong("ann@example.org");
    }
    assert_eq!(attacker.right("ann@example.org"), throttled(10));
    assert_eq!(library.right("ann@example.org"), throttled(10), "an account waits from every address");
    assert_eq!(attacker.right("bob@example.org"), signed_in(), "another account from the same address is let in");

    // Spraying many emails from one address: past ten failures, the address waits.
    for i in 0..7 {
        assert_eq!(attacker.wrong(&format!("guess{i}@example.org")), unauthorized());
    }
    assert_eq!(attacker.right("cy@example.org"), throttled(10), "the address has failed eleven times");
    assert_eq!(library.right("cy@example.org"), signed_in(), "another address is let in");
}

#[test]
fn a_forwarded_address_counts_only_behind_a_trusted_proxy() {
    // Eleven failures, each "forwarded for" another address; then the right password from a twelfth.
    let sign_in_after_spraying = |limits: SignInLimits| {
        let server = Server::start(Backend::Sqlite, SignInGuard::with_clock(limits, HandClock::new().as_clock()));
        server.add_user("ann@example.org");
        let mut laptop = server.client([127, 0, 0, 1]);
        for i in 0..11 {
            laptop.forwarded_for = Some(format!("198.51.100.{i}"));
            assert_eq!(laptop.wrong(&format!("guess{i}@example.org")), unauthorized());
        }
        laptop.forwarded_for = Some("198.51.100.200".into());
        laptop.right("ann@example.org")
    };
    assert_eq!(sign_in_after_spraying(limits()), throttled(10), "without --trust-proxy the header changes nothing");
    assert_eq!(
        sign_in_after_spraying(SignInLimits { trust_proxy: true, ..limits() }),
        signed_in(),
        "behind a trusted proxy each client is its own"
    );
}

/// The real clock: wait as long as Retry-After says (about a second), then sign in.
#[test]
fn the_right_password_works_after_a_real_wait() {
    let fast = BackoffPolicy { first_wait: Duration::from_secs(1), max_wait: Duration::from_secs(1), ..policy(1) };
    let server =
        Server::start(Backend::Sqlite, SignInGuard::new(SignInLimits { account: fast, ..SignInLimits::default() }));
    server.add_user("ann@example.org");
    let laptop = server.client([127, 0, 0, 1]);
    assert_eq!(laptop.wrong("ann@example.org"), unauthorized());
    assert_eq!(laptop.wrong("ann@example.org"), unauthorized());
    // However slow this machine, a wait told is a wait long enough.
    let mut answer = laptop.right("ann@example.org");
    for _ in 0..3 {
        let Some(seconds) = answer.refused_for() else { break };
        assert!(seconds <= 1, "{answer:?}");
        std::thread::sleep(Duration::from_secs(seconds));
        answer = laptop.right("ann@example.org");
    }
    assert_eq!(answer, signed_in());
}

both_backends!(wrong_passwords_wait_and_then_the_right_one_works);

#[test]
fn the_openapi_document_tells_of_the_waits() {
    let server = Server::start(Backend::Sqlite, SignInGuard::new(limits()));
    let doc: serde_json::Value =
        reqwest::blocking::get(format!("{}/openapi.json", server.url)).unwrap().json().unwrap();
    let responses = &doc["paths"]["/v1/login"]["post"]["responses"];
    for status in ["429", "503"] {
        let header = &responses[status]["headers"]["Retry-After"]["$ref"];
        let name = header.as_str().unwrap_or_else(|| panic!("{status} has no Retry-After: {responses}"));
        let name = name.strip_prefix("#/components/headers/").unwrap();
        assert_eq!(doc["components"]["headers"][name]["schema"]["type"], "integer");
    }
    assert!(responses["429"]["description"].as_str().unwrap().contains("too_many_attempts"));
    assert!(responses["503"]["description"].as_str().unwrap().contains("sign_in_busy"));
}

impl Signer {
    /// Sign in and return the token.
    fn token(&self, email: &str) -> String {
        let body = serde_json::json!({
            "email": email, "password": PASSWORD, "device_name": "laptop", "device_id": format!("renewing-{}", email.len()),
        });
        let response =
            self.http.post(format!("{}/v1/login", self.url)).header(PROTOCOL_HEADER, "1").json(&body).send().unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let body: serde_json::Value = response.json().unwrap();
        body["token"].as_str().unwrap().to_string()
    }

    /// `POST /v1/device/renew`: status, error code, Retry-After.
    fn renew(&self, token: &str) -> Answer {
        let response = self
            .http
            .post(format!("{}/v1/device/renew", self.url))
            .header(PROTOCOL_HEADER, "1")
            .bearer_auth(token)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().parse().unwrap());
        let body: serde_json::Value = response.json().unwrap();
        Answer { status, code: body["code"].as_str().map(str::to_string), retry_after }
    }
}

/// Each renewal makes a device and a token: a client looping on it waits
/// after a few (a person restoring backups never does), other accounts go on.
fn a_device_renewal_loop_waits(backend: Backend) {
    let clock = HandClock::new();
    let server = Server::start(backend, SignInGuard::with_clock(limits(), clock.as_clock()));
    server.add_user("ann@example.org");
    server.add_user("bo@example.org");
    let laptop = server.client([127, 0, 0, 1]);
    let ann = laptop.token("ann@example.org");
    let renewed = Answer { status: 200, code: None, retry_after: None };
    let waits = |seconds| Answer { status: 429, code: Some("too_many_renewals".into()), retry_after: Some(seconds) };

    for i in 0..6 {
        assert_eq!(
            laptop.renew(&ann),
            renewed,
            "renewal {i}: five are free, the sixth is made and then the account waits"
        );
    }
    let tokens_before = server.storage.tokens(None).unwrap().len();
    assert_eq!(laptop.renew(&ann), waits(60));
    assert_eq!(server.storage.tokens(None).unwrap().len(), tokens_before, "a refused renewal makes no token");
    let bo = laptop.token("bo@example.org");
    assert_eq!(laptop.renew(&bo), renewed, "another account is not held up");

    clock.advance(Duration::from_secs(60));
    assert_eq!(laptop.renew(&ann), renewed);
    assert_eq!(laptop.renew(&ann), waits(120), "each renewal past the free ones doubles the wait");
}

both_backends!(a_device_renewal_loop_waits);
