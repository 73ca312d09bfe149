//! The PostgreSQL backend: any number of server processes on one database.
//!
//! **Gap safety.** Every writing transaction first takes one server-wide
//! advisory transaction lock (`pg_advisory_xact_lock(WRITE_LOCK)`), held
//! until it commits, and assigns seqs as `max(seq) + 1` under it. Writers on
//! all servers are therefore serialized exactly like SQLite's `BEGIN
//! IMMEDIATE`: commit order is seq order, and a reader's snapshot never
//! holds seq N+1 without N, however transactions on different servers
//! interleave. (PostgreSQL releases a transaction's locks only after its
//! commit is visible, so the next writer always sees it.) Reads are
//! `REPEATABLE READ READ ONLY` snapshots and take no lock.
//!
//! **Few round trips.** Holding one lock per push makes the push's length
//! the limit of the whole cluster's write rate, so a push is done in a fixed
//! number of statements whatever its size: the state it needs is fetched in
//! bulk (`= ANY`, `unnest`), the merge runs in memory over that state (the
//! rules in `protocol/`), and the effects
//! are written back in bulk. And pushes are group-committed: those that
//! arrive while a process is writing wait, then one of them writes them all
//! in one transaction (one lock acquisition, one commit and fsync) and each
//! gets its own answer once that commit is done.
//!
//! Migrations run at start-up under another advisory lock, so servers that
//! start together migrate once.

use std::collections::{HashMap, HashSet};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use circles_core::hlc::Hlc;
use circles_core::schema::{self, FieldKind, Scope};
use circles_core::sync::wire::{PushRequest, ServerChange, WireChange, WireConflict};
use postgres::types::ToSql;
use postgres::{Client, IsolationLevel, NoTls, Row, Statement, Transaction};

use super::{
    attachments_from_json, attachments_json, each_push, Audit, AuditQuery, AuditRecord, Backend, Channel, ClaimedMail,
    Findings, FinishedDelivery, GroupError, InvitationRecord, JoinDomainRecord, LogSlice, MailOutcome, MailState,
    MailSummary, NewAuditEntry, NewMail, NewToken, OwnChange, PushStart, PushWrites, ResetRecord, Session,
    StorageError, StorageResult, StoredField, TeamMemberInfo, TokenInfo, TokenRecord, Tx, UserInfo, UserRecord,
    AUDIT_ENTRIES_SQL,
};
use crate::common::now_text;

/// The advisory lock every writing transaction holds until it commits.
pub const WRITE_LOCK: i64 = 0x4369_7263_6c65_7301;
/// The advisory lock held while migrating the schema.
pub const MIGRATION_LOCK: i64 = 0x4369_7263_6c65_7302;

/// Schema versions, append-only.
pub const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../../migrations-pg/0001_initial.sql")),
    (2, include_str!("../../migrations-pg/0002_devices.sql")),
    (3, include_str!("../../migrations-pg/0003_global_row_creator.sql")),
    (4, include_str!("../../migrations-pg/0004_mail_outbox.sql")),
    (5, include_str!("../../migrations-pg/0005_invitations.sql")),
    (6, include_str!("../../migrations-pg/0006_accounts.sql")),
    (7, include_str!("../../migrations-pg/0007_directory.sql")),
    (8, include_str!("../../migrations-pg/0008_public_slugs.sql")),
    (9, include_str!("../../migrations-pg/0009_scope_index.sql")),
    (10, include_str!("../../migrations-pg/0010_audit_log.sql")),
    (11, include_str!("../../migrations-pg/0011_link_secret.sql")),
    (12, include_str!("../../migrations-pg/0012_sms.sql")),
    (13, include_str!("../../migrations-pg/0013_learner_sends.sql")),
];

/// Connections per server process (CIRCLES_PG_POOL overrides).
const DEFAULT_POOL: usize = 16;

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl From<postgres::Error> for StorageError {
    fn from(e: postgres::Error) -> Self {
        StorageError::Database(e.to_string())
    }
}

/// A PostgreSQL result as a storage result (for `?` into any error above it).
fn db<T>(result: Result<T, postgres::Error>) -> StorageResult<T> {
    Ok(result?)
}

/// Whether a database address names PostgreSQL.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// Whether a PostgreSQL URL reads as connection settings (why not, if not).
pub fn check_url(url: &str) -> Result<(), String> {
    url.parse::<postgres::Config>().map(|_| ()).map_err(|e| e.to_string())
}

struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

struct PoolState {
    idle: Vec<Conn>,
    open: usize,
}

/// A small blocking pool: connections are made on demand up to `max`;
/// a broken one is dropped when returned.
struct Pool {
    config: postgres::Config,
    max: usize,
    state: Mutex<PoolState>,
    returned: Condvar,
}

struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
}

impl Pool {
    fn get(&self) -> StorageResult<Pooled<'_>> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(Pooled { pool: self, conn: Some(conn) });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match self.config.connect(NoTls) {
                    Ok(client) => Ok(Pooled { pool: self, conn: Some(Conn { client, statements: HashMap::new() }) }),
                    Err(e) => {
                        self.state.lock().unwrap_or_else(|p| p.into_inner()).open -= 1;
                        self.returned.notify_one();
                        Err(StorageError::Unavailable(e.to_string()))
                    }
                };
            }
            state = self.returned.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        let mut state = self.pool.state.lock().unwrap_or_else(|p| p.into_inner());
        if conn.client.is_closed() {
            state.open -= 1;
        } else {
            state.idle.push(conn);
        }
        drop(state);
        self.pool.returned.notify_one();
    }
}

/// A transaction with a per-connection cache of prepared statements.
struct PgTx<'a> {
    tx: Transaction<'a>,
    statements: &'a mut HashMap<&'static str, Statement>,
    /// What the current push has read.
    push: PushCache,
}

impl<'a> PgTx<'a> {
    fn new(tx: Transaction<'a>, statements: &'a mut HashMap<&'static str, Statement>) -> PgTx<'a> {
        PgTx { tx, statements, push: PushCache::default() }
    }

    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    fn query(&mut self, sql: &'static str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.query(&s, params)
    }

    fn query_opt(&mut self, sql: &'static str, params: Params<'_>) -> Result<Option<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.query_opt(&s, params)
    }

    fn query_one(&mut self, sql: &'static str, params: Params<'_>) -> Result<Row, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.query_one(&s, params)
    }

    fn execute(&mut self, sql: &'static str, params: Params<'_>) -> Result<u64, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.execute(&s, params)
    }

    fn max_seq(&mut self) -> Result<i64, postgres::Error> {
        Ok(self.query_one("SELECT coalesce(max(seq), 0)::bigint FROM changes", &[])?.get(0))
    }
}

pub struct Postgres {
    pool: Pool,
}

/// Connect once, for admin work (migrations, `migrate-db`).
pub fn connect(url: &str) -> anyhow::Result<Client> {
    let mut config: postgres::Config = url.parse()?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    Ok(config.connect(NoTls)?)
}

/// Bring the schema to the latest version. Several servers may start at
/// once: the first one to take the lock migrates, the others then find
/// nothing left to do.
pub fn migrate(client: &mut Client) -> anyhow::Result<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS circles_schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    )?;
    let current: i32 = tx.query_one("SELECT coalesce(max(version), 0) FROM circles_schema_migrations", &[])?.get(0);
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > latest {
        anyhow::bail!(
            "the database has schema version {current}, newer than this circles-server knows ({latest}): update circles-server"
        );
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO circles_schema_migrations (version, applied_at) VALUES ($1, $2)",
            &[version, &now_text()],
        )?;
        tracing::info!(version, "migrated the PostgreSQL schema");
    }
    tx.commit()?;
    Ok(())
}

impl Postgres {
    /// Connect, migrate, and keep a pool of connections.
    pub fn open(url: &str) -> anyhow::Result<Postgres> {
        let mut config: postgres::Config = url.parse()?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let mut first = config.connect(NoTls)?;
        migrate(&mut first)?;
        let max = std::env::var("CIRCLES_PG_POOL")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_POOL);
        let pool = Pool {
            config,
            max,
            state: Mutex::new(PoolState { idle: vec![Conn { client: first, statements: HashMap::new() }], open: 1 }),
            returned: Condvar::new(),
        };
        Ok(Postgres { pool })
    }

    /// A writing transaction serialized with every other writer on every
    /// server by the write lock, held until commit. `before` runs in the same
    /// transaction before the lock is taken (for work that needs no
    /// ordering), `f` under it.
    fn write_after<T, E: From<StorageError>>(
        &self,
        before: impl FnOnce(&mut PgTx<'_>) -> StorageResult<()>,
        f: impl FnOnce(&mut PgTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut pooled = self.pool.get()?;
        let Conn { client, statements } = pooled.conn.as_mut().expect("pooled connection");
        let tx = db(client.build_transaction().isolation_level(IsolationLevel::ReadCommitted).start())?;
        let mut tx = PgTx::new(tx, statements);
        before(&mut tx)?;
        db(tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK]))?;
        let out = f(&mut tx)?;
        db(tx.tx.commit())?;
        Ok(out)
    }
}

impl Backend for Postgres {
    fn health(&self) -> StorageResult<()> {
        let mut pooled = self.pool.get()?;
        let Conn { client, .. } = pooled.conn.as_mut().expect("pooled connection");
        client.query_one("SELECT 1", &[])?;
        Ok(())
    }

    /// The overwritten rows are what a query sees; the dead versions of them
    /// stay in the table files until autovacuum reuses their space
    /// (docs/privacy.md says so), which no SQL can read.
    fn scrub_freed_pages(&self) -> StorageResult<()> {
        Ok(())
    }

    /// PostgreSQL checks its pages as it reads them (and `amcheck` is an
    /// extension a role may not have): none to run here.
    fn integrity_check(&self) -> StorageResult<Option<Vec<String>>> {
        Ok(None)
    }

    fn session(&self, token_hash: &str) -> StorageResult<Option<TokenRecord>> {
        // Every authenticated request asks: one statement, no transaction.
        // A token, bound to its account and to a device of that account,
        // with whether it is revoked and its account disabled.
        const SQL: &str = "SELECT t.user_id, t.device_id, t.id, t.revoked_at IS NOT NULL, u.disabled_at IS NOT NULL,
                    coalesce(t.last_used_at, t.created_at)
             FROM tokens t
             JOIN devices d ON d.device_id = t.device_id AND d.user_id = t.user_id
             JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = $1";
        let mut pooled = self.pool.get()?;
        let Conn { client, statements } = pooled.conn.as_mut().expect("pooled connection");
        let statement = match statements.get(SQL) {
            Some(s) => s.clone(),
            None => {
                let s = client.prepare(SQL)?;
                statements.insert(SQL, s.clone());
                s
            }
        };
        Ok(client.query_opt(&statement, &[&token_hash])?.map(|r| TokenRecord {
            session: Session { user_id: r.get(0), device_id: r.get(1), token_id: r.get(2) },
            revoked: r.get(3),
            user_disabled: r.get(4),
            last_active: r.get(5),
        }))
    }

    /// A read from one snapshot.
    fn read<T, E: From<StorageError>>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E> {
        let mut pooled = self.pool.get()?;
        let Conn { client, statements } = pooled.conn.as_mut().expect("pooled connection");
        let tx =
            db(client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start())?;
        let mut tx = PgTx::new(tx, statements);
        let out = f(&mut tx)?;
        db(tx.tx.commit())?;
        Ok(out)
    }

    fn write<T, E: From<StorageError>>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E> {
        self.write_after(|_| Ok(()), |tx| f(tx))
    }

    /// No write lock: a push updates its token's row before taking the lock,
    /// so taking them in the other order here could deadlock.
    fn write_unordered<T, E: From<StorageError>>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E> {
        let mut pooled = self.pool.get()?;
        let Conn { client, statements } = pooled.conn.as_mut().expect("pooled connection");
        let mut tx = PgTx::new(db(client.transaction())?, statements);
        let out = f(&mut tx)?;
        db(tx.tx.commit())?;
        Ok(out)
    }

    /// One transaction, the pushes in order, each seeing the ones before it.
    /// A refused push wrote nothing (a push only writes in `write_push`), so
    /// it is simply answered with its error.
    fn push_group<T, E: GroupError>(
        &self,
        tokens: &[&str],
        pushes: usize,
        mut attempt: impl FnMut(&mut dyn Tx, usize) -> Result<T, E>,
    ) -> Result<Vec<Result<T, E>>, E> {
        self.write_after(
            |tx| {
                // Before the lock: it touches no seq. Undone with the group.
                tx.execute("UPDATE tokens SET last_used_at = $1 WHERE id = ANY($2)", &[&now_text(), &tokens])?;
                Ok(())
            },
            |tx| each_push(tx, pushes, |tx: &mut PgTx<'_>, i| attempt(tx, i)),
        )
    }
}

type FieldKey = (String, String, String);

/// What a push has read, in bulk up front or on a miss.
#[derive(Default)]
struct PushCache {
    /// Circles the pushing user may see.
    access: HashSet<String>,
    scope: HashMap<(String, String), Option<String>>,
    fields: HashMap<FieldKey, Option<StoredField>>,
    users: HashMap<String, bool>,
}

impl Tx for PgTx<'_> {
    fn audit(&mut self, audit: Audit, first: usize) -> StorageResult<Findings> {
        let rows = self.query(super::audit::sql(audit), &[&(first as i64)])?;
        Ok(Findings { count: rows.first().map_or(0, |r| r.get(1)), first: rows.iter().map(|r| r.get(0)).collect() })
    }

    fn max_seq(&mut self) -> StorageResult<i64> {
        Ok(self.query_one("SELECT coalesce(max(seq), 0)::bigint FROM changes", &[])?.get(0))
    }

    fn email_taken(&mut self, email: &str) -> StorageResult<bool> {
        Ok(self.query_one("SELECT EXISTS(SELECT 1 FROM users WHERE email = $1)", &[&email])?.get(0))
    }

    fn insert_user(&mut self, user: &UserRecord, created_at: &str) -> StorageResult<()> {
        self.execute(
            "INSERT INTO users (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[&user.id, &user.email, &user.name, &user.password_hash, &created_at],
        )?;
        Ok(())
    }

    fn users(&mut self) -> StorageResult<Vec<UserInfo>> {
        Ok(self
            .query("SELECT id, email, name FROM users ORDER BY email", &[])?
            .iter()
            .map(|r| UserInfo { id: r.get(0), email: r.get(1), name: r.get(2) })
            .collect())
    }

    fn user_by_email(&mut self, email: &str) -> StorageResult<Option<UserRecord>> {
        Ok(self
            .query_opt(
                "SELECT id, email, name, password_hash, disabled_at IS NOT NULL FROM users WHERE email = $1",
                &[&email],
            )?
            .map(|r| user_record(&r)))
    }

    fn user_by_id(&mut self, id: &str) -> StorageResult<Option<UserRecord>> {
        Ok(self
            .query_opt(
                "SELECT id, email, name, password_hash, disabled_at IS NOT NULL FROM users WHERE id = $1",
                &[&id],
            )?
            .map(|r| user_record(&r)))
    }

    fn user_count(&mut self) -> StorageResult<i64> {
        Ok(self.query_one("SELECT count(*) FROM users", &[])?.get(0))
    }

    fn set_user_disabled(&mut self, user_id: &str, disabled_at: Option<&str>) -> StorageResult<bool> {
        Ok(self.execute("UPDATE users SET disabled_at = $1 WHERE id = $2", &[&disabled_at, &user_id])? > 0)
    }

    fn set_password_hash(&mut self, user_id: &str, password_hash: &str) -> StorageResult<()> {
        self.execute("UPDATE users SET password_hash = $1 WHERE id = $2", &[&password_hash, &user_id])?;
        Ok(())
    }

    fn revoke_user_tokens(&mut self, user_id: &str, keep: Option<&str>, now: &str) -> StorageResult<usize> {
        Ok(self.execute(
            "UPDATE tokens SET revoked_at = $1
             WHERE user_id = $2 AND revoked_at IS NULL AND ($3::text IS NULL OR id <> $3::text)",
            &[&now, &user_id, &keep],
        )? as usize)
    }

    fn teams_named(&mut self, key: &str) -> StorageResult<Vec<(String, String)>> {
        Ok(self
            .query("SELECT id, name FROM teams WHERE id = $1 OR name = $1 ORDER BY id", &[&key])?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn set_team_member(&mut self, team_id: &str, user_id: &str, role: &str) -> StorageResult<()> {
        self.execute(
            "INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, $3)
             ON CONFLICT (team_id, user_id) DO UPDATE SET role = excluded.role",
            &[&team_id, &user_id, &role],
        )?;
        Ok(())
    }

    fn remove_team_member(&mut self, team_id: &str, user_id: &str) -> StorageResult<bool> {
        Ok(self.execute("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2", &[&team_id, &user_id])? > 0)
    }

    fn team_role(&mut self, team_id: &str, user_id: &str) -> StorageResult<Option<String>> {
        Ok(self
            .query_opt("SELECT role FROM team_members WHERE team_id = $1 AND user_id = $2", &[&team_id, &user_id])?
            .map(|r| r.get(0)))
    }

    fn team_members(&mut self, team_id: &str) -> StorageResult<Vec<TeamMemberInfo>> {
        Ok(self
            .query(
                "SELECT u.id, u.email, u.name, m.role FROM team_members m JOIN users u ON u.id = m.user_id
                 WHERE m.team_id = $1 ORDER BY m.role <> 'organizer', u.email COLLATE \"C\"",
                &[&team_id],
            )?
            .iter()
            .map(|r| TeamMemberInfo { user_id: r.get(0), email: r.get(1), name: r.get(2), role: r.get(3) })
            .collect())
    }

    fn insert_team(&mut self, id: &str, name: &str) -> StorageResult<()> {
        self.execute("INSERT INTO teams (id, name) VALUES ($1, $2)", &[&id, &name])?;
        Ok(())
    }

    fn team_exists(&mut self, id: &str) -> StorageResult<bool> {
        Ok(self.query_one("SELECT EXISTS(SELECT 1 FROM teams WHERE id = $1)", &[&id])?.get(0))
    }

    fn rows_with_value(&mut self, table: &str, field: &str, value: &str) -> StorageResult<Vec<String>> {
        Ok(self
            .query(
                "SELECT row_id FROM field_state WHERE table_name = $1 AND field = $2 AND value = $3",
                &[&table, &field, &value],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn rows_with_field(&mut self, table: &str, field: &str, except: &str) -> StorageResult<Vec<(String, String)>> {
        Ok(self
            .query(
                "SELECT row_id, value FROM field_state WHERE table_name = $1 AND field = $2 AND value <> $3
                 ORDER BY row_id",
                &[&table, &field, &except],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn grant(&mut self, circle_id: &str, user_id: &str, granted_seq: i64) -> StorageResult<()> {
        self.execute(
            "INSERT INTO circle_access (circle_id, user_id, granted_seq) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&circle_id, &user_id, &granted_seq],
        )?;
        Ok(())
    }

    fn all_team_members(&mut self) -> StorageResult<Vec<(String, String, String)>> {
        Ok(self
            .query("SELECT team_id, user_id, role FROM team_members ORDER BY team_id, user_id", &[])?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    fn has_access(&mut self, circle_id: &str, user_id: &str) -> StorageResult<bool> {
        Ok(self
            .query_one(
                "SELECT EXISTS(SELECT 1 FROM circle_access WHERE circle_id = $1 AND user_id = $2)",
                &[&circle_id, &user_id],
            )?
            .get(0))
    }

    fn live_circle_facilitators(&mut self, circle_id: &str) -> StorageResult<Vec<String>> {
        let values: Vec<String> =
            self.query(super::LIVE_CIRCLE_FACILITATORS_SQL, &[&circle_id])?.iter().map(|r| r.get(0)).collect();
        Ok(super::json_texts(&values))
    }

    fn stored_value(&mut self, table: &str, row_id: &str, field: &str) -> StorageResult<Option<String>> {
        Ok(self
            .query_opt(
                "SELECT value FROM field_state WHERE table_name = $1 AND row_id = $2 AND field = $3",
                &[&table, &row_id, &field],
            )?
            .map(|r| r.get(0)))
    }

    fn circle_creator(&mut self, circle_id: &str) -> StorageResult<Option<String>> {
        Ok(self
            .query_opt(
                "SELECT user_id FROM changes WHERE scope_circle = $1 AND table_name = 'circles' AND row_id = $1
                 ORDER BY seq LIMIT 1",
                &[&circle_id],
            )?
            .map(|r| r.get(0)))
    }

    fn overwrite_field_history(&mut self, table: &str, row_id: &str, field: &str, value: &str) -> StorageResult<u64> {
        let mut changed = 0;
        for sql in [
            "UPDATE changes SET value = $4 WHERE table_name = $1 AND row_id = $2 AND field = $3 AND value <> $4",
            "UPDATE field_state SET value = $4 WHERE table_name = $1 AND row_id = $2 AND field = $3 AND value <> $4",
            "UPDATE conflicts SET lost_value = $4, won_value = $4
             WHERE table_name = $1 AND row_id = $2 AND field = $3 AND (lost_value <> $4 OR won_value <> $4)",
        ] {
            changed += self.execute(sql, &[&table, &row_id, &field, &value])?;
        }
        Ok(changed)
    }

    fn revoke_access(&mut self, circle_id: &str, user_id: &str, seq: i64) -> StorageResult<()> {
        self.execute("DELETE FROM circle_access WHERE circle_id = $1 AND user_id = $2", &[&circle_id, &user_id])?;
        self.execute(
            "DELETE FROM token_circles WHERE circle_id = $1 AND token_id IN (SELECT id FROM tokens WHERE user_id = $2)",
            &[&circle_id, &user_id],
        )?;
        self.execute(
            "INSERT INTO access_revocations (user_id, circle_id, seq) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&user_id, &circle_id, &seq],
        )?;
        Ok(())
    }

    fn revoked_circles(&mut self, user_id: &str, after: i64) -> StorageResult<Vec<String>> {
        Ok(self.query(super::REVOKED_CIRCLES_SQL, &[&user_id, &after])?.iter().map(|r| r.get(0)).collect())
    }

    fn log_own_change(&mut self, c: &OwnChange<'_>) -> StorageResult<()> {
        let seq = self.max_seq()? + 1;
        self.execute(
            "INSERT INTO changes (seq, change_id, table_name, row_id, field, value, hlc, device_id, base_seq, user_id,
                                  scope_circle, received_at, scope_person)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $8, $10, $9, $11)",
            &[
                &seq,
                &c.change_id,
                &c.table,
                &c.row_id,
                &c.field,
                &c.value,
                &c.hlc,
                &c.device_id,
                &c.received_at,
                &c.scope,
                &c.person,
            ],
        )?;
        self.execute(
            "INSERT INTO field_state (table_name, row_id, field, value, hlc, device_id, seq) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (table_name, row_id, field) DO UPDATE
             SET value = excluded.value, hlc = excluded.hlc, device_id = excluded.device_id, seq = excluded.seq",
            &[&c.table, &c.row_id, &c.field, &c.value, &c.hlc, &c.device_id, &seq],
        )?;
        match c.scope {
            // A circle's row: scoped there, like a pushed one.
            Some(circle) => self.execute(
                "INSERT INTO row_scope (table_name, row_id, circle_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&c.table, &c.row_id, &circle],
            )?,
            // A global row, made by the server.
            None => self.execute(
                "INSERT INTO row_creator (table_name, row_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&c.table, &c.row_id, &c.device_id],
            )?,
        };
        Ok(())
    }

    fn team_name(&mut self, team_id: &str) -> StorageResult<Option<String>> {
        Ok(self.query_opt("SELECT name FROM teams WHERE id = $1", &[&team_id])?.map(|r| r.get(0)))
    }

    fn insert_invitation(&mut self, i: &InvitationRecord) -> StorageResult<()> {
        self.execute(
            "INSERT INTO invitations (id, team_id, email, circle_id, role, invited_by, token_hash, created_at,
                                      expires_at, used_at, cancelled_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &i.id,
                &i.team_id,
                &i.email,
                &i.circle_id,
                &i.role,
                &i.invited_by,
                &i.token_hash,
                &i.created_at,
                &i.expires_at,
                &i.used_at,
                &i.cancelled_at,
            ],
        )?;
        Ok(())
    }

    fn invitation(&mut self, id: &str) -> StorageResult<Option<InvitationRecord>> {
        Ok(self
            .query_opt(
                "SELECT id, team_id, email, circle_id, role, invited_by, token_hash, created_at, expires_at, used_at,
                        cancelled_at FROM invitations WHERE id = $1",
                &[&id],
            )?
            .map(|r| invitation_row(&r)))
    }

    fn invitation_by_token(&mut self, token_hash: &str) -> StorageResult<Option<InvitationRecord>> {
        Ok(self
            .query_opt(
                "SELECT id, team_id, email, circle_id, role, invited_by, token_hash, created_at, expires_at, used_at,
                        cancelled_at FROM invitations WHERE token_hash = $1",
                &[&token_hash],
            )?
            .map(|r| invitation_row(&r)))
    }

    fn pending_invitations(&mut self, team_id: &str, now: &str) -> StorageResult<Vec<InvitationRecord>> {
        Ok(self
            .query(
                "SELECT id, team_id, email, circle_id, role, invited_by, token_hash, created_at, expires_at, used_at,
                        cancelled_at FROM invitations
                 WHERE team_id = $1 AND used_at IS NULL AND cancelled_at IS NULL AND expires_at > $2
                 ORDER BY created_at, id",
                &[&team_id, &now],
            )?
            .iter()
            .map(invitation_row)
            .collect())
    }

    fn renew_invitation(&mut self, id: &str, token_hash: &str, expires_at: &str) -> StorageResult<()> {
        self.execute(
            "UPDATE invitations SET token_hash = $1, expires_at = $2 WHERE id = $3",
            &[&token_hash, &expires_at, &id],
        )?;
        Ok(())
    }

    fn cancel_invitation(&mut self, id: &str, now: &str) -> StorageResult<()> {
        self.execute("UPDATE invitations SET cancelled_at = coalesce(cancelled_at, $1) WHERE id = $2", &[&now, &id])?;
        Ok(())
    }

    fn use_invitation(&mut self, id: &str, user_id: &str, now: &str) -> StorageResult<bool> {
        let n = self.execute(
            "UPDATE invitations SET used_at = $1, used_by = $2 WHERE id = $3 AND used_at IS NULL AND cancelled_at IS NULL",
            &[&now, &user_id, &id],
        )?;
        Ok(n > 0)
    }

    fn set_join_domain(&mut self, d: &JoinDomainRecord, token_hash: &str, now: &str) -> StorageResult<()> {
        self.execute(
            "INSERT INTO team_join_domains (team_id, domain, token_hash, set_by, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (team_id) DO UPDATE
             SET domain = excluded.domain, token_hash = excluded.token_hash, set_by = excluded.set_by,
                 created_at = excluded.created_at",
            &[&d.team_id, &d.domain, &token_hash, &d.set_by, &now],
        )?;
        Ok(())
    }

    fn clear_join_domain(&mut self, team_id: &str) -> StorageResult<bool> {
        Ok(self.execute("DELETE FROM team_join_domains WHERE team_id = $1", &[&team_id])? > 0)
    }

    fn join_domain_by_token(&mut self, token_hash: &str) -> StorageResult<Option<JoinDomainRecord>> {
        Ok(self
            .query_opt("SELECT team_id, domain, set_by FROM team_join_domains WHERE token_hash = $1", &[&token_hash])?
            .map(|r| JoinDomainRecord { team_id: r.get(0), domain: r.get(1), set_by: r.get(2) }))
    }

    fn insert_reset(&mut self, r: &ResetRecord) -> StorageResult<()> {
        self.execute(
            "INSERT INTO password_resets (id, user_id, token_hash, created_at, expires_at, used_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&r.id, &r.user_id, &r.token_hash, &r.created_at, &r.expires_at, &r.used_at],
        )?;
        Ok(())
    }

    fn reset_by_token(&mut self, token_hash: &str) -> StorageResult<Option<ResetRecord>> {
        Ok(self
            .query_opt(
                "SELECT id, user_id, token_hash, created_at, expires_at, used_at FROM password_resets WHERE token_hash = $1",
                &[&token_hash],
            )?
            .map(|r| ResetRecord {
                id: r.get(0),
                user_id: r.get(1),
                token_hash: r.get(2),
                created_at: r.get(3),
                expires_at: r.get(4),
                used_at: r.get(5),
            }))
    }

    fn resets_since(&mut self, user_id: &str, since: &str) -> StorageResult<i64> {
        Ok(self
            .query_one(
                "SELECT count(*)::bigint FROM password_resets WHERE user_id = $1 AND created_at > $2",
                &[&user_id, &since],
            )?
            .get(0))
    }

    fn use_reset(&mut self, id: &str, now: &str) -> StorageResult<bool> {
        let n =
            self.execute("UPDATE password_resets SET used_at = $1 WHERE id = $2 AND used_at IS NULL", &[&now, &id])?;
        Ok(n > 0)
    }

    fn public_slug(&mut self, kind: &str, target_id: &str) -> StorageResult<Option<String>> {
        Ok(self
            .query_opt("SELECT slug FROM public_slugs WHERE kind = $1 AND target_id = $2", &[&kind, &target_id])?
            .map(|r| r.get(0)))
    }

    fn insert_public_slug(&mut self, slug: &str, kind: &str, target_id: &str, now: &str) -> StorageResult<()> {
        self.execute(
            "INSERT INTO public_slugs (slug, kind, target_id, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (kind, target_id) DO NOTHING",
            &[&slug, &kind, &target_id, &now],
        )?;
        Ok(())
    }

    fn slug_target(&mut self, slug: &str) -> StorageResult<Option<(String, String)>> {
        Ok(self
            .query_opt("SELECT kind, target_id FROM public_slugs WHERE slug = $1", &[&slug])?
            .map(|r| (r.get(0), r.get(1))))
    }

    fn server_secret(&mut self, name: &str) -> StorageResult<Option<String>> {
        Ok(self.query_opt("SELECT value FROM server_secrets WHERE name = $1", &[&name])?.map(|r| r.get(0)))
    }

    fn insert_server_secret(&mut self, name: &str, value: &str) -> StorageResult<()> {
        self.execute(
            "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&name, &value],
        )?;
        Ok(())
    }

    fn insert_token(&mut self, t: &NewToken<'_>) -> StorageResult<()> {
        self.execute(
            "INSERT INTO tokens (id, user_id, device_id, device_name, token_hash, created_at, last_used_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
            &[&t.id, &t.user_id, &t.device_id, &t.device_name, &t.token_hash, &t.created_at],
        )?;
        Ok(())
    }

    fn device_owner(&mut self, device_id: &str) -> StorageResult<Option<String>> {
        Ok(self.query("SELECT user_id FROM devices WHERE device_id = $1", &[&device_id])?.first().map(|r| r.get(0)))
    }

    fn bind_device(&mut self, device_id: &str, user_id: &str, created_at: &str) -> StorageResult<()> {
        self.execute(
            "INSERT INTO devices (device_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (device_id) DO NOTHING",
            &[&device_id, &user_id, &created_at],
        )?;
        Ok(())
    }

    fn tokens(&mut self, user_id: Option<&str>) -> StorageResult<Vec<TokenInfo>> {
        Ok(self
            .query(
                "SELECT t.id, u.email, t.device_id, t.device_name, t.created_at, t.last_used_at, t.revoked_at
                 FROM tokens t JOIN users u ON u.id = t.user_id
                 WHERE $1::text IS NULL OR t.user_id = $1::text ORDER BY t.created_at",
                &[&user_id],
            )?
            .iter()
            .map(|r| TokenInfo {
                id: r.get(0),
                user_email: r.get(1),
                device_id: r.get(2),
                device_name: r.get(3),
                created_at: r.get(4),
                last_used_at: r.get(5),
                revoked: r.get::<_, Option<String>>(6).is_some(),
            })
            .collect())
    }

    fn revoke_token(&mut self, token_id: &str, owner: Option<&str>, now: &str) -> StorageResult<bool> {
        let n = self.execute(
            "UPDATE tokens SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 AND ($3::text IS NULL OR user_id = $3::text)",
            &[&now, &token_id, &owner],
        )?;
        Ok(n > 0)
    }

    fn touch_token(&mut self, token_id: &str, now: &str) -> StorageResult<()> {
        self.execute("UPDATE tokens SET last_used_at = $1 WHERE id = $2", &[&now, &token_id])?;
        Ok(())
    }

    fn log_audit(&mut self, e: &NewAuditEntry<'_>) -> StorageResult<()> {
        self.execute(
            "INSERT INTO audit_log (at, event, actor, subject, address, detail) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&e.at, &e.event, &e.actor, &e.subject, &e.address, &e.detail],
        )?;
        Ok(())
    }

    fn audit_entries(&mut self, q: &AuditQuery) -> StorageResult<Vec<AuditRecord>> {
        Ok(self
            .query(AUDIT_ENTRIES_SQL, &[&q.since, &q.event, &q.limit])?
            .iter()
            .map(|r| AuditRecord {
                id: r.get(0),
                at: r.get(1),
                event: r.get(2),
                actor: r.get(3),
                actor_email: r.get(4),
                subject: r.get(5),
                address: r.get(6),
                detail: r.get(7),
            })
            .collect())
    }

    fn prune_audit(&mut self, before: &str) -> StorageResult<u64> {
        Ok(self.execute("DELETE FROM audit_log WHERE at < $1", &[&before])?)
    }

    fn unlisted_circles(&mut self, session: &Session) -> StorageResult<Vec<String>> {
        Ok(self
            .query(
                "SELECT circle_id FROM circle_access WHERE user_id = $1
                 EXCEPT SELECT circle_id FROM token_circles WHERE token_id = $2",
                &[&session.user_id, &session.token_id],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn circle_logged_by(&mut self, circle_id: &str, seq: i64) -> StorageResult<bool> {
        Ok(self
            .query_one(
                "SELECT EXISTS(SELECT 1 FROM changes WHERE scope_circle = $1 AND seq <= $2)",
                &[&circle_id, &seq],
            )?
            .get(0))
    }

    fn list_circle(&mut self, token_id: &str, circle_id: &str) -> StorageResult<()> {
        self.execute(
            "INSERT INTO token_circles (token_id, circle_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&token_id, &circle_id],
        )?;
        Ok(())
    }

    fn contact_drift(&mut self, session: &Session) -> StorageResult<(Vec<String>, Vec<String>)> {
        let (mut new, mut lapsed) = (Vec::new(), Vec::new());
        for row in self.query(super::CONTACT_DRIFT_SQL, &[&session.user_id, &session.token_id])? {
            let person: String = row.get(0);
            if row.get::<_, i32>(1) == 1 {
                new.push(person)
            } else {
                lapsed.push(person)
            }
        }
        Ok((new, lapsed))
    }

    fn add_contact(&mut self, token_id: &str, person_id: &str, since_seq: i64) -> StorageResult<()> {
        self.execute(
            "INSERT INTO directory_contacts (token_id, person_id, since_seq) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&token_id, &person_id, &since_seq],
        )?;
        Ok(())
    }

    fn drop_contact(&mut self, token_id: &str, person_id: &str) -> StorageResult<()> {
        self.execute(
            "DELETE FROM directory_contacts WHERE token_id = $1 AND person_id = $2",
            &[&token_id, &person_id],
        )?;
        Ok(())
    }

    fn contact_catch_up(&mut self, session: &Session, cursor: i64) -> StorageResult<Vec<ServerChange>> {
        let rows = self.query(super::CONTACT_CATCH_UP_SQL, &[&session.token_id, &cursor, &session.device_id])?;
        Ok(rows.iter().map(server_change).collect())
    }

    fn device_conflicts(&mut self, session: &Session, after: i64) -> StorageResult<Vec<WireConflict>> {
        let json = |s: String| serde_json::from_str(&s).unwrap_or_default();
        let hlc = |s: String| s.parse().unwrap_or(Hlc::ZERO);
        Ok(self
            .query(
                "SELECT id, table_name, row_id, field, lost_value, lost_hlc, won_value, won_hlc, won_device
                 FROM conflicts
                 WHERE lost_device = $1 AND id > $2
                   AND EXISTS (SELECT 1 FROM devices d WHERE d.device_id = $1 AND d.user_id = $3)
                 ORDER BY id LIMIT 1000",
                &[&session.device_id, &after, &session.user_id],
            )?
            .into_iter()
            .map(|r| WireConflict {
                id: r.get(0),
                table: r.get(1),
                row_id: r.get(2),
                field: r.get(3),
                lost_value: json(r.get(4)),
                lost_hlc: hlc(r.get(5)),
                won_value: json(r.get(6)),
                won_hlc: hlc(r.get(7)),
                won_device: r.get(8),
            })
            .collect())
    }

    /// Index range scans in seq order: everyone's changes, each of the
    /// user's circles, each of their contacts; never a scan of everyone's.
    fn visible_changes(&mut self, session: &Session, after: i64, limit: usize) -> StorageResult<LogSlice> {
        let rows = self.query(
            "(SELECT seq, change_id, table_name, row_id, field, value, hlc, device_id, base_seq
              FROM changes WHERE scope_circle IS NULL AND scope_person IS NULL AND seq > $1 ORDER BY seq LIMIT $3)
             UNION ALL
             (SELECT c.seq, c.change_id, c.table_name, c.row_id, c.field, c.value, c.hlc, c.device_id, c.base_seq
              FROM circle_access a CROSS JOIN LATERAL
                  (SELECT * FROM changes WHERE scope_circle = a.circle_id AND seq > $1 ORDER BY seq LIMIT $3) AS c
              WHERE a.user_id = $2)
             UNION ALL
             (SELECT c.seq, c.change_id, c.table_name, c.row_id, c.field, c.value, c.hlc, c.device_id, c.base_seq
              FROM directory_contacts d CROSS JOIN LATERAL
                  (SELECT * FROM changes WHERE scope_person = d.person_id AND seq > $1 ORDER BY seq LIMIT $3) AS c
              WHERE d.token_id = $4)
             ORDER BY seq LIMIT $3",
            &[&after, &session.user_id, &(limit as i64), &session.token_id],
        )?;
        // The puller already holds its own changes.
        let changes = rows.iter().filter(|r| r.get::<_, &str>(7) != session.device_id).map(server_change).collect();
        Ok(LogSlice { changes, looked_at: rows.len(), last_seq: rows.last().map(|r| r.get(0)) })
    }

    fn count_visible(&mut self, session: &Session, after: i64) -> StorageResult<i64> {
        Ok(self
            .query_one(
                "SELECT (SELECT count(*) FROM changes WHERE scope_circle IS NULL AND scope_person IS NULL AND seq > $1)
                      + (SELECT count(*) FROM circle_access a JOIN changes c ON c.scope_circle = a.circle_id
                         WHERE a.user_id = $2 AND c.seq > $1)
                      + (SELECT count(*) FROM directory_contacts d JOIN changes c ON c.scope_person = d.person_id
                         WHERE d.token_id = $3 AND c.seq > $1)",
                &[&after, &session.user_id, &session.token_id],
            )?
            .get(0))
    }

    /// Everything the batch needs, in one statement (run under the write
    /// lock): the batch's record if it was seen before, the device's last
    /// batch number, the last seq, which change ids were seen, the user's
    /// circles, and the scope and field versions of every row and field the
    /// batch names (and of the meetings it names).
    fn begin_push(&mut self, session: &Session, batch: &PushRequest) -> StorageResult<PushStart> {
        let ids: Vec<&str> = batch.changes.iter().map(|c| c.change_id.as_str()).collect();
        let mut scope_keys: Vec<(String, String)> =
            batch.changes.iter().map(|c| (c.table.clone(), c.row_id.clone())).collect();
        // A field naming a row of a circle (a mark's meeting, which scopes
        // the mark, and its learner, which must be of the same circle): that
        // row's scope is read ahead too.
        for c in &batch.changes {
            let target = schema::table(&c.table).and_then(|t| match schema::field_kind(t, &c.field) {
                Some(FieldKind::Reference { table, .. }) => schema::table(table),
                _ => None,
            });
            if let (Some(target), Some(id)) = (target, c.value.as_str()) {
                if target.scope != Scope::Global {
                    scope_keys.push((target.name.into(), id.to_string()));
                }
            }
        }
        let (scope_tables, scope_rows): (Vec<&str>, Vec<&str>) =
            scope_keys.iter().map(|(t, r)| (t.as_str(), r.as_str())).unzip();
        let tables: Vec<&str> = batch.changes.iter().map(|c| c.table.as_str()).collect();
        let rows: Vec<&str> = batch.changes.iter().map(|c| c.row_id.as_str()).collect();
        let names: Vec<&str> = batch.changes.iter().map(|c| c.field.as_str()).collect();
        let found = self.query(
            // LATERAL: one primary-key lookup per key, whatever the tables' size.
            "SELECT 'batch'::text, batch_id, response_json, NULL::text, NULL::text, NULL::text, NULL::text, batch_seq
               FROM push_batches WHERE device_id = $1 AND batch_seq = $2
             UNION ALL SELECT 'last', NULL, NULL, NULL, NULL, NULL, NULL, coalesce(max(batch_seq), 0)::bigint
               FROM push_batches WHERE device_id = $1
             UNION ALL SELECT 'max', NULL, NULL, NULL, NULL, NULL, NULL, coalesce(max(seq), 0)::bigint FROM changes
             UNION ALL SELECT 'seen', change_id, NULL, NULL, NULL, NULL, NULL, NULL
               FROM seen_changes WHERE change_id = ANY($3)
             UNION ALL SELECT 'seen', change_id, NULL, NULL, NULL, NULL, NULL, NULL
               FROM changes WHERE change_id = ANY($3)
             UNION ALL SELECT 'access', circle_id, NULL, NULL, NULL, NULL, NULL, NULL
               FROM circle_access WHERE user_id = $4
             UNION ALL SELECT 'scope', s.table_name, s.row_id, s.circle_id, NULL, NULL, NULL, NULL
               FROM (SELECT DISTINCT * FROM unnest($5::text[], $6::text[])) AS k(t, r)
               CROSS JOIN LATERAL (SELECT * FROM row_scope WHERE table_name = k.t AND row_id = k.r) AS s
             UNION ALL SELECT 'field', f.table_name, f.row_id, f.field, f.value, f.hlc, f.device_id, f.seq
               FROM (SELECT DISTINCT * FROM unnest($7::text[], $8::text[], $9::text[])) AS k(t, r, f)
               CROSS JOIN LATERAL (SELECT * FROM field_state
                                   WHERE table_name = k.t AND row_id = k.r AND field = k.f) AS f",
            &[
                &session.device_id,
                &batch.batch_seq,
                &ids,
                &session.user_id,
                &scope_tables,
                &scope_rows,
                &tables,
                &rows,
                &names,
            ],
        )?;
        let mut cache = PushCache {
            scope: scope_keys.into_iter().map(|k| (k, None)).collect(),
            fields: batch
                .changes
                .iter()
                .map(|c| ((c.table.clone(), c.row_id.clone(), c.field.clone()), None))
                .collect(),
            ..PushCache::default()
        };
        let mut start = PushStart::default();
        let mut max_seq = 0;
        for r in found {
            let text = |i: usize| r.get::<_, Option<String>>(i).unwrap_or_default();
            match r.get::<_, &str>(0) {
                "batch" => start.recorded = Some((text(1), text(2))),
                "last" => start.last_batch_seq = r.get(7),
                "max" => max_seq = r.get(7),
                "seen" => {
                    start.seen.insert(text(1));
                }
                "access" => {
                    cache.access.insert(text(1));
                }
                "scope" => {
                    cache.scope.insert((text(1), text(2)), Some(text(3)));
                }
                _ => {
                    cache.fields.insert(
                        (text(1), text(2), text(3)),
                        Some(StoredField { value: text(4), hlc: text(5), device_id: text(6), seq: r.get(7) }),
                    );
                }
            }
        }
        start.next_seq = max_seq + 1;
        self.push = cache;
        Ok(start)
    }

    fn field(&mut self, table: &'static str, row_id: &str, field: &str) -> StorageResult<Option<StoredField>> {
        let key = (table.to_string(), row_id.to_string(), field.to_string());
        if let Some(v) = self.push.fields.get(&key) {
            return Ok(v.clone());
        }
        let v = self
            .query_opt(
                "SELECT value, hlc, device_id, seq FROM field_state WHERE table_name = $1 AND row_id = $2 AND field = $3",
                &[&key.0, &key.1, &key.2],
            )?
            .map(|r| StoredField { value: r.get(0), hlc: r.get(1), device_id: r.get(2), seq: r.get(3) });
        self.push.fields.insert(key, v.clone());
        Ok(v)
    }

    fn row_scope(&mut self, table: &str, row_id: &str) -> StorageResult<Option<String>> {
        let key = (table.to_string(), row_id.to_string());
        if let Some(known) = self.push.scope.get(&key) {
            return Ok(known.clone());
        }
        let circle: Option<String> = self
            .query_opt("SELECT circle_id FROM row_scope WHERE table_name = $1 AND row_id = $2", &[&table, &row_id])?
            .map(|r| r.get(0));
        self.push.scope.insert(key, circle.clone());
        Ok(circle)
    }

    fn may_see(&mut self, circle_id: &str) -> StorageResult<bool> {
        Ok(self.push.access.contains(circle_id))
    }

    fn is_user(&mut self, id: &str) -> StorageResult<bool> {
        if let Some(known) = self.push.users.get(id) {
            return Ok(*known);
        }
        let exists: bool = self.query_one("SELECT EXISTS(SELECT 1 FROM users WHERE id = $1)", &[&id])?.get(0);
        self.push.users.insert(id.to_string(), exists);
        Ok(exists)
    }

    fn row_creator(&mut self, table: &str, row_id: &str) -> StorageResult<Option<String>> {
        Ok(self
            .query_opt("SELECT user_id FROM row_creator WHERE table_name = $1 AND row_id = $2", &[&table, &row_id])?
            .map(|r| r.get(0)))
    }

    fn team_organizers(&mut self, team_id: &str) -> StorageResult<Vec<String>> {
        Ok(self
            .query("SELECT user_id FROM team_members WHERE team_id = $1 AND role = 'organizer'", &[&team_id])?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    /// Everything back, with the batch's record: one statement whatever the
    /// batch's size.
    fn write_push(&mut self, w: &PushWrites<'_>) -> StorageResult<()> {
        let logged = &w.logged;
        let seqs: Vec<i64> = logged.iter().map(|l| l.seq).collect();
        let ids: Vec<&str> = logged.iter().map(|l| l.change.change_id.as_str()).collect();
        let tables: Vec<&str> = logged.iter().map(|l| l.table).collect();
        let rows: Vec<&str> = logged.iter().map(|l| l.change.row_id.as_str()).collect();
        let fields: Vec<&str> = logged.iter().map(|l| l.change.field.as_str()).collect();
        let values: Vec<&str> = logged.iter().map(|l| l.value.as_str()).collect();
        let hlcs: Vec<&str> = logged.iter().map(|l| l.hlc.as_str()).collect();
        let devices: Vec<&str> = logged.iter().map(|l| l.change.device_id.as_str()).collect();
        let bases: Vec<Option<i64>> = logged.iter().map(|l| l.change.base_seq).collect();
        let scopes: Vec<Option<&str>> = logged.iter().map(|l| l.scope.as_deref()).collect();
        let persons: Vec<Option<&str>> = logged.iter().map(|l| l.person.as_deref()).collect();
        // The final version of each field written (a field may change twice in a batch).
        let states = w.field_states();
        let state: [Vec<&str>; 6] = [
            states.iter().map(|l| l.table).collect(),
            states.iter().map(|l| l.change.row_id.as_str()).collect(),
            states.iter().map(|l| l.change.field.as_str()).collect(),
            states.iter().map(|l| l.value.as_str()).collect(),
            states.iter().map(|l| l.hlc.as_str()).collect(),
            states.iter().map(|l| l.change.device_id.as_str()).collect(),
        ];
        let state_seqs: Vec<i64> = states.iter().map(|l| l.seq).collect();
        let scope_cols: [Vec<&str>; 3] = [
            w.scopes.iter().map(|s| s.0).collect(),
            w.scopes.iter().map(|s| s.1.as_str()).collect(),
            w.scopes.iter().map(|s| s.2.as_str()).collect(),
        ];
        let grant_circles: Vec<&str> = w.grants.iter().map(|g| g.0.as_str()).collect();
        let grant_users: Vec<&str> = w.grants.iter().map(|g| g.1.as_str()).collect();
        let grant_seqs: Vec<i64> = w.grants.iter().map(|g| g.2).collect();
        let conflicts: Vec<Vec<&str>> = (0..9)
            .map(|i| {
                w.conflicts
                    .iter()
                    .map(|c| match i {
                        0 => c.table,
                        1 => c.row_id.as_str(),
                        2 => c.field.as_str(),
                        3 => c.lost.0.as_str(),
                        4 => c.lost.1.as_str(),
                        5 => c.lost.2.as_str(),
                        6 => c.won.0.as_str(),
                        7 => c.won.1.as_str(),
                        _ => c.won.2.as_str(),
                    })
                    .collect()
            })
            .collect();
        self.execute(
            "WITH seen AS (INSERT INTO seen_changes (change_id) SELECT unnest($1::text[])),
             logged AS (
                INSERT INTO changes (seq, change_id, table_name, row_id, field, value, hlc, device_id, base_seq,
                                     user_id, scope_circle, received_at, scope_person)
                SELECT s, i, t, r, f, v, h, d, b, $10, c, $11, p
                FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                            $9::text[], $12::bigint[], $13::text[], $40::text[]) AS u(s, i, t, r, f, v, h, d, b, c, p)),
             state AS (
                INSERT INTO field_state (table_name, row_id, field, value, hlc, device_id, seq)
                SELECT * FROM unnest($14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[],
                                     $20::bigint[])
                ON CONFLICT (table_name, row_id, field) DO UPDATE
                SET value = excluded.value, hlc = excluded.hlc, device_id = excluded.device_id, seq = excluded.seq),
             scoped AS (
                INSERT INTO row_scope (table_name, row_id, circle_id)
                SELECT * FROM unnest($21::text[], $22::text[], $23::text[]) ON CONFLICT DO NOTHING),
             granted AS (
                INSERT INTO circle_access (circle_id, user_id, granted_seq)
                SELECT * FROM unnest($24::text[], $25::text[], $26::bigint[]) ON CONFLICT DO NOTHING),
             conflicted AS (
                INSERT INTO conflicts (table_name, row_id, field, lost_value, lost_hlc, lost_device,
                                       won_value, won_hlc, won_device, created_at)
                SELECT t, r, f, lv, lh, ld, wv, wh, wd, $11
                FROM unnest($27::text[], $28::text[], $29::text[], $30::text[], $31::text[], $32::text[], $33::text[],
                            $34::text[], $35::text[]) WITH ORDINALITY AS u(t, r, f, lv, lh, ld, wv, wh, wd, n)
                ORDER BY n)
             INSERT INTO push_batches (device_id, batch_seq, batch_id, response_json) VALUES ($36, $37, $38, $39)",
            &[
                &w.seen,
                &seqs,
                &ids,
                &tables,
                &rows,
                &fields,
                &values,
                &hlcs,
                &devices,
                &w.session.user_id,
                &w.received_at,
                &bases,
                &scopes,
                &state[0],
                &state[1],
                &state[2],
                &state[3],
                &state[4],
                &state[5],
                &state_seqs,
                &scope_cols[0],
                &scope_cols[1],
                &scope_cols[2],
                &grant_circles,
                &grant_users,
                &grant_seqs,
                &conflicts[0],
                &conflicts[1],
                &conflicts[2],
                &conflicts[3],
                &conflicts[4],
                &conflicts[5],
                &conflicts[6],
                &conflicts[7],
                &conflicts[8],
                &w.session.device_id,
                &w.batch.batch_seq,
                &w.batch.batch_id,
                &w.record,
                &persons,
            ],
        )?;
        if !w.creators.is_empty() {
            // Only pushes that make shared rows (courses, teams...) pay this statement.
            let tables: Vec<&str> = w.creators.iter().map(|c| c.0).collect();
            let rows: Vec<&str> = w.creators.iter().map(|c| c.1).collect();
            self.execute(
                "INSERT INTO row_creator (table_name, row_id, user_id)
                 SELECT t, r, $3 FROM unnest($1::text[], $2::text[]) AS u(t, r) ON CONFLICT DO NOTHING",
                &[&tables, &rows, &w.session.user_id],
            )?;
        }
        Ok(())
    }

    fn enqueue_mail(&mut self, m: &NewMail) -> StorageResult<(String, bool)> {
        let attachments = attachments_json(&m.attachments);
        let inserted = self.execute(
            "INSERT INTO mail_outbox (id, created_at, kind, dedupe_key, to_address, subject, body_text, body_html,
                                      attachments, state, attempts, next_attempt_at, channel, delivery)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $10, $11, $12)
             ON CONFLICT (dedupe_key) DO NOTHING",
            &[
                &m.id,
                &m.created_at,
                &m.kind,
                &m.dedupe_key,
                &m.to,
                &m.subject,
                &m.text,
                &m.html,
                &attachments,
                &m.next_attempt_at,
                &m.channel.as_str(),
                &m.delivery,
            ],
        )?;
        if inserted == 1 {
            return Ok((m.id.clone(), true));
        }
        let id = self.query_one("SELECT id FROM mail_outbox WHERE dedupe_key = $1", &[&m.dedupe_key])?.get(0);
        Ok((id, false))
    }

    fn unlogged_deliveries(&mut self, limit: usize) -> StorageResult<Vec<FinishedDelivery>> {
        Ok(self
            .query(
                "SELECT id, delivery, state, coalesce(sent_at, next_attempt_at), last_error FROM mail_outbox
                 WHERE delivery IS NOT NULL AND delivery_logged = 0 AND state IN ('sent', 'failed')
                 ORDER BY created_at, id LIMIT $1",
                &[&(limit as i64)],
            )?
            .iter()
            .map(|r| FinishedDelivery {
                mail_id: r.get(0),
                delivery: r.get(1),
                sent: r.get::<_, String>(2) == "sent",
                at: r.get(3),
                last_error: r.get(4),
            })
            .collect())
    }

    fn mark_deliveries_logged(&mut self, mail_ids: &[String]) -> StorageResult<()> {
        self.execute("UPDATE mail_outbox SET delivery_logged = 1 WHERE id = ANY($1)", &[&mail_ids])?;
        Ok(())
    }

    fn send_done(&mut self, key: &str) -> StorageResult<bool> {
        Ok(self.query_one("SELECT EXISTS(SELECT 1 FROM learner_sends WHERE send_key = $1)", &[&key])?.get(0))
    }

    fn mark_send_done(&mut self, key: &str, now: &str) -> StorageResult<()> {
        self.execute(
            "INSERT INTO learner_sends (send_key, done_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&key, &now],
        )?;
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
        // Rows another server's claim holds locked are skipped, not waited
        // for; a row that claim already committed no longer matches (READ
        // COMMITTED re-checks the condition on the row's latest version).
        let rows = self.query(
            "WITH due AS (
                 SELECT id FROM mail_outbox
                 WHERE channel = $5
                   AND ((state = 'pending' AND next_attempt_at <= $3) OR (state = 'sending' AND lease_until <= $3))
                 ORDER BY next_attempt_at, id LIMIT $4
                 FOR UPDATE SKIP LOCKED)
             UPDATE mail_outbox m
             SET state = 'sending', lease_owner = $1, lease_until = $2, attempts = m.attempts + 1
             FROM due WHERE m.id = due.id
             RETURNING m.id, m.kind, m.to_address, m.subject, m.body_text, m.body_html, m.attachments, m.attempts,
                       m.next_attempt_at",
            &[&owner, &lease_until, &now, &(limit as i64), &channel.as_str()],
        )?;
        let mut claimed = rows
            .iter()
            .map(|r| {
                let attachments: String = r.get(6);
                let attempts: i32 = r.get(7);
                let due: String = r.get(8);
                Ok((
                    due,
                    ClaimedMail {
                        id: r.get(0),
                        kind: r.get(1),
                        to: r.get(2),
                        subject: r.get(3),
                        text: r.get(4),
                        html: r.get(5),
                        attachments: attachments_from_json(&attachments)?,
                        attempts: attempts.max(0) as u32,
                    },
                ))
            })
            .collect::<StorageResult<Vec<_>>>()?;
        claimed.sort_by(|a, b| (&a.0, &a.1.id).cmp(&(&b.0, &b.1.id)));
        Ok(claimed.into_iter().map(|(_, m)| m).collect())
    }

    fn finish_mail(&mut self, id: &str, owner: &str, outcome: &MailOutcome) -> StorageResult<bool> {
        let n = match outcome {
            MailOutcome::Sent { at, provider_id } => self.execute(
                "UPDATE mail_outbox SET state = 'sent', sent_at = $2, provider_id = $3, lease_owner = NULL,
                        lease_until = NULL
                 WHERE id = $1 AND state <> 'sent'",
                &[&id, at, provider_id],
            )?,
            MailOutcome::Retry { next_attempt_at, error } => self.execute(
                "UPDATE mail_outbox SET state = 'pending', next_attempt_at = $3, last_error = $4,
                        lease_owner = NULL, lease_until = NULL
                 WHERE id = $1 AND lease_owner = $2 AND state = 'sending'",
                &[&id, &owner, next_attempt_at, error],
            )?,
            MailOutcome::Failed { error } => self.execute(
                "UPDATE mail_outbox SET state = 'failed', last_error = $3, lease_owner = NULL, lease_until = NULL
                 WHERE id = $1 AND lease_owner = $2 AND state = 'sending'",
                &[&id, &owner, error],
            )?,
            MailOutcome::Released => self.execute(
                "UPDATE mail_outbox SET state = 'pending', attempts = greatest(attempts - 1, 0),
                        lease_owner = NULL, lease_until = NULL
                 WHERE id = $1 AND lease_owner = $2 AND state = 'sending'",
                &[&id, &owner],
            )?,
        };
        Ok(n > 0)
    }

    fn mail_summaries(&mut self, state: Option<MailState>, limit: usize) -> StorageResult<Vec<MailSummary>> {
        let state = state.map(MailState::as_str);
        Ok(self
            .query(
                "SELECT id, created_at, kind, to_address, subject, state, attempts, next_attempt_at, last_error, sent_at,
                        channel, provider_id
                 FROM mail_outbox WHERE $1::text IS NULL OR state = $1
                 ORDER BY created_at COLLATE \"C\" DESC, id COLLATE \"C\" DESC LIMIT $2",
                &[&state, &(limit as i64)],
            )?
            .iter()
            .map(|r| {
                let state: String = r.get(5);
                let attempts: i32 = r.get(6);
                MailSummary {
                    id: r.get(0),
                    created_at: r.get(1),
                    channel: Channel::parse(r.get::<_, &str>(10)).unwrap_or(Channel::Email),
                    kind: r.get(2),
                    to: r.get(3),
                    subject: r.get(4),
                    state: MailState::parse(&state).unwrap_or(MailState::Failed),
                    attempts: attempts.max(0) as u32,
                    next_attempt_at: r.get(7),
                    last_error: r.get(8),
                    sent_at: r.get(9),
                    provider_id: r.get(11),
                }
            })
            .collect())
    }

    fn mail_state(&mut self, id: &str) -> StorageResult<Option<MailState>> {
        Ok(self
            .query_opt("SELECT state FROM mail_outbox WHERE id = $1", &[&id])?
            .and_then(|r| MailState::parse(r.get::<_, &str>(0))))
    }

    fn requeue_mail(&mut self, id: &str, now: &str) -> StorageResult<bool> {
        let n = self.execute(
            "UPDATE mail_outbox SET state = 'pending', attempts = 0, next_attempt_at = $2
             WHERE id = $1 AND state = 'failed'",
            &[&id, &now],
        )?;
        Ok(n > 0)
    }
}

fn invitation_row(r: &Row) -> InvitationRecord {
    InvitationRecord {
        id: r.get(0),
        team_id: r.get(1),
        email: r.get(2),
        circle_id: r.get(3),
        role: r.get(4),
        invited_by: r.get(5),
        token_hash: r.get(6),
        created_at: r.get(7),
        expires_at: r.get(8),
        used_at: r.get(9),
        cancelled_at: r.get(10),
    }
}

fn user_record(r: &Row) -> UserRecord {
    UserRecord { id: r.get(0), email: r.get(1), name: r.get(2), password_hash: r.get(3), disabled: r.get(4) }
}

fn server_change(r: &Row) -> ServerChange {
    let value: String = r.get(5);
    let hlc: String = r.get(6);
    ServerChange {
        seq: r.get(0),
        change: WireChange {
            change_id: r.get(1),
            table: r.get(2),
            row_id: r.get(3),
            field: r.get(4),
            value: serde_json::from_str(&value).unwrap_or_default(),
            hlc: hlc.parse().unwrap_or(Hlc::ZERO),
            device_id: r.get(7),
            base_seq: r.get(8),
        },
    }
}
