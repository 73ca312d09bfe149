//! Invitations to a team: who may invite (the team's organizers; for a
//! circle's co-facilitator, also whoever facilitates that circle), what an
//! invitation may be (an email or a copyable link, once per pending
//! address), how a link is checked (unknown, expired, used, cancelled) and
//! what accepting it writes in one transaction: the account if new, the
//! membership, the co-facilitator row with its access, the link used.
//! Links carry a random token; only its sha256 is stored.

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use circles_core::validate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::accounts::{insert_account, log_own_circle_row, normal_email};
use super::{teams, ApiResult};
use crate::common::{now_text, time_text};
use crate::error::ApiError;
use crate::storage::{Backend, InvitationRecord, JoinDomainRecord, NewMail, Tx};

/// How long an invitation link works.
pub const INVITATION_DAYS: i64 = 7;

// The API's shapes are core's wire types, shared with the laptops that call it.
pub use circles_core::sync::wire::{Invitation, InvitationRequest, Member, TeamMembers};

impl From<&InvitationRecord> for Invitation {
    fn from(r: &InvitationRecord) -> Invitation {
        Invitation {
            id: r.id.clone(),
            team_id: r.team_id.clone(),
            email: r.email.clone(),
            circle_id: r.circle_id.clone(),
            role: r.role.clone(),
            invited_by: r.invited_by.clone(),
            created_at: r.created_at.clone(),
            expires_at: r.expires_at.clone(),
            link: None,
        }
    }
}

/// What an invitation's email (or join page) says.
#[derive(Debug, Clone, PartialEq)]
pub struct InvitationFacts {
    pub email: Option<String>,
    pub team_name: String,
    pub circle_name: Option<String>,
    pub inviter_name: String,
    pub expires_at: String,
    /// The invited email already has an account: joining asks for its password.
    pub existing_account: bool,
}

/// Makes the email of an invitation with an email (the caller knows the link).
pub type ComposeInvitation<'a> = &'a (dyn Fn(&InvitationFacts) -> ApiResult<NewMail> + Sync);

/// `PUT /v1/teams/{team}/join-domain`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinDomainRequest {
    /// `chipublic.org`; null removes the team's domain (and its link).
    pub domain: Option<String>,
}

/// A team's email domain, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JoinDomain {
    pub team_id: String,
    pub domain: Option<String>,
    /// The team's join link, to share (only in the answer that made it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// What the page of a team's join link shows.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainFacts {
    pub team_name: String,
    pub domain: String,
}

/// Who accepts an invitation.
pub enum Joiner {
    /// A new account (email normal and checked, password hashed).
    New { email: String, name: String, password_hash: String },
    /// An account whose password the caller checked.
    Existing { user_id: String },
}

/// Invite someone (or make a link) to a team; with an email, its message
/// is put in the outbox in the same transaction.
pub(super) fn invite(
    backend: &impl Backend,
    inviter: &str,
    team: &str,
    request: &InvitationRequest,
    token_hash: &str,
    compose: ComposeInvitation<'_>,
) -> ApiResult<Invitation> {
    let email = match request.email.as_deref().map(normal_email) {
        Some(email) => {
            validate::email("invitation", "email", &email)
                .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_email", e.to_string()))?;
            Some(email)
        }
        None => None,
    };
    let role = request.role.as_deref().unwrap_or(teams::MEMBER);
    if role != teams::MEMBER && role != teams::ORGANIZER {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_role",
            format!("role must be \"member\" or \"organizer\", not \"{}\"", validate::shown(role)),
        ));
    }
    backend.write_unordered(|tx| {
        let organizer = may_manage(tx, team, inviter, request.circle_id.as_deref())?;
        if role == teams::ORGANIZER && !organizer {
            return Err(ApiError::forbidden("only the team's organizers may invite an organizer"));
        }
        let circle_name = match request.circle_id.as_deref() {
            Some(circle) => Some(circle_in_team(tx, team, circle)?),
            None => None,
        };
        let mut existing_account = false;
        if let Some(email) = email.as_deref() {
            if let Some(user) = tx.user_by_email(email)? {
                existing_account = true;
                let already = match request.circle_id.as_deref() {
                    Some(circle) => tx.has_access(circle, &user.id)?,
                    None => teams::is_member(tx, team, &user.id)?,
                };
                if already {
                    let what = if request.circle_id.is_some() { "facilitates that circle" } else { "is in the team" };
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "already_member",
                        format!("{email} already {what}; there is nobody to invite"),
                    ));
                }
            }
            let now = now_text();
            let pending = tx.pending_invitations(team, &now)?;
            if pending.iter().any(|i| i.email.as_deref() == Some(email) && i.circle_id == request.circle_id) {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "already_invited",
                    format!("{email} has a pending invitation to this team already: resend it instead"),
                ));
            }
        }
        let record = InvitationRecord {
            id: uuid::Uuid::now_v7().to_string(),
            team_id: team.to_string(),
            email: email.clone(),
            circle_id: request.circle_id.clone(),
            role: role.to_string(),
            invited_by: inviter.to_string(),
            token_hash: token_hash.to_string(),
            created_at: now_text(),
            expires_at: time_text(Utc::now() + Duration::days(INVITATION_DAYS)),
            used_at: None,
            cancelled_at: None,
        };
        tx.insert_invitation(&record)?;
        if email.is_some() {
            let facts = facts(tx, &record, circle_name, existing_account)?;
            tx.enqueue_mail(&compose(&facts)?)?;
        }
        Ok(Invitation::from(&record))
    })
}

/// A team's members and pending invitations, for its organizers.
pub(super) fn members(backend: &impl Backend, caller: &str, team: &str) -> ApiResult<TeamMembers> {
    backend.read(|tx| {
        let name = tx.team_name(team)?.ok_or_else(|| no_team(team))?;
        if !teams::is_organizer(tx, team, caller)? {
            return Err(ApiError::forbidden(format!("only the organizers of team {team} see its members")));
        }
        let mut members = Vec::new();
        for (user_id, role) in teams::members(tx, team)? {
            let Some(user) = tx.user_by_id(&user_id)? else { continue };
            let last_sync_at = tx.tokens(Some(&user_id))?.into_iter().filter_map(|t| t.last_used_at).max();
            members.push(Member { user_id, name: user.name, email: user.email, role, last_sync_at });
        }
        let invitations = tx.pending_invitations(team, &now_text())?.iter().map(Invitation::from).collect();
        Ok(TeamMembers { team_id: team.to_string(), name, members, invitations })
    })
}

/// A pending invitation gets a new token and expiry (the old link stops
/// working); one with an email is sent again.
pub(super) fn resend(
    backend: &impl Backend,
    caller: &str,
    team: &str,
    id: &str,
    token_hash: &str,
    compose: ComposeInvitation<'_>,
) -> ApiResult<Invitation> {
    backend.write_unordered(|tx| {
        let mut record = pending_of(tx, caller, team, id)?;
        record.token_hash = token_hash.to_string();
        record.expires_at = time_text(Utc::now() + Duration::days(INVITATION_DAYS));
        tx.renew_invitation(id, &record.token_hash, &record.expires_at)?;
        if record.email.is_some() {
            let circle_name = match record.circle_id.as_deref() {
                Some(circle) => Some(circle_name(tx, circle)?.unwrap_or_else(|| circle.to_string())),
                None => None,
            };
            let existing = match record.email.as_deref() {
                Some(email) => tx.user_by_email(email)?.is_some(),
                None => false,
            };
            let facts = facts(tx, &record, circle_name, existing)?;
            tx.enqueue_mail(&compose(&facts)?)?;
        }
        Ok(Invitation::from(&record))
    })
}

/// Cancel a pending invitation: its link stops working.
pub(super) fn cancel(backend: &impl Backend, caller: &str, team: &str, id: &str) -> ApiResult<()> {
    backend.write_unordered(|tx| {
        pending_of(tx, caller, team, id)?;
        tx.cancel_invitation(id, &now_text())?;
        Ok(())
    })
}

/// What a join link's page shows; a clear refusal for a link that does not work.
pub(super) fn open(backend: &impl Backend, token_hash: &str) -> ApiResult<InvitationFacts> {
    backend.read(|tx| {
        let record = usable(tx, token_hash)?;
        let circle_name = match record.circle_id.as_deref() {
            Some(circle) => Some(circle_name(tx, circle)?.unwrap_or_else(|| circle.to_string())),
            None => None,
        };
        let existing = match record.email.as_deref() {
            Some(email) => tx.user_by_email(email)?.is_some(),
            None => false,
        };
        facts(tx, &record, circle_name, existing)
    })
}

/// Accept an invitation: the account (if new), the membership, the
/// co-facilitator row and access, and the link marked used, in one write;
/// nothing at all if the link stopped working meanwhile. The user's id.
pub(super) fn accept(backend: &impl Backend, token_hash: &str, joiner: &Joiner) -> ApiResult<String> {
    backend.write(|tx| {
        let record = usable(tx, token_hash)?;
        let user_id = match joiner {
            Joiner::New { email, name, password_hash } => {
                if record.email.as_deref().is_some_and(|invited| invited != email) {
                    return Err(ApiError::forbidden("this invitation is for another email address"));
                }
                insert_account(tx, email, name, password_hash)?
            }
            Joiner::Existing { user_id } => {
                let user = tx.user_by_id(user_id)?.ok_or_else(|| ApiError::not_found("no such account"))?;
                // A disabled account joins nothing: its administrator enables it first.
                if user.disabled {
                    return Err(super::accounts::account_disabled(StatusCode::FORBIDDEN));
                }
                if record.email.as_deref().is_some_and(|invited| invited != user.email) {
                    return Err(ApiError::forbidden("this invitation is for another email address"));
                }
                user.id
            }
        };
        if record.circle_id.is_none() && teams::is_member(tx, &record.team_id, &user_id)? {
            // Nothing to join: the link stays for whoever it was meant for.
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "already_member",
                "this account is in the team already; sign in from the Circles app",
            ));
        }
        teams::add_member(tx, Some(&record.invited_by), &record.team_id, &user_id, &record.role)?;
        if let Some(circle) = record.circle_id.as_deref() {
            if !tx.has_access(circle, &user_id)? {
                log_own_circle_row(
                    tx,
                    circle,
                    "circle_facilitators",
                    &uuid::Uuid::now_v7().to_string(),
                    &[
                        ("circle_id", Value::from(circle)),
                        ("facilitator_id", Value::from(user_id.as_str())),
                        ("deleted", Value::from(0)),
                        ("created_at", Value::from(now_text())),
                    ],
                )?;
                let seq = tx.max_seq()?;
                tx.grant(circle, &user_id, seq)?;
            }
        }
        if !tx.use_invitation(&record.id, &user_id, &now_text())? {
            return Err(used());
        }
        Ok(user_id)
    })
}

/// Set or remove a team's email domain (its organizers only): with a
/// domain, a new join link (`token_hash`; an older link stops working).
pub(super) fn set_join_domain(
    backend: &impl Backend,
    caller: &str,
    team: &str,
    domain: Option<&str>,
    token_hash: &str,
) -> ApiResult<JoinDomain> {
    let domain = match domain.map(|d| d.trim().trim_start_matches('@').to_lowercase()) {
        Some(domain) => {
            // A domain is what an email address has after its @.
            validate::email("team", "domain", &format!("someone@{domain}")).map_err(|_| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_domain",
                    format!("\"{}\" is not an email domain such as library.org", validate::shown(&domain)),
                )
            })?;
            Some(domain)
        }
        None => None,
    };
    backend.write_unordered(|tx| {
        if !tx.team_exists(team)? {
            return Err(no_team(team));
        }
        if !teams::is_organizer(tx, team, caller)? {
            return Err(ApiError::forbidden(format!("only the organizers of team {team} may set its email domain")));
        }
        match &domain {
            Some(domain) => {
                let record =
                    JoinDomainRecord { team_id: team.to_string(), domain: domain.clone(), set_by: caller.to_string() };
                tx.set_join_domain(&record, token_hash, &now_text())?;
            }
            None => {
                tx.clear_join_domain(team)?;
            }
        }
        Ok(JoinDomain { team_id: team.to_string(), domain, link: None })
    })
}

/// What a team's join link shows (404 `join_link_unknown` for one that
/// does not work: never made, replaced or removed).
pub(super) fn open_domain(backend: &impl Backend, token_hash: &str) -> ApiResult<DomainFacts> {
    backend.read(|tx| {
        let record = domain_link(tx, token_hash)?;
        let team_name = tx.team_name(&record.team_id)?.unwrap_or_else(|| record.team_id.clone());
        Ok(DomainFacts { team_name, domain: record.domain })
    })
}

/// Someone at the team's domain asks to join: an invitation mailed to
/// their address (which proves it is theirs), unless they are in the team
/// or invited already. Whether a message was enqueued (people are told the
/// same either way). 422 `other_domain` for an address elsewhere.
pub(super) fn request_domain_join(
    backend: &impl Backend,
    link_hash: &str,
    email: &str,
    invitation_hash: &str,
    compose: ComposeInvitation<'_>,
) -> ApiResult<bool> {
    let email = normal_email(email);
    validate::email("invitation", "email", &email)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_email", e.to_string()))?;
    backend.write_unordered(|tx| {
        let link = domain_link(tx, link_hash)?;
        if email.rsplit_once('@').map(|(_, d)| d) != Some(link.domain.as_str()) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "other_domain",
                format!("only addresses at {} may join this way", link.domain),
            ));
        }
        let existing = tx.user_by_email(&email)?;
        if let Some(user) = &existing {
            if teams::is_member(tx, &link.team_id, &user.id)? {
                return Ok(false);
            }
        }
        let now = now_text();
        if tx.pending_invitations(&link.team_id, &now)?.iter().any(|i| i.email.as_deref() == Some(email.as_str())) {
            return Ok(false);
        }
        let record = InvitationRecord {
            id: uuid::Uuid::now_v7().to_string(),
            team_id: link.team_id.clone(),
            email: Some(email.clone()),
            circle_id: None,
            role: teams::MEMBER.to_string(),
            invited_by: link.set_by.clone(),
            token_hash: invitation_hash.to_string(),
            created_at: now,
            expires_at: time_text(Utc::now() + Duration::days(INVITATION_DAYS)),
            used_at: None,
            cancelled_at: None,
        };
        tx.insert_invitation(&record)?;
        let facts = facts(tx, &record, None, existing.is_some())?;
        tx.enqueue_mail(&compose(&facts)?)?;
        Ok(true)
    })
}

fn domain_link(tx: &mut dyn Tx, token_hash: &str) -> ApiResult<JoinDomainRecord> {
    tx.join_domain_by_token(token_hash)?.ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "join_link_unknown", "this team join link does not work (any more)")
    })
}

/// The invitation a token names, if it still works.
fn usable(tx: &mut dyn Tx, token_hash: &str) -> ApiResult<InvitationRecord> {
    let record = tx.invitation_by_token(token_hash)?.ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "invitation_unknown", "this join link is not one this server made")
    })?;
    if record.used_at.is_some() {
        return Err(used());
    }
    if record.cancelled_at.is_some() {
        return Err(ApiError::new(StatusCode::GONE, "invitation_cancelled", "this invitation was cancelled"));
    }
    if record.expires_at <= now_text() {
        return Err(ApiError::new(StatusCode::GONE, "invitation_expired", "this join link has expired"));
    }
    Ok(record)
}

fn used() -> ApiError {
    ApiError::new(StatusCode::GONE, "invitation_used", "this join link was used already")
}

fn no_team(team: &str) -> ApiError {
    ApiError::not_found(format!("no team with id {team}"))
}

/// May `caller` manage the team's invitations (or, with a circle, invite
/// its co-facilitators)? Whether they organize the team; 404 for an unknown
/// team, 403 for someone who may not.
fn may_manage(tx: &mut dyn Tx, team: &str, caller: &str, circle: Option<&str>) -> ApiResult<bool> {
    if !tx.team_exists(team)? {
        return Err(no_team(team));
    }
    if teams::is_organizer(tx, team, caller)? {
        return Ok(true);
    }
    // A facilitator of the circle may invite a co-facilitator for it, into
    // a team they belong to themselves: invitations make members, and only
    // a team's own people may bring others in.
    if let Some(circle) = circle {
        if tx.has_access(circle, caller)? && teams::is_member(tx, team, caller)? {
            return Ok(false);
        }
    }
    Err(ApiError::forbidden(format!(
        "only the organizers of team {team} (or a facilitator of the circle who is in the team, to invite a \
         co-facilitator) may do this"
    )))
}

/// A pending invitation of the team that the caller may manage.
fn pending_of(tx: &mut dyn Tx, caller: &str, team: &str, id: &str) -> ApiResult<InvitationRecord> {
    let record = tx.invitation(id)?.filter(|r| r.team_id == team);
    let may = may_manage(tx, team, caller, record.as_ref().and_then(|r| r.circle_id.as_deref()))?;
    let unknown = || ApiError::not_found(format!("team {team} has no invitation with id {id}"));
    let record = record.ok_or_else(unknown)?;
    if !may && record.invited_by != caller {
        return Err(ApiError::forbidden("only the team's organizers or the person who invited may change it"));
    }
    if record.used_at.is_some() || record.cancelled_at.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "invitation_closed",
            format!("invitation {id} was {} already", if record.used_at.is_some() { "used" } else { "cancelled" }),
        ));
    }
    Ok(record)
}

/// The circle's name, checking it exists and is on no other team.
fn circle_in_team(tx: &mut dyn Tx, team: &str, circle: &str) -> ApiResult<String> {
    let name = circle_name(tx, circle)?.ok_or_else(|| ApiError::not_found(format!("no circle with id {circle}")))?;
    let on = tx.field("circles", circle, "team_id")?.and_then(|f| serde_json::from_str::<Value>(&f.value).ok());
    if let Some(other) = on.as_ref().and_then(Value::as_str).filter(|t| *t != team) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "circle_not_in_team",
            format!("circle {circle} belongs to another team ({other}); invite from that team"),
        ));
    }
    Ok(name)
}

fn circle_name(tx: &mut dyn Tx, circle: &str) -> ApiResult<Option<String>> {
    Ok(tx
        .field("circles", circle, "name")?
        .and_then(|f| serde_json::from_str::<Value>(&f.value).ok())
        .and_then(|v| v.as_str().map(str::to_string)))
}

fn facts(
    tx: &mut dyn Tx,
    record: &InvitationRecord,
    circle_name: Option<String>,
    existing_account: bool,
) -> ApiResult<InvitationFacts> {
    let team_name = tx.team_name(&record.team_id)?.unwrap_or_else(|| record.team_id.clone());
    let inviter_name = tx.user_by_id(&record.invited_by)?.map_or_else(|| "An organizer".to_string(), |u| u.name);
    Ok(InvitationFacts {
        email: record.email.clone(),
        team_name,
        circle_name,
        inviter_name,
        expires_at: record.expires_at.clone(),
        existing_account,
    })
}
