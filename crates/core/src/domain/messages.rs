//! What a circle's learners receive: reminders before meetings, notices
//! when a meeting moves or is cancelled, and messages to the whole circle.
//! All of it is written on the laptop, offline (a circle's reminder lead, a
//! meeting's reminder words, a message); the server sends it once the
//! laptop has synced, and writes back what it sent (`deliveries`) and what
//! learners answered (`meeting_rsvps`), which the laptop pulls.
//!
//! The rules both sides need are here, once: who receives what on which
//! channel (`channels`), when a meeting's reminder goes out
//! (`reminder_due`), and the ids of the rows the server writes.

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::Serialize;

use crate::domain::learner::Learner;
use crate::domain::meeting::Meeting;
use crate::error::{CoreError, Result, Rule};
use crate::schema::{check_field, CIRCLE_MESSAGES};
use crate::store::rows::{derived_id, new_id, text};
use crate::store::Store;

/// A way to reach a learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// What the rules need to know about a learner, wherever it is stored.
#[derive(Debug, Clone, Copy)]
pub struct Reachable<'a> {
    pub email: &'a str,
    pub mobile: &'a str,
    pub consent: bool,
    pub email_opt_out: bool,
    pub sms_opt_out: bool,
    /// Holds a place (core's waitlist rule): not withdrawn, not waiting.
    pub enrolled: bool,
    pub erased: bool,
}

impl<'a> Reachable<'a> {
    pub fn of(learner: &'a Learner) -> Reachable<'a> {
        let f = &learner.fields;
        Reachable {
            email: &f.email,
            mobile: &f.mobile,
            consent: f.consent,
            email_opt_out: f.email_opt_out,
            sms_opt_out: f.sms_opt_out,
            enrolled: learner.enrolled(),
            erased: learner.erased,
        }
    }
}

/// The channels a learner hears about their circle on (reminders, notices,
/// messages): only with their consent, only while they hold a place, never
/// on a channel they opted out of. A learner on the waitlist hears only
/// that they got a place (`protocol/waitlist.rs`), and one who withdrew
/// nothing more.
pub fn channels(learner: &Reachable<'_>) -> Vec<Channel> {
    if !learner.consent || !learner.enrolled || learner.erased {
        return Vec::new();
    }
    let mut out = Vec::new();
    if !learner.email.trim().is_empty() && !learner.email_opt_out {
        out.push(Channel::Email);
    }
    if !learner.mobile.trim().is_empty() && !learner.sms_opt_out {
        out.push(Channel::Sms);
    }
    out
}

/// When a meeting's reminder goes out: `hours` before it starts (the
/// instant, so right across a daylight-saving change); None when the circle
/// sends no reminders (0 hours).
pub fn reminder_due(starts_at: DateTime<Utc>, hours: u32) -> Option<DateTime<Utc>> {
    (hours > 0).then(|| starts_at - chrono::Duration::hours(i64::from(hours)))
}

/// The id of a learner's answer to a meeting's reminder: one row per
/// meeting and learner, so a second click writes the same row.
pub fn rsvp_id(meeting_id: &str, learner_id: &str) -> String {
    derived_id("meeting_rsvp", &[meeting_id, learner_id])
}

/// The id of a delivery row: one per message, learner and channel. `about`
/// names the message: a meeting and its local start for a reminder or a
/// notice, a circle message's id.
pub fn delivery_id(kind: &str, about: &str, learner_id: &str, channel: Channel) -> String {
    derived_id("delivery", &[kind, about, learner_id, channel.as_str()])
}

/// A message to all of a circle's learners.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CircleMessage {
    pub id: String,
    pub circle_id: String,
    pub subject: String,
    pub body: String,
    pub created_at: String,
    /// Not yet on the server: it goes out at the next sync.
    pub waiting_for_sync: bool,
}

/// A meeting's reminder as the laptop sees it before it goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PlannedReminder {
    pub meeting_id: String,
    pub meeting_number: u32,
    /// The meeting's local date ("2026-12-08") and time, in the circle's zone.
    pub meeting_date: String,
    pub meeting_time: String,
    /// When it goes out, as an instant and as the circle's local date and time.
    pub send_at: DateTime<Utc>,
    pub send_date: String,
    pub send_time: String,
    /// The facilitator's words for it ('' = none).
    pub message: String,
    /// How many learners it goes to, by email and by SMS.
    pub emails: u32,
    pub texts: u32,
}

/// Something the server sent a learner, or failed to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Delivery {
    pub learner_id: String,
    pub learner_name: String,
    pub meeting_id: Option<String>,
    pub message_id: Option<String>,
    /// reminder, notice, message, signup, waitlist_place.
    pub kind: String,
    /// email, sms.
    pub channel: String,
    /// sent, failed.
    pub status: String,
    /// Why it failed: bad_address, refused, gave_up ('' when sent).
    pub problem: String,
    pub at: String,
}

/// A learner's answer to a meeting's reminder.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MeetingRsvp {
    pub learner_id: String,
    /// yes, no.
    pub answer: String,
    pub answered_at: String,
}

/// A circle's outgoing and sent messages, for the Messages panel.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CircleMessages {
    pub reminder_hours: u32,
    /// Reminders still to go out, soonest first.
    pub planned: Vec<PlannedReminder>,
    pub messages: Vec<CircleMessage>,
    /// Newest first.
    pub deliveries: Vec<Delivery>,
}

const MESSAGE_ENTITY: &str = "message";

/// The planned reminders of a circle's meetings, from `now` on: scheduled
/// meetings whose reminder has not yet gone out, by the clock or by what the
/// server says it sent (`sent`: reminder deliveries; a meeting moved after
/// its reminder went gets another from the server, not listed here).
pub fn planned_reminders(
    meetings: &[Meeting],
    learners: &[Learner],
    sent: &[Delivery],
    hours: u32,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Vec<PlannedReminder> {
    let (mut emails, mut texts) = (0, 0);
    for l in learners {
        for c in channels(&Reachable::of(l)) {
            match c {
                Channel::Email => emails += 1,
                Channel::Sms => texts += 1,
            }
        }
    }
    meetings
        .iter()
        .filter(|m| m.status == crate::domain::meeting::MeetingStatus::Scheduled)
        .filter(|m| !sent.iter().any(|d| d.kind == "reminder" && d.meeting_id.as_deref() == Some(m.id.as_str())))
        .filter_map(|m| {
            let send_at = reminder_due(m.starts_at, hours)?;
            if send_at < now {
                return None;
            }
            let local = send_at.with_timezone(&tz);
            Some(PlannedReminder {
                meeting_id: m.id.clone(),
                meeting_number: m.number,
                meeting_date: m.local_date.to_string(),
                meeting_time: m.local_time.clone(),
                send_at,
                send_date: local.format("%Y-%m-%d").to_string(),
                send_time: local.format("%H:%M").to_string(),
                message: m.reminder_message.clone(),
                emails,
                texts,
            })
        })
        .collect()
}

impl Store {
    /// Write a message to all of a circle's learners; it goes out when the
    /// laptop next syncs. The new message's id.
    pub fn add_circle_message(&mut self, circle_id: &str, subject: &str, body: &str) -> Result<String> {
        check_field(&CIRCLE_MESSAGES, "subject", subject.trim())?;
        check_field(&CIRCLE_MESSAGES, "body", body.trim())?;
        let circle = self.circle(circle_id)?;
        if circle.fields.status != crate::domain::circle::CircleStatus::Published {
            return Err(CoreError::invalid(
                MESSAGE_ENTITY,
                "circle_id",
                Rule::State,
                "can only be sent to a published circle's learners",
            ));
        }
        let id = new_id();
        self.write(|w| {
            w.insert(
                &CIRCLE_MESSAGES,
                &id,
                &[("circle_id", text(circle_id)), ("subject", text(subject.trim())), ("body", text(body.trim()))],
            )
        })?;
        Ok(id)
    }

    /// A circle's messages, newest first.
    pub fn circle_messages(&self, circle_id: &str) -> Result<Vec<CircleMessage>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, circle_id, subject, body, created_at FROM circle_messages
             WHERE circle_id = ?1 AND deleted = 0 ORDER BY created_at DESC, id DESC",
        )?;
        let rows = stmt
            .query_map([circle_id], |r| {
                Ok(CircleMessage {
                    id: r.get(0)?,
                    circle_id: r.get(1)?,
                    subject: r.get(2)?,
                    body: r.get(3)?,
                    created_at: r.get(4)?,
                    waiting_for_sync: false,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|mut m| {
                m.waiting_for_sync = self.row_waiting(CIRCLE_MESSAGES.name, &m.id)?;
                Ok(m)
            })
            .collect()
    }

    /// Learners' answers to a meeting's reminder.
    pub fn meeting_rsvps(&self, meeting_id: &str) -> Result<Vec<MeetingRsvp>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT learner_id, answer, answered_at FROM meeting_rsvps
             WHERE meeting_id = ?1 AND deleted = 0 ORDER BY answered_at, learner_id",
        )?;
        let rows = stmt
            .query_map([meeting_id], |r| {
                Ok(MeetingRsvp { learner_id: r.get(0)?, answer: r.get(1)?, answered_at: r.get(2)? })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// What the server sent a circle's learners, newest first.
    pub fn deliveries(&self, circle_id: &str) -> Result<Vec<Delivery>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.learner_id, coalesce(l.name, ''), d.meeting_id, d.message_id, d.kind, d.channel, d.status,
                    d.problem, d.at
             FROM deliveries d LEFT JOIN learners l ON l.id = d.learner_id
             WHERE d.circle_id = ?1 AND d.deleted = 0 ORDER BY d.at DESC, d.id",
        )?;
        let rows = stmt
            .query_map(params![circle_id], |r| {
                Ok(Delivery {
                    learner_id: r.get(0)?,
                    learner_name: r.get(1)?,
                    meeting_id: r.get(2)?,
                    message_id: r.get(3)?,
                    kind: r.get(4)?,
                    channel: r.get(5)?,
                    status: r.get(6)?,
                    problem: r.get(7)?,
                    at: r.get(8)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Everything the Messages panel shows for a circle at `now`.
    pub fn circle_outgoing(&self, circle_id: &str, now: DateTime<Utc>) -> Result<CircleMessages> {
        let circle = self.circle(circle_id)?;
        let tz = crate::domain::schedule::parse_time_zone(&circle.fields.time_zone)?;
        let meetings = self.meetings(circle_id)?;
        let learners = self.learners(circle_id)?;
        let hours = circle.fields.reminder_hours;
        let deliveries = self.deliveries(circle_id)?;
        Ok(CircleMessages {
            reminder_hours: hours,
            planned: planned_reminders(&meetings, &learners, &deliveries, hours, tz, now),
            messages: self.circle_messages(circle_id)?,
            deliveries,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn reachable() -> Reachable<'static> {
        Reachable {
            email: "ana@example.org",
            mobile: "+13125550143",
            consent: true,
            email_opt_out: false,
            sms_opt_out: false,
            enrolled: true,
            erased: false,
        }
    }

    #[test]
    fn a_learner_hears_only_with_consent_a_place_and_no_opt_out() {
        assert_eq!(channels(&reachable()), [Channel::Email, Channel::Sms]);
        assert!(channels(&Reachable { consent: false, ..reachable() }).is_empty());
        assert!(channels(&Reachable { enrolled: false, ..reachable() }).is_empty());
        assert!(channels(&Reachable { erased: true, ..reachable() }).is_empty());
        assert_eq!(channels(&Reachable { sms_opt_out: true, ..reachable() }), [Channel::Email]);
        assert_eq!(channels(&Reachable { email_opt_out: true, mobile: "", ..reachable() }), []);
        assert_eq!(channels(&Reachable { email: " ", ..reachable() }), [Channel::Sms]);
    }

    #[test]
    fn a_reminder_goes_out_its_hours_before_the_instant_across_a_clock_change() {
        // Chicago leaves daylight saving on 2026-11-01: a meeting at 18:30 on
        // Monday 2 November, reminded 48 hours before, goes out 48 real
        // hours earlier: 19:30 local on Saturday 31 October, still summer time.
        let tz: chrono_tz::Tz = "America/Chicago".parse().unwrap();
        let start = tz.with_ymd_and_hms(2026, 11, 2, 18, 30, 0).unwrap().with_timezone(&Utc);
        let due = reminder_due(start, 48).unwrap();
        assert_eq!(due.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(), "2026-10-31 19:30");
        assert_eq!(reminder_due(start, 0), None);
    }

    #[test]
    fn derived_ids_make_a_second_answer_the_same_row() {
        assert_eq!(rsvp_id("m", "l"), rsvp_id("m", "l"));
        assert_ne!(rsvp_id("m", "l"), rsvp_id("l", "m"));
        assert_ne!(delivery_id("reminder", "m", "l", Channel::Email), delivery_id("reminder", "m", "l", Channel::Sms));
    }
}
