//! A real server on a loopback port, in-process, and clients for it; on
//! either backend. Every server test runs on SQLite and on PostgreSQL:
//! write it as `fn name(backend: Backend)` and list it in `both_backends!`,
//! which makes the tests `name::sqlite` and `name::postgres`.
#![allow(dead_code)]

pub mod device;
pub mod openapi;
pub mod pg;
pub mod sms;
pub mod smtp;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use circles_core::sync::engine::{sync_once, SyncReport};
use circles_core::sync::http::HttpTransport;
use circles_core::sync::wire::{LoginRequest, PROTOCOL_HEADER};
use circles_core::Store;
use circles_server::{auth, Storage};

pub const PASSWORD: &str = "correct horse battery";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generate `mod name { #[test] fn sqlite() .. #[test] fn postgres() .. }`
/// for each `fn name(backend: Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite)
                }
                #[test]
                fn postgres() {
                    super::$name($crate::common::Backend::Postgres)
                }
            }
        )*
    };
}

/// A new, empty server database of one backend; removed when dropped.
pub struct TestDb {
    pub backend: Backend,
    /// The value of `--db` / CIRCLES_SERVER_DB for it.
    pub url: String,
    pub dir: tempfile::TempDir,
    pg_name: Option<String>,
}

type FieldKey = (String, String, String);

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite:{}", dir.path().join("server.sqlite").display());
                TestDb { backend, url, dir, pg_name: None }
            }
            Backend::Postgres => {
                let cluster = pg::Cluster::get();
                let name = cluster.create_db();
                TestDb { backend, url: cluster.url(&name), dir, pg_name: Some(name) }
            }
        }
    }

    pub fn open(&self) -> Arc<dyn Storage> {
        circles_server::Database::parse(&self.url).open().unwrap()
    }

    /// Rows of a query whose columns are all text or integers, as text.
    pub fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match self.backend {
            Backend::Sqlite => {
                let conn = rusqlite::Connection::open(self.dir.path().join("server.sqlite")).unwrap();
                let mut stmt = conn.prepare(sql).unwrap();
                let n = stmt.column_count();
                stmt.query_map([], |r| {
                    (0..n)
                        .map(|i| {
                            Ok(match r.get::<_, rusqlite::types::Value>(i)? {
                                rusqlite::types::Value::Null => None,
                                rusqlite::types::Value::Integer(v) => Some(v.to_string()),
                                rusqlite::types::Value::Text(t) => Some(t),
                                other => Some(format!("{other:?}")),
                            })
                        })
                        .collect()
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
            }
            Backend::Postgres => {
                let mut client = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
                let rows = client.simple_query(sql).unwrap();
                rows.iter()
                    .filter_map(|m| match m {
                        postgres::SimpleQueryMessage::Row(r) => {
                            Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                        }
                        _ => None,
                    })
                    .collect()
            }
        }
    }

    pub fn max_seq(&self) -> i64 {
        self.query("SELECT coalesce(max(seq), 0) FROM changes")[0][0].as_ref().unwrap().parse().unwrap()
    }

    /// The server's winning value of every field.
    pub fn field_state(&self) -> HashMap<FieldKey, serde_json::Value> {
        self.query("SELECT table_name, row_id, field, value FROM field_state")
            .into_iter()
            .map(|r| {
                let t = |i: usize| r[i].clone().unwrap();
                ((t(0), t(1), t(2)), serde_json::from_str(&t(3)).unwrap())
            })
            .collect()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            pg::Cluster::get().drop_db(name);
        }
    }
}

pub struct TestServer {
    pub url: String,
    pub storage: Arc<dyn Storage>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub db: TestDb,
}

impl TestServer {
    pub fn start(backend: Backend) -> TestServer {
        TestServer::start_on(TestDb::new(backend))
    }

    /// A server on an existing database.
    pub fn start_on(db: TestDb) -> TestServer {
        TestServer::start_with(db, None)
    }

    /// A server that knows its public URL (`--public-url`), so that it can
    /// make invitation links.
    pub fn start_public(backend: Backend, public_url: &str) -> TestServer {
        TestServer::start_with(TestDb::new(backend), Some(public_url.to_string()))
    }

    fn start_with(db: TestDb, public_url: Option<String>) -> TestServer {
        let storage = db.open();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let served: Arc<dyn Storage> = storage.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let state = circles_server::AppState { public_url, ..circles_server::AppState::new(served) };
                circles_server::serve_state(listener, state, async {
                    let _ = shutdown_rx.await;
                })
                .await
                .unwrap();
            });
        });
        let addr = addr_rx.recv().unwrap();
        TestServer { url: format!("http://{addr}"), storage, shutdown: Some(shutdown), thread: Some(thread), db }
    }

    pub fn add_user(&self, email: &str, name: &str) -> String {
        self.storage.add_user(email, name, &auth::hash_password(PASSWORD).unwrap()).unwrap()
    }

    /// Sign in as a device; returns the token.
    pub fn token(&self, email: &str, device_id: &str) -> String {
        let t = HttpTransport::new(&self.url, None).unwrap();
        t.login(&LoginRequest {
            email: email.into(),
            password: PASSWORD.into(),
            device_name: format!("{device_id} laptop"),
            device_id: device_id.into(),
        })
        .unwrap()
        .token
    }

    /// A plain HTTP client for requests the sync client would never send.
    pub fn raw(&self) -> RawClient {
        RawClient { base: self.url.clone(), http: reqwest::blocking::Client::new() }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub struct RawClient {
    pub base: String,
    pub http: reqwest::blocking::Client,
}

impl RawClient {
    /// Send a request with the protocol header (unless `protocol` is None)
    /// and an optional bearer token; returns (status, JSON body).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        protocol: Option<&str>,
        body: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let mut req = self.http.request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(p) = protocol {
            req = req.header(PROTOCOL_HEADER, p);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().unwrap();
        let status = resp.status().as_u16();
        let content_type = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
        let text = resp.text().unwrap();
        if status >= 400 {
            assert_eq!(content_type.as_deref(), Some("application/json"), "error bodies are JSON: {status} {text}");
        }
        let json = if text.is_empty() { serde_json::Value::Null } else { serde_json::from_str(&text).unwrap() };
        openapi::check_response(method, path, status, &json);
        (status, json)
    }
}

/// A replica with its own data folder, signed in to the server.
pub struct Client {
    pub store: Store,
    pub transport: HttpTransport,
    pub token: String,
    pub dir: tempfile::TempDir,
}

/// A laptop's store for these tests, keyed with a fixed key: the server's
/// tests are about the server, and copied data folders (a cloned laptop)
/// must open with the same key. The keyring is the CLI tests' and
/// binaries_e2e.rs's (scripts/with-keyring.sh).
pub fn open_laptop(dir: &Path) -> Store {
    Store::open_in_with(dir, &laptop_key()).unwrap()
}

fn laptop_key() -> circles_core::KeySource {
    circles_core::KeySource::Raw(circles_core::StoreKey::from_bytes([42; 32]))
}

/// Restore a laptop's backup into `dir` (a new disk), with the laptops' key.
pub fn restore_laptop_backup(dir: &Path, backup: &Path) {
    circles_core::restore_backup_with(dir, backup, &laptop_key()).unwrap();
}

/// A direct connection to a laptop's store file (opened by `open_laptop`
/// in this process, so its key is known), to look at its tables.
pub fn laptop_sql(store_file: &Path) -> rusqlite::Connection {
    circles_core::open_store_file_for_tests(store_file.parent().unwrap()).unwrap()
}

/// A laptop signed in to the server at `url` (a real process or not) as
/// `email`, by the HTTP sign-in a person makes: its store, its transport and
/// its folder (kept alive by the caller).
pub fn signed_in_laptop(url: &str, email: &str, device_name: &str) -> (Store, HttpTransport, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_laptop(dir.path());
    let token = HttpTransport::new(url, None)
        .unwrap()
        .login(&circles_core::sync::wire::LoginRequest {
            email: email.into(),
            password: PASSWORD.into(),
            device_name: device_name.into(),
            device_id: store.device_id().into(),
        })
        .unwrap()
        .token;
    (store, HttpTransport::new(url, Some(token)).unwrap(), dir)
}

impl Client {
    pub fn new(server: &TestServer, email: &str) -> Client {
        let dir = tempfile::tempdir().unwrap();
        let store = open_laptop(dir.path());
        let token = server.token(email, store.device_id());
        let transport = HttpTransport::new(&server.url, Some(token.clone())).unwrap();
        Client { store, transport, token, dir }
    }

    pub fn sync(&mut self) -> SyncReport {
        sync_once(&mut self.store, &self.transport, &mut |_| {}).unwrap()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// A real `circles-server` process (this build's binary) on a database;
/// killed when dropped.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub url: String,
}

impl ServerProcess {
    pub fn start(db: &str) -> ServerProcess {
        ServerProcess::start_with(db, &[], &[])
    }

    /// `serve` with more options and environment variables. CIRCLES_TEST_SERVER_LOG=1 shows its log.
    pub fn start_with(db: &str, args: &[&str], envs: &[(&str, &str)]) -> ServerProcess {
        use std::io::BufRead;
        let log = std::env::var_os("CIRCLES_TEST_SERVER_LOG").is_some();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_circles-server"))
            .args(["--db", db, "serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .envs(envs.iter().copied())
            .env("RUST_LOG", if log { "info" } else { "warn" })
            .stdout(std::process::Stdio::piped())
            .stderr(if log { std::process::Stdio::inherit() } else { std::process::Stdio::null() })
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        ServerProcess { child, url: url.to_string() }
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Run the `circles-server` binary; returns (success, stdout, stderr).
pub fn admin(db: &str, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_circles-server"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("CIRCLES_PASSWORD", PASSWORD)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every synced table of a store, as sorted rows of text, for comparing replicas.
pub fn snapshot(store: &Store) -> Vec<(String, Vec<String>)> {
    let conn = laptop_sql(store.path());
    circles_core::schema::ALL_TABLES
        .iter()
        .map(|t| {
            let sql = format!("SELECT id, {} FROM {} ORDER BY id", t.fields.join(", "), t.name);
            let mut stmt = conn.prepare(&sql).unwrap();
            let n = t.fields.len() + 1;
            let rows = stmt
                .query_map([], |r| {
                    Ok((0..n)
                        .map(|i| format!("{:?}", r.get::<_, rusqlite::types::Value>(i).unwrap()))
                        .collect::<Vec<_>>()
                        .join("|"))
                })
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            (t.name.to_string(), rows)
        })
        .collect()
}

/// Every file under `dir` whose bytes contain `needle`, by name.
pub fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    circles_core::files_holding(dir, needle).unwrap().iter().map(|p| p.display().to_string()).collect()
}

/// Where the server's database holds `needle`: its files (SQLite: the
/// database and its WAL) or, for PostgreSQL, the tables whose rows, read as
/// text, contain it (erase and retention tests).
pub fn server_places_holding(db: &TestDb, needle: &str) -> Vec<String> {
    match db.backend {
        Backend::Sqlite => files_holding(db.dir.path(), needle),
        Backend::Postgres => {
            let tables = db.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
            tables
                .into_iter()
                .filter_map(|t| t[0].clone())
                .filter(|table| {
                    let rows = db.query(&format!("SELECT count(*) FROM \"{table}\" t WHERE t::text LIKE '%{needle}%'"));
                    rows[0][0].as_deref() != Some("0")
                })
                .collect()
        }
    }
}
