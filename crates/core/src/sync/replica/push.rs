//! Pushing: batches from the outbox, stored before they are sent and re-sent
//! verbatim until the server answers; acknowledgements; clock correction.

use super::*;

/// About how much JSON one pushed batch may carry: well under the server's
/// 8 MiB body limit, whatever the values (a text field may hold 20,000
/// characters).
pub const PUSH_BATCH_BYTES: usize = 2 * 1024 * 1024;

/// Outbox states as marked in `changes.pushed`: not marked, acknowledged
/// (by an answer that did not match the stored batch), or refused.
pub(super) const ACKNOWLEDGED: i64 = 1;

pub(super) const REFUSED: i64 = 2;

/// How the pending batch is kept until acknowledged: which waiting changes
/// it holds (a range of outbox seqs and their number), not a copy of them.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PendingBatch {
    pub(super) batch_id: String,
    pub(super) batch_seq: i64,
    pub(super) first_seq: i64,
    pub(super) last_seq: i64,
    pub(super) count: usize,
}

pub(super) enum StoredBatch {
    Range(PendingBatch),
    /// Written by earlier versions: the whole batch.
    Full(PushRequest),
}

pub(super) fn stored_batch(json: &str) -> Result<StoredBatch> {
    if let Ok(pending) = serde_json::from_str::<PendingBatch>(json) {
        return Ok(StoredBatch::Range(pending));
    }
    serde_json::from_str(json)
        .map(StoredBatch::Full)
        .map_err(|e| CoreError::Corrupt(format!("stored push batch is unreadable: {e}")))
}

/// When `response` answers the stored batch change for change (the usual
/// case: one result per change, in order), the last outbox seq of the batch.
/// `batch` was read from the stored range (`next_push_batch`), so its
/// changes are compared in memory rather than read again.
pub(super) fn acked_range(tx: &Transaction<'_>, batch: &PushRequest, response: &PushResponse) -> Result<Option<i64>> {
    let Some(json) = meta::get(tx, meta::SYNC_PENDING_BATCH)? else { return Ok(None) };
    let Ok(StoredBatch::Range(pending)) = stored_batch(&json) else { return Ok(None) };
    let answers_it = pending.batch_id == batch.batch_id
        && pending.batch_id == response.batch_id
        && pending.count == batch.changes.len()
        && pending.count == response.results.len()
        && batch.changes.iter().zip(&response.results).all(|(change, result)| change.change_id == result.change_id);
    Ok(answers_it.then_some(pending.last_seq))
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
            batch_seq: meta::get_int(&self.conn, meta::SYNC_LAST_BATCH_SEQ)? + 1,
            first_seq: *first_seq,
            last_seq: *last_seq,
            count: waiting.len(),
        };
        meta::set(&self.conn, meta::SYNC_PENDING_BATCH, &serde_json::to_string(&pending).expect("batch serializes"))?;
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
        let Some(json) = self.meta(meta::SYNC_PENDING_BATCH)? else { return Ok(None) };
        match stored_batch(&json)? {
            StoredBatch::Full(batch) => Ok(Some(batch)),
            StoredBatch::Range(pending) => {
                let waiting =
                    self.waiting_changes(Some((pending.first_seq, pending.last_seq)), usize::MAX, usize::MAX)?;
                if waiting.len() != pending.count {
                    return Err(CoreError::Corrupt(format!(
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

    /// Record the server's answer to the pending batch. The server keeps
    /// each field's winner; this replica needs no per-change record of it
    /// (see `docs/sync-protocol.md`, "Acknowledgement"): the usual answer
    /// just moves the acknowledgement cursor past the batch.
    /// `batch` is the pending batch as it was sent.
    pub fn ack_push(&mut self, batch: &PushRequest, response: &PushResponse) -> Result<()> {
        let tx = self.conn.transaction()?;
        match acked_range(&tx, batch, response)? {
            Some(last_seq) => meta::set(&tx, meta::SYNC_ACKED_THROUGH, &last_seq.to_string())?,
            None => {
                let mut mark = tx.prepare_cached("UPDATE changes SET pushed = ?1 WHERE change_id = ?2")?;
                for result in &response.results {
                    mark.execute(params![ACKNOWLEDGED, result.change_id])?;
                }
            }
        }
        meta::delete(&tx, meta::SYNC_PENDING_BATCH)?;
        meta::set(&tx, meta::SYNC_LAST_BATCH_SEQ, &response.batch_seq.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Forget the pending batch the server refused as a whole before
    /// applying any of it (too large for it): its changes wait again, to go
    /// in smaller batches under the same batch number.
    pub fn drop_pending_batch(&mut self) -> Result<()> {
        meta::delete(&self.conn, meta::SYNC_PENDING_BATCH)?;
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
        meta::delete(&tx, meta::SYNC_PENDING_BATCH)?;
        tx.commit()?;
        Ok(batch.changes.len())
    }

    pub fn refused_count(&self) -> Result<u64> {
        Ok(self.conn.query_row("SELECT count(*) FROM changes WHERE pushed = ?1", [REFUSED], |r| r.get::<_, i64>(0))?
            as u64)
    }

    /// The changes kept as refused, oldest first.
    pub fn refused_changes(&self) -> Result<Vec<crate::sync::status::RefusedLocalChange>> {
        let mut stmt = self.conn.prepare(
            "SELECT change_id, table_name, row_id, field, value, hlc FROM changes WHERE pushed = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([REFUSED], |r| {
            let table: String = r.get(1)?;
            let hlc: String = r.get(5)?;
            let made_at = hlc
                .parse::<Hlc>()
                .ok()
                .and_then(|h| chrono::DateTime::from_timestamp_millis(h.millis as i64))
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default();
            Ok(crate::sync::status::RefusedLocalChange {
                change_id: r.get(0)?,
                entity: schema::table(&table).map_or_else(|| table.clone(), |t| t.entity.to_string()),
                table,
                row_id: r.get(2)?,
                field: r.get(3)?,
                value: serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or_default(),
                made_at,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Correct this replica's clock by `offset_ms` (server minus local) and
    /// give every change not yet accepted anywhere a fresh timestamp from the
    /// corrected clock, in the same order. Safe because no one has seen them.
    pub fn correct_clock(&mut self, offset_ms: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        meta::delete(&tx, meta::SYNC_PENDING_BATCH)?;
        meta::set(&tx, meta::SYNC_CLOCK_OFFSET, &offset_ms.to_string())?;
        let now = crate::store::hlc::corrected_now(offset_ms);
        let mut clock = Hlc { millis: now, counter: 0 };
        let waiting: Vec<(i64, String, String, String, String)> = {
            let acked = meta::get_int(&tx, meta::SYNC_ACKED_THROUGH)?;
            let mut stmt = tx.prepare(
                "SELECT seq, table_name, row_id, field, hlc FROM changes WHERE pushed = 0 AND seq > ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([acked], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
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
        meta::set(&tx, meta::HLC, &clock.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Take a new device identity (given by the server, which knows it is
    /// unused): this data folder's batch numbers were used by another batch
    /// (the folder was copied, or restored from a backup, and another copy
    /// pushed under the old id), or the old id belongs to another account.
    ///
    /// The waiting changes (never acknowledged) are re-stamped with the new
    /// id, keeping their change ids: whichever of them the server already
    /// has (pushed by another copy, or by this laptop before the backup was
    /// restored) it answers `duplicate`, so nothing is applied twice, and the
    /// rest are applied. Acknowledged changes are not touched and never sent
    /// again. Batch numbers start over for the new id, and the pull cursor
    /// goes back to 0: changes made under the old id by another copy were
    /// skipped as this device's own, and a full pull (idempotent) brings them.
    /// `token` is the one the server bound to the new id, kept in the same
    /// transaction so the token and the changes never disagree.
    /// Returns how many waiting changes were re-stamped.
    pub fn adopt_device_id(&mut self, device_id: &str, token: Option<&str>) -> Result<usize> {
        if device_id.trim().is_empty() {
            return Err(CoreError::Corrupt("the server gave an empty device id".into()));
        }
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let acked = meta::get_int(&tx, meta::SYNC_ACKED_THROUGH)?;
        // A field whose current version is a waiting change carries the new
        // id too, as every other replica will see it once pushed.
        tx.execute(
            "UPDATE field_versions SET device_id = ?1
             WHERE EXISTS (SELECT 1 FROM changes c
                           WHERE c.pushed = 0 AND c.seq > ?2 AND c.table_name = field_versions.table_name
                             AND c.row_id = field_versions.row_id AND c.field = field_versions.field
                             AND c.hlc = field_versions.hlc AND c.device_id = field_versions.device_id)",
            params![device_id, acked],
        )?;
        let restamped =
            tx.execute("UPDATE changes SET device_id = ?1 WHERE pushed = 0 AND seq > ?2", params![device_id, acked])?;
        meta::set(&tx, meta::DEVICE_ID, device_id)?;
        if let Some(token) = token {
            meta::set(&tx, meta::SYNC_TOKEN, token)?;
        }
        meta::delete(&tx, meta::SYNC_PENDING_BATCH)?;
        meta::delete(&tx, meta::SYNC_LAST_BATCH_SEQ)?;
        meta::delete(&tx, meta::SYNC_CURSOR)?;
        tx.commit()?;
        self.device_id = device_id.to_string();
        Ok(restamped)
    }

    /// Set the correction applied to this machine's clock (server time minus
    /// local time). Sync learns it by itself; setting it by hand simulates a
    /// wrong clock.
    pub fn set_clock_offset(&mut self, offset_ms: i64) -> Result<()> {
        meta::set(&self.conn, meta::SYNC_CLOCK_OFFSET, &offset_ms.to_string())
    }
}
