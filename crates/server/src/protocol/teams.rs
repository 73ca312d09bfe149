//! Team membership as the invitations see it, in one small module so that
//! its storage can change without touching them: who organizes a team, who
//! belongs to it (and in which role), and adding someone. Today organizers
//! are the server's `team_organizers` table and members are the synced
//! `team_members` rows the server writes itself (`SERVER_DEVICE`).

use serde_json::Value;

use super::accounts::{grant_team_circles, log_own_row};
use super::ApiResult;
use crate::common::now_text;
use crate::storage::Tx;

pub(crate) const ORGANIZER: &str = "organizer";
pub(crate) const MEMBER: &str = "member";

/// Whether `user` organizes `team`.
pub(crate) fn is_organizer(tx: &mut dyn Tx, team: &str, user: &str) -> ApiResult<bool> {
    Ok(tx.team_organizers(team)?.iter().any(|u| u == user))
}

/// A team's members and their roles (organizers first, then by user id).
pub(crate) fn members(tx: &mut dyn Tx, team: &str) -> ApiResult<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> =
        tx.team_organizers(team)?.into_iter().map(|user| (user, ORGANIZER.to_string())).collect();
    for row in tx.rows_with_value("team_members", "team_id", &Value::from(team).to_string())? {
        let text = |tx: &mut dyn Tx, field: &str| -> ApiResult<Option<Value>> {
            Ok(tx.field("team_members", &row, field)?.and_then(|f| serde_json::from_str(&f.value).ok()))
        };
        if text(tx, "deleted")?.and_then(|v| v.as_i64()).unwrap_or(0) != 0 {
            continue;
        }
        let Some(user) = text(tx, "facilitator_id")?.and_then(|v| v.as_str().map(str::to_string)) else { continue };
        let role = text(tx, "role")?.and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| MEMBER.into());
        // An organizer stays one, whatever an older member row says.
        if !out.iter().any(|(u, _)| *u == user) {
            out.push((user, role));
        }
    }
    let organizers = out.iter().filter(|(_, r)| r == ORGANIZER).count();
    out[organizers..].sort();
    Ok(out)
}

/// Whether `user` belongs to `team` (in any role).
pub(crate) fn is_member(tx: &mut dyn Tx, team: &str, user: &str) -> ApiResult<bool> {
    Ok(members(tx, team)?.iter().any(|(u, _)| u == user))
}

/// Add `user` to `team` in `role` (a synced `team_members` row written by
/// the server; an organizer also sees the team's circles). Nothing is
/// written for someone already a member.
pub(crate) fn add_member(tx: &mut dyn Tx, team: &str, user: &str, role: &str) -> ApiResult<()> {
    if is_member(tx, team, user)? {
        return Ok(());
    }
    log_own_row(
        tx,
        "team_members",
        &uuid::Uuid::now_v7().to_string(),
        &[
            ("team_id", Value::from(team)),
            ("facilitator_id", Value::from(user)),
            ("role", Value::from(role)),
            ("deleted", Value::from(0)),
            ("created_at", Value::from(now_text())),
        ],
    )?;
    if role == ORGANIZER {
        tx.add_organizer(team, user)?;
        grant_team_circles(tx, team, user)?;
    }
    Ok(())
}
