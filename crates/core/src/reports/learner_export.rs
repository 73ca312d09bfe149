//! Everything this computer holds about one learner, as JSON: their data
//! rights (a learner may ask what is kept about them). The learner's fields,
//! their attendance marks with the meetings' dates, the circle's name, and
//! what sync left here about them: conflicts and pulled changes kept aside.

use rusqlite::params;
use serde::Serialize;

use crate::domain::learner::Learner;
use crate::error::Result;
use crate::schema::LEARNERS;
use crate::store::Store;

/// The version of this export's layout; raised when a field changes meaning
/// or disappears (adding a field does not raise it).
pub const LEARNER_EXPORT_FORMAT_VERSION: u32 = 1;

/// Everything held about one learner on this computer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LearnerExport {
    pub format_version: u32,
    pub learner: Learner,
    /// Deleted from the roster (the row and its history are still held).
    pub deleted: bool,
    pub circle: ExportedCircle,
    /// In meeting date order.
    pub attendance: Vec<ExportedMark>,
    /// Concurrent edits of this learner's fields this computer was told about.
    pub conflicts: Vec<ExportedConflict>,
    /// Pulled changes of this learner not applied yet.
    pub kept_aside: Vec<ExportedKeptAside>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedCircle {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedMark {
    pub meeting_id: String,
    pub local_date: String,
    pub local_time: String,
    pub mark: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedConflict {
    pub field: String,
    pub lost_value: serde_json::Value,
    pub won_value: serde_json::Value,
    pub detected_at: String,
    pub resolved_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedKeptAside {
    pub field: String,
    pub change: serde_json::Value,
    pub reason: String,
}

fn json(text: String) -> serde_json::Value {
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

impl Store {
    /// Everything held about learner `id` here, deleted learners included;
    /// an unknown id is `NotFound`.
    pub fn export_learner(&self, id: &str) -> Result<LearnerExport> {
        let learner = self.learner_or_deleted(id)?;
        let deleted: bool = self.conn.query_row("SELECT deleted FROM learners WHERE id = ?1", [id], |r| r.get(0))?;
        let name: Option<String> =
            self.conn.query_row("SELECT name FROM circles WHERE id = ?1", [&learner.circle_id], |r| r.get(0)).ok();
        let circle = ExportedCircle { id: learner.circle_id.clone(), name: name.unwrap_or_default() };
        let mut stmt = self.conn.prepare(
            "SELECT a.meeting_id, m.local_date, m.local_time, a.mark
             FROM attendance a JOIN meetings m ON m.id = a.meeting_id
             WHERE a.learner_id = ?1 AND a.deleted = 0 AND m.deleted = 0
             ORDER BY m.local_date, m.local_time, m.id",
        )?;
        let attendance = stmt
            .query_map([id], |r| {
                Ok(ExportedMark {
                    meeting_id: r.get(0)?,
                    local_date: r.get(1)?,
                    local_time: r.get(2)?,
                    mark: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stmt = self.conn.prepare(
            "SELECT field, lost_value, won_value, detected_at, resolved_at FROM conflicts
             WHERE table_name = ?1 AND row_id = ?2 ORDER BY detected_at, id",
        )?;
        let conflicts = stmt
            .query_map(params![LEARNERS.name, id], |r| {
                Ok(ExportedConflict {
                    field: r.get(0)?,
                    lost_value: json(r.get(1)?),
                    won_value: json(r.get(2)?),
                    detected_at: r.get(3)?,
                    resolved_at: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stmt = self.conn.prepare(
            "SELECT field, change, reason FROM kept_aside WHERE table_name = ?1 AND row_id = ?2 ORDER BY seq",
        )?;
        let kept_aside = stmt
            .query_map(params![LEARNERS.name, id], |r| {
                Ok(ExportedKeptAside { field: r.get(0)?, change: json(r.get(1)?), reason: r.get(2)? })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(LearnerExport {
            format_version: LEARNER_EXPORT_FORMAT_VERSION,
            learner,
            deleted,
            circle,
            attendance,
            conflicts,
            kept_aside,
        })
    }
}
