//! Concurrent edits this replica lost, kept until a person resolves them.

use super::*;

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

impl Store {
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
            return Err(CoreError::invalid(
                "conflict",
                "id",
                Rule::State,
                format!("conflict {id} is already resolved"),
            ));
        }
        let table = schema::table(&conflict.table).ok_or_else(|| CoreError::not_found("table", &conflict.table))?;
        let field = table
            .fields
            .iter()
            .copied()
            .find(|f| *f == conflict.field)
            .ok_or_else(|| CoreError::not_found("field", &conflict.field))?;
        let restored = schema::check_value(table, field, &conflict.lost_value)
            .map_err(|e| CoreError::invalid("conflict", "lost_value", Rule::Choice, e.to_string()))?;
        let label = match resolution {
            Resolution::KeepWon => "kept_won",
            Resolution::RestoreLost => "restored_lost",
        };
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        self.write(|w| {
            if resolution == Resolution::RestoreLost {
                w.set_field(table, &conflict.row_id, field, restored)?;
            }
            w.execute("UPDATE conflicts SET resolved_at = ?1, resolution = ?2 WHERE id = ?3", params![now, label, id])
        })
    }
}
