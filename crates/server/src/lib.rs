//! circles-server: the central sync server, in layers. `api` (HTTP
//! handlers) asks `protocol` (the sync rules, once) which runs over
//! `storage` (a narrow data-access trait, SQLite or PostgreSQL, SQL only);
//! the merge rules, table definitions and wire types come from circles-core,
//! so the server and its clients can never disagree on how edits combine.

// Text and ids come from people and other laptops: slicing them by byte
// offsets panics on the first non-ASCII character, so it is not allowed.
#![deny(clippy::string_slice)]

pub mod api;
pub mod auth;
pub mod common;
pub mod config;
pub mod error;
pub mod mail;
pub mod metrics;
pub mod migrate;
pub mod ops;
pub mod pages;
pub mod protocol;
pub mod sms;
pub mod storage;
pub mod team_api;
pub mod throttle;
pub mod tls;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

pub use api::{router, AppState};
pub use protocol::{Protocol, SyncService};

/// The service as handlers, tools and tests name it.
pub use protocol::SyncService as Storage;

/// The sync rules over an embedded SQLite file.
pub type SqliteStorage = Protocol<storage::sqlite::Sqlite>;
/// The sync rules over PostgreSQL (any number of server processes).
pub type PgStorage = Protocol<storage::postgres::Postgres>;

impl SqliteStorage {
    /// Open a SQLite file (creating and migrating the schema as needed).
    pub fn open(path: &std::path::Path) -> anyhow::Result<SqliteStorage> {
        Ok(Protocol::opened(storage::sqlite::Sqlite::open(path)?)?)
    }
}

impl PgStorage {
    /// Connect to PostgreSQL (migrating the schema as needed).
    pub fn open(url: &str) -> anyhow::Result<PgStorage> {
        Ok(Protocol::opened(storage::postgres::Postgres::open(url)?)?)
    }
}

/// Where the server keeps its data, from `--db` / CIRCLES_SERVER_DB:
/// `postgres://...` (or `postgresql://...`) is PostgreSQL; `sqlite:PATH` or a
/// plain path is a SQLite file.
#[derive(Debug, Clone, PartialEq)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Database {
    pub fn parse(db: &str) -> Database {
        if storage::postgres::is_postgres_url(db) {
            Database::Postgres(db.to_string())
        } else {
            Database::Sqlite(PathBuf::from(db.strip_prefix("sqlite:").unwrap_or(db)))
        }
    }

    /// Open it (creating and migrating the schema as needed).
    pub fn open(&self) -> anyhow::Result<Arc<dyn SyncService>> {
        Ok(match self {
            Database::Sqlite(path) => Arc::new(SqliteStorage::open(path)?),
            Database::Postgres(url) => Arc::new(PgStorage::open(url)?),
        })
    }

    /// For messages: the path, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
                match rest.split_once('@') {
                    Some((user, host)) => format!("{scheme}://{}@{host}", user.split(':').next().unwrap_or(user)),
                    None => url.clone(),
                }
            }
        }
    }
}

/// Serve until `shutdown` resolves; requests in flight are finished first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    storage: Arc<dyn SyncService>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_state(listener, AppState::new(storage), shutdown).await
}

/// `serve` with a state of one's own (sign-in limits). Each request knows
/// its peer's address (`ConnectInfo`), which sign-in throttling needs.
pub async fn serve_state(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// `serve_state` over TLS (`tls::acceptor`): the same routes, each
/// request knowing its peer's address as over plain HTTP.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // tap_io: axum gives a listener's peer address as connect info through
    // its TapIo wrapper (a no-op here).
    let listener = tls::TlsListener::new(listener, acceptor)?.tap_io(|_| {});
    // Served over TLS: browsers are told to come back only over TLS.
    let app = router(state).layer(axum::middleware::map_response(|mut response: axum::response::Response| async {
        response.headers_mut().insert(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static("max-age=31536000"),
        );
        response
    }));
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
