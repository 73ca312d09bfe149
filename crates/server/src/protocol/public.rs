//! What the public pages show and the one thing they write: a team's
//! upcoming published circles, a circle's public facts (course, venue or
//! online, every meeting in the circle's zone, facilitators' first names,
//! never an email or an id), and a signup, written by the server as a
//! synced `learners` row in the circle's scope (so it reaches every
//! facilitator's laptop at the next sync) with its confirmation mail, in
//! one transaction. Public addresses are random slugs (`public_slugs`),
//! made the first time they are needed.

use axum::http::StatusCode;
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use circles_core::schedule::{self, resolve_local};
use circles_core::schema::SIGNUP_ONLINE;
use circles_core::waitlist::{self, Standing};
use circles_core::LearnerInput;
use rand::RngCore;
use serde::Serialize;
use serde_json::Value;

use super::accounts::{log_own_circle_row, normal_email};
use super::ApiResult;
use crate::common::{now_text, time_text};
use crate::error::ApiError;
use crate::storage::{Backend, NewMail, Tx};

pub const TEAM: &str = "team";
pub const CIRCLE: &str = "circle";

/// Most learners a circle takes in 24 hours (online signups and the
/// laptops' together): a bound on what a flood of signups from many
/// addresses can write, far above a real circle's day.
pub const DAILY_SIGNUP_CAP: usize = 50;

/// One meeting as the public sees it: local date and time in the circle's
/// zone, and the instants they stand for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicMeeting {
    /// Its row id: in a learner's mail only (an RSVP link names it).
    #[serde(skip)]
    pub id: String,
    pub local_date: String,
    pub local_time: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub cancelled: bool,
}

/// A published circle's public facts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicCircle {
    pub slug: String,
    pub name: String,
    pub course_title: String,
    pub course_link: String,
    pub description: String,
    pub language: String,
    pub time_zone: String,
    pub duration_minutes: u32,
    pub online: bool,
    pub venue_name: String,
    pub venue_address: String,
    pub venue_details: String,
    pub venue_website: String,
    pub city: String,
    pub region: String,
    pub country: String,
    /// The online meeting's link: only in a signed-up learner's mail.
    #[serde(skip)]
    pub meeting_link: String,
    pub signup_open: bool,
    /// Learners on the roster reached the signup limit.
    pub full: bool,
    pub signup_question: String,
    /// The team's privacy notice (a link or a short text; "" = none), shown
    /// beside the signup form's consent box.
    #[serde(skip)]
    pub privacy_notice: String,
    /// First names only.
    pub facilitators: Vec<String>,
    pub meetings: Vec<PublicMeeting>,
    /// The day of its next meeting (monday..sunday), if any is ahead.
    pub next_weekday: Option<String>,
}

/// A team's upcoming published circles.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicListing {
    pub team_name: String,
    pub circles: Vec<PublicCircle>,
}

/// How a signup ended (refusals are errors).
#[derive(Debug, Clone, PartialEq)]
pub enum SignupOutcome {
    /// A new learner on the roster; their confirmation is in the outbox.
    SignedUp,
    /// The circle was full: a new learner on its waitlist, at this number
    /// (1 = next to get a place); told so by mail.
    Waitlisted(u32),
    /// This email is on the circle's roster already: nothing written.
    AlreadySignedUp,
}

/// Makes a signup's confirmation message; with their waitlist number when
/// the circle was full.
pub type ComposeSignup<'a> = &'a (dyn Fn(&PublicCircle, &LearnerInput, Option<u32>) -> ApiResult<NewMail> + Sync);

fn unknown() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "public_page_unknown", "there is no public page at this address")
}

fn not_published() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "circle_not_published", "this circle is not published")
}

fn ended() -> ApiError {
    ApiError::new(StatusCode::GONE, "circle_ended", "this circle has ended")
}

/// A random slug: 16 hex characters (64 bits), not an id.
fn new_slug() -> String {
    let mut bytes = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The slug of a team's or circle's public page, made if it has none.
fn slug_of(tx: &mut dyn Tx, kind: &str, target: &str) -> ApiResult<String> {
    if let Some(slug) = tx.public_slug(kind, target)? {
        return Ok(slug);
    }
    tx.insert_public_slug(&new_slug(), kind, target, &now_text())?;
    tx.public_slug(kind, target)?.ok_or_else(|| ApiError::internal("a public slug was not kept"))
}

/// The slug of a team's public listing (made the first time).
pub(super) fn team_slug(backend: &impl Backend, team: &str) -> ApiResult<String> {
    backend.write_unordered(|tx| {
        if !tx.team_exists(team)? {
            return Err(ApiError::not_found(format!("no team with id {team}")));
        }
        slug_of(tx, TEAM, team)
    })
}

/// A stored field's value (null when absent).
pub(super) fn value(tx: &mut dyn Tx, table: &str, row: &str, field: &str) -> ApiResult<Value> {
    Ok(tx.stored_value(table, row, field)?.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or(Value::Null))
}

pub(super) fn text(tx: &mut dyn Tx, table: &str, row: &str, field: &str) -> ApiResult<String> {
    Ok(value(tx, table, row, field)?.as_str().unwrap_or_default().to_string())
}

pub(super) fn flag(tx: &mut dyn Tx, table: &str, row: &str, field: &str) -> ApiResult<bool> {
    Ok(value(tx, table, row, field)?.as_i64() == Some(1))
}

/// The live rows of a circle's child table.
fn children(tx: &mut dyn Tx, table: &str, circle: &str) -> ApiResult<Vec<String>> {
    let mut live = Vec::new();
    for row in tx.rows_with_value(table, "circle_id", &Value::from(circle).to_string())? {
        if !flag(tx, table, &row, "deleted")? {
            live.push(row);
        }
    }
    Ok(live)
}

/// A live learner's id and waitlist state, as stored.
pub(super) struct StoredStanding {
    pub id: String,
    pub withdrawn: bool,
    pub waitlisted_at: String,
}

impl StoredStanding {
    pub fn standing(&self) -> Standing<'_> {
        Standing { id: &self.id, withdrawn: self.withdrawn, waitlisted_at: &self.waitlisted_at }
    }
}

/// The live learners of a circle with their waitlist state.
pub(super) fn standings(tx: &mut dyn Tx, circle: &str) -> ApiResult<Vec<StoredStanding>> {
    let mut all = Vec::new();
    for id in children(tx, "learners", circle)? {
        let withdrawn = flag(tx, "learners", &id, "withdrawn")?;
        let waitlisted_at = text(tx, "learners", &id, "waitlisted_at")?;
        all.push(StoredStanding { id, withdrawn, waitlisted_at });
    }
    Ok(all)
}

/// How many learners hold a place (core's `Standing::enrolled`).
pub(super) fn enrolled_count(standings: &[StoredStanding]) -> usize {
    standings.iter().filter(|s| s.standing().enrolled()).count()
}

/// A circle's signup limit (None: no limit).
pub(super) fn signup_limit(tx: &mut dyn Tx, circle: &str) -> ApiResult<Option<i64>> {
    Ok(value(tx, "circles", circle, "signup_limit")?.as_i64())
}

/// Whether the circle was ended at `now`, by core's one rule
/// (`schedule::circle_ended`: its last meeting not cancelled is over; a
/// circle with no dates yet has not ended).
fn has_ended(circle: &PublicCircle, now: DateTime<Utc>) -> bool {
    let Ok(tz) = schedule::parse_time_zone(&circle.time_zone) else { return false };
    let slots: Vec<_> = circle
        .meetings
        .iter()
        .map(|m| {
            let (date, time) = local_start(m);
            schedule::MeetingSlot {
                id: (),
                date,
                time,
                duration_minutes: circle.duration_minutes,
                cancelled: m.cancelled,
            }
        })
        .collect();
    schedule::circle_ended(&slots, now, tz)
}

/// A circle's meeting length in minutes, as stored.
pub(super) fn circle_duration(tx: &mut dyn Tx, circle: &str) -> ApiResult<u32> {
    Ok(value(tx, "circles", circle, "duration_minutes")?.as_u64().unwrap_or(90) as u32)
}

/// A circle's live meetings as core's schedule sees them, with their stored
/// local date and time texts.
fn meeting_slots(
    tx: &mut dyn Tx,
    circle: &str,
    duration_minutes: u32,
) -> ApiResult<Vec<(String, String, schedule::MeetingSlot<String>)>> {
    let mut slots = Vec::new();
    for row in children(tx, "meetings", circle)? {
        let local_date = text(tx, "meetings", &row, "local_date")?;
        let local_time = text(tx, "meetings", &row, "local_time")?;
        let (Ok(date), Ok(time)) = (schedule::parse_date(&local_date), schedule::parse_local_time(&local_time)) else {
            continue;
        };
        let cancelled = text(tx, "meetings", &row, "status")? == "cancelled";
        slots.push((
            local_date,
            local_time,
            schedule::MeetingSlot { id: row, date, time, duration_minutes, cancelled },
        ));
    }
    Ok(slots)
}

/// When a circle ended or will end, by core's rule (`schedule::circle_end`,
/// in the circle's zone); None for a circle with no dates or no zone.
pub(super) fn circle_end(tx: &mut dyn Tx, circle: &str) -> ApiResult<Option<DateTime<Utc>>> {
    let Ok(tz) = schedule::parse_time_zone(&text(tx, "circles", circle, "time_zone")?) else { return Ok(None) };
    let duration_minutes = circle_duration(tx, circle)?;
    let slots: Vec<_> = meeting_slots(tx, circle, duration_minutes)?.into_iter().map(|(_, _, slot)| slot).collect();
    Ok(schedule::circle_end(&slots, tz))
}

/// A circle's public facts, whatever its status (the callers decide).
/// None for no such (or a deleted) circle.
/// `slug`: its public slug (empty for one that has none yet).
fn read_circle(
    tx: &mut dyn Tx,
    circle: &str,
    slug: &str,
    now: DateTime<Utc>,
) -> ApiResult<Option<(String, PublicCircle)>> {
    let name = text(tx, "circles", circle, "name")?;
    if name.is_empty() || flag(tx, "circles", circle, "deleted")? {
        return Ok(None);
    }
    let status = text(tx, "circles", circle, "status")?;
    let time_zone = text(tx, "circles", circle, "time_zone")?;
    // A zone core refuses never reaches the server; a circle without one is not shown.
    let Ok(tz) = schedule::parse_time_zone(&time_zone) else { return Ok(None) };
    let duration_minutes = circle_duration(tx, circle)?;
    let mut meetings = Vec::new();
    for (local_date, local_time, slot) in meeting_slots(tx, circle, duration_minutes)? {
        let resolved = resolve_local(slot.date, slot.time, duration_minutes, tz);
        meetings.push(PublicMeeting {
            id: slot.id,
            local_date,
            local_time,
            starts_at: resolved.starts_at,
            ends_at: resolved.ends_at,
            cancelled: slot.cancelled,
        });
    }
    meetings.sort_by_key(|m| m.starts_at);
    let next_weekday = meetings.iter().find(|m| !m.cancelled && m.ends_at > now).and_then(|m| {
        let date = NaiveDate::parse_from_str(&m.local_date, "%Y-%m-%d").ok()?;
        Some(weekday_name(date))
    });
    let course_id = value(tx, "circles", circle, "course_id")?.as_str().map(str::to_string);
    let (course_title, course_link) = match course_id {
        Some(course) => (text(tx, "courses", &course, "title")?, text(tx, "courses", &course, "link")?),
        None => (String::new(), String::new()),
    };
    let mut facilitator_ids = tx.live_circle_facilitators(circle)?;
    if let Some(creator) = tx.circle_creator(circle)? {
        if !facilitator_ids.contains(&creator) {
            facilitator_ids.insert(0, creator);
        }
    }
    let mut facilitators = Vec::new();
    for id in facilitator_ids {
        let full = text(tx, "facilitators", &id, "name")?;
        if let Some(first) = full.split_whitespace().next() {
            facilitators.push(first.to_string());
        }
    }
    let privacy_notice = match value(tx, "circles", circle, "team_id")?.as_str() {
        Some(team) => text(tx, "teams", team, "privacy_notice")?,
        None => String::new(),
    };
    let full = waitlist::is_full(signup_limit(tx, circle)?, enrolled_count(&standings(tx, circle)?));
    let slug = slug.to_string();
    let field = |tx: &mut dyn Tx, f: &str| text(tx, "circles", circle, f);
    let public = PublicCircle {
        slug,
        name,
        course_title,
        course_link,
        description: field(tx, "description")?,
        language: field(tx, "language")?,
        time_zone,
        duration_minutes,
        online: flag(tx, "circles", circle, "online")?,
        venue_name: field(tx, "venue_name")?,
        venue_address: field(tx, "venue_address")?,
        venue_details: field(tx, "venue_details")?,
        venue_website: field(tx, "venue_website")?,
        city: field(tx, "city")?,
        region: field(tx, "region")?,
        country: field(tx, "country")?,
        meeting_link: field(tx, "meeting_link")?,
        signup_open: flag(tx, "circles", circle, "signup_open")?,
        full,
        signup_question: field(tx, "signup_question")?,
        privacy_notice,
        facilitators,
        meetings,
        next_weekday,
    };
    Ok(Some((status, public)))
}

/// monday..sunday: the filter's words, whatever the page's language.
pub fn weekday_name(date: NaiveDate) -> String {
    const DAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    DAYS[date.weekday().num_days_from_monday() as usize].to_string()
}

/// A circle's public facts for mail about it (a waiting learner's place),
/// whatever its status; None for a deleted circle.
pub(super) fn circle_for_mail(tx: &mut dyn Tx, circle: &str, now: DateTime<Utc>) -> ApiResult<Option<PublicCircle>> {
    let slug = tx.public_slug(CIRCLE, circle)?.unwrap_or_default();
    Ok(read_circle(tx, circle, &slug, now)?.map(|(_, public)| public))
}

/// The circle a slug names, checked for the public: 404 unknown or draft, 410 ended.
fn public_circle(tx: &mut dyn Tx, slug: &str, now: DateTime<Utc>) -> ApiResult<(String, PublicCircle)> {
    let circle = match tx.slug_target(slug)? {
        Some((kind, target)) if kind == CIRCLE => target,
        _ => return Err(unknown()),
    };
    let (status, public) = read_circle(tx, &circle, slug, now)?.ok_or_else(unknown)?;
    if status != "published" {
        return Err(not_published());
    }
    if has_ended(&public, now) {
        return Err(ended());
    }
    Ok((circle, public))
}

/// A team's listing: its published circles that have not ended, soonest
/// first. A read; circles listed for the first time then get their slugs
/// in a short write (so a page view takes no write lock once all have one).
pub(super) fn listing(backend: &impl Backend, team_slug: &str, now: DateTime<Utc>) -> ApiResult<PublicListing> {
    let (team_name, mut read) = backend.read(|tx| {
        let team = match tx.slug_target(team_slug)? {
            Some((kind, target)) if kind == TEAM => target,
            _ => return Err(unknown()),
        };
        let team_name = tx.team_name(&team)?.ok_or_else(unknown)?;
        let mut read = Vec::new();
        for circle in tx.rows_with_value("circles", "team_id", &Value::from(team.as_str()).to_string())? {
            if text(tx, "circles", &circle, "status")? != "published" {
                continue;
            }
            let slug = tx.public_slug(CIRCLE, &circle)?.unwrap_or_default();
            if let Some((_, public)) = read_circle(tx, &circle, &slug, now)? {
                read.push((circle, public));
            }
        }
        Ok((team_name, read))
    })?;
    if read.iter().any(|(_, public)| public.slug.is_empty()) {
        backend.write_unordered(|tx| {
            for (circle, public) in read.iter_mut().filter(|(_, public)| public.slug.is_empty()) {
                public.slug = slug_of(tx, CIRCLE, circle)?;
            }
            Ok::<_, ApiError>(())
        })?;
    }
    let mut circles: Vec<PublicCircle> =
        read.into_iter().map(|(_, public)| public).filter(|public| !has_ended(public, now)).collect();
    let first = |c: &PublicCircle| c.meetings.iter().find(|m| m.ends_at > now).map(|m| m.starts_at);
    circles.sort_by(|a, b| (first(a).is_none(), first(a), &a.name).cmp(&(first(b).is_none(), first(b), &b.name)));
    Ok(PublicListing { team_name, circles })
}

/// A circle's public page.
pub(super) fn circle(backend: &impl Backend, slug: &str, now: DateTime<Utc>) -> ApiResult<PublicCircle> {
    backend.read(|tx| Ok(public_circle(tx, slug, now)?.1))
}

/// Sign someone up on a circle's public page: core's learner rules (the
/// same as a local add), then the circle's (published, not ended, signup
/// open); the same email twice is one learner. A full circle puts them on
/// its waitlist (`waitlisted_at` = now; `waitlist.rs` gives them a place
/// when one frees). The learner row, marked `signup_source` = online, and
/// the confirmation mail in one write.
pub(super) fn sign_up(
    backend: &impl Backend,
    slug: &str,
    input: &LearnerInput,
    now: DateTime<Utc>,
    compose: ComposeSignup<'_>,
) -> ApiResult<SignupOutcome> {
    let mut input = input.clone();
    input.email = normal_email(&input.email);
    input.walk_in = false;
    input.withdrawn = false;
    input.validate().map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_learner", e.to_string()))?;
    if !input.consent {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "consent_required",
            "a signup needs the learner's consent to be contacted about the circle",
        ));
    }
    if input.email.is_empty() && input.mobile.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "contact_required",
            "an email address or a mobile number is needed",
        ));
    }
    backend.write(|tx| {
        let (circle, public) = public_circle(tx, slug, now)?;
        if !public.signup_open {
            return Err(ApiError::new(StatusCode::CONFLICT, "signup_closed", "signups to this circle are closed"));
        }
        if !input.email.is_empty() {
            for row in children(tx, "learners", &circle)? {
                if text(tx, "learners", &row, "email")? == input.email {
                    return Ok(SignupOutcome::AlreadySignedUp);
                }
            }
        }
        let since = time_text(now - chrono::Duration::hours(24));
        let mut recent = 0;
        for row in children(tx, "learners", &circle)? {
            if text(tx, "learners", &row, "created_at")? >= since {
                recent += 1;
            }
        }
        if recent >= DAILY_SIGNUP_CAP {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "signup_daily_cap",
                format!("this circle took {DAILY_SIGNUP_CAP} signups in the last 24 hours; try again tomorrow"),
            ));
        }
        let id = uuid::Uuid::now_v7().to_string();
        // Decided inside the write, so two signups for the last place cannot both get it.
        let waitlisted_at = if public.full { time_text(now) } else { String::new() };
        let mut fields = vec![("circle_id", Value::from(circle.as_str()))];
        fields.extend(input.synced_values());
        fields.push(("signup_source", Value::from(SIGNUP_ONLINE)));
        fields.push(("waitlisted_at", Value::from(waitlisted_at.as_str())));
        fields.push(("deleted", Value::from(0)));
        fields.push(("created_at", Value::from(time_text(now))));
        log_own_circle_row(tx, &circle, "learners", &id, &fields)?;
        let position = if public.full {
            let all = standings(tx, &circle)?;
            let order = waitlist::waitlist(&all.iter().map(StoredStanding::standing).collect::<Vec<_>>());
            let n = order
                .iter()
                .position(|w| *w == id)
                .ok_or_else(|| ApiError::internal("a waitlisted signup is not on the waitlist"))?;
            Some(n as u32 + 1)
        } else {
            None
        };
        if !input.email.is_empty() {
            tx.enqueue_mail(&compose(&public, &input, position)?)?;
        }
        Ok(position.map_or(SignupOutcome::SignedUp, SignupOutcome::Waitlisted))
    })
}

/// The meeting's local start, for pages and mail: (date, time) in the circle's zone.
pub fn local_start(meeting: &PublicMeeting) -> (NaiveDate, NaiveTime) {
    let date = NaiveDate::parse_from_str(&meeting.local_date, "%Y-%m-%d").unwrap_or_default();
    let time = NaiveTime::parse_from_str(&meeting.local_time, "%H:%M").unwrap_or_default();
    (date, time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sqlite::Sqlite;

    fn published_circle(backend: &Sqlite, now: DateTime<Utc>) -> String {
        backend
            .write(|tx| {
                let fields = [
                    ("name", Value::from("Public Speaking")),
                    ("status", Value::from("published")),
                    ("time_zone", Value::from("America/Chicago")),
                    ("duration_minutes", Value::from(90)),
                    ("signup_open", Value::from(1)),
                    ("deleted", Value::from(0)),
                ];
                log_own_circle_row(tx, "c1", "circles", "c1", &fields)?;
                let date = (now + chrono::Duration::days(7)).format("%Y-%m-%d").to_string();
                let meeting = [
                    ("circle_id", Value::from("c1")),
                    ("local_date", Value::from(date)),
                    ("local_time", Value::from("18:30")),
                    ("status", Value::from("scheduled")),
                    ("deleted", Value::from(0)),
                ];
                log_own_circle_row(tx, "c1", "meetings", "m1", &meeting)?;
                slug_of(tx, CIRCLE, "c1")
            })
            .unwrap()
    }

    #[test]
    fn a_circle_takes_at_most_its_daily_cap_of_signups() {
        let dir = tempfile::tempdir().unwrap();
        let backend = Sqlite::open(&dir.path().join("server.sqlite")).unwrap();
        let now = Utc::now();
        let slug = published_circle(&backend, now);
        let no_mail = |_: &PublicCircle, _: &LearnerInput, _: Option<u32>| -> ApiResult<NewMail> {
            Err(ApiError::internal("no mail"))
        };
        let learner = |n: usize| LearnerInput {
            name: format!("Learner {n}"),
            mobile: "+13125550143".into(),
            consent: true,
            ..LearnerInput::default()
        };
        for n in 0..DAILY_SIGNUP_CAP {
            assert_eq!(sign_up(&backend, &slug, &learner(n), now, &no_mail).unwrap(), SignupOutcome::SignedUp);
        }
        let before = backend.read(|tx| Ok::<_, ApiError>(tx.max_seq()?)).unwrap();
        let refused = sign_up(&backend, &slug, &learner(99), now, &no_mail).unwrap_err();
        assert_eq!((refused.status, refused.code), (StatusCode::TOO_MANY_REQUESTS, "signup_daily_cap"));
        assert_eq!(backend.read(|tx| Ok::<_, ApiError>(tx.max_seq()?)).unwrap(), before, "nothing written");
        // A day later the circle takes signups again.
        let tomorrow = now + chrono::Duration::hours(25);
        assert_eq!(sign_up(&backend, &slug, &learner(100), tomorrow, &no_mail).unwrap(), SignupOutcome::SignedUp);
    }
}
