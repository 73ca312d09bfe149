//! `GET/POST /join/{token}`: the page an invitation link opens. A new
//! person chooses their name and password (the same rules as `user add`);
//! someone whose email already has an account gives that account's
//! password (checked through the sign-in throttle) and joins with it. The
//! account, the membership and the link used are one write
//! (`protocol/invitations.rs`); a link that does not work gets its own page.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{page, with_strong, Field, FormErrors};
use super::mail::shown_time;
use super::text::{fill, Lang, Text};
use super::{error_page, lang_of, respond, with_lang};
use crate::api::{blocking, AppState, ClientAddress};
use crate::auth::{self, PasswordProblem};
use crate::error::ApiError;
use crate::protocol::invitations::{InvitationFacts, Joiner};
use crate::protocol::{new_user_problem, normal_email};

#[derive(Debug, Default, Deserialize)]
pub struct JoinForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(&query, &headers);
    let path = format!("/join/{token}");
    let storage = state.storage.clone();
    let hash = auth::token_hash(&token);
    match blocking(move || storage.open_invitation(&hash)).await {
        Ok(facts) => {
            respond(StatusCode::OK, form_page(lang, &path, &facts, &JoinForm::default(), &FormErrors::default()))
        }
        Err(e) => error_page(lang, &path, &e),
    }
}

pub async fn submit(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    Path(token): Path<String>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
    form: Result<Form<JoinForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = lang_of(&query, &headers);
    let t = lang.text();
    let path = format!("/join/{token}");
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let hash = auth::token_hash(&token);
    let storage = state.storage.clone();
    let facts = {
        let hash = hash.clone();
        match blocking(move || storage.open_invitation(&hash)).await {
            Ok(facts) => facts,
            Err(e) => return error_page(lang, &path, &e),
        }
    };
    let mut errors = FormErrors::default();
    let email = match facts.email.clone() {
        Some(email) => email,
        None => normal_email(&form.email),
    };
    if facts.email.is_none() && circles_core::validate::email("facilitator", "email", &email).is_err() {
        errors.add("email", t.err_email);
        return refused(lang, &path, &facts, &form, &errors);
    }
    let storage = state.storage.clone();
    let lookup = email.clone();
    let existing = match blocking(move || storage.user_by_email(&lookup)).await {
        Ok(user) => user,
        Err(e) => return error_page(lang, &path, &e),
    };
    let joiner = match existing {
        Some(user) => {
            // Someone with an account joins with it: its password, checked
            // like a sign-in (a copied link must not become a way to guess).
            let mut attempt = match state.sign_in.admit(&email, address).await {
                Ok(attempt) => attempt,
                Err(_) => {
                    errors.general = Some(t.err_throttled.to_string());
                    return refused(lang, &path, &facts, &form, &errors);
                }
            };
            let password = form.password.clone();
            let stored = user.password_hash.clone();
            let (ok, attempt) = match blocking(move || Ok((attempt.verify_password(&password, &stored), attempt))).await
            {
                Ok(done) => done,
                Err(e) => return error_page(lang, &path, &e),
            };
            attempt.finish(ok);
            if !ok {
                errors.add("password", t.err_wrong_password);
                return refused(lang, &path, &facts, &form, &errors);
            }
            Joiner::Existing { user_id: user.id }
        }
        None => {
            if let Err(problem) = new_user_problem(&email, &form.name) {
                match problem.field() {
                    Some("email") => errors.add("email", t.err_email),
                    _ if form.name.trim().is_empty() => errors.add("name", t.err_name_required),
                    _ => errors.add("name", t.err_name_long),
                }
            }
            match auth::check_password(&form.password) {
                Err(PasswordProblem::TooShort) => errors.add("password", t.err_password_short),
                Err(PasswordProblem::TooLong) => errors.add("password", t.err_password_long),
                Ok(()) if form.password != form.confirm => errors.add("confirm", t.err_mismatch),
                Ok(()) => {}
            }
            if !errors.is_empty() {
                return refused(lang, &path, &facts, &form, &errors);
            }
            let password = form.password.clone();
            let password_hash =
                match blocking(move || auth::hash_password(&password).map_err(|e| ApiError::internal(e.to_string())))
                    .await
                {
                    Ok(hash) => hash,
                    Err(e) => return error_page(lang, &path, &e),
                };
            Joiner::New { email: email.clone(), name: form.name.trim().to_string(), password_hash }
        }
    };
    let storage = state.storage.clone();
    match blocking(move || storage.accept_invitation(&hash, &joiner)).await {
        Ok(_) => {
            let address = server_address(&state, &headers);
            respond(StatusCode::OK, joined_page(lang, &path, &facts, &address))
        }
        Err(e) if e.code == "user_exists" || e.status == StatusCode::FORBIDDEN => {
            // Someone made this account a moment ago, or a link for another address.
            let message = if e.status == StatusCode::FORBIDDEN { t.err_other_email } else { t.join_link_existing_hint };
            errors.general = Some(message.to_string());
            refused(lang, &path, &facts, &form, &errors)
        }
        Err(e) => error_page(lang, &path, &e),
    }
}

/// The form again, with what was wrong.
fn refused(lang: Lang, path: &str, facts: &InvitationFacts, form: &JoinForm, errors: &FormErrors) -> Response {
    respond(StatusCode::UNPROCESSABLE_ENTITY, form_page(lang, path, facts, form, errors))
}

fn intro(t: &Text, facts: &InvitationFacts) -> Markup {
    match &facts.circle_name {
        Some(circle) => with_strong(
            t.join_intro_circle,
            &[("inviter", &facts.inviter_name), ("team", &facts.team_name), ("circle", circle)],
        ),
        None => with_strong(t.join_intro, &[("inviter", &facts.inviter_name), ("team", &facts.team_name)]),
    }
}

fn form_page(lang: Lang, path: &str, facts: &InvitationFacts, form: &JoinForm, errors: &FormErrors) -> Markup {
    let t = lang.text();
    let title = fill(t.join_title, &[("team", &facts.team_name)]);
    let password_field = |label: &'static str, autocomplete: &'static str, hint: Option<&'static str>| Field {
        id: "password",
        label,
        kind: "password",
        value: "",
        autocomplete,
        hint,
    };
    let body = html! {
        (errors.summary(t))
        p { (intro(t, facts)) }
        @if let Some(email) = &facts.email {
            @if facts.existing_account {
                p { (with_strong(t.join_existing, &[("email", email)])) }
            } @else {
                p { (with_strong(t.join_for, &[("email", email)])) }
            }
        }
        form method="post" action=(with_lang(path, lang)) novalidate {
            @if facts.email.is_none() {
                (Field { id: "email", label: t.email, kind: "email", value: &form.email, autocomplete: "email", hint: None }.render(errors))
            }
            @if facts.existing_account {
                (password_field(t.password, "current-password", None).render(errors))
            } @else {
                (Field { id: "name", label: t.name, kind: "text", value: &form.name, autocomplete: "name", hint: Some(t.name_hint) }.render(errors))
                (password_field(t.password, "new-password", Some(t.password_hint)).render(errors))
                (Field { id: "confirm", label: t.confirm, kind: "password", value: "", autocomplete: "new-password", hint: None }.render(errors))
            }
            @if facts.email.is_none() {
                p class="note" { (t.join_link_existing_hint) }
            }
            p { button type="submit" { (t.join_submit) } }
        }
        p class="note" { (fill(t.join_expires, &[("date", &shown_time(&facts.expires_at))])) }
        @if facts.existing_account || facts.email.is_none() {
            p class="note" { a href=(with_lang("/reset", lang)) { (t.forgot) } }
        }
    };
    page(lang, &title, path, body)
}

fn joined_page(lang: Lang, path: &str, facts: &InvitationFacts, address: &str) -> Markup {
    let t = lang.text();
    let title = fill(t.joined_title, &[("team", &facts.team_name)]);
    page(
        lang,
        &title,
        path,
        html! {
            p { (t.joined_body) }
            ol {
                li { (t.joined_steps[0]) }
                li {
                    (t.joined_steps[1])
                    p class="address" { (address) }
                }
                li { (t.joined_steps[2]) }
            }
        },
    )
}

/// The address to paste in the app: the public URL, or failing that the
/// address this page was reached at.
fn server_address(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = state.public_url.as_deref() {
        return url.to_string();
    }
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}")
}
