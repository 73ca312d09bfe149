//! What a team's organizer (and a facilitator inviting a co-facilitator)
//! does online, with the signed-in account: see members and pending
//! invitations, invite by email or make a join link, resend or cancel an
//! invitation, remove a member, change a role; and changing one's own
//! password. The server is the authority on membership, so these are calls,
//! not local writes: membership comes back to every laptop by sync. The CLI
//! (`circles team ...`, `circles password`) and the app call these. A team
//! report made for people asks the server whose laptops are behind
//! (`team_report_checked`).

use crate::domain::team::{laptop_behind, LaptopCheck, TeamRole, LAPTOP_STALE_DAYS};
use crate::domain::validate;
use crate::error::{CoreError, Rule};
use crate::reports::TeamReport;
use crate::store::Store;
use crate::sync::engine::SyncError;
use crate::sync::http::HttpTransport;
use crate::sync::wire::{Invitation, InvitationRequest, TeamMembers};

/// The signed-in account's transport (refused for the demo and when signed out).
fn transport(store: &Store) -> Result<HttpTransport, SyncError> {
    store.refuse_if_demo()?;
    let Some(account) = store.account()? else { return Err(SyncError::NotSignedIn) };
    HttpTransport::new(&account.server_url, Some(account.token))
}

/// Ids go into request paths: a typed or pasted one is checked first.
fn path_id(entity: &'static str, id: &str) -> Result<String, SyncError> {
    let id = id.trim();
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if !ok {
        return Err(CoreError::invalid(entity, "id", Rule::Id, format!("\"{id}\" is not an id")).into());
    }
    Ok(id.to_string())
}

/// A team's members (with when each last synced) and pending invitations.
pub fn team_members(store: &Store, team_id: &str) -> Result<TeamMembers, SyncError> {
    let team = path_id("team", team_id)?;
    transport(store)?.get_json(&format!("/v1/teams/{team}/members"))
}

/// What the server knows of a team, with whose laptops are behind (by
/// account id) at the time asked: the app's Teams screen shows this.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TeamOnline {
    pub online: TeamMembers,
    /// Members whose laptops are behind (`laptop_behind`), by user id.
    pub behind: Vec<String>,
    pub stale_after_days: i64,
}

/// A team's members and invitations, each member's laptop judged at `now`.
pub fn team_online(store: &Store, team_id: &str, now: chrono::DateTime<chrono::Utc>) -> Result<TeamOnline, SyncError> {
    let online = team_members(store, team_id)?;
    let behind = online
        .members
        .iter()
        .filter(|m| laptop_behind(now, m.last_sync_at.as_deref()))
        .map(|m| m.user_id.clone())
        .collect();
    Ok(TeamOnline { online, behind, stale_after_days: LAPTOP_STALE_DAYS })
}

/// Whose laptops are behind, from members' last syncs as the server told
/// them at `now`.
pub fn laptop_check(online: &TeamMembers, now: chrono::DateTime<chrono::Utc>) -> LaptopCheck {
    LaptopCheck::from_members(now, online.members.iter().map(|m| (m.name.clone(), m.last_sync_at.clone())))
}

/// A team's report over `from..=to` from this computer's data, with whose
/// laptops are behind as the server says now; when it cannot say (signed
/// out, offline, not an organizer), the report says why it was not checked.
pub fn team_report_checked(
    store: &Store,
    team_id: &str,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<TeamReport, CoreError> {
    let mut report = store.team_report(team_id, from, to)?;
    report.laptops = match store.account()? {
        None => LaptopCheck::not_checked("not signed in to a server"),
        Some(_) => match team_members(store, team_id) {
            Ok(online) => laptop_check(&online, chrono::Utc::now()),
            Err(e) => LaptopCheck::not_checked(e.to_string()),
        },
    };
    Ok(report)
}

/// Invite `email` to a team (None: make a join link to copy, returned in
/// `link`), and to co-facilitate `circle_id` when given.
pub fn invite(
    store: &Store,
    team_id: &str,
    email: Option<&str>,
    circle_id: Option<&str>,
    role: TeamRole,
) -> Result<Invitation, SyncError> {
    let team = path_id("team", team_id)?;
    let email = match email.map(str::trim) {
        Some(email) => {
            validate::email("invitation", "email", email)?;
            Some(email.to_lowercase())
        }
        None => None,
    };
    let request = InvitationRequest {
        email,
        circle_id: circle_id.map(|c| path_id("circle", c)).transpose()?,
        role: Some(role.as_str().to_string()),
    };
    transport(store)?.post_json(&format!("/v1/teams/{team}/invitations"), &request)
}

/// Send an invitation again with a new link (the old one stops working).
pub fn resend_invitation(store: &Store, team_id: &str, invitation_id: &str) -> Result<Invitation, SyncError> {
    let (team, id) = (path_id("team", team_id)?, path_id("invitation", invitation_id)?);
    transport(store)?.post_json(&format!("/v1/teams/{team}/invitations/{id}/resend"), &serde_json::json!({}))
}

pub fn cancel_invitation(store: &Store, team_id: &str, invitation_id: &str) -> Result<(), SyncError> {
    let (team, id) = (path_id("team", team_id)?, path_id("invitation", invitation_id)?);
    transport(store)?.delete(&format!("/v1/teams/{team}/invitations/{id}"))
}

/// Take someone out of a team: at their next sync their laptop no longer
/// holds the team's circles they saw only as its organizer.
pub fn remove_member(store: &Store, team_id: &str, user_id: &str) -> Result<(), SyncError> {
    let (team, user) = (path_id("team", team_id)?, path_id("facilitator", user_id)?);
    transport(store)?.delete(&format!("/v1/teams/{team}/members/{user}"))
}

pub fn set_member_role(store: &Store, team_id: &str, user_id: &str, role: TeamRole) -> Result<(), SyncError> {
    let (team, user) = (path_id("team", team_id)?, path_id("facilitator", user_id)?);
    let _: serde_json::Value = transport(store)?
        .put_json(&format!("/v1/teams/{team}/members/{user}"), &serde_json::json!({ "role": role.as_str() }))?;
    Ok(())
}

/// Change the signed-in account's password; the server signs out its other
/// devices, this one stays signed in.
pub fn change_password(store: &Store, current: &str, new: &str) -> Result<(), SyncError> {
    if current.is_empty() {
        return Err(CoreError::invalid("account", "current_password", Rule::Required, "is required").into());
    }
    if new.is_empty() {
        return Err(CoreError::invalid("account", "new_password", Rule::Required, "is required").into());
    }
    let _: serde_json::Value = transport(store)?
        .post_json("/v1/account/password", &serde_json::json!({ "current_password": current, "new_password": new }))?;
    Ok(())
}
