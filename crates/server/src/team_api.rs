//! The organizers' HTTP API for a team's invitations: invite by email or
//! make a copyable join link, list members and pending invitations, resend
//! and cancel, and a team's email domain with its join link. Handlers only shape requests and answers; who may do what is
//! in `protocol/invitations.rs`. Links are `{public_url}/join/{token}`; the
//! token is made here and only its hash goes to the database.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};

use crate::api::{blocking, AppState, JsonBody};
use crate::auth;
use crate::error::ApiError;
use crate::pages::{self, mail};
use crate::protocol::invitations::{
    ComposeInvitation, Invitation, InvitationFacts, InvitationRequest, JoinDomain, JoinDomainRequest, TeamMembers,
};
use crate::protocol::SyncService;
use crate::storage::Session;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/teams/{team}/invitations", post(invite))
        .route("/teams/{team}/members", get(members))
        .route("/teams/{team}/invitations/{id}/resend", post(resend))
        .route("/teams/{team}/invitations/{id}", delete(cancel))
        .route("/teams/{team}/join-domain", put(set_join_domain))
}

/// A new link: the token for the URL and its hash for the database.
fn new_link(base: &str) -> (String, String) {
    let token = auth::new_token();
    (format!("{base}/join/{token}"), auth::token_hash(&token))
}

async fn invite(
    State(state): State<AppState>,
    session: Session,
    Path(team): Path<String>,
    JsonBody(request): JsonBody<InvitationRequest>,
) -> Result<(StatusCode, Json<Invitation>), ApiError> {
    let invitation = with_new_link(&state, move |storage, hash, compose| {
        storage.invite(&session.user_id, &team, &request, hash, compose)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(invitation)))
}

/// Make an invitation's link, write it through `write` (which mails it when
/// the invitation has an email), then wake the mail worker, or hand the
/// link back to copy. Every invitation is a link to a page of this server.
async fn with_new_link(
    state: &AppState,
    write: impl FnOnce(&dyn SyncService, &str, ComposeInvitation<'_>) -> Result<Invitation, ApiError> + Send + 'static,
) -> Result<Invitation, ApiError> {
    let base = pages::public_url(state)?.to_string();
    let (link, hash) = new_link(&base);
    let storage = state.storage.clone();
    let mail_link = link.clone();
    let mut invitation = blocking(move || {
        write(storage.as_ref(), &hash, &|facts: &InvitationFacts| mail::invitation(facts, &mail_link))
    })
    .await?;
    if invitation.email.is_some() {
        state.mail.wake_handle().notify_one();
    } else {
        invitation.link = Some(link);
    }
    Ok(invitation)
}

async fn members(
    State(state): State<AppState>,
    session: Session,
    Path(team): Path<String>,
) -> Result<Json<TeamMembers>, ApiError> {
    let storage = state.storage.clone();
    Ok(Json(blocking(move || storage.team_members(&session.user_id, &team)).await?))
}

async fn resend(
    State(state): State<AppState>,
    session: Session,
    Path((team, id)): Path<(String, String)>,
) -> Result<Json<Invitation>, ApiError> {
    let invitation = with_new_link(&state, move |storage, hash, compose| {
        storage.resend_invitation(&session.user_id, &team, &id, hash, compose)
    })
    .await?;
    Ok(Json(invitation))
}

async fn cancel(
    State(state): State<AppState>,
    session: Session,
    Path((team, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let storage = state.storage.clone();
    blocking(move || storage.cancel_invitation(&session.user_id, &team, &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a team's email domain (a new join link, in the answer) or remove it.
async fn set_join_domain(
    State(state): State<AppState>,
    session: Session,
    Path(team): Path<String>,
    JsonBody(request): JsonBody<JoinDomainRequest>,
) -> Result<Json<JoinDomain>, ApiError> {
    let base = pages::public_url(&state)?.to_string();
    let token = auth::new_token();
    let hash = auth::token_hash(&token);
    let storage = state.storage.clone();
    let domain = request.domain.clone();
    let mut answer =
        blocking(move || storage.set_join_domain(&session.user_id, &team, domain.as_deref(), &hash)).await?;
    if answer.domain.is_some() {
        answer.link = Some(format!("{base}/join-team/{token}"));
    }
    Ok(Json(answer))
}
