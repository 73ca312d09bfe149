//! One module per command group. Each turns arguments into a core call and
//! prints the outcome; helpers shared by several groups live here.

pub mod attendance;
pub mod backup;
pub mod check;
pub mod circle;
pub mod course;
pub mod demo;
pub mod export;
pub mod feedback;
pub mod guide;
pub mod info;
pub mod learner;
pub mod meeting;
pub mod message;
pub mod report;
pub mod sync;
pub mod team;
pub mod today;
pub mod wrapup;

use anyhow::Result;
use chrono::{NaiveDate, NaiveTime, TimeDelta};
use circles_core::schedule;
use circles_core::{Meeting, Store};
use serde::Serialize;

use crate::output::print_json;
use crate::Ctx;

/// Print a new row's id: alone on a line for scripts (`id=$(circles ...)`),
/// or as `{"id": ...}` with --json.
pub fn print_created(ctx: &Ctx, id: &str) -> Result<()> {
    if ctx.json {
        print_json(&serde_json::json!({ "id": id }))
    } else {
        say!("{id}")?;
        Ok(())
    }
}

/// Report a change: the changed record with --json, a sentence otherwise.
pub fn print_done(ctx: &Ctx, message: &str, record: &impl Serialize) -> Result<()> {
    if ctx.json {
        print_json(record)
    } else {
        say!("{message}")?;
        Ok(())
    }
}

/// A date typed on the command line, checked by core's rules.
pub fn parse_date(text: &str) -> Result<NaiveDate> {
    Ok(schedule::parse_date(text)?)
}

/// The first meeting's date: the given date, or with a weekday the first
/// such weekday on or after it ("Tuesdays from March 1st").
pub fn first_meeting_date(first_date: &str, weekday: Option<&str>) -> Result<NaiveDate> {
    let from = parse_date(first_date)?;
    Ok(match weekday {
        Some(day) => schedule::first_on_or_after(from, schedule::parse_weekday(day)?),
        None => from,
    })
}

/// "Tue 2026-03-10"
pub fn day_and_date(date: NaiveDate) -> String {
    date.format("%a %Y-%m-%d").to_string()
}

/// "18:00–19:30": a wall-clock span; the end wraps past midnight as a clock does.
pub fn time_range(start: &str, minutes: u32) -> String {
    match NaiveTime::parse_from_str(start, "%H:%M") {
        Ok(time) => {
            let (end, _) = time.overflowing_add_signed(TimeDelta::minutes(i64::from(minutes)));
            format!("{start}–{}", end.format("%H:%M"))
        }
        Err(_) => start.to_string(),
    }
}

/// "Tue 2026-03-10 18:00"
pub fn meeting_when(meeting: &Meeting) -> String {
    format!("{} {}", day_and_date(meeting.local_date), meeting.local_time)
}

/// "the meeting on Tue 2026-03-10 18:00 (Python Programming Basics)": a
/// meeting as a facilitator would name it.
pub fn describe_meeting(store: &Store, meeting: &Meeting) -> Result<String> {
    let circle = store.circle(&meeting.circle_id)?;
    Ok(format!("the meeting on {} ({})", meeting_when(meeting), circle.fields.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ranges_wrap_like_a_clock() {
        assert_eq!(time_range("18:00", 90), "18:00–19:30");
        assert_eq!(time_range("23:30", 60), "23:30–00:30");
    }

    #[test]
    fn weekday_picks_the_first_such_day_on_or_after() {
        let tuesday = first_meeting_date("2026-03-01", Some("tuesday")).unwrap();
        assert_eq!(tuesday.to_string(), "2026-03-03");
        assert_eq!(first_meeting_date("2026-03-03", Some("tue")).unwrap(), tuesday);
        assert!(first_meeting_date("2026-03-03", Some("someday")).is_err());
    }
}
