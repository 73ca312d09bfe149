//! The server's storage interface. Handlers only see this trait, so a
//! second backend (PostgreSQL) can be added without touching them. Methods
//! are blocking; handlers call them from `spawn_blocking`.

mod batch_record;
mod group_commit;
mod pull_page;
pub mod postgres;
pub mod sqlite;

use axum::http::StatusCode;
use circles_core::schema::TableDef;
use circles_core::sync::merge;
use circles_core::sync::wire::{PullResponse, PushRequest, PushResponse, MAX_CLOCK_SKEW_MS, MAX_PUSH_CHANGES};
use serde::Serialize;

use crate::error::ApiError;

pub(crate) use batch_record::{batch_record, check_batch_record};
pub(crate) use pull_page::{gather_page, LogSlice};

/// Who is calling: the user and the device their token is bound to.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user_id: String,
    pub device_id: String,
    pub token_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserInfo {
    pub id: String,
    pub email: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub user_email: String,
    pub device_id: String,
    pub device_name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

pub type StorageResult<T> = Result<T, ApiError>;

pub trait Storage: Send + Sync + 'static {
    fn health(&self) -> StorageResult<()>;

    fn add_user(&self, email: &str, name: &str, password_hash: &str) -> StorageResult<String>;
    fn users(&self) -> StorageResult<Vec<UserInfo>>;
    fn user_by_email(&self, email: &str) -> StorageResult<Option<UserRecord>>;
    fn add_team(&self, name: &str) -> StorageResult<String>;
    /// Make a user an organizer of a team: they see the team's circles.
    fn add_organizer(&self, team_id: &str, email: &str) -> StorageResult<()>;

    fn create_token(&self, user_id: &str, device_id: &str, device_name: &str, token_hash: &str)
        -> StorageResult<String>;
    /// The live session a token hash belongs to (None: unknown or revoked).
    fn session(&self, token_hash: &str) -> StorageResult<Option<Session>>;
    /// Tokens of a user (by id), or of everyone.
    fn tokens(&self, user_id: Option<&str>) -> StorageResult<Vec<TokenInfo>>;
    /// Revoke a token; with `owner`, only one of that user's. False if none matched.
    fn revoke_token(&self, token_id: &str, owner: Option<&str>) -> StorageResult<bool>;

    /// Accept a batch: all of it with its record, or nothing.
    fn push(&self, session: &Session, batch: PushRequest, now_ms: u64) -> StorageResult<PushResponse>;
    /// A page of the changes the session's user may see.
    fn pull(&self, session: &Session, cursor: i64, conflict_cursor: i64, limit: usize, now_ms: u64)
        -> StorageResult<PullResponse>;
}

/// The checks of a batch that need no database, the same on every backend:
/// size, batch id, known tables and valid values, the token's own device, and
/// clocks not too far ahead. Returns each change's table.
pub(crate) fn precheck(session: &Session, batch: &PushRequest, now_ms: u64) -> StorageResult<Vec<&'static TableDef>> {
    if batch.changes.len() > MAX_PUSH_CHANGES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("a batch carries at most {MAX_PUSH_CHANGES} changes, not {}", batch.changes.len()),
        ));
    }
    if batch.batch_id.is_empty() || batch.batch_id.len() > 64 {
        return Err(ApiError::bad_request("batch_id must be between 1 and 64 characters"));
    }
    let mut tables = Vec::with_capacity(batch.changes.len());
    for change in &batch.changes {
        let table =
            merge::check(change).map_err(|e| ApiError::invalid_change(format!("change {}: {e}", change.change_id)))?;
        if change.device_id != session.device_id {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "wrong_device",
                format!(
                    "change {} names device {}, but this token belongs to device {}",
                    change.change_id, change.device_id, session.device_id
                ),
            ));
        }
        if change.hlc.millis > now_ms + MAX_CLOCK_SKEW_MS {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "clock_skew",
                format!(
                    "change {} is stamped {} ms ahead of the server clock ({now_ms}); correct the clock and re-stamp",
                    change.change_id,
                    change.hlc.millis - now_ms
                ),
            ));
        }
        tables.push(table);
    }
    Ok(tables)
}

/// A course title change with the given id, for tests of what the storage
/// does with changes regardless of their content.
#[cfg(test)]
pub(crate) fn title_change(change_id: &str) -> circles_core::sync::wire::WireChange {
    circles_core::sync::wire::WireChange {
        change_id: change_id.into(),
        table: "courses".into(),
        row_id: "r1".into(),
        field: "title".into(),
        value: serde_json::json!("T"),
        hlc: circles_core::hlc::Hlc { millis: 1, counter: 0 },
        device_id: "d".into(),
        base_seq: None,
    }
}
