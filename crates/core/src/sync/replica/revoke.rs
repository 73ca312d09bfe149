//! A circle this person no longer sees (removed as its co-facilitator, left
//! its team, lost the organizer role): the server names it in a pull's
//! `revoked`, and the replica removes the circle and everything of it
//! (learners, attendance, meetings, guides, feedback) from this computer,
//! in the page's transaction. Learners' details are theirs and the circle's
//! facilitators': a laptop that lost access must not keep them.
//!
//! Changes this person made to the circle and had not yet pushed are not
//! silently lost: they stay in the change log as refused (the server would
//! refuse them now), where `Store::refused_changes` lists them for export,
//! and the outbox moves on without them. Acknowledged changes of the circle
//! are removed with its rows: the server has them.

use std::collections::BTreeSet;

use rusqlite::{params, Connection};

use super::push::REFUSED;
use crate::error::Result;
use crate::schema::{self, Scope};
use crate::store::meta;

/// What forgetting revoked circles removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Forgotten {
    /// Circles that were here and are gone.
    pub circles: usize,
    /// Rows of those circles removed (the circles included).
    pub rows: usize,
    /// Changes not yet pushed, kept as refused.
    pub kept_changes: usize,
}

/// Remove every row of each named circle, with its versions, conflicts and
/// kept-aside changes; keep its unpushed changes as refused.
pub(super) fn forget_circles(tx: &Connection, circles: &[String]) -> Result<Forgotten> {
    let mut out = Forgotten::default();
    // Waiting changes are those past the acknowledgement cursor not yet
    // marked (`push.rs`).
    let acked = meta::get_int(tx, meta::SYNC_ACKED_THROUGH)?;
    for circle in circles {
        let present: bool =
            tx.query_row("SELECT EXISTS(SELECT 1 FROM circles WHERE id = ?1)", [circle], |r| r.get(0))?;
        if !present {
            continue;
        }
        out.circles += 1;
        let rows = circle_rows(tx, circle)?;
        // Children before parents (ALL_TABLES lists parents first), so no
        // foreign key is left pointing at a removed row.
        for (table, ids) in rows.iter().rev() {
            for id in ids {
                out.kept_changes += tx.execute(
                    "UPDATE changes SET pushed = ?1 WHERE table_name = ?2 AND row_id = ?3 AND pushed = 0 AND seq > ?4",
                    params![REFUSED, table, id, acked],
                )?;
                tx.execute(
                    "DELETE FROM changes WHERE table_name = ?1 AND row_id = ?2 AND pushed <> ?3",
                    params![table, id, REFUSED],
                )?;
                for sql in [
                    "DELETE FROM field_versions WHERE table_name = ?1 AND row_id = ?2",
                    "DELETE FROM conflicts WHERE table_name = ?1 AND row_id = ?2",
                    "DELETE FROM kept_aside WHERE table_name = ?1 AND row_id = ?2",
                ] {
                    tx.execute(sql, params![table, id])?;
                }
                // `table` comes from core's schema, never from the server.
                out.rows += tx.execute(&format!("DELETE FROM {table} WHERE id = ?1"), [id])?;
            }
        }
    }
    if out.kept_changes > 0 {
        // A batch stored for sending names a count of waiting changes; some
        // of them may be refused now: it is built again from what waits.
        // (The engine pushes before it pulls, so normally none is stored.)
        meta::delete(tx, meta::SYNC_PENDING_BATCH)?;
    }
    Ok(out)
}

/// Every row of a circle, table by table in schema order (parents first).
/// A facilitator template saved from the circle stays while another circle
/// here uses it.
fn circle_rows(tx: &Connection, circle: &str) -> Result<Vec<(&'static str, BTreeSet<String>)>> {
    let mut out = Vec::new();
    for table in schema::ALL_TABLES {
        let sql = match table.scope {
            Scope::Global => continue,
            Scope::OwnId => format!("SELECT id FROM {} WHERE id = ?1", table.name),
            Scope::CircleField(field) if table.name == schema::GUIDE_TEMPLATES.name => format!(
                "SELECT id FROM {t} WHERE {field} = ?1
                 AND NOT EXISTS (SELECT 1 FROM circles c WHERE c.guide_template_id = {t}.id AND c.id <> ?1)",
                t = table.name
            ),
            Scope::CircleField(field) => format!("SELECT id FROM {} WHERE {field} = ?1", table.name),
            Scope::MeetingField(field) => {
                format!("SELECT id FROM {} WHERE {field} IN (SELECT id FROM meetings WHERE circle_id = ?1)", table.name)
            }
        };
        let mut stmt = tx.prepare(&sql)?;
        let ids = stmt.query_map([circle], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<BTreeSet<_>>>()?;
        out.push((table.name, ids));
    }
    Ok(out)
}
