//! The embedded SQLite backend: one writer connection (SQLite serializes
//! writers anyway; `BEGIN IMMEDIATE` makes it explicit) and a few readers
//! (WAL lets them read a consistent snapshot while a push commits).
//!
//! Two things keep a push's latency flat under load. Pushes are
//! group-committed (`group_commit.rs`): those that arrive while a group is
//! being written share the next transaction and its one fsync, each in its
//! own savepoint so that a refused push leaves nothing behind. And WAL
//! checkpoints, which copy the log back into the database file and fsync it,
//! run on a background thread instead of inside whichever commit crossed
//! SQLite's threshold.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use axum::http::StatusCode;
use circles_core::hlc::Hlc;
use circles_core::schema::TableDef;
use circles_core::sync::merge::{self, Version};
use circles_core::sync::wire::{
    PullResponse, PushOutcome, PushRequest, PushResponse, PushResult, ServerChange, WireChange, WireConflict,
    MAX_PULL_LIMIT,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use rusqlite_migration::{Migrations, M};

use super::group_commit::{each_push, GroupCommit, PushJob};
use super::{Session, Storage, StorageResult, TokenInfo, UserInfo, UserRecord};
use crate::error::ApiError;

const READERS: usize = 4;

/// How long the checkpointer lets commits gather before copying them back.
const CHECKPOINT_DELAY: Duration = Duration::from_millis(200);
/// Should the checkpointer fall behind, the writer checkpoints by itself
/// once the log holds this many pages (about 40 MB; SQLite's default is
/// 1,000).
const WRITER_CHECKPOINT_PAGES: u32 = 10_000;
/// The writer's page cache, in KiB (negative: SQLite's unit for KiB).
const WRITER_CACHE_KIB: i64 = -32_768;
/// How long a writer waits for another process's write lock, in 1 ms steps
/// (SQLite's own busy handler sleeps up to 100 ms at a time, which is what
/// a push would then wait behind a lock held for 5 ms).
const BUSY_TIMEOUT_MS: i32 = 10_000;

pub struct SqliteStorage {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    group: GroupCommit,
    /// Tells the checkpointer that something was committed.
    committed: SyncSender<()>,
}

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../../migrations/0001_initial.sql")),
        M::up(include_str!("../../migrations/0002_token_circles.sql")),
    ])
}

fn wait_briefly(attempt: i32) -> bool {
    std::thread::sleep(Duration::from_millis(1));
    attempt < BUSY_TIMEOUT_MS
}

fn open_connection(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: an acknowledged push survives power loss, not only a crash.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
    conn.busy_handler(Some(wait_briefly))?;
    // Every statement of the push and pull paths is prepared once per
    // connection and reused (a push runs a handful per change).
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Copy committed pages back into the database file, off the request path,
/// at most every `CHECKPOINT_DELAY` while commits come in. Passive: it never
/// waits for (or blocks) readers and writers. Ends when the storage is
/// dropped.
fn run_checkpointer(conn: Connection, committed: Receiver<()>) {
    while committed.recv().is_ok() {
        std::thread::sleep(CHECKPOINT_DELAY);
        while committed.try_recv().is_ok() {}
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "WAL checkpoint failed; the writer will checkpoint by itself");
        }
    }
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
        // A 5,000-change push dirties a few MB of pages: kept in memory until
        // the commit instead of spilling to the log half-way (default 2 MB).
        writer.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
        migrations().to_latest(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| open_connection(path).map(Mutex::new))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let checkpointer = open_connection(path)?;
        let (committed, receiver) = sync_channel(1);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run_checkpointer(checkpointer, receiver))?;
        Ok(SqliteStorage {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            group: GroupCommit::default(),
            committed,
        })
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> StorageResult<T>) -> StorageResult<T> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        self.note_commit();
        Ok(out)
    }

    fn note_commit(&self) {
        // Full: a checkpoint is already due, which will include this commit.
        if let Err(TrySendError::Disconnected(())) = self.committed.try_send(()) {
            tracing::warn!("the checkpointer has stopped; the writer checkpoints by itself");
        }
    }

    /// Write a group of pushes in one transaction, each in a savepoint: a
    /// refused push is rolled back alone; a database error fails the group.
    fn push_group(&self, jobs: &[(u64, PushJob)]) -> Vec<StorageResult<PushResponse>> {
        let run = || -> StorageResult<Vec<StorageResult<PushResponse>>> {
            let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let [(_, job)] = jobs {
                // Alone: the transaction is its savepoint (a savepoint
                // journals every page it changes).
                let result = push_one(&tx, job);
                if result.as_ref().is_err_and(|e| !e.status.is_server_error()) {
                    tx.rollback()?;
                    return Ok(vec![result]);
                }
                let response = result?;
                tx.commit()?;
                self.note_commit();
                return Ok(vec![Ok(response)]);
            }
            let results = each_push(&mut tx, jobs, |tx, job| {
                let savepoint = tx.savepoint()?;
                let result = push_one(&savepoint, job);
                if result.is_ok() {
                    savepoint.commit()?;
                } // else dropped, which rolls it back
                result
            })?;
            tx.commit()?;
            self.note_commit();
            Ok(results)
        };
        match run() {
            Ok(results) => results,
            Err(e) => jobs.iter().map(|_| Err(e.clone())).collect(),
        }
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

    fn push(&self, session: &Session, batch: PushRequest, now_ms: u64) -> StorageResult<PushResponse> {
        self.group.push(PushJob::checked(session, batch, now_ms)?, |jobs| self.push_group(jobs))
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

/// One push of a group, in the group's transaction: its effects and its
/// recorded answer, or an error (the caller undoes what it wrote).
fn push_one(tx: &Connection, job: &PushJob) -> StorageResult<PushResponse> {
    let (session, batch) = (&job.session, &job.batch);
    if let Some(previous) = recorded_batch(tx, &session.device_id, batch)? {
        return Ok(previous);
    }
    let received_at = now_text();
    tx.prepare_cached("UPDATE tokens SET last_used_at = ?1 WHERE id = ?2")?
        .execute(params![received_at, session.token_id])?;
    let mut accept = Accept::new(tx, session, batch, received_at)?;
    let results = batch
        .changes
        .iter()
        .zip(job.tables.iter().copied())
        .map(|(change, table)| accept.change(table, change))
        .collect::<StorageResult<Vec<_>>>()?;
    accept.finish()?;
    let response =
        PushResponse { batch_id: batch.batch_id.clone(), batch_seq: batch.batch_seq, results, server_time_ms: job.now_ms };
    tx.prepare_cached("INSERT INTO push_batches (device_id, batch_seq, batch_id, response_json) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![
            session.device_id,
            batch.batch_seq,
            batch.batch_id,
            super::batch_record(&response)
        ])?;
    Ok(response)
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
    let (changes, stopped_at) = super::gather_page(cursor, limit, |after, n| {
        let seqs = visible_seqs(tx, &session.user_id, after, n)?;
        let changes = changes_at(tx, &seqs, &session.device_id)?;
        Ok::<_, rusqlite::Error>(super::LogSlice { changes, looked_at: seqs.len(), last_seq: seqs.last().copied() })
    })?;
    let full_page = stopped_at.is_some();
    // A short page saw everything up to `max` in this snapshot.
    let next = stopped_at.unwrap_or(max);
    // One pass over the (covering) scope index.
    let remaining: i64 = if full_page {
        tx.prepare_cached(
            "SELECT count(*) FROM changes
             WHERE seq > ?1 AND (scope_circle IS NULL OR scope_circle IN
                                 (SELECT circle_id FROM circle_access WHERE user_id = ?2))",
        )?
        .query_row(params![next, session.user_id], |r| r.get(0))?
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

/// The seqs of the first `limit` changes after `cursor` the user may see, in
/// order: the first `limit` of each scope they see (everyone's tables, then
/// each of their circles), read from the scope index in seq order and
/// merged. Each page so costs about what it returns, whether the user sees
/// the whole log or a sliver of it. (Asking SQLite for all of it in one
/// query gathers and sorts every visible change after the cursor, on every
/// page; walking the log in seq order reads everyone else's changes too.)
fn visible_seqs(tx: &Connection, user_id: &str, cursor: i64, limit: usize) -> rusqlite::Result<Vec<i64>> {
    let mut seqs: Vec<i64> = tx
        .prepare_cached("SELECT seq FROM changes WHERE scope_circle IS NULL AND seq > ?1 ORDER BY seq LIMIT ?2")?
        .query_map(params![cursor, limit as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let circles: Vec<String> = tx
        .prepare_cached("SELECT circle_id FROM circle_access WHERE user_id = ?1")?
        .query_map([user_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut in_circle =
        tx.prepare_cached("SELECT seq FROM changes WHERE scope_circle = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq LIMIT ?4")?;
    for circle in circles {
        // Beyond the limit-th seq found so far, nothing can make the page.
        let bound = if seqs.len() >= limit { seqs[limit - 1] } else { i64::MAX };
        let more: Vec<i64> = in_circle
            .query_map(params![circle, cursor, bound, limit as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if !more.is_empty() {
            seqs = merge_sorted(&seqs, &more, limit);
        }
    }
    Ok(seqs)
}

/// The first `limit` of two increasing lists, in order.
fn merge_sorted(a: &[i64], b: &[i64], limit: usize) -> Vec<i64> {
    let mut out = Vec::with_capacity((a.len() + b.len()).min(limit));
    let (mut i, mut j) = (0, 0);
    while out.len() < limit && (i < a.len() || j < b.len()) {
        if j == b.len() || (i < a.len() && a[i] < b[j]) {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out
}

/// The logged changes at `seqs` (increasing), in that order, but those of
/// `own_device` (the puller already holds them): one range read when they
/// are dense in the log, else one lookup each.
fn changes_at(tx: &Connection, seqs: &[i64], own_device: &str) -> rusqlite::Result<Vec<ServerChange>> {
    let (Some(&first), Some(&last)) = (seqs.first(), seqs.last()) else { return Ok(Vec::new()) };
    const COLUMNS: &str = "seq, change_id, table_name, row_id, field, value, hlc, device_id, base_seq";
    let mut changes = Vec::with_capacity(seqs.len());
    if ((last - first) as usize) < seqs.len() * 2 {
        let mut stmt =
            tx.prepare_cached(&format!("SELECT {COLUMNS} FROM changes WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq"))?;
        let mut rows = stmt.query(params![first, last])?;
        let mut wanted = seqs.iter().peekable();
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            if wanted.next_if_eq(&&seq).is_some() && row.get_ref(7)?.as_str()? != own_device {
                changes.push(server_change(row)?);
            }
        }
    } else {
        let mut stmt = tx.prepare_cached(&format!("SELECT {COLUMNS} FROM changes WHERE seq = ?1"))?;
        for seq in seqs {
            let change = stmt.query_row([seq], server_change)?;
            if change.change.device_id != own_device {
                changes.push(change);
            }
        }
    }
    Ok(changes)
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
    tx.prepare_cached("SELECT coalesce(max(seq), 0) FROM changes")?.query_row([], |r| r.get(0))
}

fn grant(tx: &Connection, circle_id: &str, user_id: &str, granted_seq: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT OR IGNORE INTO circle_access (circle_id, user_id, granted_seq) VALUES (?1, ?2, ?3)")?
        .execute(params![circle_id, user_id, granted_seq])?;
    Ok(())
}

/// The stored answer to a batch seen before, or an error if the batch does
/// not follow the device's last one.
fn recorded_batch(tx: &Connection, device_id: &str, batch: &PushRequest) -> StorageResult<Option<PushResponse>> {
    let recorded: Option<(String, String)> = tx
        .query_row(
            "SELECT batch_id, response_json FROM push_batches WHERE device_id = ?1 AND batch_seq = ?2",
            params![device_id, batch.batch_seq],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let last: i64 = tx.query_row(
        "SELECT coalesce(max(batch_seq), 0) FROM push_batches WHERE device_id = ?1",
        [device_id],
        |r| r.get(0),
    )?;
    super::check_batch_record(batch, recorded, last)
}

/// The circle a change belongs to (None: a global table), checking that the
/// session's user may write it.
fn authorize(tx: &Connection, session: &Session, table: &TableDef, change: &WireChange) -> StorageResult<Option<String>> {
    let source = scope_source(table);
    if matches!(source, ScopeSource::Global) {
        return Ok(None);
    }
    let known: Option<String> = tx
        .prepare_cached("SELECT circle_id FROM row_scope WHERE table_name = ?1 AND row_id = ?2")?
        .query_row(params![table.name, change.row_id], |r| r.get(0))
        .optional()?;
    let home = known.clone();
    let text_value = || change.value.as_str().map(str::to_string);
    let circle = match source {
        ScopeSource::Global => return Ok(None),
        ScopeSource::ItsOwnId => {
            if known.is_none() {
                // A circle nobody has written yet: its author may create it.
                tx.prepare_cached("INSERT INTO row_scope (table_name, row_id, circle_id) VALUES ('circles', ?1, ?1)")?
                    .execute([&change.row_id])?;
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
                tx.prepare_cached("SELECT circle_id FROM row_scope WHERE table_name = 'meetings' AND row_id = ?1")?
                    .query_row([&meeting], |r| r.get(0))
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
        let allowed: bool = tx
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM circle_access WHERE circle_id = ?1 AND user_id = ?2)")?
            .query_row(params![circle, session.user_id], |r| r.get(0))?;
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
    tx.prepare_cached("INSERT OR IGNORE INTO row_scope (table_name, row_id, circle_id) VALUES (?1, ?2, ?3)")?
        .execute(params![table.name, change.row_id, circle])?;
    Ok(Some(circle))
}

fn first_change_error(table: &TableDef, field: &str, change: &WireChange) -> ApiError {
    ApiError::invalid_change(format!(
        "change {}: the first change of a new {} must set {field}",
        change.change_id, table.entity
    ))
}

/// A field's winning version as `field_state` holds it.
struct StoredField {
    value: String,
    hlc_text: String,
    hlc: Hlc,
    device_id: String,
    seq: i64,
}

/// A change that won, to be logged at `seq`.
struct Logged<'a> {
    seq: i64,
    table: &'static str,
    change: &'a WireChange,
    value: String,
    hlc: String,
    scope: Option<String>,
}

/// Rows per multi-row statement when a push looks up, logs or records as
/// seen its change ids.
const ROWS_PER_INSERT: usize = 64;

/// The text of a multi-row statement for `rows` rows, built once per kind
/// and size (at most `ROWS_PER_INSERT` sizes of a handful of kinds): the
/// statement cache is keyed by text, and building it with `format!` for
/// every chunk of every push cost more than running some of them.
fn multi_row_sql(kind: &'static str, rows: usize, build: impl FnOnce(usize) -> String) -> &'static str {
    static BUILT: OnceLock<Mutex<HashMap<(&'static str, usize), &'static str>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    built.entry((kind, rows)).or_insert_with(|| Box::leak(build(rows).into_boxed_str()))
}

/// Accepting the changes of one push, in one transaction. Every decision is
/// taken change by change, in order, exactly as if each were written at
/// once; the log (`changes`) and `seen_changes` writes are gathered and
/// written with multi-row statements, and `field_state` copied from the
/// log rows, none of which anything read during the push depends on: the
/// merge reads field states from `rows`,
/// which holds the state of every row the push touched (read once per row)
/// including its own writes, and seqs are handed out here in log order.
struct Accept<'a> {
    tx: &'a Connection,
    session: &'a Session,
    /// Shared by the push's log rows and conflicts.
    received_at: std::rc::Rc<str>,
    next_seq: i64,
    /// Change ids of the batch that were seen by an earlier push.
    seen_before: HashSet<String>,
    /// Change ids first seen now (also those earlier in this batch).
    seen_now: HashSet<&'a str>,
    /// Those of them that lost: recorded as seen (the others are logged).
    new_ids: Vec<&'a str>,
    logged: Vec<Logged<'a>>,
    rows: HashMap<(&'static str, &'a str), HashMap<String, StoredField>>,
}

impl<'a> Accept<'a> {
    fn new(tx: &'a Connection, session: &'a Session, batch: &'a PushRequest, received_at: String) -> rusqlite::Result<Accept<'a>> {
        // AUTOINCREMENT hands out one more than the largest seq ever used.
        let next_seq: i64 = tx
            .prepare_cached(
                "SELECT max((SELECT coalesce(max(seq), 0) FROM changes),
                            coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)) + 1",
            )?
            .query_row([], |r| r.get(0))?;
        // Seen before: logged, or recorded as seen but never logged.
        let mut seen_before = HashSet::new();
        for chunk in batch.changes.chunks(ROWS_PER_INSERT) {
            let sql = multi_row_sql("seen lookup", chunk.len(), |n| {
                let ids = (1..=n).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
                format!(
                    "SELECT change_id FROM seen_changes WHERE change_id IN ({ids})
                     UNION ALL SELECT change_id FROM changes WHERE change_id IN ({ids})"
                )
            });
            let mut stmt = tx.prepare_cached(sql)?;
            let ids = stmt.query_map(rusqlite::params_from_iter(chunk.iter().map(|c| &c.change_id)), |r| r.get(0))?;
            for id in ids {
                seen_before.insert(id?);
            }
        }
        Ok(Accept {
            tx,
            session,
            received_at: received_at.into(),
            next_seq,
            seen_before,
            seen_now: HashSet::new(),
            new_ids: Vec::new(),
            logged: Vec::new(),
            rows: HashMap::new(),
        })
    }

    /// The field states of a row, read on first use.
    fn row(&mut self, table: &'static str, row_id: &'a str) -> rusqlite::Result<&mut HashMap<String, StoredField>> {
        let key = (table, row_id);
        if !self.rows.contains_key(&key) {
            let mut stmt = self
                .tx
                .prepare_cached("SELECT field, value, hlc, device_id, seq FROM field_state WHERE table_name = ?1 AND row_id = ?2")?;
            let fields = stmt
                .query_map(params![table, row_id], |r| {
                    let hlc_text: String = r.get(2)?;
                    Ok((
                        r.get::<_, String>(0)?,
                        StoredField {
                            value: r.get(1)?,
                            hlc: hlc_text.parse().unwrap_or(Hlc::ZERO),
                            hlc_text,
                            device_id: r.get(3)?,
                            seq: r.get(4)?,
                        },
                    ))
                })?
                .collect::<rusqlite::Result<HashMap<_, _>>>()?;
            self.rows.insert(key, fields);
        }
        Ok(self.rows.get_mut(&key).expect("just read"))
    }

    /// Merge one change into the field state and log it if it wins.
    fn change(&mut self, table: &'static TableDef, change: &'a WireChange) -> StorageResult<PushResult> {
        let (tx, session) = (self.tx, self.session);
        let first_time = !self.seen_before.contains(&change.change_id) && self.seen_now.insert(&change.change_id);
        if !first_time {
            return Ok(PushResult { change_id: change.change_id.clone(), outcome: PushOutcome::Duplicate, seq: None });
        }
        let scope = authorize(tx, session, table, change)?;
        let received_at = self.received_at.clone();
        // The seq this change gets if it wins.
        let seq = self.next_seq;
        let row = self.row(table.name, &change.row_id)?;
        let current = row.get(&change.field);
        let wins = match current {
            None => true,
            Some(stored) => merge::supersedes(
                Version { hlc: change.hlc, device_id: &change.device_id },
                Version { hlc: stored.hlc, device_id: &stored.device_id },
            ),
        };
        let hlc = change.hlc.to_string();
        if let Some(stored) = current {
            // `concurrent` needs another device first: only then is the
            // stored value worth parsing.
            if merge::conflict_matters(&change.field) && change.device_id != stored.device_id {
                let current_value: serde_json::Value = serde_json::from_str(&stored.value).unwrap_or_default();
                if merge::concurrent(change.base_seq, &change.device_id, &change.value, stored.seq, &stored.device_id, &current_value) {
                    let incoming = (change.value.to_string(), hlc.clone(), change.device_id.clone());
                    let kept = (stored.value.clone(), stored.hlc_text.clone(), stored.device_id.clone());
                    let (lost, won) = if wins { (kept, incoming) } else { (incoming, kept) };
                    tx.prepare_cached(
                        "INSERT INTO conflicts (table_name, row_id, field, lost_value, lost_hlc, lost_device,
                                                won_value, won_hlc, won_device, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    )?
                    .execute(params![
                        table.name,
                        change.row_id,
                        change.field,
                        lost.0,
                        lost.1,
                        lost.2,
                        won.0,
                        won.1,
                        won.2,
                        &*received_at
                    ])?;
                }
            }
        }
        if !wins {
            // A logged change's id is found in the log; only those never
            // logged are recorded as seen.
            self.new_ids.push(&change.change_id);
            return Ok(PushResult { change_id: change.change_id.clone(), outcome: PushOutcome::Superseded, seq: None });
        }
        let value = change.value.to_string();
        row.insert(
            change.field.clone(),
            StoredField {
                value: value.clone(),
                hlc_text: hlc.clone(),
                hlc: change.hlc,
                device_id: change.device_id.clone(),
                seq,
            },
        );
        self.next_seq += 1;
        self.logged.push(Logged { seq, table: table.name, change, value, hlc, scope });
        self.grant_from_membership(table, change, seq)?;
        Ok(PushResult { change_id: change.change_id.clone(), outcome: PushOutcome::Applied, seq: Some(seq) })
    }

    /// Access that follows from data: a facilitator added to a circle, or a
    /// circle put in a team, whose organizers then see it.
    fn grant_from_membership(&mut self, table: &'static TableDef, change: &'a WireChange, seq: i64) -> StorageResult<()> {
        let tx = self.tx;
        match (table.name, change.field.as_str()) {
            ("circle_facilitators", "circle_id" | "facilitator_id") => {
                let row = self.row(table.name, &change.row_id)?;
                let text = |field: &str| {
                    row.get(field)
                        .and_then(|f| serde_json::from_str::<serde_json::Value>(&f.value).ok())
                        .and_then(|v| v.as_str().map(str::to_string))
                };
                if let (Some(circle), Some(user)) = (text("circle_id"), text("facilitator_id")) {
                    let is_user: bool = tx
                        .prepare_cached("SELECT EXISTS(SELECT 1 FROM users WHERE id = ?1)")?
                        .query_row([&user], |r| r.get(0))?;
                    if is_user {
                        grant(tx, &circle, &user, seq)?;
                    }
                }
            }
            ("circles", "team_id") => {
                if let Some(team) = change.value.as_str() {
                    let mut stmt = tx.prepare_cached("SELECT user_id FROM team_organizers WHERE team_id = ?1")?;
                    let organizers =
                        stmt.query_map([team], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
                    for user in organizers {
                        grant(tx, &change.row_id, &user, seq)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Write what the push gathered: the change ids it saw, its log entries
    /// and the field states it moved.
    fn finish(self) -> rusqlite::Result<()> {
        let tx = self.tx;
        for chunk in self.new_ids.chunks(ROWS_PER_INSERT) {
            let sql = multi_row_sql("seen insert", chunk.len(), |n| {
                format!("INSERT INTO seen_changes (change_id) VALUES {}", vec!["(?)"; n].join(", "))
            });
            tx.prepare_cached(sql)?.execute(rusqlite::params_from_iter(chunk))?;
        }
        for chunk in self.logged.chunks(ROWS_PER_INSERT) {
            // ?1, ?2 and ?3 (author, time and device) are the same for the
            // whole push: every bound text is copied by SQLite.
            let sql = multi_row_sql("log insert", chunk.len(), |n| {
                let rows: Vec<String> = (0..n)
                    .map(|i| {
                        let p = 4 + i * 9;
                        let own: Vec<String> = (p..p + 9).map(|q| format!("?{q}")).collect();
                        format!("({}, ?3, {}, ?1, {}, ?2)", own[..7].join(", "), own[7], own[8])
                    })
                    .collect();
                format!(
                    "INSERT INTO changes (seq, change_id, table_name, row_id, field, value, hlc, device_id, base_seq,
                                          user_id, scope_circle, received_at)
                     VALUES {}",
                    rows.join(", ")
                )
            });
            let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(3 + chunk.len() * 9);
            let received_at: &str = &self.received_at;
            values.extend([&self.session.user_id as &dyn rusqlite::ToSql, &received_at, &self.session.device_id]);
            for l in chunk {
                values.extend([
                    &l.seq as &dyn rusqlite::ToSql,
                    &l.change.change_id,
                    &l.table,
                    &l.change.row_id,
                    &l.change.field,
                    &l.value,
                    &l.hlc,
                    &l.change.base_seq,
                    &l.scope,
                ]);
            }
            tx.prepare_cached(sql)?.execute(values.as_slice())?;
        }
        // A field's state is its last winning change, so the states this
        // push moved are copied from its log rows (a contiguous range of
        // seqs) rather than bound a second time. In key order: B-tree
        // inserts then fill pages one after another (new rows' ids are
        // time-ordered UUIDs) instead of splitting pages all over the table;
        // within a key in seq order, so the latest winner stays.
        if let (Some(first), Some(last)) = (self.logged.first(), self.logged.last()) {
            tx.prepare_cached(
                "INSERT INTO field_state (table_name, row_id, field, value, hlc, device_id, seq)
                 SELECT table_name, row_id, field, value, hlc, device_id, seq FROM changes
                 WHERE seq BETWEEN ?1 AND ?2
                 ORDER BY table_name, row_id, field, seq
                 ON CONFLICT(table_name, row_id, field) DO UPDATE
                 SET value = excluded.value, hlc = excluded.hlc, device_id = excluded.device_id, seq = excluded.seq",
            )?
            .execute(params![first.seq, last.seq])?;
        }
        Ok(())
    }
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


#[cfg(test)]
mod tests {
    use super::*;
    use circles_core::hlc::wall_clock_millis;
    use serde_json::json;

    fn server() -> (tempfile::TempDir, SqliteStorage, Session) {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("server.sqlite")).unwrap();
        let user_id = storage.add_user("a@example.org", "A", "not-a-hash").unwrap();
        let token_id = storage.create_token(&user_id, "dev-a", "laptop", "hash").unwrap();
        (dir, storage, Session { user_id, device_id: "dev-a".into(), token_id })
    }

    fn change(id: &str, row: &str, field: &str, value: serde_json::Value, millis: u64) -> WireChange {
        WireChange {
            change_id: id.into(),
            table: "courses".into(),
            row_id: row.into(),
            field: field.into(),
            value,
            hlc: Hlc { millis, counter: 0 },
            device_id: "dev-a".into(),
            base_seq: None,
        }
    }

    fn push(storage: &SqliteStorage, session: &Session, seq: i64, changes: Vec<WireChange>) -> Vec<(PushOutcome, Option<i64>)> {
        let batch = PushRequest { batch_id: format!("batch-{seq}"), batch_seq: seq, changes };
        let response = storage.push(session, batch, wall_clock_millis()).unwrap();
        response.results.iter().map(|r| (r.outcome, r.seq)).collect()
    }

    /// What the server holds: its log and its field states.
    #[allow(clippy::type_complexity)]
    fn state(storage: &SqliteStorage) -> (Vec<(i64, String, String, String)>, Vec<(String, String, String, i64)>) {
        storage
            .read(|tx| {
                let mut log = tx.prepare("SELECT seq, change_id, field, value FROM changes ORDER BY seq")?;
                let log = log
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let mut fields = tx.prepare("SELECT row_id, field, value, seq FROM field_state ORDER BY row_id, field")?;
                let fields = fields
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok((log, fields))
            })
            .unwrap()
    }

    #[test]
    fn a_push_logs_winners_in_order_after_the_servers_own_changes() {
        let (_dir, storage, session) = server();
        // `add_user` logged the account's facilitator row: seqs 1 to 4.
        let now = wall_clock_millis();
        let results = push(
            &storage,
            &session,
            1,
            vec![
                change("c1", "r1", "title", json!("First"), now),
                change("c2", "r1", "title", json!("Second"), now + 1),
                change("c1", "r1", "title", json!("First"), now),
                change("c3", "r1", "title", json!("Stale"), now - 1),
                change("c4", "r2", "title", json!("Other"), now),
            ],
        );
        use PushOutcome::*;
        assert_eq!(
            results,
            [(Applied, Some(5)), (Applied, Some(6)), (Duplicate, None), (Superseded, None), (Applied, Some(7))]
        );
        // A field won twice in one push holds the later winner.
        let (_, fields) = state(&storage);
        let courses: Vec<_> = fields.iter().filter(|f| f.0 == "r1" || f.0 == "r2").cloned().collect();
        assert_eq!(
            courses,
            [("r1".into(), "title".into(), "\"Second\"".into(), 6), ("r2".into(), "title".into(), "\"Other\"".into(), 7)]
        );
        // Seen before, in an earlier batch: a duplicate, whatever it carries.
        let results = push(&storage, &session, 2, vec![change("c2", "r1", "title", json!("Again"), now + 5)]);
        assert_eq!(results, [(Duplicate, None)]);
        // The server's own next change follows the pushed ones.
        storage.add_team("Team").unwrap();
        let results = push(&storage, &session, 3, vec![change("c5", "r1", "title", json!("Third"), now + 2)]);
        assert_eq!(results, [(Applied, Some(11))]);
        let (log, fields) = state(&storage);
        let seqs: Vec<i64> = log.iter().map(|l| l.0).collect();
        assert_eq!(seqs, (1..=11).collect::<Vec<_>>());
        let pushed: Vec<(i64, &str, &str)> = log.iter().filter(|l| l.1.starts_with('c')).map(|l| (l.0, l.1.as_str(), l.3.as_str())).collect();
        assert_eq!(pushed, [(5, "c1", "\"First\""), (6, "c2", "\"Second\""), (7, "c4", "\"Other\""), (11, "c5", "\"Third\"")]);
        let courses: Vec<_> = fields.iter().filter(|f| f.0 == "r1" || f.0 == "r2").cloned().collect();
        assert_eq!(
            courses,
            [("r1".into(), "title".into(), "\"Third\"".into(), 11), ("r2".into(), "title".into(), "\"Other\"".into(), 7)]
        );
        // The user's other laptop sees every seq once.
        let token_id = storage.create_token(&session.user_id, "dev-a2", "laptop 2", "hash-2").unwrap();
        let laptop = Session { user_id: session.user_id.clone(), device_id: "dev-a2".into(), token_id };
        let page = storage.pull(&laptop, 0, 0, 100, now).unwrap();
        assert_eq!(page.changes.iter().map(|c| c.seq).collect::<Vec<_>>(), seqs);
        assert_eq!((page.cursor, page.has_more, page.remaining), (11, false, 0));
        let page = storage.pull(&laptop, 0, 0, 4, now).unwrap();
        assert_eq!((page.cursor, page.has_more, page.remaining), (4, true, 7));
        // The pushing device gets the server's changes, not its own.
        let page = storage.pull(&session, 0, 0, 100, now).unwrap();
        let others: Vec<i64> = seqs.iter().copied().filter(|s| ![5, 6, 7, 11].contains(s)).collect();
        assert_eq!(page.changes.iter().map(|c| c.seq).collect::<Vec<_>>(), others);
        assert_eq!((page.cursor, page.has_more, page.remaining), (11, false, 0));
        // A small page passes over the device's own changes (5, 6, 7) and
        // still brings the limit of the others'.
        let page = storage.pull(&session, 4, 0, 2, now).unwrap();
        assert_eq!(page.changes.iter().map(|c| c.seq).collect::<Vec<_>>(), [8, 9]);
        assert_eq!((page.cursor, page.has_more, page.remaining), (9, true, 2));
    }

    #[test]
    fn a_refused_push_in_a_group_is_undone_alone() {
        let (_dir, storage, session) = server();
        let now = wall_clock_millis();
        let job = |batch_seq: i64, changes: Vec<WireChange>| {
            let batch = PushRequest { batch_id: format!("b{batch_seq}"), batch_seq, changes };
            (batch_seq as u64, PushJob::checked(&session, batch, now).unwrap())
        };
        let mut meeting = change("m1", "m1", "notes", json!("no circle"), now);
        meeting.table = "meetings".into();
        let jobs = vec![
            job(1, vec![change("c1", "r1", "title", json!("First"), now)]),
            // Refused after a change it would have logged: undone alone.
            job(2, vec![change("c2", "r2", "title", json!("Mine"), now), meeting]),
            job(2, vec![change("c3", "r3", "title", json!("Third"), now)]),
        ];
        let results = storage.push_group(&jobs);
        assert_eq!(results[0].as_ref().unwrap().results[0].seq, Some(5));
        assert_eq!(results[1].as_ref().unwrap_err().status, StatusCode::UNPROCESSABLE_ENTITY);
        // The refused batch's number is free again, and its change unseen.
        assert_eq!(results[2].as_ref().unwrap().results[0].seq, Some(6));
        let (log, _) = state(&storage);
        let pushed: Vec<&str> = log.iter().map(|l| l.1.as_str()).filter(|id| id.starts_with('c')).collect();
        assert_eq!(pushed, ["c1", "c3"]);
    }

    #[test]
    fn a_refused_push_writes_nothing() {
        let (_dir, storage, session) = server();
        let before = state(&storage);
        let now = wall_clock_millis();
        let mut meeting = change("m1", "m1", "notes", json!("no circle"), now);
        meeting.table = "meetings".into();
        let batch = PushRequest {
            batch_id: "b".into(),
            batch_seq: 1,
            changes: vec![change("c1", "r1", "title", json!("Fine"), now), meeting],
        };
        assert!(storage.push(&session, batch, now).is_err());
        assert_eq!(state(&storage), before);
        // Nothing was recorded as seen either: the same change is new later.
        assert_eq!(push(&storage, &session, 1, vec![change("c1", "r1", "title", json!("Fine"), now)]), [(PushOutcome::Applied, Some(5))]);
    }

    #[test]
    fn merging_keeps_the_first_of_two_increasing_lists() {
        assert_eq!(merge_sorted(&[1, 4, 9], &[2, 3, 10, 11], 5), [1, 2, 3, 4, 9]);
        assert_eq!(merge_sorted(&[], &[2, 3], 5), [2, 3]);
        assert_eq!(merge_sorted(&[1, 2], &[], 1), [1]);
    }

    /// Pages over interleaved scopes: every change the user may see but
    /// their own, once, in seq order, with the right count of what remains
    /// (own changes included); nothing else.
    #[test]
    fn pages_over_several_scopes_hold_exactly_the_visible_changes_in_order() {
        let (_dir, storage, alice) = server();
        let bob_id = storage.add_user("b@example.org", "B", "not-a-hash").unwrap();
        let bob_token = storage.create_token(&bob_id, "dev-b", "laptop", "hash-b").unwrap();
        let bob = Session { user_id: bob_id, device_id: "dev-b".into(), token_id: bob_token };
        let now = wall_clock_millis();
        let mut n = 0;
        let mut next = |session: &Session, table: &str, row: &str, batch_seq: i64| {
            n += 1;
            let mut c = change(&format!("{}-{n}", session.device_id), row, "name", json!(format!("v{n}")), now + n);
            c.device_id = session.device_id.clone();
            c.table = table.into();
            if table == "courses" {
                c.field = "title".into();
            }
            let batch = PushRequest { batch_id: format!("{}-{batch_seq}", session.device_id), batch_seq, changes: vec![c] };
            storage.push(session, batch, now).unwrap();
        };
        // Alice's two circles, Bob's one, and everyone's courses, interleaved.
        let script = [
            (&alice, "circles", "a1"),
            (&bob, "circles", "b1"),
            (&alice, "courses", "k1"),
            (&bob, "circles", "b1"),
            (&alice, "circles", "a2"),
            (&bob, "courses", "k2"),
            (&alice, "circles", "a1"),
            (&bob, "circles", "b1"),
            (&alice, "circles", "a2"),
            (&bob, "circles", "b1"),
            (&alice, "courses", "k1"),
        ];
        let (mut a_seq, mut b_seq) = (0, 0);
        for (session, table, row) in script {
            let seq = if session.device_id == "dev-a" { &mut a_seq } else { &mut b_seq };
            *seq += 1;
            next(session, table, row, *seq);
        }
        for (session, hidden) in [(&alice, "b1"), (&bob, "a")] {
            let visible: Vec<(i64, String)> = storage
                .read(|tx| {
                    let mut stmt = tx.prepare("SELECT seq, row_id, device_id FROM changes ORDER BY seq")?;
                    let rows = stmt.query_map([], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
                    })?;
                    Ok(rows.filter_map(|r| r.ok()).filter(|(_, row, _)| !row.starts_with(hidden)).map(|(s, _, d)| (s, d)).collect())
                })
                .unwrap();
            let expected: Vec<i64> =
                visible.iter().filter(|(_, device)| *device != session.device_id).map(|(s, _)| *s).collect();
            assert!(expected.len() > 2 && expected.len() < visible.len());
            for limit in [1, 2, 3, 5, 100] {
                let (mut cursor, mut got) = (0, Vec::new());
                loop {
                    let page = storage.pull(session, cursor, 0, limit, now).unwrap();
                    got.extend(page.changes.iter().map(|c| c.seq));
                    let after = visible.iter().filter(|(s, _)| *s > page.cursor).count();
                    assert_eq!(page.remaining as usize, after, "limit {limit}");
                    cursor = page.cursor;
                    if !page.has_more {
                        break;
                    }
                }
                assert_eq!(got, expected, "{} with pages of {limit}", session.device_id);
            }
        }
    }

}
