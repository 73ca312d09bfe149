//! The team screen: my teams as this computer knows them (members, circles),
//! and, online, what the server knows (when each member last synced, pending
//! invitations) with an organizer's actions on it; changing one's password.
//! The calls are core's `sync::team_admin`; the server decides.

use circles_core::sync::team_admin;
use circles_core::sync::wire::Invitation;
use circles_core::{Facilitator, Team, TeamMember, TeamRole};
use serde::Serialize;
use tauri::State;

use crate::commands::sync::with_network;
use crate::error::UiResult;
use crate::state::AppState;

/// A circle on the team, with who facilitates it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TeamCircle {
    pub id: String,
    pub name: String,
    pub facilitators: Vec<Facilitator>,
}

/// One of my teams as this computer knows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TeamOverview {
    pub team: Team,
    pub members: Vec<TeamMember>,
    pub circles: Vec<TeamCircle>,
    /// Whether the signed-in person organizes it (its actions are shown).
    pub organizer: bool,
    /// Learners are anonymized this many days after a circle ends (None: kept
    /// until erased by hand); organizers set it.
    pub anonymize_after_days: Option<u32>,
    /// What the team's public signup forms say beside the consent box: a
    /// link or a short text ("" = the server's default sentence).
    pub privacy_notice: String,
}

#[tauri::command]
pub async fn my_team_overviews(state: State<'_, AppState>) -> UiResult<Vec<TeamOverview>> {
    state.read(|s| {
        let me = s.my_facilitator_id()?;
        let mut out = Vec::new();
        for team in s.my_teams()? {
            let members = s.team_members(&team.id)?;
            let organizer =
                members.iter().any(|m| Some(&m.facilitator.id) == me.as_ref() && m.role == TeamRole::Organizer);
            let circles = s
                .team_circles(&team.id)?
                .into_iter()
                .map(|(c, facilitators)| TeamCircle { id: c.id, name: c.fields.name, facilitators })
                .collect();
            let anonymize_after_days = s.team_retention(&team.id)?;
            let privacy_notice = s.team_privacy_notice(&team.id)?;
            out.push(TeamOverview { team, members, circles, organizer, anonymize_after_days, privacy_notice });
        }
        Ok(out)
    })
}

/// A team's retention period (None: off); core checks the range, the
/// server that the person organizes the team.
#[tauri::command]
pub async fn set_team_retention(state: State<'_, AppState>, team_id: String, days: Option<u32>) -> UiResult<()> {
    state.edit(|s| s.set_team_retention(&team_id, days))
}

/// A team's privacy notice on its circles' signup forms ("" = the server's
/// default sentence); core checks the length, the server that the person
/// organizes the team.
#[tauri::command]
pub async fn set_team_privacy_notice(state: State<'_, AppState>, team_id: String, notice: String) -> UiResult<()> {
    state.edit(|s| s.set_team_privacy_notice(&team_id, &notice))
}

/// What the server knows of a team (organizers only).
#[tauri::command]
pub async fn team_online(state: State<'_, AppState>, team_id: String) -> UiResult<team_admin::TeamOnline> {
    with_network(&state, move |s| team_admin::team_online(s, &team_id, chrono::Utc::now())).await
}

#[tauri::command]
pub async fn invite_to_team(
    state: State<'_, AppState>,
    team_id: String,
    email: Option<String>,
    circle_id: Option<String>,
    organizer: bool,
) -> UiResult<Invitation> {
    let role = if organizer { TeamRole::Organizer } else { TeamRole::Member };
    with_network(&state, move |s| team_admin::invite(s, &team_id, email.as_deref(), circle_id.as_deref(), role)).await
}

#[tauri::command]
pub async fn resend_invitation(
    state: State<'_, AppState>,
    team_id: String,
    invitation_id: String,
) -> UiResult<Invitation> {
    with_network(&state, move |s| team_admin::resend_invitation(s, &team_id, &invitation_id)).await
}

#[tauri::command]
pub async fn cancel_invitation(state: State<'_, AppState>, team_id: String, invitation_id: String) -> UiResult<()> {
    with_network(&state, move |s| team_admin::cancel_invitation(s, &team_id, &invitation_id)).await
}

#[tauri::command]
pub async fn remove_team_member(state: State<'_, AppState>, team_id: String, user_id: String) -> UiResult<()> {
    with_network(&state, move |s| team_admin::remove_member(s, &team_id, &user_id)).await?;
    state.sync.sync_now();
    Ok(())
}

#[tauri::command]
pub async fn set_team_member_role(
    state: State<'_, AppState>,
    team_id: String,
    user_id: String,
    role: TeamRole,
) -> UiResult<()> {
    with_network(&state, move |s| team_admin::set_member_role(s, &team_id, &user_id, role)).await?;
    state.sync.sync_now();
    Ok(())
}

#[tauri::command]
pub async fn change_password(state: State<'_, AppState>, current: String, new: String) -> UiResult<()> {
    with_network(&state, move |s| team_admin::change_password(s, &current, &new)).await
}
