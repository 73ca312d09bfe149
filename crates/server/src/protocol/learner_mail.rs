//! What learners receive from the server, all of it written on a laptop
//! first (issue 15): a reminder before each meeting (the circle's lead,
//! default two days; the facilitator's words for that meeting; RSVP links
//! and an .ics), a notice when a synced change moves or cancels a meeting,
//! and a circle message once it reaches the server. Who hears on which
//! channel, and when a reminder is due, are core's rules
//! (`circles_core::messages`), the same the laptop shows.
//!
//! **Once.** Each send is planned under a key (`learner_sends`: a meeting's
//! reminder for one start time, a notice for one new start, a message id),
//! marked done in the transaction that puts its messages in the outbox, and
//! every message carries a dedupe key; the outbox sends each once
//! (`mail/`). **Told back.** A message carries its delivery facts; once the
//! outbox sent or gave it up, `record_deliveries` writes the synced
//! `deliveries` row (by SERVER_DEVICE, in the circle's scope) the laptops
//! pull: "sent Sunday 18:30", "bad address". The row holds no address and
//! no text.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use circles_core::messages::{self, Channel, Reachable};
use circles_core::schema::{CIRCLE_MESSAGES, DELIVERIES, LEARNERS, MEETINGS};
use circles_core::LearnerInput;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::accounts::log_own_circle_row;
use super::links::{learner_links, LearnerLinks};
use super::public::{circle_for_mail, flag, text, value, PublicCircle, PublicMeeting};
use super::ApiResult;
use crate::common::time_text;
use crate::error::ApiError;
use crate::mail::Kind;
use crate::sms::Sms;
use crate::storage::{Backend, Logged, NewMail, Tx};

/// What one message to a learner is about.
#[derive(Debug, Clone, Copy)]
pub enum About<'a> {
    /// A meeting's reminder, with the facilitator's words for it ('' = none).
    Reminder { meeting: &'a PublicMeeting, words: &'a str },
    /// A meeting moved (to its new time) or was cancelled.
    Notice { meeting: &'a PublicMeeting, cancelled: bool },
    /// A message to the whole circle.
    Message { subject: &'a str, body: &'a str },
}

/// One message to one learner, as the composer needs it.
pub struct LearnerMessage<'a> {
    pub circle: &'a PublicCircle,
    pub learner: &'a LearnerInput,
    pub about: About<'a>,
    pub links: &'a LearnerLinks,
    /// The circle's public page (the server's address if it has none).
    pub page_url: &'a str,
}

/// Makes the email of a message to a learner (pages/learner_mail.rs: the
/// words, the language, the .ics); protocol decides who and when.
pub type ComposeLearnerMail = Box<dyn Fn(&LearnerMessage<'_>) -> ApiResult<NewMail> + Send + Sync>;
/// Makes the text message of the same (short, with the links).
pub type ComposeLearnerSms = Box<dyn Fn(&LearnerMessage<'_>) -> ApiResult<String> + Send + Sync>;

/// What a message's `deliveries` row needs, kept with it in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryFacts {
    pub circle: String,
    pub learner: String,
    pub meeting: Option<String>,
    pub message: Option<String>,
    pub kind: String,
    pub channel: String,
    /// The send's key: with the learner and channel, the row's id.
    pub about: String,
}

impl DeliveryFacts {
    fn row_id(&self) -> String {
        let channel = if self.channel == "sms" { Channel::Sms } else { Channel::Email };
        messages::delivery_id(&self.kind, &self.about, &self.learner, channel)
    }
}

/// How this process mails learners: its public address (for links) and the
/// composer. Set once by `serve` (`SyncService::set_learner_mail`).
pub struct LearnerMail {
    pub base_url: String,
    pub compose: ComposeLearnerMail,
    /// With SMS configured (`--sms-url`), learners with a mobile get a text
    /// too; without, none is kept.
    pub sms: Option<ComposeLearnerSms>,
}

/// A live learner of a circle with what the rules need.
struct Recipient {
    id: String,
    input: LearnerInput,
    channels: Vec<Channel>,
}

fn recipients(tx: &mut dyn Tx, circle: &str) -> ApiResult<Vec<Recipient>> {
    let mut out = Vec::new();
    for id in tx.rows_with_value(LEARNERS.name, "circle_id", &Value::from(circle).to_string())? {
        if flag(tx, LEARNERS.name, &id, "deleted")? {
            continue;
        }
        let t = |tx: &mut dyn Tx, f: &str| text(tx, LEARNERS.name, &id, f);
        let input = LearnerInput {
            name: t(tx, "name")?,
            email: t(tx, "email")?,
            mobile: t(tx, "mobile")?,
            consent: flag(tx, LEARNERS.name, &id, "consent")?,
            email_opt_out: flag(tx, LEARNERS.name, &id, "email_opt_out")?,
            sms_opt_out: flag(tx, LEARNERS.name, &id, "sms_opt_out")?,
            withdrawn: flag(tx, LEARNERS.name, &id, "withdrawn")?,
            ..LearnerInput::default()
        };
        let waitlisted = !t(tx, "waitlisted_at")?.is_empty();
        let erased = flag(tx, LEARNERS.name, &id, "erased")?;
        let channels = messages::channels(&Reachable {
            email: &input.email,
            mobile: &input.mobile,
            consent: input.consent,
            email_opt_out: input.email_opt_out,
            sms_opt_out: input.sms_opt_out,
            enrolled: !input.withdrawn && !waitlisted,
            erased,
        });
        out.push(Recipient { id, input, channels });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Put one send's messages in the outbox and mark it done: nothing if it
/// was done before. How many new messages were queued.
fn send_once(
    tx: &mut dyn Tx,
    sender: &LearnerMail,
    key: &str,
    circle_id: &str,
    circle: &PublicCircle,
    about: About<'_>,
    now: DateTime<Utc>,
) -> ApiResult<usize> {
    if tx.send_done(key)? {
        return Ok(0);
    }
    let (kind, meeting, message_id) = match about {
        About::Reminder { meeting, .. } => ("reminder", Some(meeting), None),
        About::Notice { meeting, .. } => ("notice", Some(meeting), None),
        About::Message { .. } => ("message", None, key.strip_prefix("message:")),
    };
    let base = sender.base_url.trim_end_matches('/');
    let page_url = if circle.slug.is_empty() { base.to_string() } else { format!("{base}/circles/{}", circle.slug) };
    let mut queued = 0;
    for learner in recipients(tx, circle_id)? {
        if learner.channels.is_empty() {
            continue;
        }
        let rsvp = match about {
            About::Reminder { meeting, .. } => Some((meeting.id.as_str(), meeting.ends_at)),
            _ => None,
        };
        let links = learner_links(tx, &sender.base_url, &learner.id, rsvp, now)?;
        let message = LearnerMessage { circle, learner: &learner.input, about, links: &links, page_url: &page_url };
        let facts = |channel: Channel| -> ApiResult<Option<String>> {
            let facts = DeliveryFacts {
                circle: circle_id.to_string(),
                learner: learner.id.clone(),
                meeting: meeting.map(|m| m.id.clone()),
                message: message_id.map(str::to_string),
                kind: kind.to_string(),
                channel: channel.as_str().to_string(),
                about: key.to_string(),
            };
            Ok(Some(serde_json::to_string(&facts).map_err(|e| ApiError::internal(e.to_string()))?))
        };
        for channel in &learner.channels {
            let composed = match (channel, &sender.sms) {
                (Channel::Email, _) => (sender.compose)(&message),
                (Channel::Sms, Some(compose_sms)) => compose_sms(&message).and_then(|text| {
                    Sms::new(mail_kind(kind), &learner.input.mobile, &text)
                        .to_new_mail()
                        .map_err(|e| ApiError::internal(e.to_string()))
                }),
                (Channel::Sms, None) => continue,
            };
            // One learner's message that cannot be made (an address the mail
            // library refuses though core took it) is left out and logged: it
            // must not stop the others' messages, nor the push that brought it.
            let mut row = match composed {
                Ok(row) => row,
                Err(e) => {
                    tracing::warn!(learner = %learner.id, channel = channel.as_str(), error = %e, key,
                        "a message to a learner could not be made; left out");
                    continue;
                }
            };
            row.dedupe_key = Some(format!("{key}:{}:{}", learner.id, channel.as_str()));
            row.delivery = facts(*channel)?;
            // One already there under its dedupe key (another process
            // planned this send at the same moment) is not counted again.
            if tx.enqueue_mail(&row)?.1 {
                queued += 1;
            }
        }
    }
    tx.mark_send_done(key, &time_text(now))?;
    Ok(queued)
}

/// The outbox's word for a kind of message to learners.
fn mail_kind(kind: &str) -> Kind {
    match kind {
        "reminder" => Kind::Reminder,
        _ => Kind::Notice,
    }
}

/// A published, live circle's facts for mail, or None.
fn sendable_circle(tx: &mut dyn Tx, circle: &str, now: DateTime<Utc>) -> ApiResult<Option<PublicCircle>> {
    if text(tx, "circles", circle, "status")? != "published" {
        return Ok(None);
    }
    circle_for_mail(tx, circle, now)
}

/// A circle's meetings whose reminder is due at `now` (core's `reminder_due`
/// has come, the meeting has not started), each with its send key: one per
/// meeting and start time, so a moved meeting is reminded again.
fn due_reminders(circle: &PublicCircle, hours: u32, now: DateTime<Utc>) -> Vec<(&PublicMeeting, String)> {
    circle
        .meetings
        .iter()
        .filter(|m| !m.cancelled && m.starts_at > now)
        .filter(|m| messages::reminder_due(m.starts_at, hours).is_some_and(|due| due <= now))
        .map(|m| (m, format!("reminder:{}:{}", m.id, time_text(m.starts_at))))
        .collect()
}

fn reminder_hours(tx: &mut dyn Tx, circle: &str) -> ApiResult<u32> {
    Ok(value(tx, "circles", circle, "reminder_hours")?.as_u64().map_or(48, |h| h as u32))
}

/// The circles with a reminder due at `now` and not yet planned: found in a
/// read, so the minutely run takes the write lock only when there is work.
fn circles_with_due_reminders(tx: &mut dyn Tx, now: DateTime<Utc>) -> ApiResult<Vec<String>> {
    let scheduled = Value::from("scheduled").to_string();
    let mut circles = BTreeSet::new();
    for meeting in tx.rows_with_value(MEETINGS.name, "status", &scheduled)? {
        if let Some(circle) = value(tx, MEETINGS.name, &meeting, "circle_id")?.as_str() {
            circles.insert(circle.to_string());
        }
    }
    let mut due = Vec::new();
    for circle_id in circles {
        let hours = reminder_hours(tx, &circle_id)?;
        let Some(circle) = sendable_circle(tx, &circle_id, now)? else { continue };
        for (_, key) in due_reminders(&circle, hours, now) {
            if !tx.send_done(&key)? {
                due.push(circle_id);
                break;
            }
        }
    }
    Ok(due)
}

/// The reminders due at `now`: every scheduled meeting of a published
/// circle whose reminder time has come and which has not started, not
/// reminded before for this start. One write per circle with work. How many
/// messages were queued.
pub(super) fn send_due_reminders(backend: &impl Backend, sender: &LearnerMail, now: DateTime<Utc>) -> ApiResult<usize> {
    let circles = backend.read(|tx| circles_with_due_reminders(tx, now))?;
    let mut queued = 0;
    for circle_id in &circles {
        queued += backend.write_unordered(|tx| {
            let hours = reminder_hours(tx, circle_id)?;
            let Some(circle) = sendable_circle(tx, circle_id, now)? else { return Ok(0) };
            let mut queued = 0;
            for (meeting, key) in due_reminders(&circle, hours, now) {
                let words = text(tx, MEETINGS.name, &meeting.id, "reminder_message")?;
                let about = About::Reminder { meeting, words: &words };
                queued += send_once(tx, sender, &key, circle_id, &circle, about, now)?;
            }
            Ok::<_, ApiError>(queued)
        })?;
    }
    if queued > 0 {
        tracing::info!(queued, "meeting reminders queued");
    }
    Ok(queued)
}

/// After a push's writes, in its transaction: a notice for each meeting the
/// push moved or cancelled (not one it created), and each new circle
/// message sent. Only about meetings still ahead, of published circles.
pub(super) fn after_push(
    tx: &mut dyn Tx,
    logged: &[Logged<'_>],
    sender: &LearnerMail,
    now: DateTime<Utc>,
) -> ApiResult<usize> {
    let mut moved: BTreeMap<String, String> = BTreeMap::new();
    let mut created = Vec::new();
    let mut new_messages: BTreeMap<String, String> = BTreeMap::new();
    for l in logged {
        let Some(circle) = l.scope.clone() else { continue };
        let (row, field) = (&l.change.row_id, l.change.field.as_str());
        if l.table == MEETINGS.name {
            match field {
                "local_date" | "local_time" | "status" => {
                    moved.insert(row.clone(), circle);
                }
                "circle_id" => created.push(row.clone()),
                _ => {}
            }
        } else if l.table == CIRCLE_MESSAGES.name {
            new_messages.insert(row.clone(), circle);
        }
    }
    let mut queued = 0;
    for (meeting_id, circle_id) in moved.into_iter().filter(|(m, _)| !created.contains(m)) {
        let Some(circle) = sendable_circle(tx, &circle_id, now)? else { continue };
        let Some(meeting) = circle.meetings.iter().find(|m| m.id == meeting_id) else { continue };
        if meeting.starts_at <= now || flag(tx, MEETINGS.name, &meeting_id, "deleted")? {
            continue;
        }
        let when = if meeting.cancelled { "cancelled".to_string() } else { time_text(meeting.starts_at) };
        let key = format!("notice:{meeting_id}:{when}");
        let about = About::Notice { meeting, cancelled: meeting.cancelled };
        queued += send_once(tx, sender, &key, &circle_id, &circle, about, now)?;
    }
    for (message_id, circle_id) in new_messages {
        let subject = text(tx, CIRCLE_MESSAGES.name, &message_id, "subject")?;
        let body = text(tx, CIRCLE_MESSAGES.name, &message_id, "body")?;
        // A batch may carry part of a new row: sent once it is whole.
        if subject.is_empty() || body.is_empty() || flag(tx, CIRCLE_MESSAGES.name, &message_id, "deleted")? {
            continue;
        }
        let Some(circle) = sendable_circle(tx, &circle_id, now)? else { continue };
        let key = format!("message:{message_id}");
        let about = About::Message { subject: &subject, body: &body };
        queued += send_once(tx, sender, &key, &circle_id, &circle, about, now)?;
    }
    Ok(queued)
}

/// Words for why a message failed, never the mail server's reply (which
/// may quote the address): core's `DELIVERY_PROBLEMS`.
fn problem(last_error: Option<&str>) -> &'static str {
    let error = last_error.unwrap_or_default().to_ascii_lowercase();
    if error.contains("address") || error.contains("mailbox") || error.contains("recipient") || error.contains("550") {
        "bad_address"
    } else if error.contains("refused") || error.contains("permanent") || error.starts_with('5') {
        "refused"
    } else {
        "gave_up"
    }
}

/// Write the `deliveries` rows of learners' messages the outbox finished,
/// at most `limit` in one write; how many were written.
pub(super) fn record_deliveries(backend: &impl Backend, limit: usize) -> ApiResult<usize> {
    backend.write(|tx| {
        let finished = tx.unlogged_deliveries(limit)?;
        let mut done = Vec::with_capacity(finished.len());
        for f in &finished {
            done.push(f.mail_id.clone());
            let Ok(facts) = serde_json::from_str::<DeliveryFacts>(&f.delivery) else {
                tracing::warn!(mail = %f.mail_id, "a message's delivery facts are unreadable; no delivery row");
                continue;
            };
            // A circle deleted meanwhile keeps no rows of it.
            if tx.stored_value("circles", &facts.circle, "name")?.is_none() {
                continue;
            }
            let (status, problem) = if f.sent { ("sent", "") } else { ("failed", problem(f.last_error.as_deref())) };
            let reference = |id: &Option<String>| id.as_deref().map_or(Value::Null, Value::from);
            let fields = [
                ("circle_id", Value::from(facts.circle.as_str())),
                ("learner_id", Value::from(facts.learner.as_str())),
                ("meeting_id", reference(&facts.meeting)),
                ("message_id", reference(&facts.message)),
                ("kind", Value::from(facts.kind.as_str())),
                ("channel", Value::from(facts.channel.as_str())),
                ("status", Value::from(status)),
                ("problem", Value::from(problem)),
                ("at", Value::from(f.at.as_str())),
                ("deleted", Value::from(0)),
                ("created_at", Value::from(time_text(Utc::now()))),
            ];
            log_own_circle_row(tx, &facts.circle, DELIVERIES.name, &facts.row_id(), &fields)?;
        }
        tx.mark_deliveries_logged(&done)?;
        Ok(finished.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_told_in_a_word_not_the_servers_reply() {
        assert_eq!(problem(Some("550 5.1.1 <ana@example.org>: Recipient address rejected")), "bad_address");
        assert_eq!(problem(Some("554 refused")), "refused");
        assert_eq!(problem(Some("no answer within 60s")), "gave_up");
        assert_eq!(problem(None), "gave_up");
    }
}
