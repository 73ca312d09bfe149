//! The public pages: a team's upcoming circles (`/teams/{slug}`, with
//! filters as a plain GET form), the same list made to sit in a library's
//! website (`/teams/{slug}/embed`, the one page that may be framed) and as
//! JSON and iCalendar feeds, and a circle's page with its signup form
//! (`/circles/{slug}`). What is shown and the signup's rules are in
//! `protocol/public.rs`; a signup post is throttled per address, and a
//! filled honeypot field is answered like a signup but writes nothing.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use chrono::{NaiveDateTime, TimeDelta, Utc};
use circles_core::LearnerInput;
use maud::{html, Markup};
use serde::Deserialize;

use super::calendar::calendar;
use super::layout::{page, with_strong, Field, FormErrors};
use super::public_text::PublicText;
use super::text::{fill, Lang};
use super::{lang_of, message_page, respond, with_lang};
use crate::api::{blocking, AppState, ClientAddress};
use crate::error::ApiError;
use crate::protocol::public::{local_start, PublicCircle, PublicListing, PublicMeeting, SignupOutcome};

/// The listing's filters, from its GET form.
#[derive(Debug, Default, Clone)]
pub struct Filters {
    pub language: String,
    /// monday..sunday.
    pub day: String,
    /// `online` or `in_person`.
    pub format: String,
}

const DAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

impl Filters {
    fn of(query: &HashMap<String, String>) -> Filters {
        let get = |key: &str| query.get(key).map(|v| v.trim().to_string()).unwrap_or_default();
        Filters { language: get("language"), day: get("day"), format: get("format") }
    }

    fn keeps(&self, circle: &PublicCircle) -> bool {
        let language = self.language.is_empty() || circle.language.eq_ignore_ascii_case(&self.language);
        let day = self.day.is_empty() || circle.next_weekday.as_deref() == Some(self.day.as_str());
        let format = match self.format.as_str() {
            "online" => circle.online,
            "in_person" => !circle.online,
            _ => true,
        };
        language && day && format
    }

    /// `?language=..&day=..&format=..` of the filters set (for the feeds' links).
    fn query(&self) -> String {
        let pairs: Vec<String> = [("language", &self.language), ("day", &self.day), ("format", &self.format)]
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", url_escape(v)))
            .collect();
        if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&"))
        }
    }
}

fn url_escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where links in mail and feeds point: the public URL, or the address
/// this request came to.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = state.public_url.as_deref() {
        return url.to_string();
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}")
}

fn circle_path(circle: &PublicCircle) -> String {
    format!("/circles/{}", circle.slug)
}

/// A refused public request's page: unknown or draft (404), ended (410).
fn refused_page(lang: Lang, path: &str, error: &ApiError) -> Response {
    let p = lang.public();
    match error.code {
        "public_page_unknown" | "circle_not_published" => {
            message_page(lang, StatusCode::NOT_FOUND, path, p.unknown_title, p.unknown_body, None)
        }
        "circle_ended" => message_page(lang, StatusCode::GONE, path, p.ended_title, p.ended_body, None),
        _ => super::error_page(lang, path, error),
    }
}

async fn load_listing(state: &AppState, slug: String) -> Result<PublicListing, ApiError> {
    let storage = state.storage.clone();
    blocking(move || storage.public_listing(&slug, Utc::now())).await
}

/// `GET /teams/{slug}`: the team's upcoming circles with filters.
pub async fn listing(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    listing_response(&state, slug, &query, &headers, false).await
}

/// `GET /teams/{slug}/embed`: the listing for an iframe (framing allowed
/// by `embed_headers`; links open outside the frame).
pub async fn embed(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    listing_response(&state, slug, &query, &headers, true).await
}

async fn listing_response(
    state: &AppState,
    slug: String,
    query: &Query<HashMap<String, String>>,
    headers: &HeaderMap,
    embedded: bool,
) -> Response {
    let lang = lang_of(query, headers);
    let path = if embedded { format!("/teams/{slug}/embed") } else { format!("/teams/{slug}") };
    match load_listing(state, slug).await {
        Ok(listing) => respond(StatusCode::OK, listing_page(lang, &path, &listing, &Filters::of(query), embedded)),
        Err(e) => refused_page(lang, &path, &e),
    }
}

/// A feed's circles: the listing's that pass the request's filters, and
/// the base of their pages' addresses. (team name, circles, base)
async fn feed(
    state: &AppState,
    slug: String,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<(String, Vec<PublicCircle>, String), ApiError> {
    let listing = load_listing(state, slug).await?;
    let filters = Filters::of(query);
    let kept = listing.circles.into_iter().filter(|c| filters.keeps(c)).collect();
    Ok((listing.team_name, kept, base_url(state, headers)))
}

/// `GET /teams/{slug}/circles.json`: the listing as JSON (filters apply).
pub async fn listing_json(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let (team_name, kept, base) = match feed(&state, slug, &query, &headers).await {
        Ok(feed) => feed,
        Err(e) => return e.into_response(),
    };
    let circles: Vec<serde_json::Value> = kept
        .iter()
        .map(|c| {
            let mut value = serde_json::to_value(c).unwrap_or_default();
            value["url"] = serde_json::Value::from(format!("{base}{}", circle_path(c)));
            value
        })
        .collect();
    let mut response = axum::Json(serde_json::json!({ "team_name": team_name, "circles": circles })).into_response();
    // Anyone's website may read the public list.
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

fn ics_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/calendar; charset=utf-8")], body).into_response()
}

/// `GET /teams/{slug}/circles.ics`: the listing's meetings as a calendar feed.
pub async fn listing_ics(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    match feed(&state, slug, &query, &headers).await {
        Ok((_, kept, base)) => {
            let circles: Vec<&PublicCircle> = kept.iter().collect();
            ics_response(calendar(&circles, &|c| format!("{base}{}", circle_path(c))))
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /circles/{slug}/calendar.ics`: one circle's meetings.
pub async fn circle_ics(State(state): State<AppState>, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    let storage = state.storage.clone();
    match blocking(move || storage.public_circle(&slug, Utc::now())).await {
        Ok(circle) => {
            let base = base_url(&state, &headers);
            ics_response(calendar(&[&circle], &|c| format!("{base}{}", circle_path(c))))
        }
        Err(e) => e.into_response(),
    }
}

/// The page's language: `?lang=`, else the circle's own if the pages have
/// it, else the browser's.
fn circle_lang(query: &Query<HashMap<String, String>>, headers: &HeaderMap, circle: &PublicCircle) -> Lang {
    match (query.get("lang"), Lang::parse(&circle.language)) {
        (None, Some(lang)) => lang,
        _ => lang_of(query, headers),
    }
}

/// `GET /circles/{slug}`: the circle and its signup form.
pub async fn circle(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/circles/{slug}");
    let storage = state.storage.clone();
    match blocking(move || storage.public_circle(&slug, Utc::now())).await {
        Ok(circle) => {
            let lang = circle_lang(&query, &headers, &circle);
            let form = SignupForm::default();
            respond(StatusCode::OK, circle_page(lang, &path, &circle, &form, &FormErrors::default()))
        }
        Err(e) => refused_page(lang_of(&query, &headers), &path, &e),
    }
}

/// What the signup form posts.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    goals: String,
    #[serde(default)]
    support_needs: String,
    #[serde(default)]
    question_answer: String,
    #[serde(default)]
    consent: Option<String>,
    /// The honeypot: hidden from people, filled by bots.
    #[serde(default)]
    website: String,
}

impl SignupForm {
    fn input(&self) -> LearnerInput {
        LearnerInput {
            name: self.name.trim().to_string(),
            email: self.email.trim().to_string(),
            mobile: self.mobile.trim().to_string(),
            goals: self.goals.trim().to_string(),
            support_needs: self.support_needs.trim().to_string(),
            question_answer: self.question_answer.trim().to_string(),
            consent: self.consent.is_some(),
            ..LearnerInput::default()
        }
    }
}

/// Every field core's learner rules refuse (the one `validate`, asked again
/// with each refused field set right), plus the signup's own: a way to
/// reach the learner and their consent.
fn form_errors(p: &PublicText, mut input: LearnerInput) -> FormErrors {
    let mut errors = FormErrors::default();
    if input.email.is_empty() && input.mobile.is_empty() {
        errors.add("email", p.err_contact);
    }
    for _ in 0..8 {
        let Err(e) = input.validate() else { break };
        match e.field() {
            Some("name") => {
                errors.add("name", p.err_name);
                input.name = "x".into();
            }
            Some("email") => {
                errors.add("email", p.err_email);
                input.email.clear();
            }
            Some("mobile") => {
                errors.add("mobile", p.err_mobile);
                input.mobile.clear();
            }
            Some(field @ ("goals" | "support_needs" | "question_answer")) => {
                errors.add(field, p.err_too_long);
                match field {
                    "goals" => input.goals.clear(),
                    "support_needs" => input.support_needs.clear(),
                    _ => input.question_answer.clear(),
                }
            }
            _ => {
                errors.general = Some(e.to_string());
                break;
            }
        }
    }
    if !input.consent {
        errors.add("consent", p.err_consent);
    }
    // The summary lists them in the form's order.
    errors.fields.sort_by_key(|(field, _)| FORM_ORDER.iter().position(|f| f == field));
    errors
}

const FORM_ORDER: [&str; 7] = ["name", "email", "mobile", "goals", "support_needs", "question_answer", "consent"];

/// `POST /circles/{slug}`: a signup.
pub async fn sign_up(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    Path(slug): Path<String>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
    form: Result<Form<SignupForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let path = format!("/circles/{slug}");
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let storage = state.storage.clone();
    let read_slug = slug.clone();
    let circle = match blocking(move || storage.public_circle(&read_slug, Utc::now())).await {
        Ok(circle) => circle,
        Err(e) => return refused_page(lang_of(&query, &headers), &path, &e),
    };
    let lang = circle_lang(&query, &headers, &circle);
    let p = lang.public();
    if !state.signups.admit(address) {
        return message_page(lang, StatusCode::TOO_MANY_REQUESTS, &path, p.throttled_title, p.throttled_body, None);
    }
    if !circle.signup_open {
        return message_page(lang, StatusCode::CONFLICT, &path, p.closed_title, p.closed_body, None);
    }
    let input = form.input();
    if !form.website.is_empty() {
        // A bot: told what a person would be told, and nothing is written.
        return signed_up(lang, &path, &circle, &input);
    }
    let errors = form_errors(p, input.clone());
    if !errors.is_empty() {
        return respond(StatusCode::UNPROCESSABLE_ENTITY, circle_page(lang, &path, &circle, &form, &errors));
    }
    let page_url = format!("{}{path}", base_url(&state, &headers));
    let storage = state.storage.clone();
    let written = input.clone();
    let outcome = blocking(move || {
        storage.sign_up(
            &slug,
            &written,
            Utc::now(),
            &|circle: &PublicCircle, learner: &LearnerInput, waitlisted: Option<u32>| {
                super::mail::signup(lang, circle, learner, &page_url, waitlisted)
            },
        )
    })
    .await;
    match outcome {
        Ok(SignupOutcome::SignedUp) => {
            state.mail.wake_handle().notify_one();
            signed_up(lang, &path, &circle, &input)
        }
        Ok(SignupOutcome::Waitlisted(n)) => {
            state.mail.wake_handle().notify_one();
            let body = with_strong(p.waitlisted_body, &[("n", &n.to_string()), ("circle", &circle.name)]);
            respond(StatusCode::OK, page(lang, p.waitlisted_title, &path, html! { p { (body) } }))
        }
        Ok(SignupOutcome::AlreadySignedUp) => {
            let body = fill(p.already_body, &[("circle", &circle.name)]);
            message_page(lang, StatusCode::OK, &path, p.already_title, &body, None)
        }
        Err(e) if e.code == "signup_closed" => {
            message_page(lang, StatusCode::CONFLICT, &path, p.closed_title, p.closed_body, None)
        }
        Err(e) if e.code == "signup_daily_cap" => {
            message_page(lang, StatusCode::TOO_MANY_REQUESTS, &path, p.daily_cap_title, p.daily_cap_body, None)
        }
        Err(e) => refused_page(lang, &path, &e),
    }
}

fn signed_up(lang: Lang, path: &str, circle: &PublicCircle, input: &LearnerInput) -> Response {
    let p = lang.public();
    let body = if input.email.is_empty() {
        with_strong(p.signed_up_no_email, &[("circle", &circle.name)])
    } else {
        with_strong(p.signed_up_body, &[("circle", &circle.name), ("email", &input.email)])
    };
    respond(StatusCode::OK, page(lang, p.signed_up_title, path, html! { p { (body) } }))
}

/// "Tuesday 2026-12-08, 18:30–20:00" in the circle's zone.
pub fn meeting_text(p: &PublicText, meeting: &PublicMeeting, duration_minutes: u32) -> String {
    use chrono::Datelike;
    let (date, time) = local_start(meeting);
    let end = NaiveDateTime::new(date, time) + TimeDelta::minutes(i64::from(duration_minutes));
    let day = p.weekdays[date.weekday().num_days_from_monday() as usize];
    format!("{day} {}, {}–{}", date.format("%Y-%m-%d"), time.format("%H:%M"), end.time().format("%H:%M"))
}

/// Who sees a signup's data, beside the consent box: the team's notice as a
/// link (an http(s) address) or its text, else the default sentence.
fn privacy_notice(p: &PublicText, notice: &str) -> Markup {
    let notice = notice.trim();
    let is_link =
        (notice.starts_with("https://") || notice.starts_with("http://")) && !notice.contains(char::is_whitespace);
    html! {
        @if notice.is_empty() {
            (p.privacy_default)
        } @else if is_link {
            a href=(notice) { (p.privacy_link) }
        } @else {
            (notice)
        }
    }
}

fn venue_lines(circle: &PublicCircle) -> Vec<&str> {
    [&circle.venue_name, &circle.venue_address, &circle.venue_details, &circle.city, &circle.region, &circle.country]
        .into_iter()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect()
}

fn listing_page(lang: Lang, path: &str, listing: &PublicListing, filters: &Filters, embedded: bool) -> Markup {
    let p = lang.public();
    let title = fill(p.listing_title, &[("team", &listing.team_name)]);
    let mut languages: Vec<&str> =
        listing.circles.iter().map(|c| c.language.as_str()).filter(|l| !l.is_empty()).collect();
    languages.sort_unstable();
    languages.dedup();
    let shown: Vec<&PublicCircle> = listing.circles.iter().filter(|c| filters.keeps(c)).collect();
    let feed_base = path.trim_end_matches("/embed");
    let target = embedded.then_some("_blank");
    let body = html! {
        @if !embedded { p { (p.listing_intro) } }
        form method="get" action=(path) class="filters" aria-labelledby="filters-title" {
            h2 id="filters-title" { (p.filters_heading) }
            input type="hidden" name="lang" value=(lang.code());
            div class="field" {
                label for="language" { (p.filter_language) }
                select id="language" name="language" {
                    option value="" { (p.any) }
                    @for code in &languages {
                        option value=(code) selected[filters.language == *code] { (language_name(code)) }
                    }
                }
            }
            div class="field" {
                label for="day" { (p.filter_day) }
                select id="day" name="day" {
                    option value="" { (p.any) }
                    @for (i, day) in DAYS.iter().enumerate() {
                        option value=(day) selected[filters.day == *day] { (p.weekdays[i]) }
                    }
                }
            }
            div class="field" {
                label for="format" { (p.filter_format) }
                select id="format" name="format" {
                    option value="" { (p.any) }
                    option value="online" selected[filters.format == "online"] { (p.online) }
                    option value="in_person" selected[filters.format == "in_person"] { (p.in_person) }
                }
            }
            p { button type="submit" { (p.filter_submit) } }
        }
        @if shown.is_empty() {
            p { (p.no_circles) }
        } @else {
            ul class="circles" {
                @for circle in &shown {
                    li {
                        h2 { a href=(circle_path(circle)) target=[target] rel=[target.map(|_| "noopener")] { (circle.name) } }
                        @if !circle.course_title.is_empty() { p { (p.course) ": " (circle.course_title) } }
                        p {
                            @match circle.meetings.iter().find(|m| !m.cancelled && m.ends_at > Utc::now()) {
                                Some(next) => (fill(p.first_meeting, &[("date", &meeting_text(p, next, circle.duration_minutes))])),
                                None => (p.no_dates),
                            }
                        }
                        p {
                            @if circle.online { (p.online) } @else { (venue_lines(circle).join(", ")) }
                            " · " (language_name(&circle.language))
                        }
                    }
                }
            }
        }
        p class="note" {
            (p.feeds) " "
            a href={ (feed_base) "/circles.ics" (filters.query()) } target=[target] { "iCalendar" } " · "
            a href={ (feed_base) "/circles.json" (filters.query()) } target=[target] { "JSON" }
        }
    };
    page(lang, &title, path, body)
}

/// A language code's name in itself, for the pages' three and a few common ones.
fn language_name(code: &str) -> String {
    if let Some(lang) = Lang::parse(code) {
        return lang.name().to_string();
    }
    match code.split('-').next().unwrap_or(code) {
        "fr" => "Français".into(),
        "de" => "Deutsch".into(),
        "sw" => "Kiswahili".into(),
        _ => code.to_string(),
    }
}

fn textarea(id: &'static str, label: &str, value: &str, errors: &FormErrors) -> Markup {
    let error = errors.fields.iter().find(|(f, _)| *f == id).map(|(_, m)| m.as_str());
    let error_id = format!("{id}-error");
    html! {
        div class="field" {
            label for=(id) { (label) }
            @if let Some(error) = error { p class="field-error" id=(error_id) { (error) } }
            textarea id=(id) name=(id) rows="3" aria-describedby=[error.map(|_| error_id.as_str())]
                aria-invalid=[error.map(|_| "true")] { (value) }
        }
    }
}

fn optional_input(
    id: &'static str,
    label: &str,
    kind: &'static str,
    value: &str,
    autocomplete: &'static str,
    hint: Option<&str>,
    errors: &FormErrors,
) -> Markup {
    let error = errors.fields.iter().find(|(f, _)| *f == id).map(|(_, m)| m.as_str());
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described: Vec<&str> =
        [hint.map(|_| hint_id.as_str()), error.map(|_| error_id.as_str())].into_iter().flatten().collect();
    let described = described.join(" ");
    html! {
        div class="field" {
            label for=(id) { (label) }
            @if let Some(hint) = hint { span class="hint" id=(hint_id) { (hint) } }
            @if let Some(error) = error { p class="field-error" id=(error_id) { (error) } }
            input id=(id) name=(id) type=(kind) value=(value) autocomplete=(autocomplete)
                aria-describedby=[(!described.is_empty()).then_some(described.as_str())]
                aria-invalid=[error.map(|_| "true")];
        }
    }
}

fn circle_page(lang: Lang, path: &str, circle: &PublicCircle, form: &SignupForm, errors: &FormErrors) -> Markup {
    let p = lang.public();
    let t = lang.text();
    let consent_error = errors.fields.iter().find(|(f, _)| *f == "consent").map(|(_, m)| m.as_str());
    let described_by = if consent_error.is_some() { "consent-error privacy-notice" } else { "privacy-notice" };
    let body = html! {
        (errors.summary(t))
        @if !circle.course_title.is_empty() {
            p {
                (p.course) ": "
                @if circle.course_link.starts_with("https://") || circle.course_link.starts_with("http://") {
                    a href=(circle.course_link) rel="noopener noreferrer" { (circle.course_title) }
                } @else {
                    (circle.course_title)
                }
            }
        }
        @if !circle.description.is_empty() {
            h2 { (p.about) }
            p class="text" { (circle.description) }
        }
        h2 { (p.venue) }
        @if circle.online {
            p { (p.online_note) }
        } @else {
            p class="text" { (venue_lines(circle).join("\n")) }
            @if circle.venue_website.starts_with("https://") || circle.venue_website.starts_with("http://") {
                p { a href=(circle.venue_website) rel="noopener noreferrer" { (circle.venue_website) } }
            }
        }
        h2 { (p.schedule) }
        p class="note" { (fill(p.times_in, &[("zone", &circle.time_zone)])) }
        @if circle.meetings.is_empty() {
            p { (p.no_dates) }
        } @else {
            ol {
                @for meeting in &circle.meetings {
                    li {
                        @if meeting.cancelled {
                            del { (meeting_text(p, meeting, circle.duration_minutes)) } " (" (p.cancelled) ")"
                        } @else {
                            (meeting_text(p, meeting, circle.duration_minutes))
                        }
                    }
                }
            }
            p { a href={ (path) "/calendar.ics" } { (p.calendar_file) } }
        }
        @if !circle.facilitators.is_empty() {
            p { (fill(p.facilitated_by, &[("names", &circle.facilitators.join(", "))])) }
        }
        h2 id="signup" { (p.signup_heading) }
        @if !circle.signup_open {
            p { (p.closed_body) }
        } @else {
            @if circle.full { p { (p.full_body) } }
            form method="post" action=(with_lang(path, lang)) novalidate {
                (Field { id: "name", label: p.name, kind: "text", value: &form.name, autocomplete: "name", hint: None }.render(errors))
                p class="hint" id="contact-hint" { (p.contact_hint) }
                (optional_input("email", p.email, "email", &form.email, "email", None, errors))
                (optional_input("mobile", p.mobile, "tel", &form.mobile, "tel", Some(p.mobile_hint), errors))
                (textarea("goals", &format!("{} {}", p.goals, p.optional), &form.goals, errors))
                (textarea("support_needs", &format!("{} {}", p.support_needs, p.optional), &form.support_needs, errors))
                @if !circle.signup_question.is_empty() {
                    (textarea("question_answer", &circle.signup_question, &form.question_answer, errors))
                }
                div class="field check" {
                    @if let Some(error) = consent_error { p class="field-error" id="consent-error" { (error) } }
                    input type="checkbox" id="consent" name="consent" value="1" checked[form.consent.is_some()]
                        aria-describedby=(described_by) aria-invalid=[consent_error.map(|_| "true")];
                    label for="consent" { (p.consent) }
                    p class="hint" id="privacy-notice" { (privacy_notice(p, &circle.privacy_notice)) }
                }
                div class="hp" aria-hidden="true" {
                    label for="website" { (p.honeypot) }
                    input type="text" id="website" name="website" value="" tabindex="-1" autocomplete="off";
                }
                p { button type="submit" { (if circle.full { p.waitlist_submit } else { p.signup_submit }) } }
            }
        }
    };
    page(lang, &circle.name, path, body)
}
