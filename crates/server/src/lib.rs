//! circles-server: the central sync server. Storage sits behind the
//! `Storage` trait; the merge rules and wire types come from circles-core,
//! so the server and its clients can never disagree on how edits combine.

pub mod api;
pub mod auth;
pub mod error;
pub mod storage;

use std::future::Future;
use std::sync::Arc;

pub use api::{router, AppState};
pub use storage::sqlite::SqliteStorage;
pub use storage::Storage;

/// Serve until `shutdown` resolves; requests in flight are finished first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    storage: Arc<dyn Storage>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(AppState { storage })).with_graceful_shutdown(shutdown).await
}
