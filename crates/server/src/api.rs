//! HTTP handlers. Each one checks the request's shape, calls the sync rules
//! (`protocol::SyncService`) off the async threads, and answers JSON.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use circles_core::hlc::wall_clock_millis;
use circles_core::sync::wire::{
    DeviceRenewal, Hello, LoginRequest, LoginResponse, PullResponse, PushRequest, PushResponse, MAX_CLOCK_SKEW_MS,
    MAX_PUSH_CHANGES, PROTOCOL_HEADER, PROTOCOL_VERSION,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth;
use crate::error::ApiError;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::protocol::{account_disabled, MemberChange, SyncService};
use crate::storage::{Session, TokenInfo};
use crate::throttle::{self, SignInGuard, SignInLimits};

/// The largest request body accepted (a full batch is well under it).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn SyncService>,
    pub metrics: Arc<Metrics>,
    pub sign_in: Arc<SignInGuard>,
    /// Enqueues mail and wakes this process's mail worker.
    pub mail: Mailer,
    /// Enqueues texts (when SMS is on) and wakes the SMS worker; the
    /// reply webhook's token (`sms/`).
    pub sms: crate::sms::SmsSender,
    /// The base of links in messages (`--public-url`), without a trailing slash.
    pub public_url: Option<String>,
    /// The newest app release, told to every puller (`serve --latest-app-version`).
    pub app_release: Option<Arc<circles_core::sync::wire::AppRelease>>,
    /// Requests for a link by mail per client address (a password reset,
    /// joining by a team's email domain): `pages/`.
    pub link_requests: Arc<crate::pages::LinkLimiter>,
    /// Signup posts on the public circle pages per client address.
    pub signups: Arc<crate::pages::LinkLimiter>,
    /// Confirmed learner links (`/l/{token}` posts) per client address.
    pub learner_links: Arc<crate::pages::LinkLimiter>,
}

impl AppState {
    pub fn new(storage: Arc<dyn SyncService>) -> AppState {
        AppState::with_sign_in_limits(storage, SignInLimits::default())
    }

    pub fn with_sign_in_limits(storage: Arc<dyn SyncService>, limits: SignInLimits) -> AppState {
        AppState::with_sign_in(storage, SignInGuard::new(limits))
    }

    pub fn with_sign_in(storage: Arc<dyn SyncService>, sign_in: SignInGuard) -> AppState {
        AppState {
            mail: Mailer::new(storage.clone()),
            sms: crate::sms::SmsSender::off(storage.clone()),
            storage,
            metrics: Arc::new(Metrics::new()),
            sign_in: Arc::new(sign_in),
            public_url: None,
            app_release: None,
            link_requests: Arc::default(),
            signups: Arc::new(crate::pages::LinkLimiter::signups()),
            learner_links: Arc::new(crate::pages::LinkLimiter::signups()),
        }
    }

    /// Announce this release in every pull answer (old apps ignore it).
    pub fn with_app_release(self, release: Option<circles_core::sync::wire::AppRelease>) -> AppState {
        AppState { app_release: release.map(Arc::new), ..self }
    }
}

/// The client's address, for sign-in throttling (`throttle::client_address`).
pub struct ClientAddress(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| *peer);
        Ok(ClientAddress(throttle::client_address(&parts.headers, peer, state.sign_in.limits().trust_proxy)))
    }
}

/// A JSON body whose rejections are JSON errors too. Read with plain
/// serde_json: axum's `Json` tracks the path to every value it reads, which
/// made reading a 5,000-change batch a third slower, so it only reads a
/// body again that failed (for its message naming where) or one whose
/// content type is not plainly `application/json` (for its checks).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let plain_json = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        if !plain_json {
            let Json(value) = Json::<T>::from_request(request, state).await?;
            return Ok(JsonBody(value));
        }
        let body = axum::body::Bytes::from_request(request, state).await?;
        match serde_json::from_slice(&body) {
            Ok(value) => Ok(JsonBody(value)),
            Err(_) => Json::<T>::from_bytes(&body).map(|Json(value)| JsonBody(value)).map_err(ApiError::from),
        }
    }
}

pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/device/renew", post(renew_device))
        .route("/tokens", get(list_tokens))
        .route("/tokens/{id}", delete(revoke_token))
        .route("/account/password", post(change_password))
        .route("/teams/{team}/members/{user_id}", put(set_member_role).delete(remove_member))
        .route("/push", post(push))
        .route("/pull", get(pull))
        .merge(crate::team_api::routes())
        .route_layer(middleware::from_fn(require_protocol))
        .route("/hello", get(hello))
        // The SMS provider's webhook: signed by the provider, no protocol header.
        .route("/sms/inbound", post(crate::sms::inbound::inbound));
    Router::new()
        .route("/healthz", get(health))
        .route("/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .nest("/v1", v1)
        .merge(crate::pages::routes())
        .fallback(|| async { ApiError::not_found("no such endpoint; see /openapi.json") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method",
            )
        })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // 503, not 408: the client retries 5xx later, and the slowness was ours.
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(30)))
        .layer(middleware::map_response(json_errors))
        .layer(middleware::from_fn_with_state(state.clone(), measure))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Count every request, its status and its time (after the JSON error
/// layer, so the status is the one the client gets).
async fn measure(State(state): State<AppState>, request: axum::extract::Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let path = request.uri().path().to_string();
    let method = request.method().to_string();
    let response = next.run(request).await;
    state.metrics.observe_request(&path, &method, response.status().as_u16(), started.elapsed());
    response
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        state.metrics.encode(),
    )
}

/// The layers below the handlers (body limit, timeout) answer errors in
/// plain text or with no body at all; give every error the JSON shape
/// (except the pages' own, which are HTML for people).
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let content_type =
        response.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let shaped = content_type.starts_with("application/json") || content_type.starts_with("text/html");
    if !(status.is_client_error() || status.is_server_error()) || shaped {
        return response;
    }
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(status, "too_large", format!("the request body is larger than {MAX_BODY_BYTES} bytes"))
        }
        StatusCode::SERVICE_UNAVAILABLE => {
            ApiError::new(status, "timeout", "the server took too long to answer; try again later")
        }
        _ => ApiError::new(status, "http_error", status.canonical_reason().unwrap_or("request failed")),
    };
    error.into_response()
}

/// Run blocking storage work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::internal(format!("worker failed: {e}")))?
}

async fn require_protocol(headers: HeaderMap, request: axum::extract::Request, next: Next) -> Response {
    let given = headers.get(PROTOCOL_HEADER).and_then(|v| v.to_str().ok()).map(str::trim);
    if given != Some(PROTOCOL_VERSION.to_string().as_str()) {
        let what = given.map_or("no protocol version".to_string(), |v| format!("protocol \"{v}\""));
        return ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "protocol_unsupported",
            format!(
                "this server speaks protocol {PROTOCOL_VERSION} (header {PROTOCOL_HEADER}); the client sent {what}: please update Circles"
            ),
        )
        .into_response();
    }
    next.run(request).await
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthorized("sign in first: send Authorization: Bearer <token>"))?;
        let hash = auth::token_hash(token);
        let storage = state.storage.clone();
        blocking(move || storage.session(&hash))
            .await?
            .ok_or_else(|| ApiError::unauthorized("this token is unknown or was revoked; sign in again"))
    }
}

async fn health(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let storage = state.storage.clone();
    blocking(move || storage.health()).await?;
    Ok(Json(serde_json::json!({ "status": "ok" })))
}

async fn openapi() -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], include_str!("../../../docs/openapi.json"))
}

async fn hello() -> Json<Hello> {
    Json(Hello {
        protocols: vec![PROTOCOL_VERSION],
        server_time_ms: wall_clock_millis(),
        max_push_changes: MAX_PUSH_CHANGES,
        max_clock_skew_ms: MAX_CLOCK_SKEW_MS,
    })
}

async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    // The same rules as a pushed change's device id, and a name that prints safely.
    circles_core::schema::check_id("sign-in", "device_id", &request.device_id)
        .and_then(|()| circles_core::validate::required("sign-in", "device_name", &request.device_name, 100))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if request.device_id == crate::common::SERVER_DEVICE {
        // The server's own changes carry this device id; no laptop may.
        return Err(ApiError::bad_request(format!("device_id \"{}\" is reserved", request.device_id)));
    }
    // Throttled, and one of a bounded number of password checks at a time.
    let mut attempt = state.sign_in.admit(&request.email, address).await?;
    let storage = state.storage.clone();
    blocking(move || {
        let user = storage.user_by_email(&request.email)?;
        let hash = user.as_ref().map_or(auth::decoy_hash(), |u| u.password_hash.as_str());
        let ok = attempt.verify_password(&request.password, hash);
        // Recorded here, not after the await: a client that hangs up still fails.
        attempt.finish(ok && user.is_some());
        let address = address.to_string();
        let user = match (ok, user) {
            (true, Some(user)) => user,
            (_, known) => {
                let why = if known.is_some() { "wrong password" } else { "no account with this email" };
                storage.record_failed_sign_in(&request.email, &address, why)?;
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_credentials",
                    "that email and password do not match an account",
                ));
            }
        };
        // Told only to whoever knows the password.
        if user.disabled {
            storage.record_failed_sign_in(&user.email, &address, "the account is disabled")?;
            return Err(account_disabled(StatusCode::FORBIDDEN));
        }
        let token = auth::new_token();
        let token_id = storage.create_token(
            &user.id,
            &request.device_id,
            request.device_name.trim(),
            &auth::token_hash(&token),
            &address,
        )?;
        Ok(Json(LoginResponse {
            token,
            token_id,
            user_id: user.id,
            name: user.name,
            device_id: Some(request.device_id),
        }))
    })
    .await
}

async fn logout(State(state): State<AppState>, session: Session) -> Result<Json<serde_json::Value>, ApiError> {
    let storage = state.storage.clone();
    blocking(move || storage.revoke_token(&session.token_id, Some(&session.user_id))).await?;
    Ok(Json(serde_json::json!({ "revoked": true })))
}

/// A fresh device id, with a new token bound to it, for a copy of the
/// caller's data folder (copied, or restored from a backup).
async fn renew_device(State(state): State<AppState>, session: Session) -> Result<Json<DeviceRenewal>, ApiError> {
    state.sign_in.admit_renewal(&session.user_id)?;
    let storage = state.storage.clone();
    let token = auth::new_token();
    let hash = auth::token_hash(&token);
    let (device_id, token_id) = blocking(move || storage.renew_device(&session, &hash)).await?;
    Ok(Json(DeviceRenewal { device_id, token, token_id }))
}

async fn list_tokens(State(state): State<AppState>, session: Session) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    let storage = state.storage.clone();
    Ok(Json(blocking(move || storage.tokens(Some(&session.user_id))).await?))
}

async fn revoke_token(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let storage = state.storage.clone();
    let revoked = blocking(move || storage.revoke_token(&id, Some(&session.user_id))).await?;
    if revoked {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("you have no token with that id"))
    }
}

async fn push(
    State(state): State<AppState>,
    session: Session,
    JsonBody(batch): JsonBody<PushRequest>,
) -> Result<Json<PushResponse>, ApiError> {
    let storage = state.storage.clone();
    let changes = batch.changes.len();
    let response = blocking(move || storage.push(&session, batch, wall_clock_millis())).await?;
    state.metrics.observe_push(changes);
    Ok(Json(response))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PullQuery {
    #[serde(default)]
    cursor: i64,
    #[serde(default)]
    conflict_cursor: i64,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    1_000
}

async fn pull(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<PullQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PullResponse>, ApiError> {
    let Query(q) = query?;
    let storage = state.storage.clone();
    let mut page =
        blocking(move || storage.pull(&session, q.cursor, q.conflict_cursor, q.limit, wall_clock_millis())).await?;
    page.app_release = state.app_release.as_deref().cloned();
    Ok(Json(page))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Change one's password: the current one is checked like a sign-in (a
/// wrong one counts as a failed sign-in for the throttle), the new one by
/// the rules of `circles-server user add`; the caller's other tokens are
/// revoked, the one it called with kept.
async fn change_password(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    session: Session,
    JsonBody(request): JsonBody<PasswordChange>,
) -> Result<Json<serde_json::Value>, ApiError> {
    auth::check_new_password(&request.new_password)
        .map_err(|why| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "weak_password", why))?;
    let storage = state.storage.clone();
    let user_id = session.user_id.clone();
    let user = blocking(move || storage.user_by_id(&user_id))
        .await?
        .ok_or_else(|| ApiError::unauthorized("this token's account no longer exists; sign in again"))?;
    let mut attempt = state.sign_in.admit(&user.email, address).await?;
    let storage = state.storage.clone();
    blocking(move || {
        let ok = attempt.verify_password(&request.current_password, &user.password_hash);
        attempt.finish(ok);
        if !ok {
            storage.record_failed_sign_in(
                &user.email,
                &address.to_string(),
                "wrong current password on a password change",
            )?;
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "wrong_password",
                "the current password is not this account's; nothing was changed",
            ));
        }
        let hash = auth::hash_password(&request.new_password).map_err(|e| ApiError::internal(e.to_string()))?;
        let revoked = storage.set_password(&user.id, &hash, Some(&session.token_id))?;
        Ok(Json(serde_json::json!({ "changed": true, "revoked_tokens": revoked })))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberRole {
    role: RoleName,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RoleName {
    Organizer,
    Member,
}

/// An organizer makes a member of their team an organizer, or a member.
async fn set_member_role(
    State(state): State<AppState>,
    session: Session,
    Path((team, user_id)): Path<(String, String)>,
    JsonBody(request): JsonBody<MemberRole>,
) -> Result<StatusCode, ApiError> {
    let role = match request.role {
        RoleName::Organizer => circles_core::TeamRole::Organizer,
        RoleName::Member => circles_core::TeamRole::Member,
    };
    let storage = state.storage.clone();
    blocking(move || storage.change_member(&session, &team, &user_id, MemberChange::Role(role))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An organizer removes a member from their team.
async fn remove_member(
    State(state): State<AppState>,
    session: Session,
    Path((team, user_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let storage = state.storage.clone();
    blocking(move || storage.change_member(&session, &team, &user_id, MemberChange::Remove)).await?;
    Ok(StatusCode::NO_CONTENT)
}
