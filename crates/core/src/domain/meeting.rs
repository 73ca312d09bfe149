//! Meetings: a circle's sessions, stored as local date and time in the
//! circle's zone so that daylight-saving changes never move them on the
//! wall clock. Rescheduling keeps a meeting's id (its attendance, guide and
//! feedback stay attached).

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::domain::circle::Circle;
use crate::domain::schedule::{self, LocalTimeResolution, MeetingSlot};
use crate::error::{CoreError, Result, Rule};
use crate::schema::{check_field, MEETINGS};
use crate::store::rows::{new_id, opt_int, text, WriteTx};
use crate::store::Store;

const ENTITY: &str = "meeting";
/// The most meetings one circle may have, as in the weekly generator.
pub const MAX_MEETINGS: usize = 52;
/// All meetings of a circle fall within this many days of each other: a
/// year of weekly meetings, plus room to move the last one by a week.
pub const MAX_SPAN_DAYS: i64 = 364;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum MeetingStatus {
    Scheduled,
    Held,
    Cancelled,
}

impl MeetingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingStatus::Scheduled => "scheduled",
            MeetingStatus::Held => "held",
            MeetingStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "scheduled" => Ok(MeetingStatus::Scheduled),
            "held" => Ok(MeetingStatus::Held),
            "cancelled" => Ok(MeetingStatus::Cancelled),
            other => Err(CoreError::invalid(
                ENTITY,
                "status",
                Rule::Choice,
                format!("\"{other}\" is not a meeting status; use scheduled, held or cancelled"),
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Meeting {
    pub id: String,
    pub circle_id: String,
    pub local_date: NaiveDate,
    /// "HH:MM" in the circle's zone.
    pub local_time: String,
    pub status: MeetingStatus,
    pub notes: String,
    pub head_count: Option<u32>,
    /// The facilitator's words for this meeting's reminder ('' = none).
    pub reminder_message: String,
    /// 1-based position among the circle's meetings that are not cancelled
    /// (0 for a cancelled one).
    pub number: u32,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// How the local time was mapped on a daylight-saving day.
    pub time_resolution: LocalTimeResolution,
}

impl Meeting {
    pub fn is_cancelled(&self) -> bool {
        self.status == MeetingStatus::Cancelled
    }

    pub fn weekday_name(&self) -> String {
        self.local_date.format("%A").to_string()
    }
}

/// A circle's meeting that is on today, or the next one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpcomingMeeting {
    pub circle_id: String,
    pub circle_name: String,
    pub time_zone: String,
    /// The meeting's date is today in the circle's zone.
    pub is_today: bool,
    pub meeting: Meeting,
}

struct MeetingRow {
    id: String,
    circle_id: String,
    local_date: String,
    local_time: String,
    status: String,
    notes: String,
    head_count: Option<u32>,
    reminder_message: String,
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<MeetingRow> {
    Ok(MeetingRow {
        id: r.get("id")?,
        circle_id: r.get("circle_id")?,
        local_date: r.get("local_date")?,
        local_time: r.get("local_time")?,
        status: r.get("status")?,
        notes: r.get("notes")?,
        head_count: r.get("head_count")?,
        reminder_message: r.get("reminder_message")?,
    })
}

const SELECT: &str =
    "SELECT id, circle_id, local_date, local_time, status, notes, head_count, reminder_message FROM meetings";

/// Insert one scheduled meeting inside a write (used by circle creation too).
pub(crate) fn insert_meeting(w: &mut WriteTx<'_>, circle_id: &str, date: NaiveDate, time: &str) -> Result<String> {
    let id = new_id();
    w.insert(
        &MEETINGS,
        &id,
        &[
            ("circle_id", text(circle_id)),
            ("local_date", text(&date.to_string())),
            ("local_time", text(time)),
            ("status", text(MeetingStatus::Scheduled.as_str())),
        ],
    )?;
    Ok(id)
}

/// The rules a circle's set of meeting dates must keep.
pub(crate) fn check_dates(dates: &[NaiveDate]) -> Result<()> {
    if dates.len() > MAX_MEETINGS {
        return Err(CoreError::invalid(
            ENTITY,
            "local_date",
            Rule::MeetingCount { min: 1, max: MAX_MEETINGS as u32 },
            format!("a circle has at most {MAX_MEETINGS} meetings; this would make {}", dates.len()),
        ));
    }
    let mut sorted = dates.to_vec();
    sorted.sort();
    if let Some(pair) = sorted.windows(2).find(|p| p[0] == p[1]) {
        return Err(CoreError::invalid(
            ENTITY,
            "local_date",
            Rule::Duplicate,
            format!("the circle already meets on {}", pair[0]),
        ));
    }
    if let (Some(first), Some(last)) = (sorted.first(), sorted.last()) {
        if (*last - *first).num_days() > MAX_SPAN_DAYS {
            return Err(CoreError::invalid(
                ENTITY,
                "local_date",
                Rule::State,
                format!(
                    "is outside the circle: its meetings must fall within {MAX_SPAN_DAYS} days of each other, \
                     and this would span {first} to {last}"
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) fn check_date(date: NaiveDate) -> Result<()> {
    schedule::validate_date(date).map_err(|e| CoreError::invalid(ENTITY, "local_date", e.rule(), e.to_string()))?;
    Ok(())
}

pub(crate) fn canonical_time(time: &str) -> Result<String> {
    schedule::parse_local_time(time)
        .map(|t| t.format("%H:%M").to_string())
        .map_err(|e| CoreError::invalid(ENTITY, "local_time", e.rule(), e.to_string()))
}

impl Store {
    /// A circle's meetings in date order, cancelled ones included.
    pub fn meetings(&self, circle_id: &str) -> Result<Vec<Meeting>> {
        let circle = self.circle(circle_id)?;
        let mut stmt = self
            .conn
            .prepare(&format!("{SELECT} WHERE circle_id = ?1 AND deleted = 0 ORDER BY local_date, local_time, id"))?;
        let rows = stmt.query_map([circle_id], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        let mut number = 0;
        rows.into_iter()
            .map(|row| {
                let cancelled = row.status == MeetingStatus::Cancelled.as_str();
                if !cancelled {
                    number += 1;
                }
                resolve(row, &circle, if cancelled { 0 } else { number })
            })
            .collect()
    }

    pub fn meeting(&self, id: &str) -> Result<Meeting> {
        let circle_id: String = self
            .conn
            .query_row("SELECT circle_id FROM meetings WHERE id = ?1 AND deleted = 0", [id], |r| r.get(0))
            .optional()?
            .ok_or_else(|| CoreError::not_found(ENTITY, id))?;
        self.meetings(&circle_id)?.into_iter().find(|m| m.id == id).ok_or_else(|| CoreError::not_found(ENTITY, id))
    }

    pub fn set_meeting_notes(&mut self, id: &str, notes: &str) -> Result<()> {
        check_field(&MEETINGS, "notes", notes)?;
        self.meeting(id)?;
        self.write(|w| w.update(&MEETINGS, id, &[("notes", text(notes))]))?;
        Ok(())
    }

    /// The facilitator's words for a meeting's reminder ('' removes them).
    /// Written offline; the server puts them in the reminder it sends.
    pub fn set_reminder_message(&mut self, id: &str, message: &str) -> Result<()> {
        check_field(&MEETINGS, "reminder_message", message)?;
        let meeting = self.meeting(id)?;
        if meeting.is_cancelled() && !message.trim().is_empty() {
            return Err(CoreError::invalid(
                ENTITY,
                "reminder_message",
                Rule::State,
                "cannot be written for a cancelled meeting: it sends no reminder",
            ));
        }
        self.write(|w| w.update(&MEETINGS, id, &[("reminder_message", text(message.trim()))]))?;
        Ok(())
    }

    /// Record a head count, for circles that count rather than mark each
    /// learner; `None` clears it.
    pub fn set_head_count(&mut self, id: &str, count: Option<u32>) -> Result<()> {
        let meeting = self.meeting(id)?;
        if meeting.is_cancelled() && count.is_some() {
            return Err(CoreError::invalid(
                ENTITY,
                "head_count",
                Rule::State,
                "cannot be recorded for a cancelled meeting",
            ));
        }
        check_field(&MEETINGS, "head_count", count)?;
        self.write(|w| w.update(&MEETINGS, id, &[("head_count", opt_int(count))]))?;
        Ok(())
    }

    pub(crate) fn refuse_if_attended(&self, meeting_id: &str, action: &str) -> Result<()> {
        let marks: i64 = self.conn.query_row(
            "SELECT count(*) FROM attendance WHERE meeting_id = ?1 AND deleted = 0",
            params![meeting_id],
            |r| r.get(0),
        )?;
        if marks > 0 {
            return Err(CoreError::invalid(
                ENTITY,
                "id",
                Rule::State,
                format!(
                    "meeting {meeting_id} has {marks} attendance marks; cancel it instead, or clear them to {action}"
                ),
            ));
        }
        Ok(())
    }

    /// The meeting that is on today or next for a circle, given its meetings.
    pub(crate) fn next_meeting_of<'m>(
        &self,
        circle: &Circle,
        meetings: &'m [Meeting],
        now: DateTime<Utc>,
    ) -> Result<Option<&'m Meeting>> {
        let tz = schedule::parse_time_zone(&circle.fields.time_zone)?;
        let slots = slots(meetings, circle.fields.duration_minutes);
        let found = schedule::meeting_today(&slots, now, tz).or_else(|| schedule::next_meeting(&slots, now, tz));
        Ok(found.map(|slot| &meetings[slot.id]))
    }

    /// The next meeting of a circle that has not ended yet (a meeting in
    /// progress counts), for lists that say "next meeting".
    pub(crate) fn next_unfinished_meeting<'m>(
        &self,
        circle: &Circle,
        meetings: &'m [Meeting],
        now: DateTime<Utc>,
    ) -> Result<Option<&'m Meeting>> {
        let tz = schedule::parse_time_zone(&circle.fields.time_zone)?;
        let slots = slots(meetings, circle.fields.duration_minutes);
        Ok(schedule::next_meeting(&slots, now, tz).map(|slot| &meetings[slot.id]))
    }

    /// For every circle, the meeting on today (in the circle's zone) or else
    /// the next one; soonest first.
    pub fn upcoming(&self, now: DateTime<Utc>) -> Result<Vec<UpcomingMeeting>> {
        let mut out = Vec::new();
        for circle in self.circles()? {
            let meetings = self.meetings(&circle.id)?;
            if let Some(m) = self.next_meeting_of(&circle, &meetings, now)? {
                let tz = schedule::parse_time_zone(&circle.fields.time_zone)?;
                out.push(UpcomingMeeting {
                    circle_id: circle.id.clone(),
                    circle_name: circle.fields.name.clone(),
                    time_zone: circle.fields.time_zone.clone(),
                    is_today: m.local_date == schedule::local_today(now, tz),
                    meeting: m.clone(),
                });
            }
        }
        out.sort_by_key(|u| u.meeting.starts_at);
        Ok(out)
    }
}

fn slots(meetings: &[Meeting], duration_minutes: u32) -> Vec<MeetingSlot<usize>> {
    meetings
        .iter()
        .enumerate()
        .map(|(i, m)| MeetingSlot {
            id: i,
            date: m.local_date,
            time: schedule::parse_local_time(&m.local_time).unwrap_or_default(),
            duration_minutes,
            cancelled: m.is_cancelled(),
        })
        .collect()
}

fn resolve(row: MeetingRow, circle: &Circle, number: u32) -> Result<Meeting> {
    let tz = schedule::parse_time_zone(&circle.fields.time_zone)?;
    let date = NaiveDate::parse_from_str(&row.local_date, "%Y-%m-%d")
        .map_err(|_| CoreError::Corrupt(format!("stored date \"{}\" is unreadable", row.local_date)))?;
    let time = schedule::parse_local_time(&row.local_time)?;
    let resolved = schedule::resolve_local(date, time, circle.fields.duration_minutes, tz);
    Ok(Meeting {
        id: row.id,
        circle_id: row.circle_id,
        local_date: date,
        local_time: row.local_time,
        status: MeetingStatus::parse(&row.status)?,
        notes: row.notes,
        head_count: row.head_count,
        reminder_message: row.reminder_message,
        number,
        starts_at: resolved.starts_at,
        ends_at: resolved.ends_at,
        time_resolution: resolved.resolution,
    })
}
