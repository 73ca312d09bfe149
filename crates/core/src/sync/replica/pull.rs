//! Pulling: applying a page of others' changes field by field under the merge
//! rules, with the cursor moved in the same transaction.

use super::*;

/// Prepared statements kept per connection: sync reuses a few dozen (a row
/// write per table and set of fields, multi-row version writes by count).
pub(super) const STATEMENT_CACHE: usize = 256;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApplyStats {
    /// Remote changes that became a field's value here.
    pub applied: usize,
    /// Remote changes older than what this replica holds (no effect).
    pub superseded: usize,
    /// This replica's own changes coming back (acknowledged).
    pub own: usize,
    pub conflicts: usize,
    /// Changes of this page that could not be applied and were kept aside.
    pub kept_aside: usize,
    /// Changes kept aside earlier that applied (or were superseded) now.
    pub recovered: usize,
    /// Circles removed from this computer because the server revoked them.
    pub revoked_circles: usize,
    /// This person's unpushed changes to those circles, kept as refused.
    pub kept_refused: usize,
}

impl ApplyStats {
    fn add(&mut self, other: &ApplyStats) {
        self.applied += other.applied;
        self.superseded += other.superseded;
        self.own += other.own;
        self.conflicts += other.conflicts;
        self.kept_aside += other.kept_aside;
        self.recovered += other.recovered;
        self.revoked_circles += other.revoked_circles;
        self.kept_refused += other.kept_refused;
    }
}

/// The changes of one row in a pulled page, in log order.
pub(super) struct RowChanges<'a> {
    pub(super) table: &'static schema::TableDef,
    pub(super) row_id: &'a str,
    pub(super) changes: Vec<&'a ServerChange>,
}

/// A field's version here: who wrote its value, and the last server
/// sequence seen for it.
#[derive(Clone, PartialEq)]
pub(super) struct FieldVersion {
    pub(super) hlc: Hlc,
    /// As stored (kept as it was when only `server_seq` moves).
    pub(super) hlc_text: String,
    pub(super) device_id: String,
    pub(super) server_seq: Option<i64>,
}

/// One field of a row while a page is applied: its version before the page,
/// its version now, and the change whose value it now holds (if one from
/// this page won).
pub(super) struct FieldSlot<'a> {
    pub(super) field: &'static str,
    pub(super) before: Option<FieldVersion>,
    pub(super) now: Option<FieldVersion>,
    pub(super) winner: Option<&'a WireChange>,
}

/// Rows of `field_versions` written by one multi-row statement at most.
pub(super) const VERSIONS_PER_STATEMENT: usize = 32;

/// Apply one row's changes of a page: per field, the last writer by (HLC,
/// device) wins, exactly as if each change were applied in turn; then write
/// the row once and its changed field versions together.
pub(super) fn apply_row(tx: &Connection, row: &RowChanges<'_>, me: &str, stats: &mut ApplyStats) -> Result<()> {
    let table = row.table;
    let mut slots: Vec<FieldSlot<'_>> = Vec::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT field, hlc, device_id, server_seq FROM field_versions WHERE table_name = ?1 AND row_id = ?2",
        )?;
        let mut found = stmt.query(params![table.name, row.row_id])?;
        while let Some(r) = found.next()? {
            let field: String = r.get(0)?;
            // Only fields this page touches matter; the schema knows them all.
            let Some(field) = table.fields.iter().copied().find(|f| *f == field) else { continue };
            let hlc_text: String = r.get(1)?;
            let version = FieldVersion {
                hlc: hlc_text.parse().unwrap_or(Hlc::ZERO),
                hlc_text,
                device_id: r.get(2)?,
                server_seq: r.get(3)?,
            };
            slots.push(FieldSlot { field, before: Some(version.clone()), now: Some(version), winner: None });
        }
    }
    for server_change in &row.changes {
        let change = &server_change.change;
        let i = match slots.iter().position(|s| s.field == change.field) {
            Some(i) => i,
            None => {
                // `merge::check` accepted the field, so the schema has it.
                let field = table.fields.iter().copied().find(|f| *f == change.field).expect("checked field");
                slots.push(FieldSlot { field, before: None, now: None, winner: None });
                slots.len() - 1
            }
        };
        let slot = &mut slots[i];
        let wins = match &slot.now {
            None => true,
            Some(current) => merge::supersedes(
                Version { hlc: change.hlc, device_id: &change.device_id },
                Version { hlc: current.hlc, device_id: &current.device_id },
            ),
        };
        let seen_seq = slot.now.as_ref().and_then(|v| v.server_seq).unwrap_or(0).max(server_change.seq);
        if wins {
            slot.now = Some(FieldVersion {
                hlc: change.hlc,
                hlc_text: change.hlc.to_string(),
                device_id: change.device_id.clone(),
                server_seq: Some(seen_seq),
            });
            slot.winner = Some(change);
        } else if let Some(current) = &mut slot.now {
            current.server_seq = Some(seen_seq);
        }
        if change.device_id == me {
            stats.own += 1;
        } else if wins {
            stats.applied += 1;
        } else {
            stats.superseded += 1;
        }
    }
    write_row(tx, table, row.row_id, &slots)?;
    let changed: Vec<&FieldSlot<'_>> = slots.iter().filter(|s| s.now != s.before).collect();
    for chunk in changed.chunks(VERSIONS_PER_STATEMENT) {
        let values = vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO field_versions (table_name, row_id, field, hlc, device_id, server_seq) VALUES {values}
             ON CONFLICT(table_name, row_id, field) DO UPDATE
             SET hlc = excluded.hlc, device_id = excluded.device_id, server_seq = excluded.server_seq"
        );
        let mut params: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(chunk.len() * 6);
        for slot in chunk {
            let version = slot.now.as_ref().expect("a changed field has a version");
            params.extend([
                &table.name as &dyn rusqlite::ToSql,
                &row.row_id,
                &slot.field,
                &version.hlc_text,
                &version.device_id,
                &version.server_seq,
            ]);
        }
        tx.prepare_cached(&sql)?.execute(params.as_slice())?;
    }
    Ok(())
}

/// Write the values that won into the row, in one statement. A row first
/// seen through some of its fields stays hidden (deleted) until its own
/// `deleted` field arrives: a row's creation records `deleted` after every
/// other field but `created_at`, and pages come in log order, so by then the
/// whole row is here. Readers never see half a row when a page boundary
/// splits one.
pub(super) fn write_row(
    tx: &Connection,
    table: &schema::TableDef,
    row_id: &str,
    slots: &[FieldSlot<'_>],
) -> Result<()> {
    let mut columns: Vec<&'static str> = Vec::new();
    let mut params: Vec<Value> = vec![Value::Text(row_id.to_string())];
    // Schema order, so the same set of fields always makes the same statement.
    for field in table.fields {
        let Some(change) = slots.iter().find(|s| s.field == *field).and_then(|s| s.winner) else { continue };
        let value = schema::check_value(table, field, &change.value)
            .map_err(|e| CoreError::Protocol(format!("the server sent an invalid value: {e}")))?;
        columns.push(field);
        params.push(value);
    }
    if columns.is_empty() {
        return Ok(());
    }
    // Field names come from the schema, never from the page.
    let sets: Vec<String> = columns.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    let (names, values) = if columns.contains(&"deleted") {
        (columns.join(", "), (2..=columns.len() + 1).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", "))
    } else {
        (
            format!("deleted, {}", columns.join(", ")),
            format!("1, {}", (2..=columns.len() + 1).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")),
        )
    };
    let sql = format!(
        "INSERT INTO {t} (id, {names}) VALUES (?1, {values}) ON CONFLICT(id) DO UPDATE SET {sets}",
        t = table.name,
        sets = sets.join(", ")
    );
    tx.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(params))?;
    Ok(())
}

/// Whether a failed change is to be kept aside (and why), rather than stop
/// the page: only what the change itself causes. Anything else (the disk,
/// a busy database) stops the page, which applies whole on the next sync.
fn kept_aside_kind(error: &CoreError) -> Option<KeptAsideKind> {
    match error {
        CoreError::Db(rusqlite::Error::SqliteFailure(failure, _))
            if failure.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Some(if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY {
                KeptAsideKind::MissingReference
            } else {
                KeptAsideKind::Invalid
            })
        }
        CoreError::Db(rusqlite::Error::ToSqlConversionFailure(_)) | CoreError::Protocol(_) => {
            Some(KeptAsideKind::Invalid)
        }
        _ => None,
    }
}

/// Where a table comes in `schema::ALL_TABLES` (parents before children).
fn table_rank(table: &schema::TableDef) -> usize {
    schema::ALL_TABLES.iter().position(|t| t.name == table.name).unwrap_or(usize::MAX)
}

/// A change that makes its row visible (`deleted` set to 0).
fn shows_row(change: &WireChange) -> bool {
    change.field == "deleted" && change.value != serde_json::json!(1)
}

/// Applying one page (and retrying what was kept aside) inside the page's
/// transaction: each row in a savepoint, and when a row fails, each of its
/// changes in its own, so one bad change never stops the others.
struct PageApplier<'t> {
    tx: &'t Connection,
    me: &'t str,
    /// The later of the server's time and this computer's corrected clock.
    now_millis: u64,
    /// When this attempt was made (RFC 3339), for the kept-aside record.
    attempted_at: String,
    clock: Hlc,
    stats: ApplyStats,
    /// Rows with a reference kept aside: they stay hidden (their `deleted`
    /// waits too) until it applies, so no one sees a row missing its parent.
    rows_missing_a_reference: std::collections::HashSet<(String, String)>,
    /// Changes kept aside by this page (not retried in the same page).
    kept_now: std::collections::HashSet<String>,
    /// Whether changes kept aside earlier are being retried.
    retrying: bool,
}

impl<'t> PageApplier<'t> {
    fn new(tx: &'t Connection, me: &'t str, now_millis: u64, clock: Hlc) -> Result<PageApplier<'t>> {
        let mut stmt = tx.prepare_cached("SELECT DISTINCT table_name, row_id FROM kept_aside WHERE kind = ?1")?;
        let rows_missing_a_reference = stmt
            .query_map([KeptAsideKind::MissingReference.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(PageApplier {
            tx,
            me,
            now_millis,
            attempted_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            clock,
            stats: ApplyStats::default(),
            rows_missing_a_reference,
            kept_now: Default::default(),
            retrying: false,
        })
    }

    /// Why a change cannot even be tried: not of this schema, or stamped
    /// too far in the future.
    fn refusal(&self, change: &WireChange) -> std::result::Result<&'static schema::TableDef, (KeptAsideKind, String)> {
        let table = merge::check(change).map_err(|e| (KeptAsideKind::Invalid, e.to_string()))?;
        if !change.hlc.is_plausible_remote(self.now_millis) {
            return Err((
                KeptAsideKind::FutureClock,
                format!(
                    "stamped {} s ahead of the present; applied when its time comes",
                    (change.hlc.millis - self.now_millis) / 1000
                ),
            ));
        }
        Ok(table)
    }

    fn run(&self, sql: &str) -> Result<()> {
        self.tx.prepare_cached(sql)?.execute([])?;
        Ok(())
    }

    /// Run `f` in a savepoint: kept if it succeeds, undone if it fails.
    fn in_savepoint(&mut self, f: impl FnOnce(&Connection, &mut ApplyStats) -> Result<()>) -> Result<()> {
        self.run("SAVEPOINT pull_apply")?;
        let mut stats = ApplyStats::default();
        match f(self.tx, &mut stats) {
            Ok(()) => {
                self.run("RELEASE pull_apply")?;
                self.stats.add(&stats);
                Ok(())
            }
            Err(e) => {
                self.run("ROLLBACK TO pull_apply")?;
                self.run("RELEASE pull_apply")?;
                Err(e)
            }
        }
    }

    /// Apply one row's changes of the page: all at once, or, if that
    /// fails, change by change with the failing ones kept aside.
    fn apply_row(&mut self, row: &RowChanges<'_>) -> Result<()> {
        let key = (row.table.name.to_string(), row.row_id.to_string());
        let held_back =
            self.rows_missing_a_reference.contains(&key) && row.changes.iter().any(|c| shows_row(&c.change));
        if !held_back {
            let me = self.me;
            match self.in_savepoint(|tx, stats| apply_row(tx, row, me, stats)) {
                Ok(()) => return Ok(()),
                Err(e) if kept_aside_kind(&e).is_some() => {}
                Err(e) => return Err(e),
            }
        }
        for change in &row.changes {
            if self.apply_change(row.table, change)?.is_none() {
                self.stats.kept_aside += 1;
            }
        }
        Ok(())
    }

    /// Apply one change through the merge rules, or keep it aside. `Some`
    /// when it applied (or lost to a later version), `None` when kept aside.
    fn apply_change(&mut self, table: &'static schema::TableDef, change: &ServerChange) -> Result<Option<()>> {
        let key = (table.name.to_string(), change.change.row_id.clone());
        if shows_row(&change.change) && self.rows_missing_a_reference.contains(&key) {
            let reason = "waits for a reference of the same row, kept aside".to_string();
            self.keep_aside(change, KeptAsideKind::WaitsForReference, &reason)?;
            return Ok(None);
        }
        let single = RowChanges { table, row_id: &change.change.row_id, changes: vec![change] };
        let me = self.me;
        match self.in_savepoint(|tx, stats| apply_row(tx, &single, me, stats)) {
            Ok(()) => Ok(Some(())),
            Err(e) => match kept_aside_kind(&e) {
                Some(kind) => {
                    let reason = match kind {
                        KeptAsideKind::MissingReference => {
                            format!("{} names a row this computer does not have (yet)", change.change.field)
                        }
                        _ => e.to_string(),
                    };
                    self.keep_aside(change, kind, &reason)?;
                    if kind == KeptAsideKind::MissingReference {
                        self.rows_missing_a_reference.insert(key);
                    }
                    Ok(None)
                }
                None => Err(e),
            },
        }
    }

    /// Record a change as kept aside (again: one more attempt).
    fn keep_aside(&mut self, change: &ServerChange, kind: KeptAsideKind, reason: &str) -> Result<()> {
        let c = &change.change;
        let json = serde_json::to_string(change).map_err(|e| CoreError::Protocol(e.to_string()))?;
        self.tx
            .prepare_cached(
                "INSERT INTO kept_aside (change_id, seq, table_name, row_id, field, change, kind, reason,
                                         first_attempt, last_attempt)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
                 ON CONFLICT(change_id) DO UPDATE SET seq = excluded.seq, change = excluded.change,
                     kind = excluded.kind, reason = excluded.reason, last_attempt = excluded.last_attempt,
                     attempts = attempts + 1",
            )?
            .execute(params![
                c.change_id,
                change.seq,
                c.table,
                c.row_id,
                c.field,
                json,
                kind.as_str(),
                reason,
                self.attempted_at
            ])?;
        if !self.retrying {
            self.kept_now.insert(c.change_id.clone());
        }
        Ok(())
    }

    /// Try every change kept aside by earlier pages again, in log order,
    /// through the same merge rules as a fresh one (so one that applies now
    /// still loses to a later version that arrived meanwhile); again while a
    /// pass recovers something (a kept-aside parent may free its children).
    fn retry_kept_aside(&mut self) -> Result<()> {
        self.retrying = true;
        loop {
            let recovered = self.stats.recovered;
            self.retry_pass()?;
            if self.stats.recovered == recovered {
                break;
            }
        }
        self.retrying = false;
        Ok(())
    }

    fn retry_pass(&mut self) -> Result<()> {
        let kept: Vec<(String, String)> = {
            let mut stmt = self.tx.prepare_cached("SELECT change_id, change FROM kept_aside ORDER BY seq")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for (change_id, json) in kept {
            if self.kept_now.contains(&change_id) {
                continue;
            }
            let Ok(change) = serde_json::from_str::<ServerChange>(&json) else { continue };
            let key = (change.change.table.clone(), change.change.row_id.clone());
            // It may have been the row's last missing reference: let its
            // `deleted` through if nothing else of the row waits.
            self.rows_missing_a_reference.remove(&key);
            let outcome = match self.refusal(&change.change) {
                Err((kind, reason)) => {
                    self.keep_aside(&change, kind, &reason)?;
                    None
                }
                Ok(table) => {
                    let still_missing: bool = self.tx.prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM kept_aside WHERE table_name = ?1 AND row_id = ?2 AND kind = ?3
                                         AND change_id <> ?4)",
                    )?
                    .query_row(params![key.0, key.1, KeptAsideKind::MissingReference.as_str(), change_id], |r| r.get(0))?;
                    if still_missing {
                        self.rows_missing_a_reference.insert(key);
                    }
                    let applied = self.apply_change(table, &change)?;
                    if applied.is_some() {
                        self.clock = Hlc::observe(self.clock, change.change.hlc, self.now_millis);
                    }
                    applied
                }
            };
            if outcome.is_some() {
                self.tx.prepare_cached("DELETE FROM kept_aside WHERE change_id = ?1")?.execute([&change_id])?;
                self.stats.recovered += 1;
            }
        }
        Ok(())
    }
}

/// Rows whose deletion can hide a person's edit elsewhere, with the child
/// rows that edit could be in: (parent table, [(child table, reference field)]).
/// Guides are left out: the engine re-derives them by itself, not a person.
const DELETE_AGAINST_EDIT: &[(&str, &[(&str, &str)])] = &[
    ("learners", &[("attendance", "learner_id")]),
    ("meetings", &[("attendance", "meeting_id"), ("meeting_feedback", "meeting_id")]),
    ("circles", &[("meetings", "circle_id"), ("learners", "circle_id")]),
];

/// Delete against edit: another device's deletion of `change`'s row just won
/// here, and this replica made edits of rows under it that the deleting
/// device may not have seen: stamped after the deletion (had it seen them,
/// its clock would be past them), or sent to the server after this replica's
/// last complete pull (outbox seq past `acked_at_last_pull`: an edit made
/// offline and pushed just before this pull, or not yet pushed). Those edits
/// are now invisible, so the person who made them gets a conflict on the
/// parent's `deleted` field: restoring the lost value (0) brings the row
/// back, keeping accepts. Returns whether a new conflict was recorded.
fn record_delete_against_edit(tx: &Connection, change: &WireChange, me: &str, acked_at_last_pull: i64) -> Result<bool> {
    let Some((_, children)) = DELETE_AGAINST_EDIT.iter().find(|(t, _)| *t == change.table) else { return Ok(false) };
    if change.field != "deleted" || change.value != serde_json::json!(1) || change.device_id == me {
        return Ok(false);
    }
    let current: Option<(String, String)> = tx
        .prepare_cached(
            "SELECT hlc, device_id FROM field_versions WHERE table_name = ?1 AND row_id = ?2 AND field = 'deleted'",
        )?
        .query_row(params![change.table, change.row_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let deletion_hlc = change.hlc.to_string();
    if current != Some((deletion_hlc.clone(), change.device_id.clone())) {
        return Ok(false); // the deletion lost to a later version of `deleted`
    }
    let mut latest_edit: Option<String> = None;
    for (child, reference) in children.iter() {
        // Table and field names come from the constant above, never the
        // page. The outbox holds exactly this replica's own edits.
        let sql = format!(
            "SELECT max(e.hlc) FROM {child} c JOIN changes e ON e.table_name = '{child}' AND e.row_id = c.id
             WHERE c.{reference} = ?1 AND c.deleted = 0 AND (e.hlc > ?2 OR e.seq > ?3)"
        );
        let found: Option<String> = tx
            .prepare_cached(&sql)?
            .query_row(params![change.row_id, deletion_hlc, acked_at_last_pull], |r| r.get(0))?;
        latest_edit = latest_edit.max(found);
    }
    let Some(lost_hlc) = latest_edit else { return Ok(false) };
    let id = crate::store::rows::derived_id("delete-against-edit", &[&change.table, &change.row_id, &deletion_hlc]);
    let inserted = tx
        .prepare_cached(
            "INSERT INTO conflicts (id, table_name, row_id, field, lost_value, lost_hlc, won_value, won_hlc,
                                    won_device, detected_at)
             VALUES (?1, ?2, ?3, 'deleted', '0', ?4, '1', ?5, ?6, ?7) ON CONFLICT(id) DO NOTHING",
        )?
        .execute(params![
            id,
            change.table,
            change.row_id,
            lost_hlc,
            deletion_hlc,
            change.device_id,
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ])?;
    Ok(inserted > 0)
}

impl Store {
    /// Where the next pull starts: (change cursor, conflict cursor).
    pub fn pull_cursors(&self) -> Result<(i64, i64)> {
        Ok((meta::get_int(&self.conn, meta::SYNC_CURSOR)?, meta::get_int(&self.conn, meta::SYNC_CONFLICT_CURSOR)?))
    }

    /// Apply one pulled page and move the cursors, atomically. A change that
    /// cannot be applied is kept aside (`kept_aside`) and tried again on
    /// every later page; the page's other changes apply and the cursor moves
    /// on, so no change from the server can stop this replica's sync.
    pub fn apply_pull(&mut self, page: &PullResponse) -> Result<ApplyStats> {
        let device_id = self.device_id().to_string();
        let now_millis = corrected_now(self.clock_offset_ms()?).max(page.server_time_ms);
        self.conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let tx = self.conn.transaction()?;
        // Circles this person no longer sees leave this computer first; the
        // page holds none of their changes.
        let forgotten = super::revoke::forget_circles(&tx, &page.revoked)?;
        let revoked = ApplyStats {
            revoked_circles: forgotten.circles,
            kept_refused: forgotten.kept_changes,
            ..Default::default()
        };
        if page.reset {
            meta::set(&tx, meta::SYNC_CURSOR, "0")?;
            tx.commit()?;
            return Ok(revoked);
        }
        let clock: Hlc = meta::get(&tx, meta::HLC)?.and_then(|s| s.parse().ok()).unwrap_or(Hlc::ZERO);
        let mut applier = PageApplier::new(&tx, &device_id, now_millis, clock)?;
        // Group the page by row: each row's changes in log order. A change
        // that is not of this schema or is stamped far ahead is kept aside
        // before anything is tried, and its clock is not observed.
        let mut rows: Vec<RowChanges<'_>> = Vec::new();
        let mut row_index: HashMap<(&str, &str), usize> = HashMap::new();
        for server_change in &page.changes {
            let change = &server_change.change;
            let table = match applier.refusal(change) {
                Ok(table) => table,
                Err((kind, reason)) => {
                    applier.keep_aside(server_change, kind, &reason)?;
                    applier.stats.kept_aside += 1;
                    continue;
                }
            };
            applier.clock = Hlc::observe(applier.clock, change.hlc, now_millis);
            let i = *row_index.entry((table.name, change.row_id.as_str())).or_insert_with(|| {
                rows.push(RowChanges { table, row_id: &change.row_id, changes: Vec::new() });
                rows.len() - 1
            });
            rows[i].changes.push(server_change);
        }
        // Rows do not affect each other's merge, so they may go in any
        // order: parents' tables first, so a reference to a row later in the
        // same page finds it (foreign keys are checked per statement, which
        // is what lets one bad reference be told from the rest).
        rows.sort_by_key(|row| table_rank(row.table));
        for row in &rows {
            applier.apply_row(row)?;
        }
        applier.retry_kept_aside()?;
        let mut stats = applier.stats;
        stats.add(&revoked);
        let clock = applier.clock;
        let acked_at_last_pull = meta::get_int(&tx, meta::SYNC_ACKED_AT_LAST_PULL)?;
        for server_change in &page.changes {
            if record_delete_against_edit(&tx, &server_change.change, &device_id, acked_at_last_pull)? {
                stats.conflicts += 1;
            }
        }
        if !page.has_more {
            let acked = meta::get_int(&tx, meta::SYNC_ACKED_THROUGH)?;
            meta::set(&tx, meta::SYNC_ACKED_AT_LAST_PULL, &acked.to_string())?;
        }
        {
            let mut insert_conflict = tx.prepare_cached(
                "INSERT INTO conflicts (id, table_name, row_id, field, lost_value, lost_hlc, won_value, won_hlc,
                                        won_device, detected_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(id) DO NOTHING",
            )?;
            for conflict in &page.conflicts {
                let inserted = insert_conflict.execute(params![
                    conflict.id.to_string(),
                    conflict.table,
                    conflict.row_id,
                    conflict.field,
                    conflict.lost_value.to_string(),
                    conflict.lost_hlc.to_string(),
                    conflict.won_value.to_string(),
                    conflict.won_hlc.to_string(),
                    conflict.won_device,
                    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                ])?;
                stats.conflicts += inserted;
            }
        }
        let conflict_cursor = page.conflicts.iter().map(|c| c.id).max();
        if let Some(c) = conflict_cursor {
            meta::set(
                &tx,
                meta::SYNC_CONFLICT_CURSOR,
                &c.max(meta::get_int(&tx, meta::SYNC_CONFLICT_CURSOR)?).to_string(),
            )?;
        }
        meta::set(&tx, meta::SYNC_CURSOR, &page.cursor.to_string())?;
        meta::set(&tx, meta::HLC, &clock.to_string())?;
        tx.commit()?;
        Ok(stats)
    }
}
