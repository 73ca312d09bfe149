//! Access that can be taken away. Access is granted as data says (a
//! facilitator added to a circle, a circle put in a team, an organizer
//! named: `push.rs`, `teams.rs`); when data changes in a way that may end
//! it (a `circle_facilitators` row deleted or naming someone else, a
//! circle moved to another team, an organizer removed or demoted), the
//! users concerned are checked again against the one rule:
//!
//! user U may see circle C iff a live (`deleted` = 0) `circle_facilitators`
//! row of C names U, or U organizes C's team, or C has no live
//! `circle_facilitators` row at all and U created C.
//!
//! Losing a circle deletes the user's `circle_access` row and their tokens'
//! `token_circles` rows (so a later grant resets each device's stream), and
//! records a revocation at the log's last seq, which pulls with a cursor
//! below it list in `revoked` (`pull.rs`). Checks run after the change's
//! writes, in its transaction, so they read the state it made.

use super::{teams, ApiResult};
use crate::storage::Tx;

/// Whether `user` may see `circle` by the rule above, as stored now.
pub(super) fn may_see(tx: &mut dyn Tx, circle: &str, user: &str) -> ApiResult<bool> {
    let facilitators = tx.live_circle_facilitators(circle)?;
    if facilitators.iter().any(|f| f == user) {
        return Ok(true);
    }
    if let Some(team) = circle_team(tx, circle)? {
        if teams::is_organizer(tx, &team, user)? {
            return Ok(true);
        }
    }
    Ok(facilitators.is_empty() && tx.circle_creator(circle)?.as_deref() == Some(user))
}

/// Check each (circle, user) pair again: those who see the circle and may
/// no longer lose it, at the log's last seq.
pub(super) fn recheck(tx: &mut dyn Tx, pairs: &[(String, String)]) -> ApiResult<()> {
    let mut seq = None;
    let mut done = std::collections::HashSet::new();
    for (circle, user) in pairs {
        if !done.insert((circle.as_str(), user.as_str())) || !tx.has_access(circle, user)? {
            continue;
        }
        if !may_see(tx, circle, user)? {
            let at = match seq {
                Some(at) => at,
                None => *seq.insert(tx.max_seq()?),
            };
            tracing::info!(circle = %circle, user = %user, seq = at, "access taken away");
            tx.revoke_access(circle, user, at)?;
        }
    }
    Ok(())
}

/// The team a circle is in, as stored now.
fn circle_team(tx: &mut dyn Tx, circle: &str) -> ApiResult<Option<String>> {
    let value = tx.stored_value("circles", circle, "team_id")?;
    Ok(value
        .and_then(|v| serde_json::from_str::<serde_json::Value>(&v).ok())
        .and_then(|v| v.as_str().map(str::to_string)))
}
