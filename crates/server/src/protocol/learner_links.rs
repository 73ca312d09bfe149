//! What following a learner's link does (`links.rs` makes and checks the
//! links; their pages are `pages/learner_links.rs`). Opening a link (GET)
//! reads only: mail scanners fetch links. Confirming it (POST) does what it
//! says in one write, as SERVER_DEVICE in the circle's scope so every
//! laptop pulls it:
//!
//! - `rsvp_yes` / `rsvp_no`: the learner's `meeting_rsvps` row (id: core's
//!   `messages::rsvp_id`), answer and time; refused for a meeting cancelled,
//!   deleted or over, and for a learner who withdrew or was erased.
//! - `withdraw`: `learners.withdrawn` = 1, then the freed place goes to the
//!   longest-waiting learner with their mail (`waitlist::fill_places`), as a
//!   facilitator's withdrawal does at a push.
//! - `email_opt_out` / `sms_opt_out`: the learner's flag = 1.
//!
//! Harmless twice: what is already so writes nothing and says so (the same
//! answer again; a learner already withdrawn or opted out). Changing an
//! answer (yes, then no) is a new answer.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use circles_core::messages::rsvp_id;
use circles_core::schedule::{self, resolve_local};
use circles_core::schema::{LEARNERS, MEETINGS, MEETING_RSVPS};
use serde_json::Value;

use super::accounts::log_own_circle_row;
use super::links::{self, LearnerLink, Purpose};
use super::public::{circle_duration, flag, text};
use super::waitlist::{fill_places, ComposePlace};
use super::ApiResult;
use crate::common::time_text;
use crate::error::ApiError;
use crate::storage::Tx;

/// Where a link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Valid, not done yet: its page offers the button.
    Ready,
    /// Done by this request.
    Done,
    /// It was so already: nothing written.
    Already,
    /// Past its expiry.
    Expired,
    /// An RSVP to a meeting cancelled, deleted or over.
    MeetingGone,
    /// The learner (or their circle) is deleted or erased, or withdrew (for an RSVP).
    LearnerGone,
}

/// What a link's page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkFacts {
    pub purpose: Purpose,
    pub circle_name: String,
    /// The circle's language ("" when unknown).
    pub language: String,
    /// The meeting's local date and time in the circle's zone (RSVP links).
    pub meeting: Option<(NaiveDate, NaiveTime)>,
    pub state: LinkState,
}

/// A meeting as an RSVP needs it: its local start, and whether answers are
/// still taken at `now` (not cancelled, not deleted, not over).
fn meeting_of(
    tx: &mut dyn Tx,
    circle: &str,
    meeting: &str,
    now: DateTime<Utc>,
) -> ApiResult<(Option<(NaiveDate, NaiveTime)>, bool)> {
    let table = MEETINGS.name;
    let date = schedule::parse_date(&text(tx, table, meeting, "local_date")?).ok();
    let time = schedule::parse_local_time(&text(tx, table, meeting, "local_time")?).ok();
    let (Some(date), Some(time)) = (date, time) else { return Ok((None, false)) };
    let open = text(tx, table, meeting, "circle_id")? == circle
        && !flag(tx, table, meeting, "deleted")?
        && text(tx, table, meeting, "status")? != "cancelled"
        && match schedule::parse_time_zone(&text(tx, "circles", circle, "time_zone")?) {
            Ok(tz) => resolve_local(date, time, circle_duration(tx, circle)?, tz).ends_at > now,
            Err(_) => false,
        };
    Ok((Some((date, time)), open))
}

/// Where a link stands at `now`, and with `act` (in a write) do it.
pub(super) fn follow(
    tx: &mut dyn Tx,
    token: &str,
    now: DateTime<Utc>,
    act: bool,
    compose: Option<&ComposePlace>,
) -> ApiResult<LinkFacts> {
    let link = links::open(tx, token)?;
    let learner = link.learner_id.as_str();
    let circle = text(tx, LEARNERS.name, learner, "circle_id")?;
    let circle_name = text(tx, "circles", &circle, "name")?;
    let language = text(tx, "circles", &circle, "language")?;
    let (meeting, meeting_open) =
        if link.purpose.is_rsvp() { meeting_of(tx, &circle, &link.meeting_id, now)? } else { (None, true) };
    let facts = |state| LinkFacts {
        purpose: link.purpose,
        circle_name: circle_name.clone(),
        language: language.clone(),
        meeting,
        state,
    };
    if link.expired(now) {
        return Ok(facts(LinkState::Expired));
    }
    let gone = circle.is_empty()
        || flag(tx, LEARNERS.name, learner, "deleted")?
        || flag(tx, LEARNERS.name, learner, "erased")?
        || flag(tx, "circles", &circle, "deleted")?;
    let withdrawn = flag(tx, LEARNERS.name, learner, "withdrawn")?;
    let state = match link.purpose {
        Purpose::RsvpYes | Purpose::RsvpNo => {
            if gone || withdrawn {
                LinkState::LearnerGone
            } else if !meeting_open {
                LinkState::MeetingGone
            } else {
                rsvp(tx, &circle, &link, now, act)?
            }
        }
        _ if gone => LinkState::LearnerGone,
        Purpose::Withdraw => set_flag(tx, &circle, learner, "withdrawn", act)?,
        Purpose::EmailOptOut => set_flag(tx, &circle, learner, "email_opt_out", act)?,
        Purpose::SmsOptOut => set_flag(tx, &circle, learner, "sms_opt_out", act)?,
    };
    if state == LinkState::Done && link.purpose == Purpose::Withdraw {
        fill_places(tx, &circle, compose)?;
    }
    Ok(facts(state))
}

/// Record an RSVP's answer, unless it is the answer on record.
fn rsvp(tx: &mut dyn Tx, circle: &str, link: &LearnerLink, now: DateTime<Utc>, act: bool) -> ApiResult<LinkState> {
    let answer = if link.purpose == Purpose::RsvpYes { "yes" } else { "no" };
    let table = MEETING_RSVPS.name;
    let id = rsvp_id(&link.meeting_id, &link.learner_id);
    let exists = tx.stored_value(table, &id, "meeting_id")?.is_some();
    let deleted = flag(tx, table, &id, "deleted")?;
    if exists && !deleted && text(tx, table, &id, "answer")? == answer {
        return Ok(LinkState::Already);
    }
    if !act {
        return Ok(LinkState::Ready);
    }
    let mut fields = vec![("answer", Value::from(answer)), ("answered_at", Value::from(time_text(now)))];
    if !exists {
        fields.push(("meeting_id", Value::from(link.meeting_id.as_str())));
        fields.push(("learner_id", Value::from(link.learner_id.as_str())));
        fields.push(("created_at", Value::from(time_text(now))));
    }
    if !exists || deleted {
        fields.push(("deleted", Value::from(0)));
    }
    log_own_circle_row(tx, circle, table, &id, &fields)?;
    Ok(LinkState::Done)
}

/// Set one of the learner's flags, unless it is set.
fn set_flag(tx: &mut dyn Tx, circle: &str, learner: &str, field: &str, act: bool) -> ApiResult<LinkState> {
    if flag(tx, LEARNERS.name, learner, field)? {
        return Ok(LinkState::Already);
    }
    if !act {
        return Ok(LinkState::Ready);
    }
    log_own_circle_row(tx, circle, LEARNERS.name, learner, &[(field, Value::from(1))])?;
    Ok(LinkState::Done)
}

/// One link for an operator (`circles-server link make`): the learner must
/// exist, and an RSVP's meeting be one of their circle's.
pub(super) fn make_link(
    tx: &mut dyn Tx,
    base_url: &str,
    purpose: Purpose,
    learner_id: &str,
    meeting_id: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<String> {
    let circle = text(tx, LEARNERS.name, learner_id, "circle_id")?;
    if circle.is_empty() {
        return Err(ApiError::not_found(format!("no learner with id {learner_id}")));
    }
    let meeting_id = meeting_id.unwrap_or_default();
    let meeting_end = if purpose.is_rsvp() {
        if meeting_id.is_empty() {
            return Err(ApiError::bad_request(format!("a {} link needs --meeting", purpose.as_str())));
        }
        let date = schedule::parse_date(&text(tx, MEETINGS.name, meeting_id, "local_date")?).ok();
        let time = schedule::parse_local_time(&text(tx, MEETINGS.name, meeting_id, "local_time")?).ok();
        let tz = schedule::parse_time_zone(&text(tx, "circles", &circle, "time_zone")?).ok();
        let (Some(date), Some(time), Some(tz)) = (date, time, tz) else {
            return Err(ApiError::not_found(format!("no meeting with id {meeting_id} in the learner's circle")));
        };
        if text(tx, MEETINGS.name, meeting_id, "circle_id")? != circle {
            return Err(ApiError::not_found(format!("no meeting with id {meeting_id} in the learner's circle")));
        }
        Some(resolve_local(date, time, circle_duration(tx, &circle)?, tz).ends_at)
    } else {
        if !meeting_id.is_empty() {
            return Err(ApiError::bad_request(format!("a {} link names no meeting", purpose.as_str())));
        }
        None
    };
    let link = LearnerLink {
        purpose,
        learner_id: learner_id.to_string(),
        meeting_id: meeting_id.to_string(),
        expires: links::expiry(purpose, meeting_end, now),
    };
    Ok(links::link_url(base_url, &links::token(tx, &link)?))
}
