//! The replica's side of sync, on the local store: building push batches
//! from the outbox, recording acknowledgements, applying pulled pages and
//! keeping lost concurrent edits for a person to resolve.
//!
//! Every step is one SQLite transaction together with the cursor or batch
//! state it moves, so a crash at any point leaves a state the next sync
//! continues from: a batch is re-sent verbatim until acknowledged, and a page
//! is applied and its cursor advanced together or not at all.

use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{params, Transaction};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::hlc::{wall_clock_millis, Hlc};
use crate::schema;
use crate::store::{meta_get, meta_set, Store};
use crate::sync::merge::{self, Version};
use crate::sync::wire::{PullResponse, PushRequest, PushResponse, ServerChange, WireChange};

const PENDING_BATCH: &str = "sync.pending_batch";
const LAST_BATCH_SEQ: &str = "sync.last_batch_seq";
const CURSOR: &str = "sync.cursor";
const CONFLICT_CURSOR: &str = "sync.conflict_cursor";
pub(crate) const CLOCK_OFFSET: &str = "sync.clock_offset_ms";

/// About how much JSON one pushed batch may carry: well under the server's
/// 8 MiB body limit, whatever the values (a text field may hold 20,000
/// characters).
pub const PUSH_BATCH_BYTES: usize = 2 * 1024 * 1024;
/// What a change adds to a batch besides its value (ids, names, clock).
const CHANGE_OVERHEAD_BYTES: usize = 256;
/// Prepared statements kept per connection: sync reuses a few dozen (a row
/// write per table and set of fields, multi-row version writes by count).
const STATEMENT_CACHE: usize = 256;

/// Outbox states as marked in `changes.pushed`: not marked, acknowledged
/// (by an answer that did not match the stored batch), or refused.
const ACKNOWLEDGED: i64 = 1;
const REFUSED: i64 = 2;

/// The meta key of the acknowledgement cursor, as a literal for SQL text.
macro_rules! acked_through_key {
    () => {
        "sync.acked_through"
    };
}

/// The acknowledgement cursor: every outbox change up to this seq that is
/// not refused has been acknowledged. The outbox is a log and batches are
/// its oldest waiting changes, so acknowledging a batch moves this cursor
/// instead of marking each of its changes.
const ACKED_THROUGH: &str = acked_through_key!();

/// The acknowledgement cursor in SQL.
macro_rules! acked_through {
    () => {
        concat!("coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = '", $crate::sync::replica::acked_through_key!(), "'), 0)")
    };
}

/// The SQL condition for outbox changes still waiting for the server: not
/// marked, and past the acknowledgement cursor.
macro_rules! waiting_changes {
    () => {
        concat!("pushed = 0 AND seq > ", $crate::sync::replica::acked_through!())
    };
}
pub(crate) use {acked_through, acked_through_key, waiting_changes};

/// The same within outbox seqs ?1 < seq <= ?2: one lower bound, or SQLite's
/// planner scans the index from the smaller one (every acknowledged change).
macro_rules! waiting_changes_within {
    () => {
        concat!("pushed = 0 AND seq > max(?1, ", acked_through!(), ") AND seq <= ?2")
    };
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApplyStats {
    /// Remote changes that became a field's value here.
    pub applied: usize,
    /// Remote changes older than what this replica holds (no effect).
    pub superseded: usize,
    /// This replica's own changes coming back (acknowledged).
    pub own: usize,
    pub conflicts: usize,
}

/// A concurrent edit this replica lost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    pub id: String,
    pub table: String,
    pub row_id: String,
    pub field: String,
    pub lost_value: serde_json::Value,
    pub won_value: serde_json::Value,
    pub won_device: String,
    pub detected_at: String,
    pub resolution: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Keep the value that won (nothing to write).
    KeepWon,
    /// Bring back this replica's value: a new edit, which syncs and wins.
    RestoreLost,
}

fn int_meta(tx: &rusqlite::Connection, key: &str) -> Result<i64> {
    Ok(meta_get(tx, key)?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

impl Store {
    /// The batch to push next: the unacknowledged one again (same id and
    /// number, so the server can answer a retry from its record), or a new
    /// one of up to `max` waiting changes and about `PUSH_BATCH_BYTES` of
    /// JSON (always at least one change). None when nothing waits.
    pub fn next_push_batch(&mut self, max: usize) -> Result<Option<PushRequest>> {
        if let Some(batch) = self.pending_batch()? {
            return Ok(Some(batch));
        }
        let waiting = self.waiting_changes(None, max, PUSH_BATCH_BYTES)?;
        let (Some((first_seq, _)), Some((last_seq, _))) = (waiting.first(), waiting.last()) else {
            return Ok(None);
        };
        let pending = PendingBatch {
            batch_id: uuid::Uuid::now_v7().to_string(),
            batch_seq: int_meta(&self.conn, LAST_BATCH_SEQ)? + 1,
            first_seq: *first_seq,
            last_seq: *last_seq,
            count: waiting.len(),
        };
        meta_set(&self.conn, PENDING_BATCH, &serde_json::to_string(&pending).expect("batch serializes"))?;
        Ok(Some(PushRequest {
            batch_id: pending.batch_id,
            batch_seq: pending.batch_seq,
            changes: waiting.into_iter().map(|(_, c)| c).collect(),
        }))
    }

    /// The stored batch not yet acknowledged, rebuilt exactly as it was
    /// first sent: its changes stay waiting and unchanged until then (only
    /// `correct_clock` re-stamps waiting changes, and it drops the batch).
    fn pending_batch(&self) -> Result<Option<PushRequest>> {
        let Some(json) = self.meta(PENDING_BATCH)? else { return Ok(None) };
        match stored_batch(&json)? {
            StoredBatch::Full(batch) => Ok(Some(batch)),
            StoredBatch::Range(pending) => {
                let waiting = self.waiting_changes(Some((pending.first_seq, pending.last_seq)), usize::MAX, usize::MAX)?;
                if waiting.len() != pending.count {
                    return Err(CoreError::Migration(format!(
                        "the stored push batch names {} waiting changes but {} are there",
                        pending.count,
                        waiting.len()
                    )));
                }
                Ok(Some(PushRequest {
                    batch_id: pending.batch_id,
                    batch_seq: pending.batch_seq,
                    changes: waiting.into_iter().map(|(_, c)| c).collect(),
                }))
            }
        }
    }

    /// The oldest waiting changes with their outbox seq (all of them within
    /// `range`, if given), at most `max` of them and, past the first, at most
    /// about `max_bytes` of JSON: a batch of long notes must stay well under
    /// the server's body limit.
    pub(crate) fn waiting_changes(&self, range: Option<(i64, i64)>, max: usize, max_bytes: usize) -> Result<Vec<(i64, WireChange)>> {
        let (first, last) = range.unwrap_or((i64::MIN, i64::MAX));
        let mut stmt = self.conn.prepare_cached(concat!(
            "SELECT seq, change_id, table_name, row_id, field, value, hlc, device_id, base_seq FROM changes
             WHERE ",
            waiting_changes_within!(),
            " ORDER BY seq LIMIT ?3"
        ))?;
        let mut rows = stmt.query(params![first.saturating_sub(1), last, max.min(i64::MAX as usize) as i64])?;
        let mut changes = Vec::new();
        let mut bytes = 0usize;
        while let Some(r) = rows.next()? {
            let value = r.get_ref(5)?.as_str().map_err(rusqlite::Error::from)?;
            let hlc = r.get_ref(6)?.as_str().map_err(rusqlite::Error::from)?;
            bytes = bytes.saturating_add(value.len() + CHANGE_OVERHEAD_BYTES);
            if bytes > max_bytes && !changes.is_empty() {
                break;
            }
            let change = WireChange {
                change_id: r.get(1)?,
                table: r.get(2)?,
                row_id: r.get(3)?,
                field: r.get(4)?,
                value: serde_json::from_str(value).unwrap_or(serde_json::Value::Null),
                hlc: hlc.parse().unwrap_or(Hlc::ZERO),
                device_id: r.get(7)?,
                base_seq: r.get(8)?,
            };
            changes.push((r.get(0)?, change));
        }
        Ok(changes)
    }

    /// Record the server's answer to the pending batch. The server keeps
    /// each field's winner; this replica needs no per-change record of it
    /// (see `docs/sync-protocol.md`, "Acknowledgement"): the usual answer
    /// just moves the acknowledgement cursor past the batch.
    /// `batch` is the pending batch as it was sent.
    pub fn ack_push(&mut self, batch: &PushRequest, response: &PushResponse) -> Result<()> {
        let tx = self.conn.transaction()?;
        match acked_range(&tx, batch, response)? {
            Some(last_seq) => meta_set(&tx, ACKED_THROUGH, &last_seq.to_string())?,
            None => {
                let mut mark = tx.prepare_cached("UPDATE changes SET pushed = ?1 WHERE change_id = ?2")?;
                for result in &response.results {
                    mark.execute(params![ACKNOWLEDGED, result.change_id])?;
                }
            }
        }
        tx.execute("DELETE FROM meta WHERE key = ?1", [PENDING_BATCH])?;
        meta_set(&tx, LAST_BATCH_SEQ, &response.batch_seq.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Forget the pending batch the server refused as a whole before
    /// applying any of it (too large for it): its changes wait again, to go
    /// in smaller batches under the same batch number.
    pub fn drop_pending_batch(&mut self) -> Result<()> {
        self.conn.execute("DELETE FROM meta WHERE key = ?1", [PENDING_BATCH])?;
        Ok(())
    }

    /// The server refused the pending batch for good (out of scope, invalid):
    /// keep its changes locally but stop offering them, so the rest of the
    /// outbox can sync. They stay visible in `refused_count`.
    pub fn refuse_pending_batch(&mut self) -> Result<usize> {
        let Some(batch) = self.pending_batch().ok().flatten() else { return Ok(0) };
        let tx = self.conn.transaction()?;
        for change in &batch.changes {
            tx.execute("UPDATE changes SET pushed = ?1 WHERE change_id = ?2", params![REFUSED, change.change_id])?;
        }
        tx.execute("DELETE FROM meta WHERE key = ?1", [PENDING_BATCH])?;
        tx.commit()?;
        Ok(batch.changes.len())
    }

    pub fn refused_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM changes WHERE pushed = ?1", [REFUSED], |r| r.get::<_, i64>(0))?
            as u64)
    }

    /// Correct this replica's clock by `offset_ms` (server minus local) and
    /// give every change not yet accepted anywhere a fresh timestamp from the
    /// corrected clock, in the same order. Safe because no one has seen them.
    pub fn correct_clock(&mut self, offset_ms: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM meta WHERE key = ?1", [PENDING_BATCH])?;
        meta_set(&tx, CLOCK_OFFSET, &offset_ms.to_string())?;
        let now = corrected_now(offset_ms);
        let mut clock = Hlc { millis: now, counter: 0 };
        let waiting: Vec<(i64, String, String, String, String)> = {
            let mut stmt = tx.prepare(concat!(
                "SELECT seq, table_name, row_id, field, hlc FROM changes WHERE ",
                waiting_changes!(),
                " ORDER BY seq"
            ))?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        for (seq, table, row, field, old_hlc) in waiting {
            clock = Hlc::tick(clock, now);
            let new_hlc = clock.to_string();
            tx.execute("UPDATE changes SET hlc = ?1 WHERE seq = ?2", params![new_hlc, seq])?;
            tx.execute(
                "UPDATE field_versions SET hlc = ?1
                 WHERE table_name = ?2 AND row_id = ?3 AND field = ?4 AND hlc = ?5",
                params![new_hlc, table, row, field, old_hlc],
            )?;
        }
        meta_set(&tx, "hlc", &clock.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Set the correction applied to this machine's clock (server time minus
    /// local time). Sync learns it by itself; setting it by hand simulates a
    /// wrong clock.
    pub fn set_clock_offset(&mut self, offset_ms: i64) -> Result<()> {
        meta_set(&self.conn, CLOCK_OFFSET, &offset_ms.to_string())
    }

    /// Where the next pull starts: (change cursor, conflict cursor).
    pub fn pull_cursors(&self) -> Result<(i64, i64)> {
        Ok((int_meta(&self.conn, CURSOR)?, int_meta(&self.conn, CONFLICT_CURSOR)?))
    }

    /// Apply one pulled page and move the cursors, atomically.
    pub fn apply_pull(&mut self, page: &PullResponse) -> Result<ApplyStats> {
        let device_id = self.device_id().to_string();
        self.conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let tx = self.conn.transaction()?;
        // References may point at rows later in the same page.
        tx.pragma_update(None, "defer_foreign_keys", true)?;
        let mut stats = ApplyStats::default();
        let mut clock: Hlc = meta_get(&tx, "hlc")?.and_then(|s| s.parse().ok()).unwrap_or(Hlc::ZERO);
        if page.reset {
            meta_set(&tx, CURSOR, "0")?;
            tx.commit()?;
            return Ok(stats);
        }
        // Check the whole page first (a page this version cannot apply
        // changes nothing), then apply it row by row: each row's changes in
        // log order, rows in the order they first appear. Rows do not
        // affect each other, so this is the same as applying change by change.
        let mut rows: Vec<RowChanges<'_>> = Vec::new();
        let mut row_index: HashMap<(&str, &str), usize> = HashMap::new();
        for server_change in &page.changes {
            let change = &server_change.change;
            let table = merge::check(change).map_err(|e| {
                CoreError::Export(format!("the server sent a change this version cannot apply ({e}); update Circles"))
            })?;
            clock = Hlc::observe(clock, change.hlc, wall_clock_millis());
            let i = *row_index.entry((table.name, change.row_id.as_str())).or_insert_with(|| {
                rows.push(RowChanges { table, row_id: &change.row_id, changes: Vec::new() });
                rows.len() - 1
            });
            rows[i].changes.push(server_change);
        }
        for row in &rows {
            apply_row(&tx, row, &device_id, &mut stats)?;
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
            meta_set(&tx, CONFLICT_CURSOR, &c.max(int_meta(&tx, CONFLICT_CURSOR)?).to_string())?;
        }
        meta_set(&tx, CURSOR, &page.cursor.to_string())?;
        meta_set(&tx, "hlc", &clock.to_string())?;
        tx.commit()?;
        Ok(stats)
    }

    /// Lost concurrent edits, newest first; resolved ones too if asked.
    pub fn conflicts(&self, include_resolved: bool) -> Result<Vec<Conflict>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, table_name, row_id, field, lost_value, won_value, won_device, detected_at, resolution
             FROM conflicts WHERE ?1 OR resolved_at IS NULL ORDER BY detected_at DESC, id DESC",
        )?;
        let rows = stmt
            .query_map([include_resolved], |r| {
                let lost: String = r.get(4)?;
                let won: String = r.get(5)?;
                Ok(Conflict {
                    id: r.get(0)?,
                    table: r.get(1)?,
                    row_id: r.get(2)?,
                    field: r.get(3)?,
                    lost_value: serde_json::from_str(&lost).unwrap_or_default(),
                    won_value: serde_json::from_str(&won).unwrap_or_default(),
                    won_device: r.get(6)?,
                    detected_at: r.get(7)?,
                    resolution: r.get(8)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Settle a conflict. Restoring the lost value is an ordinary new edit of
    /// the field, so it syncs everywhere and wins by being the latest.
    pub fn resolve_conflict(&mut self, id: &str, resolution: Resolution) -> Result<()> {
        let conflict = self
            .conflicts(true)?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| CoreError::not_found("conflict", id))?;
        if conflict.resolution.is_some() {
            return Err(CoreError::invalid("conflict", "id", format!("conflict {id} is already resolved")));
        }
        let table = schema::table(&conflict.table).ok_or_else(|| CoreError::not_found("table", &conflict.table))?;
        let field = table
            .fields
            .iter()
            .copied()
            .find(|f| *f == conflict.field)
            .ok_or_else(|| CoreError::not_found("field", &conflict.field))?;
        let restored = schema::column_value(table, field, &conflict.lost_value)
            .map_err(|e| CoreError::invalid("conflict", "lost_value", e))?;
        let label = match resolution {
            Resolution::KeepWon => "kept_won",
            Resolution::RestoreLost => "restored_lost",
        };
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        self.write(|w| {
            if resolution == Resolution::RestoreLost {
                w.set_field(table, &conflict.row_id, field, restored)?;
            }
            w.execute(
                "UPDATE conflicts SET resolved_at = ?1, resolution = ?2 WHERE id = ?3",
                params![now, label, id],
            )
        })
    }
}

/// How the pending batch is kept until acknowledged: which waiting changes
/// it holds (a range of outbox seqs and their number), not a copy of them.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PendingBatch {
    batch_id: String,
    batch_seq: i64,
    first_seq: i64,
    last_seq: i64,
    count: usize,
}

enum StoredBatch {
    Range(PendingBatch),
    /// Written by earlier versions: the whole batch.
    Full(PushRequest),
}

fn stored_batch(json: &str) -> Result<StoredBatch> {
    if let Ok(pending) = serde_json::from_str::<PendingBatch>(json) {
        return Ok(StoredBatch::Range(pending));
    }
    serde_json::from_str(json)
        .map(StoredBatch::Full)
        .map_err(|e| CoreError::Migration(format!("stored push batch is unreadable: {e}")))
}

/// When `response` answers the stored batch change for change (the usual
/// case: one result per change, in order), the last outbox seq of the batch.
/// `batch` was read from the stored range (`next_push_batch`), so its
/// changes are compared in memory rather than read again.
fn acked_range(tx: &Transaction<'_>, batch: &PushRequest, response: &PushResponse) -> Result<Option<i64>> {
    let Some(json) = meta_get(tx, PENDING_BATCH)? else { return Ok(None) };
    let Ok(StoredBatch::Range(pending)) = stored_batch(&json) else { return Ok(None) };
    let answers_it = pending.batch_id == batch.batch_id
        && pending.batch_id == response.batch_id
        && pending.count == batch.changes.len()
        && pending.count == response.results.len()
        && batch.changes.iter().zip(&response.results).all(|(change, result)| change.change_id == result.change_id);
    Ok(answers_it.then_some(pending.last_seq))
}

/// The changes of one row in a pulled page, in log order.
struct RowChanges<'a> {
    table: &'static schema::TableDef,
    row_id: &'a str,
    changes: Vec<&'a ServerChange>,
}

/// A field's version here: who wrote its value, and the last server
/// sequence seen for it.
#[derive(Clone, PartialEq)]
struct FieldVersion {
    hlc: Hlc,
    /// As stored (kept as it was when only `server_seq` moves).
    hlc_text: String,
    device_id: String,
    server_seq: Option<i64>,
}

/// One field of a row while a page is applied: its version before the page,
/// its version now, and the change whose value it now holds (if one from
/// this page won).
struct FieldSlot<'a> {
    field: &'static str,
    before: Option<FieldVersion>,
    now: Option<FieldVersion>,
    winner: Option<&'a WireChange>,
}

/// Rows of `field_versions` written by one multi-row statement at most.
const VERSIONS_PER_STATEMENT: usize = 32;

/// Apply one row's changes of a page: per field, the last writer by (HLC,
/// device) wins, exactly as if each change were applied in turn; then write
/// the row once and its changed field versions together.
fn apply_row(tx: &Transaction<'_>, row: &RowChanges<'_>, me: &str, stats: &mut ApplyStats) -> Result<()> {
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
fn write_row(tx: &Transaction<'_>, table: &schema::TableDef, row_id: &str, slots: &[FieldSlot<'_>]) -> Result<()> {
    let mut columns: Vec<&'static str> = Vec::new();
    let mut params: Vec<Value> = vec![Value::Text(row_id.to_string())];
    // Schema order, so the same set of fields always makes the same statement.
    for field in table.fields {
        let Some(change) = slots.iter().find(|s| s.field == *field).and_then(|s| s.winner) else { continue };
        let value = schema::column_value(table, field, &change.value)
            .map_err(|e| CoreError::Export(format!("the server sent an invalid value: {e}")))?;
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

/// The wall clock corrected by the server offset.
pub(crate) fn corrected_now(offset_ms: i64) -> u64 {
    (wall_clock_millis() as i64 + offset_ms).max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::CourseInput;
    use crate::rows::{new_id, text};
    use crate::schema::COURSES;
    use crate::sync::wire::PushOutcome;
    use proptest::prelude::*;
    use serde_json::json;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn a_batch_of_long_values_stays_under_the_byte_budget_and_is_resent_verbatim() {
        let (dir, mut store) = store();
        let long = "x".repeat(20_000);
        for _ in 0..120 {
            store.write(|w| w.insert(&COURSES, &new_id(), &[("title", text(&long))])).unwrap();
        }
        let waiting = store.pending_count().unwrap() as usize;
        let batch = store.next_push_batch(5_000).unwrap().unwrap();
        let bytes = serde_json::to_string(&batch).unwrap().len();
        assert!(batch.changes.len() < waiting, "{} of {waiting} changes in one batch", batch.changes.len());
        assert!(bytes <= PUSH_BATCH_BYTES + 64 * 1024, "{bytes} bytes");
        assert_eq!(batch.changes, store.pending_changes(batch.changes.len()).unwrap(), "the oldest waiting changes");
        // A new edit after the batch was made does not change the batch.
        store.create_course(&CourseInput::new("Later")).unwrap();
        drop(store);
        let mut store = Store::open_in(dir.path()).unwrap();
        assert_eq!(store.next_push_batch(5_000).unwrap().unwrap(), batch);
    }

    #[test]
    fn a_whole_batch_stored_by_an_earlier_version_is_still_sent_and_acknowledged() {
        let (_dir, mut store) = store();
        store.create_course(&CourseInput::new("Python")).unwrap();
        let changes = store.pending_changes(1_000).unwrap();
        let batch = PushRequest { batch_id: "old-batch".into(), batch_seq: 1, changes: changes.clone() };
        meta_set(&store.conn, PENDING_BATCH, &serde_json::to_string(&batch).unwrap()).unwrap();
        assert_eq!(store.next_push_batch(5_000).unwrap().unwrap(), batch);
        let response = PushResponse {
            batch_id: batch.batch_id.clone(),
            batch_seq: 1,
            results: changes
                .iter()
                .enumerate()
                .map(|(i, c)| crate::sync::wire::PushResult {
                    change_id: c.change_id.clone(),
                    outcome: PushOutcome::Applied,
                    seq: Some(i as i64 + 7),
                })
                .collect(),
            server_time_ms: 0,
        };
        store.ack_push(&batch, &response).unwrap();
        assert_eq!(store.pending_count().unwrap(), 0);
        assert_eq!(store.next_push_batch(5_000).unwrap(), None);
    }

    #[test]
    fn acknowledging_a_batch_moves_past_it_and_leaves_later_changes_waiting() {
        let (_dir, mut store) = store();
        store.create_course(&CourseInput::new("Python")).unwrap();
        let batch = store.next_push_batch(5_000).unwrap().unwrap();
        // A change made while the batch was out stays waiting.
        store.create_course(&CourseInput::new("Later")).unwrap();
        let results = batch
            .changes
            .iter()
            .enumerate()
            .map(|(i, c)| crate::sync::wire::PushResult {
                change_id: c.change_id.clone(),
                outcome: if i == 0 { PushOutcome::Superseded } else { PushOutcome::Applied },
                seq: (i > 0).then_some(100 + i as i64),
            })
            .collect();
        let response = PushResponse { batch_id: batch.batch_id.clone(), batch_seq: batch.batch_seq, results, server_time_ms: 0 };
        store.ack_push(&batch, &response).unwrap();
        assert_eq!(store.pending_count().unwrap() as usize, COURSES.fields.len());
        let next = store.next_push_batch(5_000).unwrap().unwrap();
        assert_eq!(next.batch_seq, batch.batch_seq + 1);
        assert_eq!(next.changes, store.pending_changes(100).unwrap());
        assert!(next.changes.iter().all(|c| !batch.changes.contains(c)), "no acknowledged change is offered again");
        assert!(waiting_changes!().contains(ACKED_THROUGH), "the SQL condition reads the cursor this file writes");
    }

    #[test]
    fn an_answer_that_does_not_match_the_batch_acknowledges_the_changes_it_names() {
        let (_dir, mut store) = store();
        store.create_course(&CourseInput::new("Python")).unwrap();
        let batch = store.next_push_batch(5_000).unwrap().unwrap();
        // The server answered for the first two changes only.
        let results = batch.changes[..2]
            .iter()
            .map(|c| crate::sync::wire::PushResult {
                change_id: c.change_id.clone(),
                outcome: PushOutcome::Applied,
                seq: Some(1),
            })
            .collect();
        let response = PushResponse { batch_id: batch.batch_id.clone(), batch_seq: batch.batch_seq, results, server_time_ms: 0 };
        store.ack_push(&batch, &response).unwrap();
        let next = store.next_push_batch(5_000).unwrap().unwrap();
        assert_eq!(next.changes, batch.changes[2..].to_vec());
    }

    fn remote(seq: i64, row: &str, field: &str, value: serde_json::Value, millis: u64, device: &str) -> ServerChange {
        ServerChange {
            seq,
            change: WireChange {
                change_id: format!("c{seq}"),
                table: "courses".into(),
                row_id: row.into(),
                field: field.into(),
                value,
                hlc: Hlc { millis, counter: 0 },
                device_id: device.into(),
                base_seq: None,
            },
        }
    }

    fn page(changes: Vec<ServerChange>) -> PullResponse {
        let cursor = changes.last().map_or(0, |c| c.seq);
        PullResponse { changes, cursor, has_more: false, remaining: 0, reset: false, conflicts: vec![], server_time_ms: 0 }
    }

    /// A field version as stored: row, field, hlc, device, server seq.
    type StoredVersion = (String, String, String, String, Option<i64>);

    /// What a replica holds: every course row and every field version.
    fn state(store: &Store) -> (Vec<Vec<rusqlite::types::Value>>, Vec<StoredVersion>) {
        let mut stmt = store.conn.prepare(&format!("SELECT id, {} FROM courses ORDER BY id", COURSES.fields.join(", "))).unwrap();
        let rows = stmt
            .query_map([], |r| (0..=COURSES.fields.len()).map(|i| r.get(i)).collect::<rusqlite::Result<Vec<_>>>())
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap();
        let mut stmt = store
            .conn
            .prepare("SELECT row_id, field, hlc, device_id, server_seq FROM field_versions ORDER BY row_id, field")
            .unwrap();
        let versions = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap();
        (rows, versions)
    }

    #[test]
    fn a_row_split_across_pages_stays_hidden_until_its_deleted_field_arrives() {
        let (_dir, mut store) = store();
        let first = page(vec![
            remote(1, "r1", "title", json!("Split"), 10, "dev-b"),
            remote(2, "r1", "provider", json!("Somewhere"), 11, "dev-b"),
        ]);
        let stats = store.apply_pull(&first).unwrap();
        assert_eq!(stats.applied, 2);
        let hidden: (String, i64) =
            store.conn.query_row("SELECT title, deleted FROM courses WHERE id = 'r1'", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!(hidden, ("Split".into(), 1));
        let mut second = page(vec![
            remote(3, "r1", "deleted", json!(0), 12, "dev-b"),
            remote(4, "r1", "title", json!("Older"), 5, "dev-c"),
        ]);
        second.cursor = 4;
        let stats = store.apply_pull(&second).unwrap();
        assert_eq!((stats.applied, stats.superseded), (1, 1));
        let shown: (String, String, i64) = store
            .conn
            .query_row("SELECT title, provider, deleted FROM courses WHERE id = 'r1'", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(shown, ("Split".into(), "Somewhere".into(), 0));
        assert_eq!(store.pull_cursors().unwrap().0, 4);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Applying a page at once gives exactly what applying its changes
        /// one page each gives: same rows, same field versions, same counts.
        #[test]
        fn a_page_applies_like_its_changes_one_by_one(
            steps in prop::collection::vec(
                (0usize..3, 0usize..4, 0u64..6, 0usize..3, 0u8..2),
                1..40,
            ),
        ) {
            let (_a_dir, mut whole) = store();
            let (_b_dir, mut single) = store();
            // The third device is the replica itself (its own changes coming back).
            let me = whole.device_id().to_string();
            let devices = ["dev-a", "dev-b", me.as_str()];
            let fields = ["title", "archived", "deleted", "created_at"];
            let changes: Vec<ServerChange> = steps
                .iter()
                .enumerate()
                .map(|(i, &(row, field, millis, device, flag))| {
                    let field = fields[field];
                    let value = match field {
                        "archived" | "deleted" => json!(flag),
                        _ => json!(format!("{field} {i}")),
                    };
                    remote(i as i64 + 1, &format!("row-{row}"), field, value, 1 + millis, devices[device])
                })
                .collect();
            let stats = whole.apply_pull(&page(changes.clone())).unwrap();
            let mut total = ApplyStats::default();
            for change in changes {
                // The same change under the other replica's device id where it is "own".
                let mut change = change;
                if change.change.device_id == me {
                    change.change.device_id = single.device_id().to_string();
                }
                let s = single.apply_pull(&page(vec![change])).unwrap();
                total.applied += s.applied;
                total.superseded += s.superseded;
                total.own += s.own;
            }
            prop_assert_eq!(stats, total);
            let (rows_a, versions_a) = state(&whole);
            let (rows_b, versions_b) = state(&single);
            prop_assert_eq!(rows_a, rows_b);
            let normalize = |v: Vec<StoredVersion>, own: &str| {
                v.into_iter().map(|(r, f, h, d, s)| (r, f, h, if d == own { "me".to_string() } else { d }, s)).collect::<Vec<_>>()
            };
            prop_assert_eq!(normalize(versions_a, &me), normalize(versions_b, single.device_id()));
        }
    }
}
