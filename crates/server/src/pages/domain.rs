//! `GET/POST /join-team/{token}`: a team's join link, for everyone at its
//! email domain (everyone at chipublic.org joins the Chicago team). The
//! page asks for an address at that domain and mails it an ordinary
//! invitation, whose link (`/join/...`) proves the address is theirs. The
//! answer is the same whether or not a message went out (someone in the
//! team or invited already gets none), and requests are throttled per
//! client address like password resets.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{page, with_strong, Field, FormErrors};
use super::text::{fill, Lang};
use super::{error_page, lang_of, message_page, public_url, respond, with_lang};
use crate::api::{blocking, AppState, ClientAddress};
use crate::auth;
use crate::protocol::invitations::{DomainFacts, InvitationFacts};

#[derive(Debug, Default, Deserialize)]
pub struct DomainForm {
    #[serde(default)]
    email: String,
}

pub async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(&query, &headers);
    let path = format!("/join-team/{token}");
    let storage = state.storage.clone();
    let hash = auth::token_hash(&token);
    match blocking(move || storage.open_domain(&hash)).await {
        Ok(facts) => respond(StatusCode::OK, form_page(lang, &path, &facts, "", &FormErrors::default())),
        Err(e) => error_page(lang, &path, &e),
    }
}

pub async fn request(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    Path(token): Path<String>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
    form: Result<Form<DomainForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = lang_of(&query, &headers);
    let t = lang.text();
    let path = format!("/join-team/{token}");
    let base = match public_url(&state) {
        Ok(base) => base.to_string(),
        Err(e) => return error_page(lang, &path, &e),
    };
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let link_hash = auth::token_hash(&token);
    let storage = state.storage.clone();
    let facts = {
        let link_hash = link_hash.clone();
        match blocking(move || storage.open_domain(&link_hash)).await {
            Ok(facts) => facts,
            Err(e) => return error_page(lang, &path, &e),
        }
    };
    let email = crate::protocol::normal_email(&form.email);
    if state.link_requests.admit(address) {
        let invitation = auth::new_token();
        let invitation_hash = auth::token_hash(&invitation);
        let link = format!("{base}/join/{invitation}");
        let storage = state.storage.clone();
        let to = email.clone();
        let asked = blocking(move || {
            storage.request_domain_join(&link_hash, &to, &invitation_hash, &|facts: &InvitationFacts| {
                super::mail::invitation(facts, &link)
            })
        })
        .await;
        match asked {
            Ok(true) => state.mail.wake_handle().notify_one(),
            Ok(false) => {}
            Err(e) if e.code == "invalid_email" || e.code == "other_domain" => {
                let mut errors = FormErrors::default();
                let message = if e.code == "invalid_email" {
                    t.err_email.to_string()
                } else {
                    fill(t.err_other_domain, &[("domain", &facts.domain)])
                };
                errors.add("email", &message);
                return respond(StatusCode::UNPROCESSABLE_ENTITY, form_page(lang, &path, &facts, &form.email, &errors));
            }
            Err(e) => return error_page(lang, &path, &e),
        }
    } else {
        tracing::info!(%address, "join requests by email domain from this address are being throttled");
    }
    message_page(lang, StatusCode::OK, &path, t.reset_sent_title, &fill(t.domain_sent_body, &[("email", &email)]), None)
}

fn form_page(lang: Lang, path: &str, facts: &DomainFacts, email: &str, errors: &FormErrors) -> Markup {
    let t = lang.text();
    let title = fill(t.join_title, &[("team", &facts.team_name)]);
    let placeholder = format!("…@{}", facts.domain);
    page(
        lang,
        &title,
        path,
        html! {
            (errors.summary(t))
            p { (with_strong(t.domain_intro, &[("domain", &facts.domain), ("team", &facts.team_name)])) }
            form method="post" action=(with_lang(path, lang)) novalidate {
                (Field { id: "email", label: t.email, kind: "email", value: email, autocomplete: "email", hint: Some(&placeholder) }.render(errors))
                p { button type="submit" { (t.domain_submit) } }
            }
        },
    )
}
