//! The embedded SQLite backend: one writer connection (SQLite serializes
//! writers anyway; `BEGIN IMMEDIATE` makes it explicit) and a few readers
//! (WAL lets them read a consistent snapshot while a push commits).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use axum::http::StatusCode;
use circles_core::hlc::Hlc;
use circles_core::schema::TableDef;
use circles_core::sync::merge::{self, Version};
use circles_core::sync::wire::{
    PullResponse, PushOutcome, PushRequest, PushResponse, PushResult, ServerChange, WireChange, WireConflict,
    MAX_CLOCK_SKEW_MS, MAX_PULL_LIMIT, MAX_PUSH_CHANGES,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use rusqlite_migration::{Migrations, M};

use super::{Session, Storage, StorageResult, TokenInfo, UserInfo, UserRecord};
use crate::error::ApiError;

const READERS: usize = 4;

pub struct SqliteStorage {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../../migrations/0001_initial.sql")),
        M::up(include_str!("../../migrations/0002_token_circles.sql")),
    ])
}

fn open_connection(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: an acknowledged push survives power loss, not only a crash.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Where a circle-scoped table's rows get their circle from.
enum ScopeSource {
    Global,
    ItsOwnId,
    /// The named field holds the circle id.
    CircleField(&'static str),
    /// The named field holds a meeting id; the circle is the meeting's.
    MeetingField(&'static str),
}

fn scope_source(table: &TableDef) -> ScopeSource {
    match table.name {
        "circles" => ScopeSource::ItsOwnId,
        "meetings" | "learners" | "circle_facilitators" | "guide_templates" => ScopeSource::CircleField("circle_id"),
        "attendance" | "meeting_guides" | "meeting_feedback" => ScopeSource::MeetingField("meeting_id"),
        _ => ScopeSource::Global,
    }
}

impl SqliteStorage {
    pub fn open(path: &Path) -> anyhow::Result<SqliteStorage> {
        let mut writer = open_connection(path)?;
        migrations().to_latest(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| open_connection(path).map(Mutex::new))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(SqliteStorage { writer: Mutex::new(writer), readers, next_reader: AtomicUsize::new(0) })
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> StorageResult<T>) -> StorageResult<T> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    fn read<T>(&self, f: impl FnOnce(&Transaction<'_>) -> StorageResult<T>) -> StorageResult<T> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        let mut conn = self.readers[i].lock().unwrap_or_else(|p| p.into_inner());
        // One snapshot for the whole read.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

impl Storage for SqliteStorage {
    fn health(&self) -> StorageResult<()> {
        self.read(|tx| Ok(tx.query_row("SELECT 1", [], |_| Ok(()))?))
    }

    fn add_user(&self, email: &str, name: &str, password_hash: &str) -> StorageResult<String> {
        let email = email.trim().to_lowercase();
        // The same checks a replica applies to a facilitator.
        circles_core::validate::required("facilitator", "name", name, circles_core::validate::MAX_NAME)
            .and_then(|()| circles_core::validate::email("facilitator", "email", &email))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        self.write(|tx| {
            let exists: bool =
                tx.query_row("SELECT EXISTS(SELECT 1 FROM users WHERE email = ?1)", [&email], |r| r.get(0))?;
            if exists {
                return Err(ApiError::new(StatusCode::CONFLICT, "user_exists", format!("{email} already has an account")));
            }
            let id = uuid::Uuid::now_v7().to_string();
            tx.execute(
                "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, email, name.trim(), password_hash, now_text()],
            )?;
            // Every account is also a synced `facilitators` row with the same
            // id, so any replica can name them as a circle's co-facilitator
            // (which is what gives them access to the circle).
            let fields = [
                ("name", serde_json::Value::from(name.trim())),
                ("email", serde_json::Value::from(email.as_str())),
                ("deleted", serde_json::Value::from(0)),
                ("created_at", serde_json::Value::from(now_text())),
            ];
            let mut clock = Hlc::tick(Hlc::ZERO, circles_core::hlc::wall_clock_millis());
            for (field, value) in fields {
                log_server_change(tx, "facilitators", &id, field, &value, clock)?;
                clock = Hlc::tick(clock, 0);
            }
            Ok(id)
        })
    }

    fn users(&self) -> StorageResult<Vec<UserInfo>> {
        self.read(|tx| {
            let mut stmt = tx.prepare("SELECT id, email, name FROM users ORDER BY email")?;
            let users = stmt
                .query_map([], |r| Ok(UserInfo { id: r.get(0)?, email: r.get(1)?, name: r.get(2)? }))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(users)
        })
    }

    fn user_by_email(&self, email: &str) -> StorageResult<Option<UserRecord>> {
        let email = email.trim().to_lowercase();
        self.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT id, email, name, password_hash FROM users WHERE email = ?1",
                    [&email],
                    |r| Ok(UserRecord { id: r.get(0)?, email: r.get(1)?, name: r.get(2)?, password_hash: r.get(3)? }),
                )
                .optional()?)
        })
    }

    /// A team is authorization data here, and also a synced `teams` row with
    /// the same id (written by the server itself), so facilitators can put
    /// their circles in it and its organizers then see them.
    fn add_team(&self, name: &str) -> StorageResult<String> {
        if name.trim().is_empty() {
            return Err(ApiError::bad_request("a team needs a name"));
        }
        self.write(|tx| {
            let id = uuid::Uuid::now_v7().to_string();
            tx.execute("INSERT INTO teams (id, name) VALUES (?1, ?2)", params![id, name.trim()])?;
            let fields = [
                ("name", serde_json::Value::from(name.trim())),
                ("deleted", serde_json::Value::from(0)),
                ("created_at", serde_json::Value::from(now_text())),
            ];
            let mut clock = Hlc::tick(Hlc::ZERO, circles_core::hlc::wall_clock_millis());
            for (field, value) in fields {
                log_server_change(tx, "teams", &id, field, &value, clock)?;
                clock = Hlc::tick(clock, 0);
            }
            Ok(id)
        })
    }

    fn add_organizer(&self, team_id: &str, email: &str) -> StorageResult<()> {
        let email = email.trim().to_lowercase();
        self.write(|tx| {
            let team: Option<String> =
                tx.query_row("SELECT id FROM teams WHERE id = ?1", [team_id], |r| r.get(0)).optional()?;
            let team = team.ok_or_else(|| ApiError::not_found(format!("no team with id {team_id}")))?;
            let user: Option<String> =
                tx.query_row("SELECT id FROM users WHERE email = ?1", [&email], |r| r.get(0)).optional()?;
            let user = user.ok_or_else(|| ApiError::not_found(format!("no user with email {email}")))?;
            tx.execute("INSERT OR IGNORE INTO team_organizers (team_id, user_id) VALUES (?1, ?2)", params![team, user])?;
            // The team's existing circles become visible from now on.
            let mut stmt = tx.prepare(
                "SELECT row_id FROM field_state WHERE table_name = 'circles' AND field = 'team_id' AND value = ?1",
            )?;
            let circles = stmt
                .query_map([serde_json::Value::from(team.as_str()).to_string()], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let seq = max_seq(tx)?;
            for circle in circles {
                grant(tx, &circle, &user, seq)?;
            }
            Ok(())
        })
    }

    fn create_token(&self, user_id: &str, device_id: &str, device_name: &str, token_hash: &str) -> StorageResult<String> {
        self.write(|tx| {
            let id = uuid::Uuid::now_v7().to_string();
            tx.execute(
                "INSERT INTO tokens (id, user_id, device_id, device_name, token_hash, created_at, last_used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                params![id, user_id, device_id, device_name, token_hash, now_text()],
            )?;
            Ok(id)
        })
    }

    fn session(&self, token_hash: &str) -> StorageResult<Option<Session>> {
        self.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT user_id, device_id, id FROM tokens WHERE token_hash = ?1 AND revoked_at IS NULL",
                    [token_hash],
                    |r| Ok(Session { user_id: r.get(0)?, device_id: r.get(1)?, token_id: r.get(2)? }),
                )
                .optional()?)
        })
    }

    fn tokens(&self, user_id: Option<&str>) -> StorageResult<Vec<TokenInfo>> {
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT t.id, u.email, t.device_id, t.device_name, t.created_at, t.last_used_at, t.revoked_at
                 FROM tokens t JOIN users u ON u.id = t.user_id
                 WHERE ?1 IS NULL OR t.user_id = ?1 ORDER BY t.created_at",
            )?;
            let tokens = stmt
                .query_map([user_id], |r| {
                    Ok(TokenInfo {
                        id: r.get(0)?,
                        user_email: r.get(1)?,
                        device_id: r.get(2)?,
                        device_name: r.get(3)?,
                        created_at: r.get(4)?,
                        last_used_at: r.get(5)?,
                        revoked: r.get::<_, Option<String>>(6)?.is_some(),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(tokens)
        })
    }

    fn revoke_token(&self, token_id: &str, owner: Option<&str>) -> StorageResult<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE tokens SET revoked_at = coalesce(revoked_at, ?1) WHERE id = ?2 AND (?3 IS NULL OR user_id = ?3)",
                params![now_text(), token_id, owner],
            )?;
            Ok(n > 0)
        })
    }

    fn push(&self, session: &Session, batch: &PushRequest, now_ms: u64) -> StorageResult<PushResponse> {
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
        // Checks that need no database, before taking the write lock.
        let mut tables = Vec::with_capacity(batch.changes.len());
        for change in &batch.changes {
            let table = merge::check(change)
                .map_err(|e| ApiError::invalid_change(format!("change {}: {e}", change.change_id)))?;
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
        self.write(|tx| {
            if let Some(previous) = recorded_batch(tx, &session.device_id, batch)? {
                return Ok(previous);
            }
            tx.execute("UPDATE tokens SET last_used_at = ?1 WHERE id = ?2", params![now_text(), session.token_id])?;
            let mut results = Vec::with_capacity(batch.changes.len());
            for (change, table) in batch.changes.iter().zip(tables) {
                results.push(accept_change(tx, session, table, change)?);
            }
            let response = PushResponse {
                batch_id: batch.batch_id.clone(),
                batch_seq: batch.batch_seq,
                results,
                server_time_ms: now_ms,
            };
            tx.execute(
                "INSERT INTO push_batches (device_id, batch_seq, batch_id, response_json) VALUES (?1, ?2, ?3, ?4)",
                params![
                    session.device_id,
                    batch.batch_seq,
                    batch.batch_id,
                    serde_json::to_string(&response).expect("response serializes")
                ],
            )?;
            Ok(response)
        })
    }

    fn pull(&self, session: &Session, cursor: i64, conflict_cursor: i64, limit: usize, now_ms: u64) -> StorageResult<PullResponse> {
        if cursor < 0 || conflict_cursor < 0 {
            return Err(ApiError::bad_request("cursor and conflict_cursor must not be negative"));
        }
        let limit = limit.clamp(1, MAX_PULL_LIMIT);
        // Usually read-only; only when the user has circles this token's
        // stream does not include yet does the pull need the writer.
        let ready = self.read(|tx| {
            check_cursor(tx, cursor)?;
            if unlisted_circles(tx, session)?.is_empty() {
                page(tx, session, cursor, conflict_cursor, limit, now_ms).map(Some)
            } else {
                Ok(None)
            }
        })?;
        if let Some(ready) = ready {
            return Ok(ready);
        }
        self.write(|tx| {
            check_cursor(tx, cursor)?;
            let mut reset = false;
            for circle in unlisted_circles(tx, session)? {
                // From 0 the stream includes everything of the circle. Past
                // 0 it does only if the circle has nothing at or before the
                // cursor (a circle made after it): otherwise reset.
                let missed = cursor > 0
                    && tx.query_row(
                        "SELECT EXISTS(SELECT 1 FROM changes WHERE scope_circle = ?1 AND seq <= ?2)",
                        params![circle, cursor],
                        |r| r.get::<_, bool>(0),
                    )?;
                if missed {
                    reset = true;
                } else {
                    tx.execute(
                        "INSERT OR IGNORE INTO token_circles (token_id, circle_id) VALUES (?1, ?2)",
                        params![session.token_id, circle],
                    )?;
                }
            }
            if reset {
                return Ok(PullResponse {
                    changes: vec![],
                    cursor: 0,
                    has_more: true,
                    remaining: 0,
                    reset: true,
                    conflicts: vec![],
                    server_time_ms: now_ms,
                });
            }
            page(tx, session, cursor, conflict_cursor, limit, now_ms)
        })
    }
}

fn check_cursor(tx: &Connection, cursor: i64) -> StorageResult<()> {
    let max = max_seq(tx)?;
    if cursor > max {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "cursor_from_future",
            format!("cursor {cursor} is ahead of this server's log (last change {max}); resync from 0"),
        ));
    }
    Ok(())
}

/// Circles the user may see that this token's pull stream does not include yet.
fn unlisted_circles(tx: &Connection, session: &Session) -> StorageResult<Vec<String>> {
    let mut stmt = tx.prepare_cached(
        "SELECT circle_id FROM circle_access WHERE user_id = ?1
         EXCEPT SELECT circle_id FROM token_circles WHERE token_id = ?2",
    )?;
    let circles = stmt
        .query_map(params![session.user_id, session.token_id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(circles)
}

/// One page of the changes the user may see after `cursor`, from one snapshot.
fn page(
    tx: &Connection,
    session: &Session,
    cursor: i64,
    conflict_cursor: i64,
    limit: usize,
    now_ms: u64,
) -> StorageResult<PullResponse> {
    let max = max_seq(tx)?;
    let conflicts = device_conflicts(tx, &session.device_id, conflict_cursor)?;
    let visible = "seq > ?1 AND (scope_circle IS NULL OR scope_circle IN
                     (SELECT circle_id FROM circle_access WHERE user_id = ?2))";
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT seq, change_id, table_name, row_id, field, value, hlc, device_id, base_seq
         FROM changes WHERE {visible} ORDER BY seq LIMIT ?3"
    ))?;
    let changes = stmt
        .query_map(params![cursor, session.user_id, limit as i64], server_change)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let full_page = changes.len() == limit;
    // A short page saw everything up to `max` in this snapshot.
    let next = if full_page { changes.last().map_or(cursor, |c| c.seq) } else { max };
    let remaining: i64 = if full_page {
        tx.query_row(&format!("SELECT count(*) FROM changes WHERE {visible}"), params![next, session.user_id], |r| {
            r.get(0)
        })?
    } else {
        0
    };
    Ok(PullResponse {
        changes,
        cursor: next,
        has_more: remaining > 0,
        remaining: remaining as u64,
        reset: false,
        conflicts,
        server_time_ms: now_ms,
    })
}

/// The id the server's own changes carry as their device.
pub const SERVER_DEVICE: &str = "server";

/// A change made by the server itself (not pushed by a device).
fn log_server_change(
    tx: &Connection,
    table: &str,
    row_id: &str,
    field: &str,
    value: &serde_json::Value,
    hlc: Hlc,
) -> rusqlite::Result<()> {
    let value = value.to_string();
    tx.execute(
        "INSERT INTO changes (change_id, table_name, row_id, field, value, hlc, device_id, base_seq, user_id,
                              scope_circle, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?7, NULL, ?8)",
        params![uuid::Uuid::now_v7().to_string(), table, row_id, field, value, hlc.to_string(), SERVER_DEVICE, now_text()],
    )?;
    let seq = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO field_state (table_name, row_id, field, value, hlc, device_id, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(table_name, row_id, field) DO UPDATE
         SET value = excluded.value, hlc = excluded.hlc, device_id = excluded.device_id, seq = excluded.seq",
        params![table, row_id, field, value, hlc.to_string(), SERVER_DEVICE, seq],
    )?;
    Ok(())
}

fn max_seq(tx: &Connection) -> rusqlite::Result<i64> {
    tx.query_row("SELECT coalesce(max(seq), 0) FROM changes", [], |r| r.get(0))
}

fn grant(tx: &Connection, circle_id: &str, user_id: &str, granted_seq: i64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO circle_access (circle_id, user_id, granted_seq) VALUES (?1, ?2, ?3)",
        params![circle_id, user_id, granted_seq],
    )?;
    Ok(())
}

/// The stored answer to a batch seen before, or an error if the batch does
/// not follow the device's last one.
fn recorded_batch(tx: &Connection, device_id: &str, batch: &PushRequest) -> StorageResult<Option<PushResponse>> {
    let same: Option<(String, String)> = tx
        .query_row(
            "SELECT batch_id, response_json FROM push_batches WHERE device_id = ?1 AND batch_seq = ?2",
            params![device_id, batch.batch_seq],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((batch_id, json)) = same {
        if batch_id != batch.batch_id {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "batch_conflict",
                format!("batch number {} of this device was already used by another batch", batch.batch_seq),
            ));
        }
        let response = serde_json::from_str(&json).map_err(|e| ApiError::internal(e.to_string()))?;
        return Ok(Some(response));
    }
    let last: i64 = tx.query_row(
        "SELECT coalesce(max(batch_seq), 0) FROM push_batches WHERE device_id = ?1",
        [device_id],
        |r| r.get(0),
    )?;
    if batch.batch_seq != last + 1 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "batch_gap",
            format!("expected batch number {} from this device, got {}", last + 1, batch.batch_seq),
        ));
    }
    Ok(None)
}

/// The circle a change belongs to (None: a global table), checking that the
/// session's user may write it.
fn authorize(tx: &Connection, session: &Session, table: &TableDef, change: &WireChange) -> StorageResult<Option<String>> {
    let known: Option<String> = tx
        .query_row(
            "SELECT circle_id FROM row_scope WHERE table_name = ?1 AND row_id = ?2",
            params![table.name, change.row_id],
            |r| r.get(0),
        )
        .optional()?;
    let home = known.clone();
    let text_value = || change.value.as_str().map(str::to_string);
    let circle = match scope_source(table) {
        ScopeSource::Global => return Ok(None),
        ScopeSource::ItsOwnId => {
            if known.is_none() {
                // A circle nobody has written yet: its author may create it.
                tx.execute(
                    "INSERT INTO row_scope (table_name, row_id, circle_id) VALUES ('circles', ?1, ?1)",
                    [&change.row_id],
                )?;
                grant(tx, &change.row_id, &session.user_id, 0)?;
            }
            change.row_id.clone()
        }
        ScopeSource::CircleField(field) => match (known, change.field == field) {
            (_, true) => text_value()
                .ok_or_else(|| ApiError::invalid_change(format!("change {}: {field} cannot be empty", change.change_id)))?,
            (Some(circle), false) => circle,
            (None, false) => return Err(first_change_error(table, field, change)),
        },
        ScopeSource::MeetingField(field) => match (known, change.field == field) {
            (_, true) => {
                let meeting = text_value().ok_or_else(|| {
                    ApiError::invalid_change(format!("change {}: {field} cannot be empty", change.change_id))
                })?;
                tx.query_row(
                    "SELECT circle_id FROM row_scope WHERE table_name = 'meetings' AND row_id = ?1",
                    [&meeting],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or_else(|| {
                    ApiError::invalid_change(format!("change {}: no meeting with id {meeting}", change.change_id))
                })?
            }
            (Some(circle), false) => circle,
            (None, false) => return Err(first_change_error(table, field, change)),
        },
    };
    let may_write = |circle: &str| -> StorageResult<()> {
        let allowed: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM circle_access WHERE circle_id = ?1 AND user_id = ?2)",
            params![circle, session.user_id],
            |r| r.get(0),
        )?;
        if !allowed {
            return Err(ApiError::forbidden(format!(
                "you do not facilitate or organize circle {circle} (change {} to {})",
                change.change_id, table.name
            )));
        }
        Ok(())
    };
    // A row stays in the circle it was made in: its history is scoped there,
    // and moving it would hand it to people who may not see that history.
    if let Some(home) = home.filter(|home| *home != circle) {
        may_write(&home)?;
        return Err(ApiError::invalid_change(format!(
            "change {}: a {} cannot move to another circle (it belongs to circle {home})",
            change.change_id, table.entity
        )));
    }
    may_write(&circle)?;
    tx.execute(
        "INSERT OR IGNORE INTO row_scope (table_name, row_id, circle_id) VALUES (?1, ?2, ?3)",
        params![table.name, change.row_id, circle],
    )?;
    Ok(Some(circle))
}

fn first_change_error(table: &TableDef, field: &str, change: &WireChange) -> ApiError {
    ApiError::invalid_change(format!(
        "change {}: the first change of a new {} must set {field}",
        change.change_id, table.entity
    ))
}

/// Merge one change into the field state and log it if it wins.
fn accept_change(tx: &Connection, session: &Session, table: &TableDef, change: &WireChange) -> StorageResult<PushResult> {
    let first_time = tx.execute("INSERT OR IGNORE INTO seen_changes (change_id) VALUES (?1)", [&change.change_id])? == 1;
    if !first_time {
        return Ok(PushResult { change_id: change.change_id.clone(), outcome: PushOutcome::Duplicate, seq: None });
    }
    let scope = authorize(tx, session, table, change)?;
    let current: Option<(String, String, String, i64)> = tx
        .query_row(
            "SELECT value, hlc, device_id, seq FROM field_state WHERE table_name = ?1 AND row_id = ?2 AND field = ?3",
            params![table.name, change.row_id, change.field],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let wins = match &current {
        None => true,
        Some((_, hlc, device, _)) => merge::supersedes(
            Version { hlc: change.hlc, device_id: &change.device_id },
            Version { hlc: hlc.parse().unwrap_or(Hlc::ZERO), device_id: device },
        ),
    };
    if let Some((value, hlc, device, seq)) = &current {
        let current_value: serde_json::Value = serde_json::from_str(value).unwrap_or_default();
        if merge::conflict_matters(&change.field)
            && merge::concurrent(change.base_seq, &change.device_id, &change.value, *seq, device, &current_value) {
            let incoming = (change.value.to_string(), change.hlc.to_string(), change.device_id.clone());
            let stored = (value.clone(), hlc.clone(), device.clone());
            let (lost, won) = if wins { (stored, incoming) } else { (incoming, stored) };
            tx.execute(
                "INSERT INTO conflicts (table_name, row_id, field, lost_value, lost_hlc, lost_device,
                                        won_value, won_hlc, won_device, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![table.name, change.row_id, change.field, lost.0, lost.1, lost.2, won.0, won.1, won.2, now_text()],
            )?;
        }
    }
    if !wins {
        return Ok(PushResult { change_id: change.change_id.clone(), outcome: PushOutcome::Superseded, seq: None });
    }
    let value = change.value.to_string();
    tx.execute(
        "INSERT INTO changes (change_id, table_name, row_id, field, value, hlc, device_id, base_seq, user_id,
                              scope_circle, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            change.change_id,
            table.name,
            change.row_id,
            change.field,
            value,
            change.hlc.to_string(),
            change.device_id,
            change.base_seq,
            session.user_id,
            scope,
            now_text()
        ],
    )?;
    let seq = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO field_state (table_name, row_id, field, value, hlc, device_id, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(table_name, row_id, field) DO UPDATE
         SET value = excluded.value, hlc = excluded.hlc, device_id = excluded.device_id, seq = excluded.seq",
        params![table.name, change.row_id, change.field, value, change.hlc.to_string(), change.device_id, seq],
    )?;
    grant_from_membership(tx, table, change, seq)?;
    Ok(PushResult { change_id: change.change_id.clone(), outcome: PushOutcome::Applied, seq: Some(seq) })
}

/// Access that follows from data: a facilitator added to a circle, or a
/// circle put in a team, whose organizers then see it.
fn grant_from_membership(tx: &Connection, table: &TableDef, change: &WireChange, seq: i64) -> StorageResult<()> {
    let field_text = |table: &str, row: &str, field: &str| -> rusqlite::Result<Option<String>> {
        let value: Option<String> = tx
            .query_row(
                "SELECT value FROM field_state WHERE table_name = ?1 AND row_id = ?2 AND field = ?3",
                params![table, row, field],
                |r| r.get(0),
            )
            .optional()?;
        Ok(value
            .and_then(|v| serde_json::from_str::<serde_json::Value>(&v).ok())
            .and_then(|v| v.as_str().map(str::to_string)))
    };
    match (table.name, change.field.as_str()) {
        ("circle_facilitators", "circle_id" | "facilitator_id") => {
            let circle = field_text("circle_facilitators", &change.row_id, "circle_id")?;
            let user = field_text("circle_facilitators", &change.row_id, "facilitator_id")?;
            if let (Some(circle), Some(user)) = (circle, user) {
                let is_user: bool =
                    tx.query_row("SELECT EXISTS(SELECT 1 FROM users WHERE id = ?1)", [&user], |r| r.get(0))?;
                if is_user {
                    grant(tx, &circle, &user, seq)?;
                }
            }
        }
        ("circles", "team_id") => {
            if let Some(team) = change.value.as_str() {
                let mut stmt = tx.prepare("SELECT user_id FROM team_organizers WHERE team_id = ?1")?;
                let organizers = stmt.query_map([team], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
                for user in organizers {
                    grant(tx, &change.row_id, &user, seq)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn server_change(r: &rusqlite::Row<'_>) -> rusqlite::Result<ServerChange> {
    let value: String = r.get(5)?;
    let hlc: String = r.get(6)?;
    Ok(ServerChange {
        seq: r.get(0)?,
        change: WireChange {
            change_id: r.get(1)?,
            table: r.get(2)?,
            row_id: r.get(3)?,
            field: r.get(4)?,
            value: serde_json::from_str(&value).unwrap_or_default(),
            hlc: hlc.parse().unwrap_or(Hlc::ZERO),
            device_id: r.get(7)?,
            base_seq: r.get(8)?,
        },
    })
}

fn device_conflicts(tx: &Connection, device_id: &str, after: i64) -> StorageResult<Vec<WireConflict>> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, table_name, row_id, field, lost_value, lost_hlc, won_value, won_hlc, won_device
         FROM conflicts WHERE lost_device = ?1 AND id > ?2 ORDER BY id LIMIT 1000",
    )?;
    let json = |s: String| serde_json::from_str(&s).unwrap_or_default();
    let hlc = |s: String| s.parse().unwrap_or(Hlc::ZERO);
    let conflicts = stmt
        .query_map(params![device_id, after], |r| {
            Ok(WireConflict {
                id: r.get(0)?,
                table: r.get(1)?,
                row_id: r.get(2)?,
                field: r.get(3)?,
                lost_value: json(r.get(4)?),
                lost_hlc: hlc(r.get(5)?),
                won_value: json(r.get(6)?),
                won_hlc: hlc(r.get(7)?),
                won_device: r.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(conflicts)
}

