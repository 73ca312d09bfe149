//! A real server on a loopback port, in-process, and clients for it.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use circles_core::sync::engine::{sync_once, SyncReport};
use circles_core::sync::http::HttpTransport;
use circles_core::sync::wire::{LoginRequest, PROTOCOL_HEADER};
use circles_core::Store;
use circles_server::{auth, SqliteStorage, Storage};

pub const PASSWORD: &str = "correct horse battery";

pub struct TestServer {
    pub url: String,
    pub storage: Arc<SqliteStorage>,
    pub dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let storage = Arc::new(SqliteStorage::open(&dir.path().join("server.sqlite")).unwrap());
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let served: Arc<dyn Storage> = storage.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                circles_server::serve(listener, served, async {
                    let _ = shutdown_rx.await;
                })
                .await
                .unwrap();
            });
        });
        let addr = addr_rx.recv().unwrap();
        TestServer { url: format!("http://{addr}"), storage, dir, shutdown: Some(shutdown), thread: Some(thread) }
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
        (status, json)
    }
}

/// A replica with its own data folder, signed in to the server.
pub struct Client {
    pub store: Store,
    pub transport: HttpTransport,
    pub dir: tempfile::TempDir,
}

impl Client {
    pub fn new(server: &TestServer, email: &str) -> Client {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        let token = server.token(email, store.device_id());
        let transport = HttpTransport::new(&server.url, Some(token)).unwrap();
        Client { store, transport, dir }
    }

    pub fn sync(&mut self) -> SyncReport {
        sync_once(&mut self.store, &self.transport, &mut |_| {}).unwrap()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Every synced table of a store, as sorted rows of text, for comparing replicas.
pub fn snapshot(store: &Store) -> Vec<(String, Vec<String>)> {
    let conn = rusqlite::Connection::open(store.path()).unwrap();
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
