//! The pages of learners' signed links (`/l/{token}`; the rules in
//! `protocol/links.rs` and `protocol/learner_links.rs`). GET shows what the
//! link does and one button, and changes nothing (mail scanners fetch
//! links); the button posts to the same address, the token being the
//! capability (no cookie, no other field), and shows what was done. A
//! forged link gets 404, an expired one 410, in the circle's language when
//! the link names a learner, else the browser's. Posts are throttled per
//! client address.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Datelike, NaiveDate, Utc};
use maud::html;

use super::layout::page;
use super::link_text::{link_text, LinkText};
use super::text::{fill, Lang};
use super::{lang_of, message_page, respond, with_lang};
use crate::api::{blocking, AppState, ClientAddress};
use crate::error::ApiError;
use crate::protocol::learner_links::{LinkFacts, LinkState};
use crate::protocol::links::Purpose;

/// "Tuesday 8 December" in the page's language.
fn date_text(t: &LinkText, date: NaiveDate) -> String {
    fill(
        t.date,
        &[
            ("weekday", t.weekdays[date.weekday().num_days_from_monday() as usize]),
            ("day", &date.day().to_string()),
            ("month", t.months[date.month0() as usize]),
        ],
    )
}

/// A sentence of the link's page with its circle and meeting filled in.
fn said(t: &LinkText, template: &str, facts: &LinkFacts) -> String {
    let (date, time) = match facts.meeting {
        Some((date, time)) => (date_text(t, date), time.format("%H:%M").to_string()),
        None => (String::new(), String::new()),
    };
    fill(template, &[("circle", &facts.circle_name), ("date", &date), ("time", &time)])
}

/// `?lang=`, else the circle's language, else the browser's.
fn link_lang(query: &Query<HashMap<String, String>>, headers: &HeaderMap, facts: Option<&LinkFacts>) -> Lang {
    match (query.get("lang"), facts.and_then(|f| Lang::parse(&f.language))) {
        (None, Some(lang)) => lang,
        _ => lang_of(query, headers),
    }
}

fn refused(lang: Lang, path: &str, error: &ApiError) -> Response {
    let t = link_text(lang);
    if error.code == "link_invalid" {
        return message_page(lang, StatusCode::NOT_FOUND, path, t.invalid_title, t.invalid_body, None);
    }
    super::error_page(lang, path, error)
}

/// The page of a link's state.
fn state_page(lang: Lang, path: &str, facts: &LinkFacts) -> Response {
    let t = link_text(lang);
    let gone = |title, body| message_page(lang, StatusCode::GONE, path, title, body, None);
    match facts.state {
        LinkState::Expired => gone(t.expired_title, t.expired_body),
        LinkState::MeetingGone => gone(t.meeting_gone_title, t.meeting_gone_body),
        LinkState::LearnerGone => gone(t.learner_gone_title, t.learner_gone_body),
        LinkState::Already => message_page(lang, StatusCode::OK, path, t.already_title, t.already_body, None),
        LinkState::Done => {
            let done = match facts.purpose {
                Purpose::RsvpYes => t.rsvp_yes_done,
                Purpose::RsvpNo => t.rsvp_no_done,
                Purpose::Withdraw => t.withdraw_done,
                Purpose::EmailOptOut => t.email_done,
                Purpose::SmsOptOut => t.sms_done,
            };
            message_page(lang, StatusCode::OK, path, t.done_title, &said(t, done, facts), None)
        }
        LinkState::Ready => {
            let (title, body, button) = match facts.purpose {
                Purpose::RsvpYes => (t.rsvp_title, None, t.rsvp_yes_button),
                Purpose::RsvpNo => (t.rsvp_title, None, t.rsvp_no_button),
                Purpose::Withdraw => (t.withdraw_title, Some(t.withdraw_body), t.withdraw_button),
                Purpose::EmailOptOut => (t.email_title, None, t.email_button),
                Purpose::SmsOptOut => (t.sms_title, None, t.sms_button),
            };
            let title = said(t, title, facts);
            let markup = html! {
                @if let Some(body) = body { p { (body) } }
                form method="post" action=(with_lang(path, lang)) {
                    p { button type="submit" { (said(t, button, facts)) } }
                }
                p class="note" { (t.confirm_note) }
            };
            respond(StatusCode::OK, page(lang, &title, path, markup))
        }
    }
}

async fn follow(state: &AppState, token: String, act: bool) -> Result<LinkFacts, ApiError> {
    let storage = state.storage.clone();
    blocking(move || storage.follow_learner_link(&token, Utc::now(), act)).await
}

/// `GET /l/{token}`: what the link does, and its button. Writes nothing.
pub async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/l/{token}");
    match follow(&state, token, false).await {
        Ok(facts) => state_page(link_lang(&query, &headers, Some(&facts)), &path, &facts),
        Err(e) => refused(link_lang(&query, &headers, None), &path, &e),
    }
}

/// `POST /l/{token}`: do what the link says (once; again says "already").
pub async fn confirm(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    Path(token): Path<String>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/l/{token}");
    if !state.learner_links.admit(address) {
        let lang = link_lang(&query, &headers, None);
        let p = lang.public();
        return message_page(lang, StatusCode::TOO_MANY_REQUESTS, &path, p.throttled_title, p.throttled_body, None);
    }
    match follow(&state, token, true).await {
        Ok(facts) => {
            if facts.state == LinkState::Done && facts.purpose == Purpose::Withdraw {
                // A waiting learner may have got the place, and their mail.
                state.mail.wake_handle().notify_one();
            }
            state_page(link_lang(&query, &headers, Some(&facts)), &path, &facts)
        }
        Err(e) => refused(link_lang(&query, &headers, None), &path, &e),
    }
}
