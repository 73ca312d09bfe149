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
//! same rules, in the same order, as the SQLite backend), and the effects
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

use axum::http::StatusCode;
use circles_core::hlc::Hlc;
use circles_core::schema::TableDef;
use circles_core::sync::merge::{self, Version};
use circles_core::sync::wire::{
    PullResponse, PushOutcome, PushRequest, PushResponse, PushResult, ServerChange, WireChange, WireConflict,
    MAX_PULL_LIMIT,
};
use postgres::types::ToSql;
use postgres::{Client, IsolationLevel, NoTls, Row, Statement, Transaction};

use super::group_commit::{each_push, GroupCommit, PushJob};
use super::sqlite::SERVER_DEVICE;
use super::{Session, Storage, StorageResult, TokenInfo, UserInfo, UserRecord};
use crate::error::ApiError;

/// The advisory lock every writing transaction holds until it commits.
pub const WRITE_LOCK: i64 = 0x4369_7263_6c65_7301;
/// The advisory lock held while migrating the schema.
pub const MIGRATION_LOCK: i64 = 0x4369_7263_6c65_7302;

/// Schema versions, append-only.
pub const MIGRATIONS: &[(i32, &str)] = &[(1, include_str!("../../migrations-pg/0001_initial.sql"))];

/// Connections per server process (CIRCLES_PG_POOL overrides).
const DEFAULT_POOL: usize = 16;

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl From<postgres::Error> for ApiError {
    fn from(e: postgres::Error) -> Self {
        ApiError::internal(format!("database error: {e}"))
    }
}

/// Whether a database address names PostgreSQL.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
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
                        Err(ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "database_unavailable",
                            format!("cannot reach the database: {e}"),
                        ))
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
struct Tx<'a> {
    tx: Transaction<'a>,
    statements: &'a mut HashMap<&'static str, Statement>,
}

impl Tx<'_> {
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

pub struct PgStorage {
    pool: Pool,
    group: GroupCommit,
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
    let current: i32 =
        tx.query_one("SELECT coalesce(max(version), 0) FROM circles_schema_migrations", &[])?.get(0);
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

impl PgStorage {
    /// Connect, migrate, and keep a pool of connections.
    pub fn open(url: &str) -> anyhow::Result<PgStorage> {
        let mut config: postgres::Config = url.parse()?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let mut first = config.connect(NoTls)?;
        migrate(&mut first)?;
        let max = std::env::var("CIRCLES_PG_POOL").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(DEFAULT_POOL);
        let pool = Pool {
            config,
            max,
            state: Mutex::new(PoolState { idle: vec![Conn { client: first, statements: HashMap::new() }], open: 1 }),
            returned: Condvar::new(),
        };
        Ok(PgStorage { pool, group: GroupCommit::default() })
    }

    /// A writing transaction: serialized with every other writer on every
    /// server by the write lock, held until commit.
    fn write<T>(&self, f: impl FnOnce(&mut Tx<'_>) -> StorageResult<T>) -> StorageResult<T> {
        self.write_after(|_| Ok(()), f)
    }

    /// `before` runs in the same transaction before the write lock is taken
    /// (for work that needs no ordering), `f` under it.
    fn write_after<T>(
        &self,
        before: impl FnOnce(&mut Tx<'_>) -> StorageResult<()>,
        f: impl FnOnce(&mut Tx<'_>) -> StorageResult<T>,
    ) -> StorageResult<T> {
        let mut pooled = self.pool.get()?;
        let Conn { client, statements } = pooled.conn.as_mut().expect("pooled connection");
        let tx = client.build_transaction().isolation_level(IsolationLevel::ReadCommitted).start()?;
        let mut tx = Tx { tx, statements };
        before(&mut tx)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
        let out = f(&mut tx)?;
        tx.tx.commit()?;
        Ok(out)
    }

    /// A transaction that touches no seq, so takes no write lock.
    fn write_unordered<T>(&self, f: impl FnOnce(&mut Tx<'_>) -> StorageResult<T>) -> StorageResult<T> {
        let mut pooled = self.pool.get()?;
        let Conn { client, statements } = pooled.conn.as_mut().expect("pooled connection");
        let mut tx = Tx { tx: client.transaction()?, statements };
        let out = f(&mut tx)?;
        tx.tx.commit()?;
        Ok(out)
    }

    /// Write a group of pushes in one transaction, in order, each seeing
    /// the ones before it. A refused push wrote nothing (a push only writes
    /// in its last statement), so it is simply answered with its error; a
    /// database error fails the whole group (the clients retry).
    fn push_group(&self, jobs: &[(u64, PushJob)]) -> Vec<StorageResult<PushResponse>> {
        let tokens: Vec<&str> = jobs.iter().map(|(_, j)| j.session.token_id.as_str()).collect();
        let run = || -> StorageResult<Vec<StorageResult<PushResponse>>> {
            self.write_after(
                |tx| {
                    // Before the lock: it touches no seq. Undone with the group.
                    tx.execute(
                        "UPDATE tokens SET last_used_at = $1 WHERE id = ANY($2)",
                        &[&now_text(), &tokens],
                    )?;
                    Ok(())
                },
                |tx| each_push(tx, jobs, push_one),
            )
        };
        match run() {
            Ok(results) => results,
            Err(e) => jobs.iter().map(|_| Err(e.clone())).collect(),
        }
    }

    /// A read from one snapshot.
    fn read<T>(&self, f: impl FnOnce(&mut Tx<'_>) -> StorageResult<T>) -> StorageResult<T> {
        let mut pooled = self.pool.get()?;
        let Conn { client, statements } = pooled.conn.as_mut().expect("pooled connection");
        let tx = client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start()?;
        let mut tx = Tx { tx, statements };
        let out = f(&mut tx)?;
        tx.tx.commit()?;
        Ok(out)
    }
}

/// Where a circle-scoped table's rows get their circle from (as in the
/// SQLite backend).
enum ScopeSource {
    Global,
    ItsOwnId,
    CircleField(&'static str),
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


#[derive(Clone)]
struct FieldVersion {
    value: String,
    hlc: String,
    device: String,
    seq: i64,
}

type FieldKey = (String, String, String);

/// One push's view of the database: what it read (in bulk, up front, or
/// on a miss) plus what it has changed so far, written back at the end.
struct PushState<'s> {
    session: &'s Session,
    next_seq: i64,
    seen: HashSet<String>,
    new_seen: Vec<String>,
    scope: HashMap<(String, String), Option<String>>,
    new_scope: Vec<(String, String, String)>,
    fields: HashMap<FieldKey, Option<FieldVersion>>,
    dirty_fields: Vec<FieldKey>,
    /// Circles the session's user may write.
    access: HashSet<String>,
    grants: Vec<(String, String, i64)>,
    granted: HashSet<(String, String)>,
    users: HashMap<String, bool>,
    changes: Vec<(i64, &'s WireChange, String, Option<String>)>,
    conflicts: Vec<[String; 9]>,
}

impl<'s> PushState<'s> {
    /// Everything the batch needs, in one statement (run under the write
    /// lock): the batch's record if it was seen before, the device's last
    /// batch number, the last seq, which change ids were seen, the user's
    /// circles, and the scope and field versions of every row and field the
    /// batch names. Err(response): the batch was recorded before.
    fn load(
        tx: &mut Tx<'_>,
        session: &'s Session,
        batch: &'s PushRequest,
    ) -> StorageResult<Result<PushState<'s>, PushResponse>> {
        let ids: Vec<&str> = batch.changes.iter().map(|c| c.change_id.as_str()).collect();
        let mut scope_keys: Vec<(String, String)> =
            batch.changes.iter().map(|c| (c.table.clone(), c.row_id.clone())).collect();
        for c in &batch.changes {
            if c.field == "meeting_id" {
                if let Some(m) = c.value.as_str() {
                    scope_keys.push(("meetings".into(), m.to_string()));
                }
            }
        }
        let (scope_tables, scope_rows): (Vec<&str>, Vec<&str>) =
            scope_keys.iter().map(|(t, r)| (t.as_str(), r.as_str())).unzip();
        let tables: Vec<&str> = batch.changes.iter().map(|c| c.table.as_str()).collect();
        let rows: Vec<&str> = batch.changes.iter().map(|c| c.row_id.as_str()).collect();
        let names: Vec<&str> = batch.changes.iter().map(|c| c.field.as_str()).collect();
        let found = tx.query(
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
        let mut scope: HashMap<(String, String), Option<String>> = scope_keys.into_iter().map(|k| (k, None)).collect();
        let mut fields: HashMap<FieldKey, Option<FieldVersion>> = batch
            .changes
            .iter()
            .map(|c| ((c.table.clone(), c.row_id.clone(), c.field.clone()), None))
            .collect();
        let (mut seen, mut access) = (HashSet::new(), HashSet::new());
        let (mut recorded, mut last_batch, mut max_seq) = (None, 0, 0);
        for r in found {
            let text = |i: usize| r.get::<_, Option<String>>(i).unwrap_or_default();
            match r.get::<_, &str>(0) {
                "batch" => recorded = Some((text(1), text(2))),
                "last" => last_batch = r.get(7),
                "max" => max_seq = r.get(7),
                "seen" => {
                    seen.insert(text(1));
                }
                "access" => {
                    access.insert(text(1));
                }
                "scope" => {
                    scope.insert((text(1), text(2)), Some(text(3)));
                }
                _ => {
                    fields.insert(
                        (text(1), text(2), text(3)),
                        Some(FieldVersion { value: text(4), hlc: text(5), device: text(6), seq: r.get(7) }),
                    );
                }
            }
        }
        if let Some(response) = super::check_batch_record(batch, recorded, last_batch)? {
            return Ok(Err(response));
        }
        Ok(Ok(PushState {
            session,
            next_seq: max_seq + 1,
            seen,
            new_seen: Vec::new(),
            scope,
            new_scope: Vec::new(),
            fields,
            dirty_fields: Vec::new(),
            access,
            grants: Vec::new(),
            granted: HashSet::new(),
            users: HashMap::new(),
            changes: Vec::new(),
            conflicts: Vec::new(),
        }))
    }

    fn row_scope(&mut self, tx: &mut Tx<'_>, table: &str, row: &str) -> StorageResult<Option<String>> {
        let key = (table.to_string(), row.to_string());
        if let Some(known) = self.scope.get(&key) {
            return Ok(known.clone());
        }
        let circle: Option<String> = tx
            .query_opt("SELECT circle_id FROM row_scope WHERE table_name = $1 AND row_id = $2", &[&table, &row])?
            .map(|r| r.get(0));
        self.scope.insert(key, circle.clone());
        Ok(circle)
    }

    /// INSERT OR IGNORE into row_scope.
    fn set_scope(&mut self, table: &str, row: &str, circle: &str) {
        let key = (table.to_string(), row.to_string());
        if self.scope.get(&key).is_some_and(Option::is_some) {
            return;
        }
        self.scope.insert(key, Some(circle.to_string()));
        self.new_scope.push((table.to_string(), row.to_string(), circle.to_string()));
    }

    fn field(&mut self, tx: &mut Tx<'_>, key: &FieldKey) -> StorageResult<Option<FieldVersion>> {
        if let Some(v) = self.fields.get(key) {
            return Ok(v.clone());
        }
        let v = tx
            .query_opt(
                "SELECT value, hlc, device_id, seq FROM field_state WHERE table_name = $1 AND row_id = $2 AND field = $3",
                &[&key.0, &key.1, &key.2],
            )?
            .map(|r| FieldVersion { value: r.get(0), hlc: r.get(1), device: r.get(2), seq: r.get(3) });
        self.fields.insert(key.clone(), v.clone());
        Ok(v)
    }

    fn field_text(&mut self, tx: &mut Tx<'_>, table: &str, row: &str, field: &str) -> StorageResult<Option<String>> {
        let v = self.field(tx, &(table.to_string(), row.to_string(), field.to_string()))?;
        Ok(v.and_then(|v| serde_json::from_str::<serde_json::Value>(&v.value).ok())
            .and_then(|v| v.as_str().map(str::to_string)))
    }

    /// INSERT OR IGNORE into circle_access.
    fn grant(&mut self, circle: &str, user: &str, seq: i64) {
        if user == self.session.user_id {
            if self.access.contains(circle) {
                return;
            }
            self.access.insert(circle.to_string());
        }
        if self.granted.insert((circle.to_string(), user.to_string())) {
            self.grants.push((circle.to_string(), user.to_string(), seq));
        }
    }

    fn is_user(&mut self, tx: &mut Tx<'_>, id: &str) -> StorageResult<bool> {
        if let Some(known) = self.users.get(id) {
            return Ok(*known);
        }
        let exists: bool = tx.query_one("SELECT EXISTS(SELECT 1 FROM users WHERE id = $1)", &[&id])?.get(0);
        self.users.insert(id.to_string(), exists);
        Ok(exists)
    }

    /// The circle a change belongs to (None: a global table), checking that
    /// the session's user may write it.
    fn authorize(&mut self, tx: &mut Tx<'_>, table: &TableDef, change: &WireChange) -> StorageResult<Option<String>> {
        let known = self.row_scope(tx, table.name, &change.row_id)?;
        let home = known.clone();
        let text_value = || change.value.as_str().map(str::to_string);
        let circle = match scope_source(table) {
            ScopeSource::Global => return Ok(None),
            ScopeSource::ItsOwnId => {
                if known.is_none() {
                    self.set_scope("circles", &change.row_id, &change.row_id);
                    let user = self.session.user_id.clone();
                    self.grant(&change.row_id, &user, 0);
                }
                change.row_id.clone()
            }
            ScopeSource::CircleField(field) => match (known, change.field == field) {
                (_, true) => text_value().ok_or_else(|| {
                    ApiError::invalid_change(format!("change {}: {field} cannot be empty", change.change_id))
                })?,
                (Some(circle), false) => circle,
                (None, false) => return Err(first_change_error(table, field, change)),
            },
            ScopeSource::MeetingField(field) => match (known, change.field == field) {
                (_, true) => {
                    let meeting = text_value().ok_or_else(|| {
                        ApiError::invalid_change(format!("change {}: {field} cannot be empty", change.change_id))
                    })?;
                    self.row_scope(tx, "meetings", &meeting)?.ok_or_else(|| {
                        ApiError::invalid_change(format!("change {}: no meeting with id {meeting}", change.change_id))
                    })?
                }
                (Some(circle), false) => circle,
                (None, false) => return Err(first_change_error(table, field, change)),
            },
        };
        let may_write = |access: &HashSet<String>, circle: &str| -> StorageResult<()> {
            if !access.contains(circle) {
                return Err(ApiError::forbidden(format!(
                    "you do not facilitate or organize circle {circle} (change {} to {})",
                    change.change_id, table.name
                )));
            }
            Ok(())
        };
        if let Some(home) = home.filter(|home| *home != circle) {
            may_write(&self.access, &home)?;
            return Err(ApiError::invalid_change(format!(
                "change {}: a {} cannot move to another circle (it belongs to circle {home})",
                change.change_id, table.entity
            )));
        }
        may_write(&self.access, &circle)?;
        self.set_scope(table.name, &change.row_id, &circle);
        Ok(Some(circle))
    }

    /// Merge one change into the field state and log it if it wins.
    fn accept(&mut self, tx: &mut Tx<'_>, table: &TableDef, change: &'s WireChange) -> StorageResult<PushResult> {
        if !self.seen.insert(change.change_id.clone()) {
            return Ok(PushResult { change_id: change.change_id.clone(), outcome: PushOutcome::Duplicate, seq: None });
        }
        let scope = self.authorize(tx, table, change)?;
        let key = (table.name.to_string(), change.row_id.clone(), change.field.clone());
        let current = self.field(tx, &key)?;
        let wins = match &current {
            None => true,
            Some(v) => merge::supersedes(
                Version { hlc: change.hlc, device_id: &change.device_id },
                Version { hlc: v.hlc.parse().unwrap_or(Hlc::ZERO), device_id: &v.device },
            ),
        };
        if let Some(v) = &current {
            let current_value: serde_json::Value = serde_json::from_str(&v.value).unwrap_or_default();
            if merge::conflict_matters(&change.field)
                && merge::concurrent(change.base_seq, &change.device_id, &change.value, v.seq, &v.device, &current_value)
            {
                let incoming = (change.value.to_string(), change.hlc.to_string(), change.device_id.clone());
                let stored = (v.value.clone(), v.hlc.clone(), v.device.clone());
                let (lost, won) = if wins { (stored, incoming) } else { (incoming, stored) };
                self.conflicts.push([
                    table.name.to_string(),
                    change.row_id.clone(),
                    change.field.clone(),
                    lost.0,
                    lost.1,
                    lost.2,
                    won.0,
                    won.1,
                    won.2,
                ]);
            }
        }
        if !wins {
            // A logged change's id is found in the log; only those never
            // logged are recorded as seen.
            self.new_seen.push(change.change_id.clone());
            return Ok(PushResult { change_id: change.change_id.clone(), outcome: PushOutcome::Superseded, seq: None });
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let value = change.value.to_string();
        self.changes.push((seq, change, value.clone(), scope));
        self.dirty_fields.push(key.clone());
        self.fields.insert(
            key,
            Some(FieldVersion { value, hlc: change.hlc.to_string(), device: change.device_id.clone(), seq }),
        );
        self.grant_from_membership(tx, table, change, seq)?;
        Ok(PushResult { change_id: change.change_id.clone(), outcome: PushOutcome::Applied, seq: Some(seq) })
    }

    /// Access that follows from data: a facilitator added to a circle, or a
    /// circle put in a team, whose organizers then see it.
    fn grant_from_membership(&mut self, tx: &mut Tx<'_>, table: &TableDef, change: &WireChange, seq: i64) -> StorageResult<()> {
        match (table.name, change.field.as_str()) {
            ("circle_facilitators", "circle_id" | "facilitator_id") => {
                let circle = self.field_text(tx, "circle_facilitators", &change.row_id, "circle_id")?;
                let user = self.field_text(tx, "circle_facilitators", &change.row_id, "facilitator_id")?;
                if let (Some(circle), Some(user)) = (circle, user) {
                    if self.is_user(tx, &user)? {
                        self.grant(&circle, &user, seq);
                    }
                }
            }
            ("circles", "team_id") => {
                if let Some(team) = change.value.as_str() {
                    let organizers: Vec<String> = tx
                        .query("SELECT user_id FROM team_organizers WHERE team_id = $1", &[&team])?
                        .iter()
                        .map(|r| r.get(0))
                        .collect();
                    for user in organizers {
                        self.grant(&change.row_id, &user, seq);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Write everything back, with the batch's record: one statement
    /// whatever the batch's size.
    fn flush(self, tx: &mut Tx<'_>, batch: &PushRequest, response: &PushResponse) -> StorageResult<()> {
        let now = now_text();
        let seqs: Vec<i64> = self.changes.iter().map(|c| c.0).collect();
        let ids: Vec<&str> = self.changes.iter().map(|c| c.1.change_id.as_str()).collect();
        let tables: Vec<&str> = self.changes.iter().map(|c| c.1.table.as_str()).collect();
        let rows: Vec<&str> = self.changes.iter().map(|c| c.1.row_id.as_str()).collect();
        let fields: Vec<&str> = self.changes.iter().map(|c| c.1.field.as_str()).collect();
        let values: Vec<&str> = self.changes.iter().map(|c| c.2.as_str()).collect();
        let hlcs: Vec<String> = self.changes.iter().map(|c| c.1.hlc.to_string()).collect();
        let devices: Vec<&str> = self.changes.iter().map(|c| c.1.device_id.as_str()).collect();
        let bases: Vec<Option<i64>> = self.changes.iter().map(|c| c.1.base_seq).collect();
        let scopes: Vec<Option<&str>> = self.changes.iter().map(|c| c.3.as_deref()).collect();

        // The final version of each field written (a field may change twice in a batch).
        let mut done = HashSet::new();
        let mut state: [Vec<&str>; 6] = Default::default();
        let mut state_seqs: Vec<i64> = Vec::new();
        for key in self.dirty_fields.iter().rev() {
            if !done.insert(key) {
                continue;
            }
            let v = self.fields[key].as_ref().expect("a written field has a version");
            for (col, text) in state.iter_mut().zip([&key.0, &key.1, &key.2, &v.value, &v.hlc, &v.device]) {
                col.push(text.as_str());
            }
            state_seqs.push(v.seq);
        }
        let scope_cols: [Vec<&str>; 3] = [
            self.new_scope.iter().map(|s| s.0.as_str()).collect(),
            self.new_scope.iter().map(|s| s.1.as_str()).collect(),
            self.new_scope.iter().map(|s| s.2.as_str()).collect(),
        ];
        let grant_circles: Vec<&str> = self.grants.iter().map(|g| g.0.as_str()).collect();
        let grant_users: Vec<&str> = self.grants.iter().map(|g| g.1.as_str()).collect();
        let grant_seqs: Vec<i64> = self.grants.iter().map(|g| g.2).collect();
        let conflicts: Vec<Vec<&str>> = (0..9).map(|i| self.conflicts.iter().map(|c| c[i].as_str()).collect()).collect();
        let json = super::batch_record(response);
        tx.execute(
            "WITH seen AS (INSERT INTO seen_changes (change_id) SELECT unnest($1::text[])),
             logged AS (
                INSERT INTO changes (seq, change_id, table_name, row_id, field, value, hlc, device_id, base_seq,
                                     user_id, scope_circle, received_at)
                SELECT s, i, t, r, f, v, h, d, b, $10, c, $11
                FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                            $9::text[], $12::bigint[], $13::text[]) AS u(s, i, t, r, f, v, h, d, b, c)),
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
                &self.new_seen,
                &seqs,
                &ids,
                &tables,
                &rows,
                &fields,
                &values,
                &hlcs,
                &devices,
                &self.session.user_id,
                &now,
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
                &self.session.device_id,
                &batch.batch_seq,
                &batch.batch_id,
                &json,
            ],
        )?;
        Ok(())
    }
}

fn first_change_error(table: &TableDef, field: &str, change: &WireChange) -> ApiError {
    ApiError::invalid_change(format!(
        "change {}: the first change of a new {} must set {field}",
        change.change_id, table.entity
    ))
}

/// A change made by the server itself (not pushed by a device).
fn log_server_change(tx: &mut Tx<'_>, table: &str, row_id: &str, field: &str, value: &serde_json::Value, hlc: Hlc) -> StorageResult<()> {
    let value = value.to_string();
    let seq = tx.max_seq()? + 1;
    let hlc = hlc.to_string();
    tx.execute(
        "INSERT INTO changes (seq, change_id, table_name, row_id, field, value, hlc, device_id, base_seq, user_id,
                              scope_circle, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $8, NULL, $9)",
        &[&seq, &uuid::Uuid::now_v7().to_string(), &table, &row_id, &field, &value, &hlc, &SERVER_DEVICE, &now_text()],
    )?;
    tx.execute(
        "INSERT INTO field_state (table_name, row_id, field, value, hlc, device_id, seq) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (table_name, row_id, field) DO UPDATE
         SET value = excluded.value, hlc = excluded.hlc, device_id = excluded.device_id, seq = excluded.seq",
        &[&table, &row_id, &field, &value, &hlc, &SERVER_DEVICE, &seq],
    )?;
    Ok(())
}

fn log_server_row(tx: &mut Tx<'_>, table: &str, id: &str, fields: &[(&str, serde_json::Value)]) -> StorageResult<()> {
    let mut clock = Hlc::tick(Hlc::ZERO, circles_core::hlc::wall_clock_millis());
    for (field, value) in fields {
        log_server_change(tx, table, id, field, value, clock)?;
        clock = Hlc::tick(clock, 0);
    }
    Ok(())
}

fn check_cursor(tx: &mut Tx<'_>, cursor: i64) -> StorageResult<()> {
    let max = tx.max_seq()?;
    if cursor > max {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "cursor_from_future",
            format!("cursor {cursor} is ahead of this server's log (last change {max}); resync from 0"),
        ));
    }
    Ok(())
}

fn unlisted_circles(tx: &mut Tx<'_>, session: &Session) -> StorageResult<Vec<String>> {
    Ok(tx
        .query(
            "SELECT circle_id FROM circle_access WHERE user_id = $1
             EXCEPT SELECT circle_id FROM token_circles WHERE token_id = $2",
            &[&session.user_id, &session.token_id],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect())
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

fn device_conflicts(tx: &mut Tx<'_>, device_id: &str, after: i64) -> StorageResult<Vec<WireConflict>> {
    let json = |s: String| serde_json::from_str(&s).unwrap_or_default();
    let hlc = |s: String| s.parse().unwrap_or(Hlc::ZERO);
    Ok(tx
        .query(
            "SELECT id, table_name, row_id, field, lost_value, lost_hlc, won_value, won_hlc, won_device
             FROM conflicts WHERE lost_device = $1 AND id > $2 ORDER BY id LIMIT 1000",
            &[&device_id, &after],
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

/// One page of the changes the user may see after `cursor`, from one
/// snapshot. Writers are serialized, so the snapshot's max(seq) has every
/// smaller seq committed before it.
fn page(tx: &mut Tx<'_>, session: &Session, cursor: i64, conflict_cursor: i64, limit: usize, now_ms: u64) -> StorageResult<PullResponse> {
    let max = tx.max_seq()?;
    let conflicts = device_conflicts(tx, &session.device_id, conflict_cursor)?;
    // Two index range scans on changes(scope_circle, seq): the global
    // changes, and each of the user's circles; never a scan of everyone's.
    let (changes, stopped_at) = super::gather_page(cursor, limit, |after, n| {
        let rows = tx.query(
            "(SELECT seq, change_id, table_name, row_id, field, value, hlc, device_id, base_seq
              FROM changes WHERE scope_circle IS NULL AND seq > $1 ORDER BY seq LIMIT $3)
             UNION ALL
             (SELECT c.seq, c.change_id, c.table_name, c.row_id, c.field, c.value, c.hlc, c.device_id, c.base_seq
              FROM circle_access a CROSS JOIN LATERAL
                  (SELECT * FROM changes WHERE scope_circle = a.circle_id AND seq > $1 ORDER BY seq LIMIT $3) AS c
              WHERE a.user_id = $2)
             ORDER BY seq LIMIT $3",
            &[&after, &session.user_id, &(n as i64)],
        )?;
        // The puller already holds its own changes.
        let changes = rows.iter().filter(|r| r.get::<_, &str>(7) != session.device_id).map(server_change).collect();
        Ok::<_, postgres::Error>(super::LogSlice { changes, looked_at: rows.len(), last_seq: rows.last().map(|r| r.get(0)) })
    })?;
    let full_page = stopped_at.is_some();
    let next = stopped_at.unwrap_or(max);
    let remaining: i64 = if full_page {
        tx.query_one(
            "SELECT (SELECT count(*) FROM changes WHERE scope_circle IS NULL AND seq > $1)
                  + (SELECT count(*) FROM circle_access a JOIN changes c ON c.scope_circle = a.circle_id
                     WHERE a.user_id = $2 AND c.seq > $1)",
            &[&next, &session.user_id],
        )?
        .get(0)
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

/// One push inside a group's transaction (under the write lock): three
/// round trips, one bulk read, one bulk write.
fn push_one(tx: &mut Tx<'_>, job: &PushJob) -> StorageResult<PushResponse> {
    let (session, batch) = (&job.session, &job.batch);
    let mut state = match PushState::load(tx, session, batch)? {
        Ok(state) => state,
        Err(recorded) => return Ok(recorded),
    };
    let mut results = Vec::with_capacity(batch.changes.len());
    for (change, table) in batch.changes.iter().zip(&job.tables) {
        results.push(state.accept(tx, table, change)?);
    }
    let response =
        PushResponse { batch_id: batch.batch_id.clone(), batch_seq: batch.batch_seq, results, server_time_ms: job.now_ms };
    state.flush(tx, batch, &response)?;
    Ok(response)
}

impl Storage for PgStorage {
    fn health(&self) -> StorageResult<()> {
        self.read(|tx| {
            tx.query_one("SELECT 1", &[])?;
            Ok(())
        })
    }

    fn add_user(&self, email: &str, name: &str, password_hash: &str) -> StorageResult<String> {
        let email = email.trim().to_lowercase();
        circles_core::validate::required("facilitator", "name", name, circles_core::validate::MAX_NAME)
            .and_then(|()| circles_core::validate::email("facilitator", "email", &email))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        self.write(|tx| {
            let exists: bool = tx.query_one("SELECT EXISTS(SELECT 1 FROM users WHERE email = $1)", &[&email])?.get(0);
            if exists {
                return Err(ApiError::new(StatusCode::CONFLICT, "user_exists", format!("{email} already has an account")));
            }
            let id = uuid::Uuid::now_v7().to_string();
            tx.execute(
                "INSERT INTO users (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[&id, &email, &name.trim(), &password_hash, &now_text()],
            )?;
            log_server_row(
                tx,
                "facilitators",
                &id,
                &[
                    ("name", serde_json::Value::from(name.trim())),
                    ("email", serde_json::Value::from(email.as_str())),
                    ("deleted", serde_json::Value::from(0)),
                    ("created_at", serde_json::Value::from(now_text())),
                ],
            )?;
            Ok(id)
        })
    }

    fn users(&self) -> StorageResult<Vec<UserInfo>> {
        self.read(|tx| {
            Ok(tx
                .query("SELECT id, email, name FROM users ORDER BY email", &[])?
                .iter()
                .map(|r| UserInfo { id: r.get(0), email: r.get(1), name: r.get(2) })
                .collect())
        })
    }

    fn user_by_email(&self, email: &str) -> StorageResult<Option<UserRecord>> {
        let email = email.trim().to_lowercase();
        self.read(|tx| {
            Ok(tx
                .query_opt("SELECT id, email, name, password_hash FROM users WHERE email = $1", &[&email])?
                .map(|r| UserRecord { id: r.get(0), email: r.get(1), name: r.get(2), password_hash: r.get(3) }))
        })
    }

    fn add_team(&self, name: &str) -> StorageResult<String> {
        if name.trim().is_empty() {
            return Err(ApiError::bad_request("a team needs a name"));
        }
        self.write(|tx| {
            let id = uuid::Uuid::now_v7().to_string();
            tx.execute("INSERT INTO teams (id, name) VALUES ($1, $2)", &[&id, &name.trim()])?;
            log_server_row(
                tx,
                "teams",
                &id,
                &[
                    ("name", serde_json::Value::from(name.trim())),
                    ("deleted", serde_json::Value::from(0)),
                    ("created_at", serde_json::Value::from(now_text())),
                ],
            )?;
            Ok(id)
        })
    }

    fn add_organizer(&self, team_id: &str, email: &str) -> StorageResult<()> {
        let email = email.trim().to_lowercase();
        self.write(|tx| {
            let team: String = tx
                .query_opt("SELECT id FROM teams WHERE id = $1", &[&team_id])?
                .map(|r| r.get(0))
                .ok_or_else(|| ApiError::not_found(format!("no team with id {team_id}")))?;
            let user: String = tx
                .query_opt("SELECT id FROM users WHERE email = $1", &[&email])?
                .map(|r| r.get(0))
                .ok_or_else(|| ApiError::not_found(format!("no user with email {email}")))?;
            tx.execute(
                "INSERT INTO team_organizers (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&team, &user],
            )?;
            let team_value = serde_json::Value::from(team.as_str()).to_string();
            let circles: Vec<String> = tx
                .query(
                    "SELECT row_id FROM field_state WHERE table_name = 'circles' AND field = 'team_id' AND value = $1",
                    &[&team_value],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let seq = tx.max_seq()?;
            for circle in circles {
                tx.execute(
                    "INSERT INTO circle_access (circle_id, user_id, granted_seq) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&circle, &user, &seq],
                )?;
            }
            Ok(())
        })
    }

    fn create_token(&self, user_id: &str, device_id: &str, device_name: &str, token_hash: &str) -> StorageResult<String> {
        // Tokens touch no seq: no need to wait for the write lock.
        self.write_unordered(|tx| {
            let id = uuid::Uuid::now_v7().to_string();
            let now = now_text();
            tx.execute(
                "INSERT INTO tokens (id, user_id, device_id, device_name, token_hash, created_at, last_used_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
                &[&id, &user_id, &device_id, &device_name, &token_hash, &now],
            )?;
            Ok(id)
        })
    }

    fn session(&self, token_hash: &str) -> StorageResult<Option<Session>> {
        // Every authenticated request asks: one statement, no transaction.
        const SQL: &str = "SELECT user_id, device_id, id FROM tokens WHERE token_hash = $1 AND revoked_at IS NULL";
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
        Ok(client
            .query_opt(&statement, &[&token_hash])?
            .map(|r| Session { user_id: r.get(0), device_id: r.get(1), token_id: r.get(2) }))
    }

    fn tokens(&self, user_id: Option<&str>) -> StorageResult<Vec<TokenInfo>> {
        self.read(|tx| {
            Ok(tx
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
        })
    }

    fn revoke_token(&self, token_id: &str, owner: Option<&str>) -> StorageResult<bool> {
        // No write lock: a push updates its token's row before taking the
        // lock, so taking them in the other order here could deadlock.
        self.write_unordered(|tx| {
            let n = tx.execute(
                "UPDATE tokens SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 AND ($3::text IS NULL OR user_id = $3::text)",
                &[&now_text(), &token_id, &owner],
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
                let missed = cursor > 0
                    && tx
                        .query_one(
                            "SELECT EXISTS(SELECT 1 FROM changes WHERE scope_circle = $1 AND seq <= $2)",
                            &[&circle, &cursor],
                        )?
                        .get::<_, bool>(0);
                if missed {
                    reset = true;
                } else {
                    tx.execute(
                        "INSERT INTO token_circles (token_id, circle_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        &[&session.token_id, &circle],
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
