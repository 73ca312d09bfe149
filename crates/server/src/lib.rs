//! circles-server: the central sync server. Storage sits behind the
//! `Storage` trait (SQLite or PostgreSQL); the merge rules and wire types
//! come from circles-core, so the server and its clients can never disagree
//! on how edits combine.

pub mod api;
pub mod auth;
pub mod error;
pub mod metrics;
pub mod migrate;
pub mod storage;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

pub use api::{router, AppState};
pub use storage::postgres::PgStorage;
pub use storage::sqlite::SqliteStorage;
pub use storage::Storage;

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
    pub fn open(&self) -> anyhow::Result<Arc<dyn Storage>> {
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
    storage: Arc<dyn Storage>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(AppState::new(storage))).with_graceful_shutdown(shutdown).await
}
