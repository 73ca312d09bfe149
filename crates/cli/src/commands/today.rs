//! `circles today`: what is on today, and what is next, for every circle.

use anyhow::{anyhow, Result};
use chrono::{DateTime, Utc};
use circles_core::schedule;

use crate::args::TodayArgs;
use crate::commands::{day_and_date, time_range};
use crate::output::{print_json, Table};
use crate::Ctx;

pub fn run(ctx: &Ctx, args: TodayArgs) -> Result<()> {
    let now = match &args.at {
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map_err(|e| anyhow!("invalid instant {text:?} ({e}): expected RFC 3339, such as 2026-03-10T17:00:00Z"))?
            .to_utc(),
        None => Utc::now(),
    };
    let upcoming = ctx.store.upcoming(now)?;
    if ctx.json {
        return print_json(&upcoming);
    }
    if upcoming.is_empty() {
        say!("No meetings today or ahead. Plan some with `circles schedule generate`.")?;
        return Ok(());
    }
    let mut table = Table::new(&["WHEN", "DATE", "TIME", "TIME ZONE", "CIRCLE", "MEETING", "WHERE", "MEETING ID"]);
    for u in &upcoming {
        let circle = ctx.store.circle(&u.circle_id)?;
        let meetings = ctx.store.meetings(&u.circle_id)?;
        let planned = meetings.iter().filter(|m| !m.is_cancelled()).count();
        let zone = schedule::parse_time_zone(&u.time_zone)?;
        let days_ahead = (u.meeting.local_date - schedule::local_today(now, zone)).num_days();
        let when = match days_ahead {
            0 => "TODAY".to_string(),
            1 => "tomorrow".to_string(),
            n => format!("in {n} days"),
        };
        let place = if circle.fields.online {
            format!("online {}", circle.fields.meeting_link)
        } else {
            circle.fields.venue.name.clone()
        };
        table.row(vec![
            when,
            day_and_date(u.meeting.local_date),
            time_range(&u.meeting.local_time, circle.fields.duration_minutes),
            u.time_zone.clone(),
            u.circle_name.clone(),
            format!("{} of {planned}", u.meeting.number),
            place,
            u.meeting.id.clone(),
        ]);
    }
    table.print()?;
    Ok(())
}
