//! The pages `circles-server` serves to people in a browser: joining a team
//! from an invitation link (`join.rs`), asking to join a team by its email
//! domain (`domain.rs`) and resetting a password by email
//! (`reset.rs`). Server-rendered HTML (maud), no JavaScript, in en/es/pt
//! (`text.rs`), one layout and stylesheet (`layout.rs`); the messages that
//! carry the links are made in `mail.rs`.
//!
//! **CSRF.** Each form posts to its own token's URL and only ever changes
//! what that token allows, so a forged post needs the token already. The
//! pages forbid framing, scripts and posting anywhere else (CSP), and send
//! no Referer, so a link's token never leaks to another site.
//!
//! **Public pages** (`public.rs`, its words in `public_text.rs`, its
//! calendar files in `calendar.rs`): a team's upcoming circles, a circle's
//! page and signup form. Only the embeddable listing may be framed, by any
//! site (`embed_headers`); it has no form that changes anything.

pub mod calendar;
pub mod domain;
pub mod join;
pub mod layout;
pub mod learner_links;
pub mod learner_mail;
pub mod link_text;
pub mod mail;
pub mod public;
pub mod public_text;
pub mod reset;
pub mod text;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::Query;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};

use crate::api::AppState;
use crate::error::ApiError;
use crate::throttle::{Backoff, BackoffPolicy};
use text::{Lang, Text};

/// The content security policy of every page.
pub const CSP: &str =
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The embeddable listing's policy: the same, but any site may frame it.
pub const EMBED_CSP: &str =
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors *; base-uri 'none'";

pub fn routes() -> Router<AppState> {
    let embeddable =
        Router::new().route("/teams/{slug}/embed", get(public::embed)).layer(middleware::from_fn(embed_headers));
    Router::new()
        .route("/pages.css", get(stylesheet))
        .route("/teams/{slug}", get(public::listing))
        .route("/teams/{slug}/circles.json", get(public::listing_json))
        .route("/teams/{slug}/circles.ics", get(public::listing_ics))
        .route("/circles/{slug}", get(public::circle).post(public::sign_up))
        .route("/circles/{slug}/calendar.ics", get(public::circle_ics))
        .route("/join/{token}", get(join::show).post(join::submit))
        .route("/join-team/{token}", get(domain::show).post(domain::request))
        .route("/reset", get(reset::ask).post(reset::request))
        .route("/reset/{token}", get(reset::show).post(reset::submit))
        .route("/l/{token}", get(learner_links::show).post(learner_links::confirm))
        .layer(middleware::from_fn(page_headers))
        .merge(embeddable)
}

async fn page_headers(request: axum::extract::Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    set_page_headers(response.headers_mut(), CSP);
    response.headers_mut().insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The embeddable listing's: the pages' headers, but any site may frame it.
async fn embed_headers(request: axum::extract::Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    set_page_headers(response.headers_mut(), EMBED_CSP);
    response
}

fn set_page_headers(headers: &mut HeaderMap, csp: &'static str) {
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // Pages hold a token's state (and a form's errors): never from a cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

async fn stylesheet() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], layout::CSS)
}

/// The page's language, from `?lang=` and Accept-Language.
pub(crate) fn lang_of(query: &Query<HashMap<String, String>>, headers: &HeaderMap) -> Lang {
    Lang::pick(query.get("lang").map(String::as_str), headers)
}

/// `path?lang=xx`: where a form posts, keeping the language.
pub(crate) fn with_lang(path: &str, lang: Lang) -> String {
    format!("{path}?lang={}", lang.code())
}

pub(crate) fn respond(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// A page that only says something (a refused link, a success), with an
/// optional link onwards.
pub(crate) fn message_page(
    lang: Lang,
    status: StatusCode,
    path: &str,
    title: &str,
    body: &str,
    onward: Option<(&str, &str)>,
) -> Response {
    respond(
        status,
        layout::page(
            lang,
            title,
            path,
            html! {
                p { (body) }
                @if let Some((href, label)) = onward { p { a href=(href) { (label) } } }
            },
        ),
    )
}

/// The page for an error the rules answered (a link that does not work,
/// no public URL, the database down). Unknown codes get the generic page.
pub(crate) fn error_page(lang: Lang, path: &str, error: &ApiError) -> Response {
    let t: &Text = lang.text();
    let reset_again = Some((with_lang("/reset", lang), t.reset_again));
    let (title, body, onward) = match error.code {
        "invitation_unknown" | "reset_unknown" => (t.link_unknown_title, t.link_unknown_body, None),
        "invitation_expired" => (t.link_expired_title, t.invitation_expired_body, None),
        "reset_expired" => (t.link_expired_title, t.reset_expired_body, reset_again),
        "invitation_used" => (t.link_used_title, t.invitation_used_body, None),
        "reset_used" => (t.link_used_title, t.reset_used_body, reset_again),
        "invitation_cancelled" => (t.invitation_cancelled_title, t.invitation_cancelled_body, None),
        "already_member" => (t.already_member_title, t.already_member_body, None),
        "join_link_unknown" => (t.link_unknown_title, t.link_unknown_body, None),
        "no_public_url" => (t.no_public_url_title, t.no_public_url_body, None),
        _ => {
            tracing::warn!(code = error.code, message = %error.message, "a page could not be served");
            (t.failed_title, t.failed_body, None)
        }
    };
    let status = if error.status.is_client_error() || error.status.is_server_error() {
        error.status
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    message_page(lang, status, path, title, body, onward.as_ref().map(|(h, l)| (h.as_str(), *l)))
}

/// The public URL, or the error that says to set it.
pub(crate) fn public_url(state: &AppState) -> Result<&str, ApiError> {
    state.public_url.as_deref().ok_or_else(no_public_url)
}

pub fn no_public_url() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "no_public_url",
        "this server does not know its public address, so it cannot make links for email: set --public-url \
         (public_url in the config file) to the address people reach it at",
    )
}

/// Requests for a link by mail (a password reset, joining by a team's
/// domain) per client address: a few free, then each address must wait
/// longer (the answer stays the same; nothing is sent meanwhile).
pub struct LinkLimiter {
    backoff: Mutex<Backoff<IpAddr>>,
}

impl Default for LinkLimiter {
    fn default() -> Self {
        LinkLimiter::with_free(5)
    }
}

impl LinkLimiter {
    /// Signup posts per address: more are free (a library's public
    /// computers share one address), then the same growing waits.
    pub fn signups() -> LinkLimiter {
        LinkLimiter::with_free(20)
    }

    fn with_free(free_failures: u32) -> LinkLimiter {
        LinkLimiter {
            backoff: Mutex::new(Backoff::new(BackoffPolicy {
                free_failures,
                first_wait: Duration::from_secs(60),
                max_wait: Duration::from_secs(3600),
                forget_after: Duration::from_secs(3600),
                max_entries: 10_000,
            })),
        }
    }

    /// Count a request from `address`: whether it may send a message.
    pub fn admit(&self, address: IpAddr) -> bool {
        let key = crate::throttle::address_key(address);
        let now = Instant::now();
        let mut backoff = self.backoff.lock().unwrap_or_else(|p| p.into_inner());
        let waiting = backoff.wait(&key, now).is_some();
        backoff.record_failure(key, now);
        !waiting
    }
}
