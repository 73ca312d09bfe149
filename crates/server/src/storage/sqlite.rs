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

use circles_core::hlc::Hlc;
use circles_core::sync::wire::{PushRequest, ServerChange, WireChange, WireConflict};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use rusqlite_migration::{Migrations, M};

use super::{
    attachments_from_json, attachments_json, each_push, Audit, AuditQuery, AuditRecord, Backend, Channel, ClaimedMail,
    Findings, FinishedDelivery, GroupError, InvitationRecord, JoinDomainRecord, LogSlice, MailOutcome, MailState,
    MailSummary, NewAuditEntry, NewMail, NewToken, OwnChange, PushStart, PushWrites, ResetRecord, Session,
    StorageError, StorageResult, StoredField, TeamMemberInfo, TokenInfo, TokenRecord, Tx, UserInfo, UserRecord,
    AUDIT_ENTRIES_SQL,
};

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

pub struct Sqlite {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Tells the checkpointer that something was committed.
    committed: SyncSender<()>,
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError::Database(e.to_string())
    }
}

/// A SQLite result as a storage result (for `?` into any error above it).
fn db<T>(result: rusqlite::Result<T>) -> StorageResult<T> {
    Ok(result?)
}

/// A token, bound to its account and to a device of that account, with
/// whether it is revoked and its account disabled.
const SESSION_SQL: &str = "SELECT t.user_id, t.device_id, t.id, t.revoked_at IS NOT NULL, u.disabled_at IS NOT NULL,
            coalesce(t.last_used_at, t.created_at)
     FROM tokens t
     JOIN devices d ON d.device_id = t.device_id AND d.user_id = t.user_id
     JOIN users u ON u.id = t.user_id
     WHERE t.token_hash = ?1";

/// The schema's versions, in order (SQLite's `user_version` counts them).
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_initial.sql"),
    include_str!("../../migrations/0002_token_circles.sql"),
    include_str!("../../migrations/0003_devices.sql"),
    include_str!("../../migrations/0004_global_row_creator.sql"),
    include_str!("../../migrations/0005_mail_outbox.sql"),
    include_str!("../../migrations/0006_invitations.sql"),
    include_str!("../../migrations/0007_accounts.sql"),
    include_str!("../../migrations/0008_directory.sql"),
    include_str!("../../migrations/0009_public_slugs.sql"),
    include_str!("../../migrations/0010_scope_index.sql"),
    include_str!("../../migrations/0011_audit_log.sql"),
    include_str!("../../migrations/0012_link_secret.sql"),
    include_str!("../../migrations/0013_sms.sql"),
    include_str!("../../migrations/0014_learner_sends.sql"),
];

/// The schema version this server migrates a SQLite database to.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().copied().map(M::up).collect())
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
    // Freed content is overwritten with zeros, so a value overwritten (an
    // erased learner's, `protocol/erase.rs`) leaves no copy in free space.
    conn.pragma_update(None, "secure_delete", true)?;
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

impl Sqlite {
    pub fn open(path: &Path) -> anyhow::Result<Sqlite> {
        let mut writer = open_connection(path)?;
        // A 5,000-change push dirties a few MB of pages: kept in memory until
        // the commit instead of spilling to the log half-way (default 2 MB).
        writer.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
        migrations().to_latest(&mut writer)?;
        let readers =
            (0..READERS).map(|_| open_connection(path).map(Mutex::new)).collect::<anyhow::Result<Vec<_>>>()?;
        let checkpointer = open_connection(path)?;
        let (committed, receiver) = sync_channel(1);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run_checkpointer(checkpointer, receiver))?;
        Ok(Sqlite { writer: Mutex::new(writer), readers, next_reader: AtomicUsize::new(0), committed })
    }

    /// Plain SQL on a reader, for tests that look at what is stored.
    #[cfg(test)]
    pub(crate) fn read_sql<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
        let conn = self.readers[0].lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }

    fn note_commit(&self) {
        // Full: a checkpoint is already due, which will include this commit.
        if let Err(TrySendError::Disconnected(())) = self.committed.try_send(()) {
            tracing::warn!("the checkpointer has stopped; the writer checkpoints by itself");
        }
    }
}

impl Backend for Sqlite {
    fn health(&self) -> StorageResult<()> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        let conn = self.readers[i].lock().unwrap_or_else(|p| p.into_inner());
        db(conn.query_row("SELECT 1", [], |_| Ok(())))
    }

    fn integrity_check(&self) -> StorageResult<Option<Vec<String>>> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        Ok(Some(super::sqlite_file::integrity_faults(&conn)?))
    }

    fn scrub_freed_pages(&self) -> StorageResult<()> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        // TRUNCATE: copy every page back, then cut the WAL (which still holds
        // the pages as they were) to zero bytes. It waits for readers (the
        // busy handler); one still reading leaves the WAL for the next time.
        let busy: bool = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        if busy {
            return Err(StorageError::Database("the WAL could not be truncated: a reader was still busy".into()));
        }
        Ok(())
    }

    fn session(&self, token_hash: &str) -> StorageResult<Option<TokenRecord>> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        let conn = self.readers[i].lock().unwrap_or_else(|p| p.into_inner());
        let session = conn
            .prepare_cached(SESSION_SQL)?
            .query_row([token_hash], |r| {
                Ok(TokenRecord {
                    session: Session { user_id: r.get(0)?, device_id: r.get(1)?, token_id: r.get(2)? },
                    revoked: r.get(3)?,
                    user_disabled: r.get(4)?,
                    last_active: r.get(5)?,
                })
            })
            .optional()?;
        Ok(session)
    }

    fn read<T, E: From<StorageError>>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        let mut conn = self.readers[i].lock().unwrap_or_else(|p| p.into_inner());
        // One snapshot for the whole read.
        let tx = db(conn.transaction_with_behavior(TransactionBehavior::Deferred))?;
        let out = f(&mut SqliteTx::new(&tx))?;
        db(tx.commit())?;
        Ok(out)
    }

    fn write<T, E: From<StorageError>>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = db(conn.transaction_with_behavior(TransactionBehavior::Immediate))?;
        let out = f(&mut SqliteTx::new(&tx))?;
        db(tx.commit())?;
        self.note_commit();
        Ok(out)
    }

    /// SQLite has one writer: the same as `write`.
    fn write_unordered<T, E: From<StorageError>>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E> {
        self.write(f)
    }

    /// One transaction, each push in a savepoint: a refused push is rolled
    /// back alone. (Each push notes its own token's use, in `write_push`.)
    fn push_group<T, E: GroupError>(
        &self,
        _tokens: &[&str],
        pushes: usize,
        mut attempt: impl FnMut(&mut dyn Tx, usize) -> Result<T, E>,
    ) -> Result<Vec<Result<T, E>>, E> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut tx = db(conn.transaction_with_behavior(TransactionBehavior::Immediate))?;
        if pushes == 1 {
            // Alone: the transaction is its savepoint (a savepoint journals
            // every page it changes).
            return match attempt(&mut SqliteTx::new(&tx), 0) {
                Err(e) if e.is_refusal() => {
                    db(tx.rollback())?;
                    Ok(vec![Err(e)])
                }
                Err(e) => Err(e),
                Ok(out) => {
                    db(tx.commit())?;
                    self.note_commit();
                    Ok(vec![Ok(out)])
                }
            };
        }
        let results = each_push(&mut tx, pushes, |tx, i| {
            let savepoint = db(tx.savepoint())?;
            let result = attempt(&mut SqliteTx::new(&savepoint), i);
            if result.is_ok() {
                db(savepoint.commit())?;
            } // else dropped, which rolls it back
            result
        })?;
        db(tx.commit())?;
        self.note_commit();
        Ok(results)
    }
}

/// A transaction (or savepoint), with what the current push has read.
struct SqliteTx<'c> {
    conn: &'c Connection,
    /// The pushing user.
    user_id: String,
    /// The field states of every row the push looked at, read once per row:
    /// table, row, field.
    rows: HashMap<&'static str, HashMap<String, HashMap<String, StoredField>>>,
}

impl<'c> SqliteTx<'c> {
    fn new(conn: &'c Connection) -> SqliteTx<'c> {
        SqliteTx { conn, user_id: String::new(), rows: HashMap::new() }
    }
}

impl Tx for SqliteTx<'_> {
    fn audit(&mut self, audit: Audit, first: usize) -> StorageResult<Findings> {
        let mut stmt = self.conn.prepare(super::audit::sql(audit))?;
        let rows = stmt
            .query_map([first as i64], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Findings { count: rows.first().map_or(0, |r| r.1), first: rows.into_iter().map(|r| r.0).collect() })
    }

    fn max_seq(&mut self) -> StorageResult<i64> {
        db(self.conn.prepare_cached("SELECT coalesce(max(seq), 0) FROM changes")?.query_row([], |r| r.get(0)))
    }

    fn email_taken(&mut self, email: &str) -> StorageResult<bool> {
        db(self.conn.query_row("SELECT EXISTS(SELECT 1 FROM users WHERE email = ?1)", [email], |r| r.get(0)))
    }

    fn insert_user(&mut self, user: &UserRecord, created_at: &str) -> StorageResult<()> {
        self.conn.execute(
            "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![user.id, user.email, user.name, user.password_hash, created_at],
        )?;
        Ok(())
    }

    fn users(&mut self) -> StorageResult<Vec<UserInfo>> {
        let mut stmt = self.conn.prepare("SELECT id, email, name FROM users ORDER BY email")?;
        let users = stmt
            .query_map([], |r| Ok(UserInfo { id: r.get(0)?, email: r.get(1)?, name: r.get(2)? }))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(users)
    }

    fn user_by_email(&mut self, email: &str) -> StorageResult<Option<UserRecord>> {
        db(self
            .conn
            .query_row(
                "SELECT id, email, name, password_hash, disabled_at IS NOT NULL FROM users WHERE email = ?1",
                [email],
                user_record,
            )
            .optional())
    }

    fn user_by_id(&mut self, id: &str) -> StorageResult<Option<UserRecord>> {
        db(self
            .conn
            .query_row(
                "SELECT id, email, name, password_hash, disabled_at IS NOT NULL FROM users WHERE id = ?1",
                [id],
                user_record,
            )
            .optional())
    }

    fn user_count(&mut self) -> StorageResult<i64> {
        db(self.conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0)))
    }

    fn set_user_disabled(&mut self, user_id: &str, disabled_at: Option<&str>) -> StorageResult<bool> {
        let n = self.conn.execute("UPDATE users SET disabled_at = ?1 WHERE id = ?2", params![disabled_at, user_id])?;
        Ok(n > 0)
    }

    fn set_password_hash(&mut self, user_id: &str, password_hash: &str) -> StorageResult<()> {
        self.conn.execute("UPDATE users SET password_hash = ?1 WHERE id = ?2", params![password_hash, user_id])?;
        Ok(())
    }

    fn revoke_user_tokens(&mut self, user_id: &str, keep: Option<&str>, now: &str) -> StorageResult<usize> {
        Ok(self.conn.execute(
            "UPDATE tokens SET revoked_at = ?1
             WHERE user_id = ?2 AND revoked_at IS NULL AND (?3 IS NULL OR id <> ?3)",
            params![now, user_id, keep],
        )?)
    }

    fn teams_named(&mut self, key: &str) -> StorageResult<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare("SELECT id, name FROM teams WHERE id = ?1 OR name = ?1 ORDER BY id")?;
        let teams = stmt.query_map([key], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(teams)
    }

    fn set_team_member(&mut self, team_id: &str, user_id: &str, role: &str) -> StorageResult<()> {
        self.conn.execute(
            "INSERT INTO team_members (team_id, user_id, role) VALUES (?1, ?2, ?3)
             ON CONFLICT(team_id, user_id) DO UPDATE SET role = excluded.role",
            params![team_id, user_id, role],
        )?;
        Ok(())
    }

    fn remove_team_member(&mut self, team_id: &str, user_id: &str) -> StorageResult<bool> {
        let n = self
            .conn
            .execute("DELETE FROM team_members WHERE team_id = ?1 AND user_id = ?2", params![team_id, user_id])?;
        Ok(n > 0)
    }

    fn team_role(&mut self, team_id: &str, user_id: &str) -> StorageResult<Option<String>> {
        db(self
            .conn
            .prepare_cached("SELECT role FROM team_members WHERE team_id = ?1 AND user_id = ?2")?
            .query_row(params![team_id, user_id], |r| r.get(0))
            .optional())
    }

    fn team_members(&mut self, team_id: &str) -> StorageResult<Vec<TeamMemberInfo>> {
        let mut stmt = self.conn.prepare(
            "SELECT u.id, u.email, u.name, m.role FROM team_members m JOIN users u ON u.id = m.user_id
             WHERE m.team_id = ?1 ORDER BY m.role <> 'organizer', u.email",
        )?;
        let members = stmt
            .query_map([team_id], |r| {
                Ok(TeamMemberInfo { user_id: r.get(0)?, email: r.get(1)?, name: r.get(2)?, role: r.get(3)? })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(members)
    }

    fn insert_team(&mut self, id: &str, name: &str) -> StorageResult<()> {
        self.conn.execute("INSERT INTO teams (id, name) VALUES (?1, ?2)", params![id, name])?;
        Ok(())
    }

    fn team_exists(&mut self, id: &str) -> StorageResult<bool> {
        db(self.conn.query_row("SELECT EXISTS(SELECT 1 FROM teams WHERE id = ?1)", [id], |r| r.get(0)))
    }

    fn rows_with_value(&mut self, table: &str, field: &str, value: &str) -> StorageResult<Vec<String>> {
        let mut stmt =
            self.conn.prepare("SELECT row_id FROM field_state WHERE table_name = ?1 AND field = ?2 AND value = ?3")?;
        let rows = stmt.query_map(params![table, field, value], |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn rows_with_field(&mut self, table: &str, field: &str, except: &str) -> StorageResult<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT row_id, value FROM field_state WHERE table_name = ?1 AND field = ?2 AND value <> ?3
             ORDER BY row_id",
        )?;
        let rows = stmt
            .query_map(params![table, field, except], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn grant(&mut self, circle_id: &str, user_id: &str, granted_seq: i64) -> StorageResult<()> {
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO circle_access (circle_id, user_id, granted_seq) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![circle_id, user_id, granted_seq])?;
        Ok(())
    }

    fn all_team_members(&mut self) -> StorageResult<Vec<(String, String, String)>> {
        let mut stmt =
            self.conn.prepare("SELECT team_id, user_id, role FROM team_members ORDER BY team_id, user_id")?;
        let rows =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn has_access(&mut self, circle_id: &str, user_id: &str) -> StorageResult<bool> {
        db(self
            .conn
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM circle_access WHERE circle_id = ?1 AND user_id = ?2)")?
            .query_row(params![circle_id, user_id], |r| r.get(0)))
    }

    fn live_circle_facilitators(&mut self, circle_id: &str) -> StorageResult<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(super::LIVE_CIRCLE_FACILITATORS_SQL)?;
        let values = stmt.query_map([circle_id], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(super::json_texts(&values))
    }

    fn stored_value(&mut self, table: &str, row_id: &str, field: &str) -> StorageResult<Option<String>> {
        db(self
            .conn
            .prepare_cached("SELECT value FROM field_state WHERE table_name = ?1 AND row_id = ?2 AND field = ?3")?
            .query_row(params![table, row_id, field], |r| r.get(0))
            .optional())
    }

    fn circle_creator(&mut self, circle_id: &str) -> StorageResult<Option<String>> {
        db(self
            .conn
            .prepare_cached(
                "SELECT user_id FROM changes WHERE scope_circle = ?1 AND table_name = 'circles' AND row_id = ?1
                 ORDER BY seq LIMIT 1",
            )?
            .query_row([circle_id], |r| r.get(0))
            .optional())
    }

    fn overwrite_field_history(&mut self, table: &str, row_id: &str, field: &str, value: &str) -> StorageResult<u64> {
        let mut changed = 0;
        for sql in [
            "UPDATE changes SET value = ?4 WHERE table_name = ?1 AND row_id = ?2 AND field = ?3 AND value <> ?4",
            "UPDATE field_state SET value = ?4 WHERE table_name = ?1 AND row_id = ?2 AND field = ?3 AND value <> ?4",
            "UPDATE conflicts SET lost_value = ?4, won_value = ?4
             WHERE table_name = ?1 AND row_id = ?2 AND field = ?3 AND (lost_value <> ?4 OR won_value <> ?4)",
        ] {
            changed += self.conn.execute(sql, params![table, row_id, field, value])? as u64;
        }
        Ok(changed)
    }

    fn revoke_access(&mut self, circle_id: &str, user_id: &str, seq: i64) -> StorageResult<()> {
        self.conn
            .execute("DELETE FROM circle_access WHERE circle_id = ?1 AND user_id = ?2", params![circle_id, user_id])?;
        self.conn.execute(
            "DELETE FROM token_circles WHERE circle_id = ?1 AND token_id IN (SELECT id FROM tokens WHERE user_id = ?2)",
            params![circle_id, user_id],
        )?;
        self.conn.execute(
            "INSERT OR IGNORE INTO access_revocations (user_id, circle_id, seq) VALUES (?1, ?2, ?3)",
            params![user_id, circle_id, seq],
        )?;
        Ok(())
    }

    fn revoked_circles(&mut self, user_id: &str, after: i64) -> StorageResult<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(super::REVOKED_CIRCLES_SQL)?;
        let circles = stmt.query_map(params![user_id, after], |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(circles)
    }

    fn log_own_change(&mut self, c: &OwnChange<'_>) -> StorageResult<()> {
        self.conn.execute(
            "INSERT INTO changes (change_id, table_name, row_id, field, value, hlc, device_id, base_seq, user_id,
                                  scope_circle, received_at, scope_person)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?7, ?9, ?8, ?10)",
            params![
                c.change_id,
                c.table,
                c.row_id,
                c.field,
                c.value,
                c.hlc,
                c.device_id,
                c.received_at,
                c.scope,
                c.person
            ],
        )?;
        let seq = self.conn.last_insert_rowid();
        self.conn.execute(
            "INSERT INTO field_state (table_name, row_id, field, value, hlc, device_id, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(table_name, row_id, field) DO UPDATE
             SET value = excluded.value, hlc = excluded.hlc, device_id = excluded.device_id, seq = excluded.seq",
            params![c.table, c.row_id, c.field, c.value, c.hlc, c.device_id, seq],
        )?;
        match c.scope {
            // A circle's row: scoped there, like a pushed one.
            Some(circle) => self.conn.execute(
                "INSERT OR IGNORE INTO row_scope (table_name, row_id, circle_id) VALUES (?1, ?2, ?3)",
                params![c.table, c.row_id, circle],
            )?,
            // A global row, made by the server.
            None => self.conn.execute(
                "INSERT OR IGNORE INTO row_creator (table_name, row_id, user_id) VALUES (?1, ?2, ?3)",
                params![c.table, c.row_id, c.device_id],
            )?,
        };
        Ok(())
    }

    fn team_name(&mut self, team_id: &str) -> StorageResult<Option<String>> {
        db(self.conn.query_row("SELECT name FROM teams WHERE id = ?1", [team_id], |r| r.get(0)).optional())
    }

    fn insert_invitation(&mut self, i: &InvitationRecord) -> StorageResult<()> {
        self.conn.execute(
            "INSERT INTO invitations (id, team_id, email, circle_id, role, invited_by, token_hash, created_at,
                                      expires_at, used_at, cancelled_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                i.id,
                i.team_id,
                i.email,
                i.circle_id,
                i.role,
                i.invited_by,
                i.token_hash,
                i.created_at,
                i.expires_at,
                i.used_at,
                i.cancelled_at
            ],
        )?;
        Ok(())
    }

    fn invitation(&mut self, id: &str) -> StorageResult<Option<InvitationRecord>> {
        db(self.conn.query_row(&format!("{INVITATION_SQL} WHERE id = ?1"), [id], invitation_row).optional())
    }

    fn invitation_by_token(&mut self, token_hash: &str) -> StorageResult<Option<InvitationRecord>> {
        db(self
            .conn
            .query_row(&format!("{INVITATION_SQL} WHERE token_hash = ?1"), [token_hash], invitation_row)
            .optional())
    }

    fn pending_invitations(&mut self, team_id: &str, now: &str) -> StorageResult<Vec<InvitationRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "{INVITATION_SQL} WHERE team_id = ?1 AND used_at IS NULL AND cancelled_at IS NULL AND expires_at > ?2
             ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map(params![team_id, now], invitation_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn renew_invitation(&mut self, id: &str, token_hash: &str, expires_at: &str) -> StorageResult<()> {
        self.conn.execute(
            "UPDATE invitations SET token_hash = ?1, expires_at = ?2 WHERE id = ?3",
            params![token_hash, expires_at, id],
        )?;
        Ok(())
    }

    fn cancel_invitation(&mut self, id: &str, now: &str) -> StorageResult<()> {
        self.conn.execute(
            "UPDATE invitations SET cancelled_at = coalesce(cancelled_at, ?1) WHERE id = ?2",
            params![now, id],
        )?;
        Ok(())
    }

    fn use_invitation(&mut self, id: &str, user_id: &str, now: &str) -> StorageResult<bool> {
        let n = self.conn.execute(
            "UPDATE invitations SET used_at = ?1, used_by = ?2 WHERE id = ?3 AND used_at IS NULL AND cancelled_at IS NULL",
            params![now, user_id, id],
        )?;
        Ok(n > 0)
    }

    fn set_join_domain(&mut self, d: &JoinDomainRecord, token_hash: &str, now: &str) -> StorageResult<()> {
        self.conn.execute(
            "INSERT INTO team_join_domains (team_id, domain, token_hash, set_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(team_id) DO UPDATE
             SET domain = excluded.domain, token_hash = excluded.token_hash, set_by = excluded.set_by,
                 created_at = excluded.created_at",
            params![d.team_id, d.domain, token_hash, d.set_by, now],
        )?;
        Ok(())
    }

    fn clear_join_domain(&mut self, team_id: &str) -> StorageResult<bool> {
        Ok(self.conn.execute("DELETE FROM team_join_domains WHERE team_id = ?1", [team_id])? > 0)
    }

    fn join_domain_by_token(&mut self, token_hash: &str) -> StorageResult<Option<JoinDomainRecord>> {
        db(self
            .conn
            .query_row(
                "SELECT team_id, domain, set_by FROM team_join_domains WHERE token_hash = ?1",
                [token_hash],
                |r| Ok(JoinDomainRecord { team_id: r.get(0)?, domain: r.get(1)?, set_by: r.get(2)? }),
            )
            .optional())
    }

    fn insert_reset(&mut self, r: &ResetRecord) -> StorageResult<()> {
        self.conn.execute(
            "INSERT INTO password_resets (id, user_id, token_hash, created_at, expires_at, used_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![r.id, r.user_id, r.token_hash, r.created_at, r.expires_at, r.used_at],
        )?;
        Ok(())
    }

    fn reset_by_token(&mut self, token_hash: &str) -> StorageResult<Option<ResetRecord>> {
        db(self
            .conn
            .query_row(
                "SELECT id, user_id, token_hash, created_at, expires_at, used_at FROM password_resets WHERE token_hash = ?1",
                [token_hash],
                |r| {
                    Ok(ResetRecord {
                        id: r.get(0)?,
                        user_id: r.get(1)?,
                        token_hash: r.get(2)?,
                        created_at: r.get(3)?,
                        expires_at: r.get(4)?,
                        used_at: r.get(5)?,
                    })
                },
            )
            .optional())
    }

    fn resets_since(&mut self, user_id: &str, since: &str) -> StorageResult<i64> {
        db(self.conn.query_row(
            "SELECT count(*) FROM password_resets WHERE user_id = ?1 AND created_at > ?2",
            params![user_id, since],
            |r| r.get(0),
        ))
    }

    fn use_reset(&mut self, id: &str, now: &str) -> StorageResult<bool> {
        let n = self
            .conn
            .execute("UPDATE password_resets SET used_at = ?1 WHERE id = ?2 AND used_at IS NULL", params![now, id])?;
        Ok(n > 0)
    }

    fn public_slug(&mut self, kind: &str, target_id: &str) -> StorageResult<Option<String>> {
        db(self
            .conn
            .prepare_cached("SELECT slug FROM public_slugs WHERE kind = ?1 AND target_id = ?2")?
            .query_row(params![kind, target_id], |r| r.get(0))
            .optional())
    }

    fn insert_public_slug(&mut self, slug: &str, kind: &str, target_id: &str, now: &str) -> StorageResult<()> {
        self.conn.execute(
            "INSERT INTO public_slugs (slug, kind, target_id, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (kind, target_id) DO NOTHING",
            params![slug, kind, target_id, now],
        )?;
        Ok(())
    }

    fn slug_target(&mut self, slug: &str) -> StorageResult<Option<(String, String)>> {
        db(self
            .conn
            .prepare_cached("SELECT kind, target_id FROM public_slugs WHERE slug = ?1")?
            .query_row(params![slug], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional())
    }

    fn server_secret(&mut self, name: &str) -> StorageResult<Option<String>> {
        db(self
            .conn
            .prepare_cached("SELECT value FROM server_secrets WHERE name = ?1")?
            .query_row(params![name], |r| r.get(0))
            .optional())
    }

    fn insert_server_secret(&mut self, name: &str, value: &str) -> StorageResult<()> {
        self.conn.execute(
            "INSERT INTO server_secrets (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
            params![name, value],
        )?;
        Ok(())
    }

    fn insert_token(&mut self, t: &NewToken<'_>) -> StorageResult<()> {
        self.conn.execute(
            "INSERT INTO tokens (id, user_id, device_id, device_name, token_hash, created_at, last_used_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![t.id, t.user_id, t.device_id, t.device_name, t.token_hash, t.created_at],
        )?;
        Ok(())
    }

    fn device_owner(&mut self, device_id: &str) -> StorageResult<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT user_id FROM devices WHERE device_id = ?1")?
            .query_row([device_id], |r| r.get(0))
            .optional()?)
    }

    fn bind_device(&mut self, device_id: &str, user_id: &str, created_at: &str) -> StorageResult<()> {
        self.conn.execute(
            "INSERT INTO devices (device_id, user_id, created_at) VALUES (?1, ?2, ?3) ON CONFLICT(device_id) DO NOTHING",
            params![device_id, user_id, created_at],
        )?;
        Ok(())
    }

    fn tokens(&mut self, user_id: Option<&str>) -> StorageResult<Vec<TokenInfo>> {
        let mut stmt = self.conn.prepare(
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
    }

    fn revoke_token(&mut self, token_id: &str, owner: Option<&str>, now: &str) -> StorageResult<bool> {
        let n = self.conn.execute(
            "UPDATE tokens SET revoked_at = coalesce(revoked_at, ?1) WHERE id = ?2 AND (?3 IS NULL OR user_id = ?3)",
            params![now, token_id, owner],
        )?;
        Ok(n > 0)
    }

    fn touch_token(&mut self, token_id: &str, now: &str) -> StorageResult<()> {
        self.conn
            .prepare_cached("UPDATE tokens SET last_used_at = ?1 WHERE id = ?2")?
            .execute(params![now, token_id])?;
        Ok(())
    }

    fn log_audit(&mut self, e: &NewAuditEntry<'_>) -> StorageResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO audit_log (at, event, actor, subject, address, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![e.at, e.event, e.actor, e.subject, e.address, e.detail])?;
        Ok(())
    }

    fn audit_entries(&mut self, q: &AuditQuery) -> StorageResult<Vec<AuditRecord>> {
        let mut stmt = self.conn.prepare_cached(AUDIT_ENTRIES_SQL)?;
        let rows = stmt
            .query_map(params![q.since, q.event, q.limit], |r| {
                Ok(AuditRecord {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    event: r.get(2)?,
                    actor: r.get(3)?,
                    actor_email: r.get(4)?,
                    subject: r.get(5)?,
                    address: r.get(6)?,
                    detail: r.get(7)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn prune_audit(&mut self, before: &str) -> StorageResult<u64> {
        Ok(self.conn.execute("DELETE FROM audit_log WHERE at < ?1", [before])? as u64)
    }

    fn unlisted_circles(&mut self, session: &Session) -> StorageResult<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT circle_id FROM circle_access WHERE user_id = ?1
             EXCEPT SELECT circle_id FROM token_circles WHERE token_id = ?2",
        )?;
        let circles = stmt
            .query_map(params![session.user_id, session.token_id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(circles)
    }

    fn circle_logged_by(&mut self, circle_id: &str, seq: i64) -> StorageResult<bool> {
        db(self.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM changes WHERE scope_circle = ?1 AND seq <= ?2)",
            params![circle_id, seq],
            |r| r.get(0),
        ))
    }

    fn list_circle(&mut self, token_id: &str, circle_id: &str) -> StorageResult<()> {
        self.conn.execute(
            "INSERT OR IGNORE INTO token_circles (token_id, circle_id) VALUES (?1, ?2)",
            params![token_id, circle_id],
        )?;
        Ok(())
    }

    fn contact_drift(&mut self, session: &Session) -> StorageResult<(Vec<String>, Vec<String>)> {
        let mut stmt = self.conn.prepare_cached(super::CONTACT_DRIFT_SQL)?;
        let rows = stmt.query_map(params![session.user_id, session.token_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? == 1))
        })?;
        let (mut new, mut lapsed) = (Vec::new(), Vec::new());
        for row in rows {
            let (person, is_new) = row?;
            if is_new {
                new.push(person)
            } else {
                lapsed.push(person)
            }
        }
        Ok((new, lapsed))
    }

    fn add_contact(&mut self, token_id: &str, person_id: &str, since_seq: i64) -> StorageResult<()> {
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO directory_contacts (token_id, person_id, since_seq) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![token_id, person_id, since_seq])?;
        Ok(())
    }

    fn drop_contact(&mut self, token_id: &str, person_id: &str) -> StorageResult<()> {
        self.conn
            .prepare_cached("DELETE FROM directory_contacts WHERE token_id = ?1 AND person_id = ?2")?
            .execute(params![token_id, person_id])?;
        Ok(())
    }

    fn contact_catch_up(&mut self, session: &Session, cursor: i64) -> StorageResult<Vec<ServerChange>> {
        let mut stmt = self.conn.prepare_cached(super::CONTACT_CATCH_UP_SQL)?;
        let changes = stmt
            .query_map(params![session.token_id, cursor, session.device_id], server_change)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(changes)
    }

    fn device_conflicts(&mut self, session: &Session, after: i64) -> StorageResult<Vec<WireConflict>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, table_name, row_id, field, lost_value, lost_hlc, won_value, won_hlc, won_device
             FROM conflicts
             WHERE lost_device = ?1 AND id > ?2
               AND EXISTS (SELECT 1 FROM devices d WHERE d.device_id = ?1 AND d.user_id = ?3)
             ORDER BY id LIMIT 1000",
        )?;
        let json = |s: String| serde_json::from_str(&s).unwrap_or_default();
        let hlc = |s: String| s.parse().unwrap_or(Hlc::ZERO);
        let conflicts = stmt
            .query_map(params![session.device_id, after, session.user_id], |r| {
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

    fn visible_changes(&mut self, session: &Session, after: i64, limit: usize) -> StorageResult<LogSlice> {
        let seqs = visible_seqs(self.conn, session, after, limit)?;
        let changes = changes_at(self.conn, &seqs, &session.device_id)?;
        Ok(LogSlice { changes, looked_at: seqs.len(), last_seq: seqs.last().copied() })
    }

    fn count_visible(&mut self, session: &Session, after: i64) -> StorageResult<i64> {
        // Passes over covering indexes: everyone's, each circle's, each contact's.
        db(self
            .conn
            .prepare_cached(
                "SELECT (SELECT count(*) FROM changes INDEXED BY changes_everyone
                         WHERE scope_circle IS NULL AND scope_person IS NULL AND seq > ?1)
                      + (SELECT count(*) FROM circle_access a JOIN changes c ON c.scope_circle = a.circle_id
                         WHERE a.user_id = ?2 AND c.seq > ?1)
                      + (SELECT count(*) FROM directory_contacts d JOIN changes c ON c.scope_person = d.person_id
                         WHERE d.token_id = ?3 AND c.seq > ?1)",
            )?
            .query_row(params![after, session.user_id, session.token_id], |r| r.get(0)))
    }

    fn begin_push(&mut self, session: &Session, batch: &PushRequest) -> StorageResult<PushStart> {
        let tx = self.conn;
        self.user_id.clone_from(&session.user_id);
        self.rows.clear();
        let recorded: Option<(String, String)> = tx
            .prepare_cached("SELECT batch_id, response_json FROM push_batches WHERE device_id = ?1 AND batch_seq = ?2")?
            .query_row(params![session.device_id, batch.batch_seq], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let last_batch_seq: i64 = tx
            .prepare_cached("SELECT coalesce(max(batch_seq), 0) FROM push_batches WHERE device_id = ?1")?
            .query_row([&session.device_id], |r| r.get(0))?;
        if recorded.is_some() {
            // A repeat: answered from its record, nothing else is needed.
            return Ok(PushStart { recorded, last_batch_seq, ..PushStart::default() });
        }
        // AUTOINCREMENT hands out one more than the largest seq ever used.
        let next_seq: i64 = tx
            .prepare_cached(
                "SELECT max((SELECT coalesce(max(seq), 0) FROM changes),
                            coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)) + 1",
            )?
            .query_row([], |r| r.get(0))?;
        // Seen before: logged, or recorded as seen but never logged.
        let mut seen = HashSet::new();
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
                seen.insert(id?);
            }
        }
        Ok(PushStart { recorded, last_batch_seq, next_seq, seen })
    }

    fn field(&mut self, table: &'static str, row_id: &str, field: &str) -> StorageResult<Option<StoredField>> {
        let rows = self.rows.entry(table).or_default();
        if !rows.contains_key(row_id) {
            let mut stmt = self.conn.prepare_cached(
                "SELECT field, value, hlc, device_id, seq FROM field_state WHERE table_name = ?1 AND row_id = ?2",
            )?;
            let fields = stmt
                .query_map(params![table, row_id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        StoredField { value: r.get(1)?, hlc: r.get(2)?, device_id: r.get(3)?, seq: r.get(4)? },
                    ))
                })?
                .collect::<rusqlite::Result<HashMap<_, _>>>()?;
            rows.insert(row_id.to_string(), fields);
        }
        Ok(rows[row_id].get(field).cloned())
    }

    fn row_scope(&mut self, table: &str, row_id: &str) -> StorageResult<Option<String>> {
        db(self
            .conn
            .prepare_cached("SELECT circle_id FROM row_scope WHERE table_name = ?1 AND row_id = ?2")?
            .query_row(params![table, row_id], |r| r.get(0))
            .optional())
    }

    fn may_see(&mut self, circle_id: &str) -> StorageResult<bool> {
        db(self
            .conn
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM circle_access WHERE circle_id = ?1 AND user_id = ?2)")?
            .query_row(params![circle_id, self.user_id], |r| r.get(0)))
    }

    fn is_user(&mut self, id: &str) -> StorageResult<bool> {
        db(self.conn.prepare_cached("SELECT EXISTS(SELECT 1 FROM users WHERE id = ?1)")?.query_row([id], |r| r.get(0)))
    }

    fn row_creator(&mut self, table: &str, row_id: &str) -> StorageResult<Option<String>> {
        db(self
            .conn
            .prepare_cached("SELECT user_id FROM row_creator WHERE table_name = ?1 AND row_id = ?2")?
            .query_row(params![table, row_id], |r| r.get(0))
            .optional())
    }

    fn team_organizers(&mut self, team_id: &str) -> StorageResult<Vec<String>> {
        let mut stmt =
            self.conn.prepare_cached("SELECT user_id FROM team_members WHERE team_id = ?1 AND role = 'organizer'")?;
        let users = stmt.query_map([team_id], |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(users)
    }

    /// The push's writes: the few row-by-row ones (conflicts, scopes,
    /// access) then the change ids it saw and its log entries with
    /// multi-row statements, and the field states it moved copied from the
    /// log rows.
    fn write_push(&mut self, w: &PushWrites<'_>) -> StorageResult<()> {
        let tx = self.conn;
        let session = w.session;
        tx.prepare_cached("UPDATE tokens SET last_used_at = ?1 WHERE id = ?2")?
            .execute(params![w.received_at, session.token_id])?;
        for c in &w.conflicts {
            tx.prepare_cached(
                "INSERT INTO conflicts (table_name, row_id, field, lost_value, lost_hlc, lost_device,
                                        won_value, won_hlc, won_device, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                c.table,
                c.row_id,
                c.field,
                c.lost.0,
                c.lost.1,
                c.lost.2,
                c.won.0,
                c.won.1,
                c.won.2,
                w.received_at
            ])?;
        }
        for (table, row_id, circle) in &w.scopes {
            tx.prepare_cached("INSERT OR IGNORE INTO row_scope (table_name, row_id, circle_id) VALUES (?1, ?2, ?3)")?
                .execute(params![table, row_id, circle])?;
        }
        for (circle, user, seq) in &w.grants {
            self.grant(circle, user, *seq)?;
        }
        for (table, row_id) in &w.creators {
            tx.prepare_cached("INSERT OR IGNORE INTO row_creator (table_name, row_id, user_id) VALUES (?1, ?2, ?3)")?
                .execute(params![table, row_id, w.session.user_id])?;
        }
        for chunk in w.seen.chunks(ROWS_PER_INSERT) {
            let sql = multi_row_sql("seen insert", chunk.len(), |n| {
                format!("INSERT INTO seen_changes (change_id) VALUES {}", vec!["(?)"; n].join(", "))
            });
            tx.prepare_cached(sql)?.execute(rusqlite::params_from_iter(chunk))?;
        }
        for chunk in w.logged.chunks(ROWS_PER_INSERT) {
            // ?1, ?2 and ?3 (author, time and device) are the same for the
            // whole push: every bound text is copied by SQLite.
            let sql = multi_row_sql("log insert", chunk.len(), |n| {
                let rows: Vec<String> = (0..n)
                    .map(|i| {
                        let p = 4 + i * 10;
                        let own: Vec<String> = (p..p + 10).map(|q| format!("?{q}")).collect();
                        format!("({}, ?3, {}, ?1, {}, ?2, {})", own[..7].join(", "), own[7], own[8], own[9])
                    })
                    .collect();
                format!(
                    "INSERT INTO changes (seq, change_id, table_name, row_id, field, value, hlc, device_id, base_seq,
                                          user_id, scope_circle, received_at, scope_person)
                     VALUES {}",
                    rows.join(", ")
                )
            });
            let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(3 + chunk.len() * 10);
            values.extend([&session.user_id as &dyn rusqlite::ToSql, &w.received_at, &session.device_id]);
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
                    &l.person,
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
        if let (Some(first), Some(last)) = (w.logged.first(), w.logged.last()) {
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
        tx.prepare_cached(
            "INSERT INTO push_batches (device_id, batch_seq, batch_id, response_json) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![session.device_id, w.batch.batch_seq, w.batch.batch_id, w.record])?;
        Ok(())
    }

    fn enqueue_mail(&mut self, m: &NewMail) -> StorageResult<(String, bool)> {
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO mail_outbox (id, created_at, kind, dedupe_key, to_address, subject, body_text, body_html,
                                      attachments, state, attempts, next_attempt_at, channel, delivery)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', 0, ?10, ?11, ?12)
             ON CONFLICT(dedupe_key) DO NOTHING",
            )?
            .execute(params![
                m.id,
                m.created_at,
                m.kind,
                m.dedupe_key,
                m.to,
                m.subject,
                m.text,
                m.html,
                attachments_json(&m.attachments),
                m.next_attempt_at,
                m.channel.as_str(),
                m.delivery
            ])?;
        if inserted == 1 {
            return Ok((m.id.clone(), true));
        }
        let id = self
            .conn
            .prepare_cached("SELECT id FROM mail_outbox WHERE dedupe_key = ?1")?
            .query_row([&m.dedupe_key], |r| r.get(0))?;
        Ok((id, false))
    }

    fn unlogged_deliveries(&mut self, limit: usize) -> StorageResult<Vec<FinishedDelivery>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, delivery, state, coalesce(sent_at, next_attempt_at), last_error FROM mail_outbox
             WHERE delivery IS NOT NULL AND delivery_logged = 0 AND state IN ('sent', 'failed')
             ORDER BY created_at, id LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                Ok(FinishedDelivery {
                    mail_id: r.get(0)?,
                    delivery: r.get(1)?,
                    sent: r.get::<_, String>(2)? == "sent",
                    at: r.get(3)?,
                    last_error: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn mark_deliveries_logged(&mut self, mail_ids: &[String]) -> StorageResult<()> {
        let mut stmt = self.conn.prepare_cached("UPDATE mail_outbox SET delivery_logged = 1 WHERE id = ?1")?;
        for id in mail_ids {
            stmt.execute([id])?;
        }
        Ok(())
    }

    fn send_done(&mut self, key: &str) -> StorageResult<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM learner_sends WHERE send_key = ?1)")?
            .query_row([key], |r| r.get(0))?)
    }

    fn mark_send_done(&mut self, key: &str, now: &str) -> StorageResult<()> {
        self.conn
            .prepare_cached("INSERT INTO learner_sends (send_key, done_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING")?
            .execute(params![key, now])?;
        Ok(())
    }

    fn claim_mail(
        &mut self,
        channel: Channel,
        owner: &str,
        now: &str,
        lease_until: &str,
        limit: usize,
    ) -> StorageResult<Vec<ClaimedMail>> {
        // One statement in the writer's transaction (BEGIN IMMEDIATE): no
        // other writer, in this process or another, runs between the choice
        // and the claim.
        let mut stmt = self.conn.prepare_cached(
            "UPDATE mail_outbox SET state = 'sending', lease_owner = ?1, lease_until = ?2, attempts = attempts + 1
             WHERE id IN (
                 SELECT id FROM mail_outbox
                 WHERE channel = ?5
                   AND ((state = 'pending' AND next_attempt_at <= ?3) OR (state = 'sending' AND lease_until <= ?3))
                 ORDER BY next_attempt_at, id LIMIT ?4)
             RETURNING id, kind, to_address, subject, body_text, body_html, attachments, attempts, next_attempt_at",
        )?;
        let mut rows = stmt.query(params![owner, lease_until, now, limit as i64, channel.as_str()])?;
        let mut claimed = Vec::new();
        while let Some(r) = rows.next()? {
            let attachments: String = r.get(6)?;
            let due: String = r.get(8)?;
            claimed.push((
                due,
                ClaimedMail {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    to: r.get(2)?,
                    subject: r.get(3)?,
                    text: r.get(4)?,
                    html: r.get(5)?,
                    attachments: attachments_from_json(&attachments)?,
                    attempts: r.get(7)?,
                },
            ));
        }
        // RETURNING gives no order: oldest due first, as chosen.
        claimed.sort_by(|a, b| (&a.0, &a.1.id).cmp(&(&b.0, &b.1.id)));
        Ok(claimed.into_iter().map(|(_, m)| m).collect())
    }

    fn finish_mail(&mut self, id: &str, owner: &str, outcome: &MailOutcome) -> StorageResult<bool> {
        let n = match outcome {
            MailOutcome::Sent { at, provider_id } => self
                .conn
                .prepare_cached(
                    "UPDATE mail_outbox SET state = 'sent', sent_at = ?2, provider_id = ?3, lease_owner = NULL,
                            lease_until = NULL
                     WHERE id = ?1 AND state <> 'sent'",
                )?
                .execute(params![id, at, provider_id])?,
            MailOutcome::Retry { next_attempt_at, error } => self
                .conn
                .prepare_cached(
                    "UPDATE mail_outbox SET state = 'pending', next_attempt_at = ?3, last_error = ?4,
                            lease_owner = NULL, lease_until = NULL
                     WHERE id = ?1 AND lease_owner = ?2 AND state = 'sending'",
                )?
                .execute(params![id, owner, next_attempt_at, error])?,
            MailOutcome::Failed { error } => self
                .conn
                .prepare_cached(
                    "UPDATE mail_outbox SET state = 'failed', last_error = ?3, lease_owner = NULL, lease_until = NULL
                     WHERE id = ?1 AND lease_owner = ?2 AND state = 'sending'",
                )?
                .execute(params![id, owner, error])?,
            MailOutcome::Released => self
                .conn
                .prepare_cached(
                    "UPDATE mail_outbox SET state = 'pending', attempts = max(attempts - 1, 0),
                            lease_owner = NULL, lease_until = NULL
                     WHERE id = ?1 AND lease_owner = ?2 AND state = 'sending'",
                )?
                .execute(params![id, owner])?,
        };
        Ok(n > 0)
    }

    fn mail_summaries(&mut self, state: Option<MailState>, limit: usize) -> StorageResult<Vec<MailSummary>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, created_at, kind, to_address, subject, state, attempts, next_attempt_at, last_error, sent_at,
                    channel, provider_id
             FROM mail_outbox WHERE ?1 IS NULL OR state = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![state.map(MailState::as_str), limit as i64], |r| {
                let state: String = r.get(5)?;
                let channel: String = r.get(10)?;
                Ok(MailSummary {
                    id: r.get(0)?,
                    created_at: r.get(1)?,
                    channel: Channel::parse(&channel).unwrap_or(Channel::Email),
                    kind: r.get(2)?,
                    to: r.get(3)?,
                    subject: r.get(4)?,
                    state: MailState::parse(&state).unwrap_or(MailState::Failed),
                    attempts: r.get(6)?,
                    next_attempt_at: r.get(7)?,
                    last_error: r.get(8)?,
                    sent_at: r.get(9)?,
                    provider_id: r.get(11)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn mail_state(&mut self, id: &str) -> StorageResult<Option<MailState>> {
        let state: Option<String> = self
            .conn
            .prepare_cached("SELECT state FROM mail_outbox WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        Ok(state.and_then(|s| MailState::parse(&s)))
    }

    fn requeue_mail(&mut self, id: &str, now: &str) -> StorageResult<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE mail_outbox SET state = 'pending', attempts = 0, next_attempt_at = ?2
                 WHERE id = ?1 AND state = 'failed'",
            )?
            .execute(params![id, now])?;
        Ok(n > 0)
    }
}

/// The seqs of the first `limit` changes after `cursor` the user may see, in
/// order: the first `limit` of each scope they see (everyone's rows, each
/// of their circles, each of their contacts), read from the scope indexes in seq order and
/// merged. Each page so costs about what it returns, whether the user sees
/// the whole log or a sliver of it. (Asking SQLite for all of it in one
/// query gathers and sorts every visible change after the cursor, on every
/// page; walking the log in seq order reads everyone else's changes too.)
fn visible_seqs(tx: &Connection, session: &Session, cursor: i64, limit: usize) -> rusqlite::Result<Vec<i64>> {
    let mut seqs: Vec<i64> = tx
        .prepare_cached(
            // The partial index holds exactly these seqs (the planner,
            // without statistics, would read the rows to test scope_person).
            "SELECT seq FROM changes INDEXED BY changes_everyone
             WHERE scope_circle IS NULL AND scope_person IS NULL AND seq > ?1 ORDER BY seq LIMIT ?2",
        )?
        .query_map(params![cursor, limit as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    // Circles are the user's; contacts the token's (its own stream).
    let scopes = [
        (
            &session.user_id,
            "SELECT circle_id FROM circle_access WHERE user_id = ?1",
            "SELECT seq FROM changes WHERE scope_circle = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq LIMIT ?4",
        ),
        (
            &session.token_id,
            "SELECT person_id FROM directory_contacts WHERE token_id = ?1",
            "SELECT seq FROM changes WHERE scope_person = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq LIMIT ?4",
        ),
    ];
    for (owner, list, changes_of) in scopes {
        let keys: Vec<String> =
            tx.prepare_cached(list)?.query_map([owner], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        let mut changes_of = tx.prepare_cached(changes_of)?;
        for key in keys {
            // Beyond the limit-th seq found so far, nothing can make the page.
            let bound = if seqs.len() >= limit { seqs[limit - 1] } else { i64::MAX };
            let more: Vec<i64> = changes_of
                .query_map(params![key, cursor, bound, limit as i64], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            if !more.is_empty() {
                seqs = merge_sorted(&seqs, &more, limit);
            }
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

fn user_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord { id: r.get(0)?, email: r.get(1)?, name: r.get(2)?, password_hash: r.get(3)?, disabled: r.get(4)? })
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

const INVITATION_SQL: &str =
    "SELECT id, team_id, email, circle_id, role, invited_by, token_hash, created_at, expires_at,
                                     used_at, cancelled_at FROM invitations";

fn invitation_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<InvitationRecord> {
    Ok(InvitationRecord {
        id: r.get(0)?,
        team_id: r.get(1)?,
        email: r.get(2)?,
        circle_id: r.get(3)?,
        role: r.get(4)?,
        invited_by: r.get(5)?,
        token_hash: r.get(6)?,
        created_at: r.get(7)?,
        expires_at: r.get(8)?,
        used_at: r.get(9)?,
        cancelled_at: r.get(10)?,
    })
}

#[cfg(test)]
#[path = "sqlite_tests.rs"]
mod tests;
