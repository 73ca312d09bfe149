//! `circles schedule ...` and `circles meeting ...`: a circle's meetings.

use anyhow::Result;
use circles_core::{Meeting, MeetingStatus, Store, WeeklyRule};

use crate::args::{MeetingCommand, ScheduleCommand};
use crate::commands::{
    day_and_date, describe_meeting, first_meeting_date, meeting_when, parse_date, print_created, print_done,
};
use crate::output::{clip, print_json, Table};
use crate::Ctx;

pub fn run_schedule(ctx: &mut Ctx, command: ScheduleCommand) -> Result<()> {
    match command {
        ScheduleCommand::Generate { circle, first_date, meetings, weekday, replace } => {
            let circle_id = ctx.circle_id(&circle)?;
            let rule = WeeklyRule { first_date: first_meeting_date(&first_date, weekday.as_deref())?, count: meetings };
            ctx.store.generate_schedule(&circle_id, &rule, replace)?;
            let meetings = ctx.store.meetings(&circle_id)?;
            if ctx.json {
                return print_json(&meetings);
            }
            let name = ctx.store.circle(&circle_id)?.fields.name;
            say!("Scheduled {} weekly meetings for \"{name}\":", meetings.len())?;
            print_meetings(&ctx.store, &circle_id, &meetings)
        }
        ScheduleCommand::List { circle } => {
            let circle_id = ctx.circle_id(&circle)?;
            let meetings = ctx.store.meetings(&circle_id)?;
            if ctx.json {
                return print_json(&meetings);
            }
            if meetings.is_empty() {
                say!("No meetings yet. Add them with `circles schedule generate --circle {circle_id}`.")?;
                return Ok(());
            }
            print_meetings(&ctx.store, &circle_id, &meetings)
        }
    }
}

pub fn run(ctx: &mut Ctx, command: MeetingCommand) -> Result<()> {
    match command {
        MeetingCommand::Add { circle, date, time } => {
            let circle_id = ctx.circle_id(&circle)?;
            let id = ctx.store.add_meeting(&circle_id, parse_date(&date)?, time.as_deref())?;
            print_created(ctx, &id)
        }
        MeetingCommand::Move { id, date, time } => {
            let id = ctx.meeting_id(&id)?;
            let before = describe_meeting(&ctx.store, &ctx.store.meeting(&id)?)?;
            ctx.store.reschedule_meeting(&id, parse_date(&date)?, time.as_deref())?;
            let meeting = ctx.store.meeting(&id)?;
            print_done(ctx, &format!("Moved {before} to {}.", meeting_when(&meeting)), &meeting)
        }
        MeetingCommand::Cancel { id } => set_status(ctx, &id, MeetingStatus::Cancelled, "Cancelled"),
        MeetingCommand::Restore { id } => set_status(ctx, &id, MeetingStatus::Scheduled, "Restored"),
        MeetingCommand::Held { id } => set_status(ctx, &id, MeetingStatus::Held, "Recorded as held:"),
        MeetingCommand::Remove { id } => {
            let meeting = ctx.store.meeting(&ctx.meeting_id(&id)?)?;
            let label = describe_meeting(&ctx.store, &meeting)?;
            ctx.store.remove_meeting(&meeting.id)?;
            print_done(ctx, &format!("Removed {label}."), &meeting)
        }
        MeetingCommand::Notes { id, text } => {
            let id = ctx.meeting_id(&id)?;
            ctx.store.set_meeting_notes(&id, &text)?;
            let meeting = ctx.store.meeting(&id)?;
            let label = describe_meeting(&ctx.store, &meeting)?;
            print_done(ctx, &format!("Saved the notes of {label}."), &meeting)
        }
        MeetingCommand::ReminderMessage { id, text } => {
            let id = ctx.meeting_id(&id)?;
            ctx.store.set_reminder_message(&id, &text)?;
            let meeting = ctx.store.meeting(&id)?;
            let label = describe_meeting(&ctx.store, &meeting)?;
            let message = if text.trim().is_empty() {
                format!("Removed the reminder's message of {label}.")
            } else {
                format!("Saved the reminder's message of {label}.")
            };
            print_done(ctx, &message, &meeting)
        }
        MeetingCommand::HeadCount { id, count, clear } => {
            let id = ctx.meeting_id(&id)?;
            let count = if clear { None } else { count };
            ctx.store.set_head_count(&id, count)?;
            let meeting = ctx.store.meeting(&id)?;
            let label = describe_meeting(&ctx.store, &meeting)?;
            let message = match count {
                Some(n) => format!("Head count at {label}: {n}."),
                None => format!("Cleared the head count at {label}."),
            };
            print_done(ctx, &message, &meeting)
        }
    }
}

fn set_status(ctx: &mut Ctx, given: &str, status: MeetingStatus, verb: &str) -> Result<()> {
    let id = ctx.meeting_id(given)?;
    ctx.store.set_meeting_status(&id, status)?;
    let meeting = ctx.store.meeting(&id)?;
    let label = describe_meeting(&ctx.store, &meeting)?;
    print_done(ctx, &format!("{verb} {label}."), &meeting)
}

/// A circle's meetings as a table, with how many attended each.
pub fn print_meetings(store: &Store, circle_id: &str, meetings: &[Meeting]) -> Result<()> {
    let marks = store.circle_marks(circle_id)?;
    let mut table = Table::new(&["ID", "#", "DATE", "TIME", "STATUS", "ATTENDED", "HEAD COUNT", "NOTES"]);
    for m in meetings {
        let at_meeting: Vec<_> = marks.iter().filter(|a| a.meeting_id == m.id).collect();
        let attended = if at_meeting.is_empty() {
            String::new()
        } else {
            let came = at_meeting.iter().filter(|a| a.mark.attended()).count();
            format!("{came} of {}", at_meeting.len())
        };
        table.row(vec![
            m.id.clone(),
            if m.number == 0 { "-".into() } else { m.number.to_string() },
            day_and_date(m.local_date),
            m.local_time.clone(),
            m.status.as_str().to_string(),
            attended,
            m.head_count.map(|n| n.to_string()).unwrap_or_default(),
            clip(&m.notes, 40),
        ]);
    }
    table.print()?;
    Ok(())
}
