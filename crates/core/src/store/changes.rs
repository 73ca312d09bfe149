//! The change record: reading the outbox, and checking that it agrees with
//! the data (the ground sync stands on, and what `verify` reports).

use rusqlite::params;
use rusqlite::types::Value;
use serde::Serialize;

use crate::error::Result;
use crate::schema::{TableDef, ALL_TABLES};
use crate::store::hlc::Hlc;
use crate::store::meta;
use crate::store::rows::value_to_json;
use crate::store::Store;
use crate::sync::wire::WireChange;

/// A disagreement between a row and its change record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inconsistency {
    pub table: String,
    pub row_id: String,
    pub field: String,
    pub problem: String,
}

/// What a change adds to a batch besides its value (ids, names, clock).
const CHANGE_OVERHEAD_BYTES: usize = 256;

/// Outbox changes still waiting for the server: not marked, and past the
/// acknowledgement cursor (`meta::SYNC_ACKED_THROUGH`, bound as ?1). The
/// lower bound is one `max`, or SQLite's planner scans the index from the
/// smaller one (every acknowledged change).
pub(crate) const WAITING_COUNT: &str = "SELECT count(*) FROM changes WHERE pushed = 0 AND seq > ?1";

impl Store {
    /// Whether a row has changes still waiting for the server.
    pub(crate) fn row_waiting(&self, table: &str, row_id: &str) -> Result<bool> {
        let acked = meta::get_int(&self.conn, meta::SYNC_ACKED_THROUGH)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM changes WHERE pushed = 0 AND seq > ?1 AND table_name = ?2 AND row_id = ?3)",
        )?;
        Ok(stmt.query_row(params![acked, table, row_id], |r| r.get(0))?)
    }

    /// The oldest waiting changes with their outbox seq (all of them within
    /// `range`, if given), at most `max` of them and, past the first, at most
    /// about `max_bytes` of JSON: a batch of long notes must stay well under
    /// the server's body limit.
    pub(crate) fn waiting_changes(
        &self,
        range: Option<(i64, i64)>,
        max: usize,
        max_bytes: usize,
    ) -> Result<Vec<(i64, WireChange)>> {
        let (first, last) = range.unwrap_or((i64::MIN, i64::MAX));
        let acked = meta::get_int(&self.conn, meta::SYNC_ACKED_THROUGH)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, change_id, table_name, row_id, field, value, hlc, device_id, base_seq FROM changes
             WHERE pushed = 0 AND seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3",
        )?;
        let after = acked.max(first.saturating_sub(1));
        let mut rows = stmt.query(params![after, last, max.min(i64::MAX as usize) as i64])?;
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

    /// Changes not yet acknowledged by a server, oldest first, in the form
    /// they are pushed in.
    pub fn pending_changes(&self, limit: usize) -> Result<Vec<WireChange>> {
        Ok(self.waiting_changes(None, limit, usize::MAX)?.into_iter().map(|(_, change)| change).collect())
    }

    pub fn pending_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row(WAITING_COUNT, [meta::get_int(&self.conn, meta::SYNC_ACKED_THROUGH)?], |r| r.get::<_, i64>(0))?
            as u64)
    }

    /// Check every field of every row against the change record: each must
    /// have a version, and its latest recorded change must hold the value the
    /// row holds. An empty list means the store is consistent.
    pub fn verify_change_log(&self) -> Result<Vec<Inconsistency>> {
        let mut problems = Vec::new();
        for table in ALL_TABLES {
            self.verify_table(table, &mut problems)?;
        }
        Ok(problems)
    }

    fn verify_table(&self, table: &TableDef, problems: &mut Vec<Inconsistency>) -> Result<()> {
        let sql = format!("SELECT id, {} FROM {}", table.fields.join(", "), table.name);
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        // The change that set a field's current value, when this replica made it.
        let mut own_change = self.conn.prepare(
            "SELECT c.value FROM field_versions v
             JOIN changes c ON c.table_name = v.table_name AND c.row_id = v.row_id AND c.field = v.field
                           AND c.hlc = v.hlc AND c.device_id = v.device_id
             WHERE v.table_name = ?1 AND v.row_id = ?2 AND v.field = ?3 AND v.device_id = ?4",
        )?;
        let mut version = self
            .conn
            .prepare("SELECT device_id FROM field_versions WHERE table_name = ?1 AND row_id = ?2 AND field = ?3")?;
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            for (i, field) in table.fields.iter().enumerate() {
                let value: Value = row.get(i + 1)?;
                let mut problem = |what: String| {
                    problems.push(Inconsistency {
                        table: table.name.into(),
                        row_id: id.clone(),
                        field: (*field).into(),
                        problem: what,
                    })
                };
                let author: Option<String> = {
                    use rusqlite::OptionalExtension;
                    version.query_row(params![table.name, id, field], |r| r.get(0)).optional()?
                };
                let Some(author) = author else {
                    problem("has no recorded version".into());
                    continue;
                };
                if author != self.device_id() {
                    continue; // a remote value: the server's log is its record
                }
                let recorded: Option<String> = {
                    use rusqlite::OptionalExtension;
                    own_change.query_row(params![table.name, id, field, author], |r| r.get(0)).optional()?
                };
                match recorded {
                    None => problem("its version names a change that is not in the outbox".into()),
                    Some(recorded) => {
                        let recorded: serde_json::Value = serde_json::from_str(&recorded).unwrap_or_default();
                        if recorded != value_to_json(&value) {
                            problem(format!("holds {} but its change recorded {recorded}", value_to_json(&value)));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
