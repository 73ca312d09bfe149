//! The change record: reading the outbox, and checking that it agrees with
//! the data (the ground sync stands on, and what `verify` reports).

use rusqlite::types::Value;
use rusqlite::params;
use serde::Serialize;

use crate::error::Result;
use crate::rows::value_to_json;
use crate::schema::{TableDef, ALL_TABLES};
use crate::store::Store;
use crate::sync::replica::waiting_changes;
use crate::sync::wire::WireChange;

/// A disagreement between a row and its change record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inconsistency {
    pub table: String,
    pub row_id: String,
    pub field: String,
    pub problem: String,
}

impl Store {
    /// Changes not yet acknowledged by a server, oldest first, in the form
    /// they are pushed in.
    pub fn pending_changes(&self, limit: usize) -> Result<Vec<WireChange>> {
        Ok(self.waiting_changes(None, limit, usize::MAX)?.into_iter().map(|(_, change)| change).collect())
    }

    pub fn pending_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row(concat!("SELECT count(*) FROM changes WHERE ", waiting_changes!()), [], |r| r.get::<_, i64>(0))?
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
        let mut version = self.conn.prepare(
            "SELECT device_id FROM field_versions WHERE table_name = ?1 AND row_id = ?2 AND field = ?3",
        )?;
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
                    own_change
                        .query_row(params![table.name, id, field, author], |r| r.get(0))
                        .optional()?
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
