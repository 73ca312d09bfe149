//! `circles attendance ...`: one mark per learner per meeting.

use anyhow::Result;
use circles_core::{Mark, RosterEntry};

use crate::args::AttendanceCommand;
use crate::commands::{describe_meeting, meeting_when};
use crate::output::{print_json, Table};
use crate::Ctx;

pub fn run(ctx: &mut Ctx, command: AttendanceCommand) -> Result<()> {
    match command {
        AttendanceCommand::Mark { meeting, learner, mark } => {
            let mark = Mark::parse(&mark)?;
            let meeting_id = ctx.meeting_id(&meeting)?;
            let learner_id = ctx.learner_id(&learner)?;
            ctx.store.mark_attendance(&meeting_id, &learner_id, mark)?;
            let learner = ctx.store.learner(&learner_id)?;
            let label = describe_meeting(&ctx.store, &ctx.store.meeting(&meeting_id)?)?;
            if ctx.json {
                return print_json(&serde_json::json!({
                    "meeting_id": meeting_id,
                    "learner_id": learner_id,
                    "mark": mark,
                }));
            }
            say!("{}: {} at {label}.", learner.fields.name, mark.as_str())?;
            Ok(())
        }
        AttendanceCommand::Clear { meeting, learner } => {
            let meeting_id = ctx.meeting_id(&meeting)?;
            let learner_id = ctx.learner_id(&learner)?;
            ctx.store.clear_attendance(&meeting_id, &learner_id)?;
            if ctx.json {
                return print_json(&serde_json::json!({
                    "meeting_id": meeting_id,
                    "learner_id": learner_id,
                    "mark": null,
                }));
            }
            let learner = ctx.store.learner(&learner_id)?;
            let label = describe_meeting(&ctx.store, &ctx.store.meeting(&meeting_id)?)?;
            say!("Cleared the mark of {} at {label}.", learner.fields.name)?;
            Ok(())
        }
        AttendanceCommand::Roster { meeting } => {
            let meeting_id = ctx.meeting_id(&meeting)?;
            let roster = ctx.store.roster(&meeting_id)?;
            if ctx.json {
                return print_json(&roster);
            }
            let meeting = ctx.store.meeting(&meeting_id)?;
            let circle = ctx.store.circle(&meeting.circle_id)?;
            say!(
                "{}, meeting {} on {} ({})",
                circle.fields.name,
                meeting.number,
                meeting_when(&meeting),
                meeting.status.as_str()
            )?;
            if roster.is_empty() {
                say!("Nobody is on the roster yet.")?;
                return Ok(());
            }
            print_roster(&roster)?;
            say!("{}", totals(&roster))?;
            Ok(())
        }
    }
}

fn print_roster(roster: &[RosterEntry]) -> Result<()> {
    let mut table = Table::new(&["LEARNER ID", "NAME", "MARK", "ANSWER", "NOTE"]);
    for entry in roster {
        let f = &entry.learner.fields;
        let note = match (f.walk_in, f.withdrawn) {
            (_, true) => "withdrawn",
            (true, false) => "walk-in",
            _ => "",
        };
        table.row(vec![
            entry.learner.id.clone(),
            f.name.clone(),
            entry.mark.map(|m| m.as_str().to_string()).unwrap_or_else(|| "-".into()),
            // The learner's answer to the meeting's reminder: yes (coming), no (can't come).
            entry.rsvp.clone().unwrap_or_else(|| "-".into()),
            note.to_string(),
        ]);
    }
    table.print()
}

/// "7 present, 1 late, 1 excused, 1 not marked"
fn totals(roster: &[RosterEntry]) -> String {
    let mut parts: Vec<String> = Mark::ALL
        .iter()
        .map(|mark| (mark, roster.iter().filter(|e| e.mark == Some(*mark)).count()))
        .filter(|(_, n)| *n > 0)
        .map(|(mark, n)| format!("{n} {}", mark.as_str()))
        .collect();
    let unmarked = roster.iter().filter(|e| e.mark.is_none()).count();
    if unmarked > 0 {
        parts.push(format!("{unmarked} not marked"));
    }
    parts.join(", ")
}
