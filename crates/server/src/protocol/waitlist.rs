//! A freed place goes to the longest-waiting learner, on the server, in the
//! transaction of the change that freed it: a learner withdrawn or deleted
//! by a facilitator's push, or the signup limit raised (or removed), in a
//! published circle that has not ended (a draft's freed places wait for it
//! to be published again, and are filled by the push that publishes it). The
//! server writes the promotion (`waitlisted_at` = "") as SERVER_DEVICE in the
//! circle's scope, so every laptop pulls it, and queues the mail that tells
//! the learner. Places are counted from the stored state after the push
//! (core's `waitlist` rules), so the same withdrawal pushed by two laptops
//! frees one place once, and a place freed offline is filled at the push
//! that brings it.

use std::collections::BTreeSet;

use chrono::Utc;
use circles_core::schema::{CIRCLES, LEARNERS};
use circles_core::waitlist;
use circles_core::LearnerInput;
use serde_json::Value;

use super::accounts::log_own_circle_row;
use super::public::PublicCircle;
use super::public::{circle_end, circle_for_mail, enrolled_count, flag, signup_limit, standings, text, StoredStanding};
use super::ApiResult;
use crate::storage::{Logged, NewMail, Tx};

/// Makes the mail telling a learner they have a place now.
pub type ComposePlace = Box<dyn Fn(&PublicCircle, &LearnerInput) -> ApiResult<NewMail> + Send + Sync>;

/// Changes after which a circle may have a free place.
fn may_free_a_place(logged: &Logged<'_>) -> Option<String> {
    let field = logged.change.field.as_str();
    if logged.table == LEARNERS.name && matches!(field, "withdrawn" | "deleted") {
        return logged.scope.clone();
    }
    // A raised limit frees places; so does publishing again a draft whose
    // places were left free meanwhile.
    if logged.table == CIRCLES.name && matches!(field, "signup_limit" | "status") {
        return Some(logged.change.row_id.clone());
    }
    None
}

/// After a push's writes, in its transaction: fill the places the push
/// freed. The learners promoted, by id.
pub(super) fn fill_freed_places(
    tx: &mut dyn Tx,
    logged: &[Logged<'_>],
    compose: Option<&ComposePlace>,
) -> ApiResult<Vec<String>> {
    let circles: BTreeSet<String> = logged.iter().filter_map(may_free_a_place).collect();
    let mut promoted = Vec::new();
    for circle in circles {
        promoted.extend(fill_places(tx, &circle, compose)?);
    }
    Ok(promoted)
}

/// Give a circle's free places to its longest-waiting learners: only in a
/// published circle that has not ended (a draft's places wait until it is
/// published again; an ended circle has no place to give).
pub(super) fn fill_places(tx: &mut dyn Tx, circle: &str, compose: Option<&ComposePlace>) -> ApiResult<Vec<String>> {
    if text(tx, CIRCLES.name, circle, "status")? != "published" {
        return Ok(Vec::new());
    }
    if circle_end(tx, circle)?.is_some_and(|end| end <= Utc::now()) {
        return Ok(Vec::new());
    }
    let all = standings(tx, circle)?;
    let listed: Vec<_> = all.iter().map(StoredStanding::standing).collect();
    let waiting = waitlist::waitlist(&listed);
    let free = waitlist::places_to_fill(signup_limit(tx, circle)?, enrolled_count(&all), waiting.len());
    let chosen: Vec<String> = waiting.into_iter().take(free).map(str::to_string).collect();
    if chosen.is_empty() {
        return Ok(chosen);
    }
    let facts = circle_for_mail(tx, circle, Utc::now())?;
    for id in &chosen {
        log_own_circle_row(tx, circle, LEARNERS.name, id, &[("waitlisted_at", Value::from(""))])?;
        let (Some(facts), Some(compose)) = (&facts, compose) else {
            tracing::warn!(learner = %id, "a waiting learner got a place, but this process composes no mail");
            continue;
        };
        let email = text(tx, LEARNERS.name, id, "email")?;
        if email.is_empty() || flag(tx, LEARNERS.name, id, "email_opt_out")? {
            continue;
        }
        let learner = LearnerInput { name: text(tx, LEARNERS.name, id, "name")?, email, ..LearnerInput::default() };
        let mut mail = compose(facts, &learner)?;
        // One place, one message, even if something enqueued it again.
        mail.dedupe_key = Some(format!("waitlist-place:{id}"));
        tx.enqueue_mail(&mail)?;
    }
    tracing::info!(circle, promoted = chosen.len(), "waiting learners got places");
    Ok(chosen)
}
