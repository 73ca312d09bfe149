//! `GET/POST /reset` (ask for a link by email) and `GET/POST /reset/{token}`
//! (choose the new password). Asking always gets the same answer, whether
//! or not the account exists, and is throttled per client address here and
//! per account in `protocol/resets.rs`; setting the password uses the link
//! up and signs every device out.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{page, with_strong, Field, FormErrors};
use super::text::Lang;
use super::{error_page, lang_of, message_page, public_url, respond, with_lang};
use crate::api::{blocking, AppState, ClientAddress};
use crate::auth::{self, PasswordProblem};
use crate::error::ApiError;
use crate::protocol::normal_email;

#[derive(Debug, Default, Deserialize)]
pub struct AskForm {
    #[serde(default)]
    email: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn ask(State(state): State<AppState>, query: Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    let lang = lang_of(&query, &headers);
    if let Err(e) = public_url(&state) {
        return error_page(lang, "/reset", &e);
    }
    respond(StatusCode::OK, ask_page(lang, "", &FormErrors::default()))
}

pub async fn request(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
    form: Result<Form<AskForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = lang_of(&query, &headers);
    let t = lang.text();
    let base = match public_url(&state) {
        Ok(base) => base.to_string(),
        Err(e) => return error_page(lang, "/reset", &e),
    };
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let email = normal_email(&form.email);
    if circles_core::validate::email("facilitator", "email", &email).is_err() {
        let mut errors = FormErrors::default();
        errors.add("email", t.err_email);
        return respond(StatusCode::UNPROCESSABLE_ENTITY, ask_page(lang, &form.email, &errors));
    }
    // Over the address's limit nothing is sent, and the answer is the same.
    if state.link_requests.admit(address) {
        let token = auth::new_token();
        let hash = auth::token_hash(&token);
        let link = format!("{base}/reset/{token}");
        let storage = state.storage.clone();
        let to = email.clone();
        let sent =
            blocking(move || storage.request_reset(&to, &hash, &|account: &str| super::mail::reset(account, &link)))
                .await;
        match sent {
            Ok(true) => state.mail.wake_handle().notify_one(),
            Ok(false) => {}
            Err(e) => return error_page(lang, "/reset", &e),
        }
    } else {
        tracing::info!(%address, "password reset requests from this address are being throttled");
    }
    message_page(
        lang,
        StatusCode::OK,
        "/reset",
        t.reset_sent_title,
        &super::text::fill(t.reset_sent_body, &[("email", &email)]),
        None,
    )
}

pub async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(&query, &headers);
    let path = format!("/reset/{token}");
    let storage = state.storage.clone();
    let hash = auth::token_hash(&token);
    match blocking(move || storage.open_reset(&hash)).await {
        Ok(email) => respond(StatusCode::OK, choose_page(lang, &path, &email, &FormErrors::default())),
        Err(e) => error_page(lang, &path, &e),
    }
}

pub async fn submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
    form: Result<Form<PasswordForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = lang_of(&query, &headers);
    let t = lang.text();
    let path = format!("/reset/{token}");
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let hash = auth::token_hash(&token);
    let storage = state.storage.clone();
    let email = {
        let hash = hash.clone();
        match blocking(move || storage.open_reset(&hash)).await {
            Ok(email) => email,
            Err(e) => return error_page(lang, &path, &e),
        }
    };
    let mut errors = FormErrors::default();
    match auth::check_password(&form.password) {
        Err(PasswordProblem::TooShort) => errors.add("password", t.err_password_short),
        Err(PasswordProblem::TooLong) => errors.add("password", t.err_password_long),
        Ok(()) if form.password != form.confirm => errors.add("confirm", t.err_mismatch),
        Ok(()) => {}
    }
    if !errors.is_empty() {
        return respond(StatusCode::UNPROCESSABLE_ENTITY, choose_page(lang, &path, &email, &errors));
    }
    let storage = state.storage.clone();
    let password = form.password;
    let done = blocking(move || {
        let password_hash = auth::hash_password(&password).map_err(|e| ApiError::internal(e.to_string()))?;
        storage.complete_reset(&hash, &password_hash)
    })
    .await;
    match done {
        Ok(()) => message_page(lang, StatusCode::OK, &path, t.reset_done_title, t.reset_done_body, None),
        Err(e) => error_page(lang, &path, &e),
    }
}

fn ask_page(lang: Lang, email: &str, errors: &FormErrors) -> Markup {
    let t = lang.text();
    page(
        lang,
        t.reset_title,
        "/reset",
        html! {
            (errors.summary(t))
            p { (t.reset_intro) }
            form method="post" action=(with_lang("/reset", lang)) novalidate {
                (Field { id: "email", label: t.email, kind: "email", value: email, autocomplete: "email", hint: None }.render(errors))
                p { button type="submit" { (t.reset_submit) } }
            }
        },
    )
}

fn choose_page(lang: Lang, path: &str, email: &str, errors: &FormErrors) -> Markup {
    let t = lang.text();
    page(
        lang,
        t.reset_choose_title,
        path,
        html! {
            (errors.summary(t))
            p { (with_strong(t.reset_choose_intro, &[("email", email)])) }
            form method="post" action=(with_lang(path, lang)) novalidate {
                (Field { id: "password", label: t.new_password, kind: "password", value: "", autocomplete: "new-password", hint: Some(t.password_hint) }.render(errors))
                (Field { id: "confirm", label: t.confirm, kind: "password", value: "", autocomplete: "new-password", hint: None }.render(errors))
                p { button type="submit" { (t.reset_choose_submit) } }
            }
        },
    )
}
