//! The replica's side of sync, on the local store: building push batches
//! from the outbox, recording acknowledgements, applying pulled pages and
//! keeping lost concurrent edits for a person to resolve.
//!
//! Every step is one SQLite transaction together with the cursor or batch
//! state it moves, so a crash at any point leaves a state the next sync
//! continues from: a batch is re-sent verbatim until acknowledged, and a page
//! is applied and its cursor advanced together or not at all.

use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;

use crate::error::{CoreError, Result};
use crate::hlc::{wall_clock_millis, Hlc};
use crate::schema;
use crate::store::{meta_get, meta_set, Store};
use crate::sync::merge::{self, Version};
use crate::sync::wire::{PullResponse, PushOutcome, PushRequest, PushResponse, WireChange};

const PENDING_BATCH: &str = "sync.pending_batch";
const LAST_BATCH_SEQ: &str = "sync.last_batch_seq";
const CURSOR: &str = "sync.cursor";
const CONFLICT_CURSOR: &str = "sync.conflict_cursor";
pub(crate) const CLOCK_OFFSET: &str = "sync.clock_offset_ms";

/// Outbox states: waiting, acknowledged by the server, or refused by it.
const WAITING: i64 = 0;
const ACKNOWLEDGED: i64 = 1;
const REFUSED: i64 = 2;

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
    /// one of up to `max` waiting changes. None when nothing waits.
    pub fn next_push_batch(&mut self, max: usize) -> Result<Option<PushRequest>> {
        if let Some(json) = self.meta(PENDING_BATCH)? {
            let batch: PushRequest = serde_json::from_str(&json)
                .map_err(|e| CoreError::Migration(format!("stored push batch is unreadable: {e}")))?;
            return Ok(Some(batch));
        }
        let changes = self.pending_changes(max)?;
        if changes.is_empty() {
            return Ok(None);
        }
        let batch = PushRequest {
            batch_id: uuid::Uuid::now_v7().to_string(),
            batch_seq: int_meta(&self.conn, LAST_BATCH_SEQ)? + 1,
            changes,
        };
        meta_set(&self.conn, PENDING_BATCH, &serde_json::to_string(&batch).expect("batch serializes"))?;
        Ok(Some(batch))
    }

    /// Record the server's answer to the pending batch.
    pub fn ack_push(&mut self, response: &PushResponse) -> Result<()> {
        let tx = self.conn.transaction()?;
        for result in &response.results {
            tx.execute(
                "UPDATE changes SET pushed = ?1 WHERE change_id = ?2",
                params![ACKNOWLEDGED, result.change_id],
            )?;
            if let (PushOutcome::Applied, Some(seq)) = (result.outcome, result.seq) {
                tx.execute(
                    "UPDATE field_versions SET server_seq = max(coalesce(server_seq, 0), ?1)
                     WHERE (table_name, row_id, field) =
                           (SELECT table_name, row_id, field FROM changes WHERE change_id = ?2)",
                    params![seq, result.change_id],
                )?;
            }
        }
        tx.execute("DELETE FROM meta WHERE key = ?1", [PENDING_BATCH])?;
        meta_set(&tx, LAST_BATCH_SEQ, &response.batch_seq.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// The server refused the pending batch for good (out of scope, invalid):
    /// keep its changes locally but stop offering them, so the rest of the
    /// outbox can sync. They stay visible in `refused_count`.
    pub fn refuse_pending_batch(&mut self) -> Result<usize> {
        let Some(batch) = self.next_pending_only()? else { return Ok(0) };
        let tx = self.conn.transaction()?;
        for change in &batch.changes {
            tx.execute("UPDATE changes SET pushed = ?1 WHERE change_id = ?2", params![REFUSED, change.change_id])?;
        }
        tx.execute("DELETE FROM meta WHERE key = ?1", [PENDING_BATCH])?;
        tx.commit()?;
        Ok(batch.changes.len())
    }

    fn next_pending_only(&self) -> Result<Option<PushRequest>> {
        Ok(self.meta(PENDING_BATCH)?.and_then(|json| serde_json::from_str(&json).ok()))
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
            let mut stmt = tx.prepare(
                "SELECT seq, table_name, row_id, field, hlc FROM changes WHERE pushed = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([WAITING], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
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
        for server_change in &page.changes {
            let change = &server_change.change;
            let table = merge::check(change).map_err(|e| {
                CoreError::Export(format!("the server sent a change this version cannot apply ({e}); update Circles"))
            })?;
            clock = Hlc::observe(clock, change.hlc, wall_clock_millis());
            let outcome = apply_change(&tx, table, change, server_change.seq, &device_id)?;
            match outcome {
                Applied::Value => stats.applied += 1,
                Applied::Older => stats.superseded += 1,
                Applied::Own => stats.own += 1,
            }
        }
        for conflict in &page.conflicts {
            let inserted = tx.execute(
                "INSERT INTO conflicts (id, table_name, row_id, field, lost_value, lost_hlc, won_value, won_hlc,
                                        won_device, detected_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(id) DO NOTHING",
                params![
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
                ],
            )?;
            stats.conflicts += inserted;
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

enum Applied {
    Value,
    Older,
    Own,
}

fn apply_change(tx: &Transaction<'_>, table: &schema::TableDef, change: &WireChange, seq: i64, me: &str) -> Result<Applied> {
    let current: Option<(String, String)> = tx
        .query_row(
            "SELECT hlc, device_id FROM field_versions WHERE table_name = ?1 AND row_id = ?2 AND field = ?3",
            params![table.name, change.row_id, change.field],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let wins = match &current {
        None => true,
        Some((hlc, device)) => merge::supersedes(
            Version { hlc: change.hlc, device_id: &change.device_id },
            Version { hlc: hlc.parse().unwrap_or(Hlc::ZERO), device_id: device },
        ),
    };
    let outcome = if change.device_id == me && !wins {
        Applied::Own
    } else if wins {
        let value = schema::column_value(table, &change.field, &change.value)
            .map_err(|e| CoreError::Export(format!("the server sent an invalid value: {e}")))?;
        // The field name was checked against the schema by `merge::check`.
        // A row first seen through one of its fields stays hidden (deleted)
        // until its own `deleted` field arrives: a row's creation records
        // `deleted` after every other field but `created_at`, and pages come
        // in log order, so by then the whole row is here. Readers never see
        // half a row when a page boundary splits one.
        let sql = if change.field == "deleted" {
            format!("INSERT INTO {t} (id, deleted) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET deleted = excluded.deleted", t = table.name)
        } else {
            format!(
                "INSERT INTO {t} (id, deleted, {f}) VALUES (?1, 1, ?2) ON CONFLICT(id) DO UPDATE SET {f} = excluded.{f}",
                t = table.name,
                f = change.field
            )
        };
        tx.execute(&sql, params![change.row_id, value])?;
        tx.execute(
            "INSERT INTO field_versions (table_name, row_id, field, hlc, device_id, server_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(table_name, row_id, field) DO UPDATE
             SET hlc = excluded.hlc, device_id = excluded.device_id,
                 server_seq = max(coalesce(server_seq, 0), excluded.server_seq)",
            params![table.name, change.row_id, change.field, change.hlc.to_string(), change.device_id, seq],
        )?;
        if change.device_id == me { Applied::Own } else { Applied::Value }
    } else {
        Applied::Older
    };
    if !matches!(outcome, Applied::Value) || current.is_some() {
        tx.execute(
            "UPDATE field_versions SET server_seq = max(coalesce(server_seq, 0), ?4)
             WHERE table_name = ?1 AND row_id = ?2 AND field = ?3",
            params![table.name, change.row_id, change.field, seq],
        )?;
    }
    Ok(outcome)
}

/// The wall clock corrected by the server offset.
pub(crate) fn corrected_now(offset_ms: i64) -> u64 {
    (wall_clock_millis() as i64 + offset_ms).max(0) as u64
}
