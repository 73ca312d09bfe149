//! Team membership, with the server as its one authority. The server's
//! `team_members` table says who belongs to which team and as what; it is
//! changed only here, and every change also writes the synced
//! `team_members` row (core's derived id for the (team, facilitator) pair,
//! written by `SERVER_DEVICE`) in the same transaction, so laptops show the
//! same membership the server decides by. Laptops may not push membership
//! changes (`ownership.rs`). Organizers see their team's circles: becoming
//! one grants them, ceasing to be one takes away those they see by no other
//! right (`access.rs`). A team always keeps an organizer once it has one.

use axum::http::StatusCode;
use circles_core::{team_member_id, TeamRole};
use serde_json::Value;

use super::accounts::log_own_row;
use super::audit_log::{self, AuditEvent, Entry};
use super::{access, ApiResult};
use crate::common::now_text;
use crate::error::ApiError;
use crate::storage::{TeamMemberInfo, Tx};

/// The roles, as stored and synced.
pub(crate) const ORGANIZER: &str = "organizer";
// For callers that hold a role as text (invitations).
#[allow(dead_code)]
pub(crate) const MEMBER: &str = "member";

/// Whether `user` organizes `team`.
pub(crate) fn is_organizer(tx: &mut dyn Tx, team: &str, user: &str) -> ApiResult<bool> {
    Ok(tx.team_role(team, user)?.as_deref() == Some(ORGANIZER))
}

/// Whether `user` belongs to `team`, in any role.
pub(crate) fn is_member(tx: &mut dyn Tx, team: &str, user: &str) -> ApiResult<bool> {
    Ok(tx.team_role(team, user)?.is_some())
}

/// Put `user` in `team` with `role` ("organizer" or "member"), or change
/// their role (`set_role`).
pub(crate) fn add_member(tx: &mut dyn Tx, actor: Option<&str>, team: &str, user: &str, role: &str) -> ApiResult<()> {
    let role = TeamRole::parse(role).map_err(|e| ApiError::bad_request(e.to_string()))?;
    set_role(tx, actor, team, user, role)
}

/// Put `user` in `team` with `role`, or change their role. Demoting the
/// team's last organizer is refused (409 `last_organizer`). Setting the role
/// a member already has changes nothing.
/// `actor`: who did it, for the audit log (None: an admin command or the server).
pub(crate) fn set_role(tx: &mut dyn Tx, actor: Option<&str>, team: &str, user: &str, role: TeamRole) -> ApiResult<()> {
    if !tx.team_exists(team)? {
        return Err(no_team(team));
    }
    if !tx.is_user(user)? {
        return Err(ApiError::not_found(format!("no user with id {user}")));
    }
    let before = tx.team_role(team, user)?;
    if before.as_deref() == Some(role.as_str()) {
        return Ok(());
    }
    let was_organizer = before.as_deref() == Some(ORGANIZER);
    if was_organizer {
        refuse_last_organizer(tx, team, user, "demote")?;
    }
    tx.set_team_member(team, user, role.as_str())?;
    note_member_change(tx, actor, AuditEvent::RoleChanged, team, user, role.as_str())?;
    let row = team_member_id(team, user);
    if before.is_none() {
        log_own_row(
            tx,
            "team_members",
            &row,
            &[
                ("team_id", Value::from(team)),
                ("facilitator_id", Value::from(user)),
                ("role", Value::from(role.as_str())),
                ("deleted", Value::from(0)),
                ("created_at", Value::from(now_text())),
            ],
        )?;
    } else {
        log_own_row(tx, "team_members", &row, &[("role", Value::from(role.as_str())), ("deleted", Value::from(0))])?;
    }
    match role {
        // The team's circles become visible from now on.
        TeamRole::Organizer => {
            let seq = tx.max_seq()?;
            for circle in team_circles(tx, team)? {
                tx.grant(&circle, user, seq)?;
            }
        }
        TeamRole::Member if was_organizer => recheck_team_circles(tx, team, user)?,
        TeamRole::Member => {}
    }
    Ok(())
}

/// A membership change in the audit log: the member by email, the team by name.
fn note_member_change(
    tx: &mut dyn Tx,
    actor: Option<&str>,
    event: AuditEvent,
    team: &str,
    user: &str,
    role: &str,
) -> ApiResult<()> {
    let email = tx.user_by_id(user)?.map_or_else(|| user.to_string(), |u| u.email);
    let team_name = tx.team_name(team)?.unwrap_or_default();
    let detail = format!("team {team_name} ({team}): {role}");
    audit_log::record(tx, Entry::new(event, actor, &email).detail(&detail))
}

/// Take `user` out of `team` (404 if they are not in it; 409
/// `last_organizer` for its last organizer): the synced row is deleted and
/// the team's circles they saw only as an organizer are taken away.
pub(crate) fn remove_member(tx: &mut dyn Tx, actor: Option<&str>, team: &str, user: &str) -> ApiResult<()> {
    if !tx.team_exists(team)? {
        return Err(no_team(team));
    }
    let Some(role) = tx.team_role(team, user)? else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_a_member", format!("user {user} is not in team {team}")));
    };
    if role == ORGANIZER {
        refuse_last_organizer(tx, team, user, "remove")?;
    }
    tx.remove_team_member(team, user)?;
    note_member_change(tx, actor, AuditEvent::MemberRemoved, team, user, &role)?;
    log_own_row(tx, "team_members", &team_member_id(team, user), &[("deleted", Value::from(1))])?;
    if role == ORGANIZER {
        recheck_team_circles(tx, team, user)?;
    }
    Ok(())
}

/// A team's members and their roles: (user id, role), organizers first.
pub(crate) fn members(tx: &mut dyn Tx, team: &str) -> ApiResult<Vec<(String, String)>> {
    Ok(member_list(tx, team)?.into_iter().map(|m| (m.user_id, m.role)).collect())
}

/// A team's members with their names and emails, organizers first.
pub(crate) fn member_list(tx: &mut dyn Tx, team: &str) -> ApiResult<Vec<TeamMemberInfo>> {
    if !tx.team_exists(team)? {
        return Err(no_team(team));
    }
    Ok(tx.team_members(team)?)
}

/// Refuse when `user` is `team`'s only organizer.
fn refuse_last_organizer(tx: &mut dyn Tx, team: &str, user: &str, what: &str) -> ApiResult<()> {
    let members = members(tx, team)?;
    if members.iter().all(|(member, role)| member == user || role != ORGANIZER) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "last_organizer",
            format!("cannot {what} the last organizer of team {team}: make someone else an organizer first"),
        ));
    }
    Ok(())
}

/// The circles a team holds (by their `team_id`).
fn team_circles(tx: &mut dyn Tx, team: &str) -> ApiResult<Vec<String>> {
    Ok(tx.rows_with_value("circles", "team_id", &Value::from(team).to_string())?)
}

/// After `user` stopped organizing `team`: each of its circles they see by
/// no other right is taken away.
fn recheck_team_circles(tx: &mut dyn Tx, team: &str, user: &str) -> ApiResult<()> {
    let pairs: Vec<(String, String)> =
        team_circles(tx, team)?.into_iter().map(|circle| (circle, user.to_string())).collect();
    access::recheck(tx, &pairs)
}

fn no_team(team: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no_team", format!("no team with id {team}"))
}

/// Give every membership whose synced row does not say what the server
/// holds the server's row: memberships kept before this version in the
/// server's list of organizers (never synced), and rows laptops wrote while
/// they still could. Run when a database is opened; how many were written.
pub(crate) fn sync_membership_rows(tx: &mut dyn Tx) -> ApiResult<usize> {
    let mut written = 0;
    for (team, user, role) in tx.all_team_members()? {
        let row = team_member_id(&team, &user);
        let stored = |tx: &mut dyn Tx, field: &str| tx.stored_value("team_members", &row, field);
        let in_step = stored(tx, "role")? == Some(Value::from(role.as_str()).to_string())
            && stored(tx, "deleted")?.as_deref() == Some("0")
            && stored(tx, "team_id")? == Some(Value::from(team.as_str()).to_string())
            && stored(tx, "facilitator_id")? == Some(Value::from(user.as_str()).to_string());
        if in_step {
            continue;
        }
        log_own_row(
            tx,
            "team_members",
            &row,
            &[
                ("team_id", Value::from(team.as_str())),
                ("facilitator_id", Value::from(user.as_str())),
                ("role", Value::from(role.as_str())),
                ("deleted", Value::from(0)),
                ("created_at", Value::from(now_text())),
            ],
        )?;
        written += 1;
    }
    Ok(written)
}

/// The team a command names, by id or by exact name (an ambiguous name is
/// refused, listing the ids).
pub(super) fn find_team(tx: &mut dyn Tx, key: &str) -> ApiResult<String> {
    let found = tx.teams_named(key.trim())?;
    match found.as_slice() {
        [] => {
            Err(ApiError::new(StatusCode::NOT_FOUND, "no_team", format!("no team with id or name \"{}\"", key.trim())))
        }
        [(id, _)] => Ok(id.clone()),
        many => Err(ApiError::new(
            StatusCode::CONFLICT,
            "ambiguous_team",
            format!(
                "{} teams are named \"{}\"; name one by its id: {}",
                many.len(),
                key.trim(),
                many.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

/// What an organizer asks of a member of their team, through the API.
pub enum MemberChange {
    Remove,
    Role(TeamRole),
}

/// An organizer's change to a member of their team: 404 for an unknown
/// team (`no_team`) or someone not in it (`not_a_member`), 403 for a caller
/// who does not organize it (`not_organizer`), 409 for the last organizer.
pub(super) fn organizer_change(
    tx: &mut dyn Tx,
    caller: &str,
    team: &str,
    user: &str,
    change: MemberChange,
) -> ApiResult<()> {
    if !tx.team_exists(team)? {
        return Err(no_team(team));
    }
    if !is_organizer(tx, team, caller)? {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_organizer",
            format!("only the organizers of team {team} may change its members"),
        ));
    }
    if !is_member(tx, team, user)? {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_a_member", format!("user {user} is not in team {team}")));
    }
    match change {
        MemberChange::Remove => remove_member(tx, Some(caller), team, user),
        MemberChange::Role(role) => set_role(tx, Some(caller), team, user, role),
    }
}
