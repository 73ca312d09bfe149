//! A team's retention period, applied by the server: the learners of a
//! circle whose team sets `teams.anonymize_after_days` (core's schema: 30 to
//! 3650 days, written by the team's organizers, `ownership.rs`) are erased
//! that many days after the circle ended (core's `schedule::circle_end`, in
//! the circle's zone: `public::circle_end`). Each erase is the one a laptop
//! pushes (core's `ERASED_LEARNER_FIELDS` blanked and `erased` set), written
//! here by SERVER_DEVICE in the circle's scope so every laptop pulls it and
//! blanks its own copy, in one transaction per circle with the purge of the
//! learners' history (`erase::purge_learner`); then the backend makes the
//! freed bytes unreadable (`scrub_freed_pages`). Learners already erased are
//! passed over, so a second run writes nothing. Attendance marks stay.
//!
//! `serve` runs it at start and every 24 hours; `circles-server retention
//! run` runs it at once (docs/privacy.md "Retention").

use chrono::{DateTime, TimeDelta, Utc};
use circles_core::schema::{CIRCLES, ERASED_LEARNER_FIELDS, LEARNERS, TEAMS};
use serde::Serialize;
use serde_json::Value;

use super::accounts::log_own_circle_row;
use super::audit_log::{self, AuditEvent, Entry};
use super::erase::{is_erased, purge_learner};
use super::public::{circle_end, text, value};
use super::ApiResult;
use crate::storage::{Backend, Tx};

/// The synced field holding a team's period.
const PERIOD: &str = "anonymize_after_days";

/// What one run did for one team with a retention period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamRetention {
    pub team_id: String,
    pub team_name: String,
    /// The team's period, in days after a circle ends.
    pub days: u32,
    /// Learners erased by this run.
    pub anonymized: usize,
}

/// A team with a period and its circles whose learners are due.
struct DueTeam {
    id: String,
    name: String,
    days: u32,
    circles: Vec<String>,
}

/// Erase the learners of every circle that ended more than its team's
/// period before `now`; one line per team that has a period.
pub(super) fn apply_retention(backend: &impl Backend, now: DateTime<Utc>) -> ApiResult<Vec<TeamRetention>> {
    let due = backend.read(|tx| due_teams(tx, now))?;
    let mut out = Vec::new();
    let mut purged = false;
    for team in due {
        let mut anonymized = 0;
        for circle in &team.circles {
            let (erased, overwritten) = backend.write(|tx| anonymize_circle(tx, circle, now))?;
            anonymized += erased;
            purged |= overwritten;
        }
        if anonymized > 0 {
            tracing::info!(team = %team.id, days = team.days, anonymized, "retention: learners anonymized");
        }
        out.push(TeamRetention { team_id: team.id, team_name: team.name, days: team.days, anonymized });
    }
    if purged {
        if let Err(e) = backend.scrub_freed_pages() {
            tracing::warn!(error = %e, "could not clear freed pages after retention; the next erase tries again");
        }
    }
    Ok(out)
}

/// A team's period as stored (None: no period, or not a period core allows).
fn period(tx: &mut dyn Tx, team: &str) -> ApiResult<Option<u32>> {
    Ok(value(tx, TEAMS.name, team, PERIOD)?.as_u64().and_then(|d| u32::try_from(d).ok()))
}

/// Whether a circle ended at least `days` days before `now`.
fn ended_before(tx: &mut dyn Tx, circle: &str, days: u32, now: DateTime<Utc>) -> ApiResult<bool> {
    let Some(end) = circle_end(tx, circle)? else { return Ok(false) };
    Ok(end.checked_add_signed(TimeDelta::days(i64::from(days))).is_some_and(|due| due <= now))
}

fn due_teams(tx: &mut dyn Tx, now: DateTime<Utc>) -> ApiResult<Vec<DueTeam>> {
    let mut out = Vec::new();
    for (team, _) in tx.rows_with_field(TEAMS.name, PERIOD, "null")? {
        let Some(days) = period(tx, &team)? else { continue };
        let name = text(tx, TEAMS.name, &team, "name")?;
        let mut circles = Vec::new();
        for circle in tx.rows_with_value(CIRCLES.name, "team_id", &Value::from(team.as_str()).to_string())? {
            if ended_before(tx, &circle, days, now)? && !learners_to_erase(tx, &circle)?.is_empty() {
                circles.push(circle);
            }
        }
        out.push(DueTeam { id: team, name, days, circles });
    }
    Ok(out)
}

/// A circle's learners (deleted ones included) not yet erased.
fn learners_to_erase(tx: &mut dyn Tx, circle: &str) -> ApiResult<Vec<String>> {
    let mut out = Vec::new();
    for learner in tx.rows_with_value(LEARNERS.name, "circle_id", &Value::from(circle).to_string())? {
        if !is_erased(tx, &learner)? {
            out.push(learner);
        }
    }
    Ok(out)
}

/// In one transaction: check again that the circle is due (its team and
/// period as stored now), then erase its learners and purge their history.
/// (learners erased, whether any old value was overwritten)
fn anonymize_circle(tx: &mut dyn Tx, circle: &str, now: DateTime<Utc>) -> ApiResult<(usize, bool)> {
    let Some(team) = value(tx, CIRCLES.name, circle, "team_id")?.as_str().map(str::to_string) else {
        return Ok((0, false));
    };
    let Some(days) = period(tx, &team)? else { return Ok((0, false)) };
    if !ended_before(tx, circle, days, now)? {
        return Ok((0, false));
    }
    let learners = learners_to_erase(tx, circle)?;
    let mut fields: Vec<(&str, Value)> =
        ERASED_LEARNER_FIELDS.iter().map(|(field, blank)| (*field, Value::from(*blank))).collect();
    fields.push(("erased", Value::from(1)));
    let mut overwritten = 0;
    let detail = format!("circle {circle}: team {team}'s retention, {days} days after the circle ended");
    for learner in &learners {
        log_own_circle_row(tx, circle, LEARNERS.name, learner, &fields)?;
        overwritten += purge_learner(tx, learner)?;
        // In the audit log like a person's erase, by the server (no actor).
        audit_log::record(tx, Entry::new(AuditEvent::LearnerErased, None, learner).detail(&detail))?;
    }
    Ok((learners.len(), overwritten > 0))
}
