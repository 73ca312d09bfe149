//! `circles feedback ...`: how a meeting went, and which meetings are still
//! waiting for it.

use anyhow::{anyhow, Result};
use chrono::{DateTime, Utc};
use circles_core::FeedbackInput;
use circles_core::{reflection_prompts, resolve_reflection_prompt};
use clap::{Args, Subcommand};

use crate::commands::{describe_meeting, meeting_when};
use crate::output::{clip, print_fields, print_json, Table};
use crate::Ctx;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct FeedbackArgs {
    #[command(subcommand)]
    pub command: Option<FeedbackCommand>,
    /// The meeting the feedback is about.
    #[arg(required = true)]
    pub meeting: Option<String>,
    /// How did it go? 1 (badly) to 5 (very well).
    #[arg(long, value_name = "1-5")]
    pub rating: Option<u8>,
    /// Your reflection.
    #[arg(long)]
    pub reflection: Option<String>,
    /// The question the reflection answers: a prompt number (1-5) or id from `feedback prompts`, or your own.
    #[arg(long)]
    pub prompt: Option<String>,
    /// A note for next week: it appears in the next meeting's guide.
    #[arg(long, value_name = "TEXT")]
    pub next_week: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum FeedbackCommand {
    /// Meetings that have ended and have no feedback yet, most recent first.
    Pending {
        /// As of this instant instead of now (RFC 3339, e.g. 2026-03-10T17:00:00Z).
        #[arg(long, value_name = "INSTANT")]
        at: Option<String>,
    },
    /// A meeting's feedback and the attendance taken.
    Show { meeting: String },
    /// The reflection prompts, in a circle's language.
    Prompts {
        /// A language code (en, es, pt); default en.
        #[arg(long, default_value = "en")]
        language: String,
    },
}

fn instant(at: Option<&str>) -> Result<DateTime<Utc>> {
    match at {
        Some(text) => Ok(DateTime::parse_from_rfc3339(text)
            .map_err(|e| anyhow!("invalid instant {text:?} ({e}): expected RFC 3339, such as 2026-03-10T17:00:00Z"))?
            .to_utc()),
        None => Ok(Utc::now()),
    }
}

pub fn run(ctx: &mut Ctx, args: FeedbackArgs) -> Result<()> {
    match args.command {
        Some(FeedbackCommand::Pending { at }) => pending(ctx, instant(at.as_deref())?),
        Some(FeedbackCommand::Show { meeting }) => show(ctx, &meeting),
        Some(FeedbackCommand::Prompts { language }) => {
            let prompts = reflection_prompts(&language);
            if ctx.json {
                return print_json(&prompts);
            }
            for (i, p) in prompts.iter().enumerate() {
                say!("{}. {}  ({})", i + 1, p.text, p.id)?;
            }
            Ok(())
        }
        None => give(ctx, args),
    }
}

fn give(ctx: &mut Ctx, args: FeedbackArgs) -> Result<()> {
    let meeting = args.meeting.as_deref().ok_or_else(|| anyhow!("which meeting? give its id"))?;
    let id = ctx.meeting_id(meeting)?;
    if args.rating.is_none() && args.reflection.is_none() && args.next_week.is_none() && args.prompt.is_none() {
        return Err(anyhow!("nothing to record: give --rating, --reflection, --prompt or --next-week"));
    }
    let meeting = ctx.store.meeting(&id)?;
    let circle = ctx.store.circle(&meeting.circle_id)?;
    // Only the options given change; the rest of earlier feedback stays.
    let mut input = ctx.store.meeting_feedback(&id)?.map(|f| f.fields).unwrap_or_default();
    if let Some(rating) = args.rating {
        input.rating = Some(rating);
    }
    if let Some(reflection) = args.reflection {
        input.reflection = reflection;
    }
    if let Some(prompt) = args.prompt {
        input.reflection_prompt = resolve_reflection_prompt(&circle.fields.language, &prompt);
    }
    if let Some(note) = args.next_week {
        input.next_week_note = note;
    }
    ctx.store.set_meeting_feedback(&id, &input)?;
    let saved = ctx.store.meeting_feedback(&id)?;
    if ctx.json {
        return print_json(&saved);
    }
    say!("Saved the feedback on {}.", describe_meeting(&ctx.store, &meeting)?)?;
    if !input.next_week_note.trim().is_empty() {
        say!("The note for next week will show in the next meeting's guide.")?;
    }
    Ok(())
}

fn show(ctx: &Ctx, meeting: &str) -> Result<()> {
    let id = ctx.meeting_id(meeting)?;
    let form = ctx.store.feedback_form(&id, Utc::now())?;
    if ctx.json {
        return print_json(&form);
    }
    say!("{} — {}", form.circle_name, meeting_when(&form.meeting))?;
    let f: FeedbackInput = form.feedback.clone().map(|f| f.fields).unwrap_or_default();
    let a = &form.attendance;
    let attendance = format!(
        "{} attended ({} present, {} late), {} excused, {} absent, {} not marked{}",
        a.attended(),
        a.present,
        a.late,
        a.excused,
        a.absent,
        form.unmarked,
        form.head_count.map(|n| format!("; head count {n}")).unwrap_or_default()
    );
    print_fields(&[
        ("rating", f.rating.map(|r| format!("{r}/5")).unwrap_or_else(|| "not given".into())),
        ("prompt", f.reflection_prompt),
        ("reflection", f.reflection),
        ("next week", f.next_week_note),
        ("attendance", attendance),
    ])?;
    if form.feedback.is_none() {
        say!("No feedback yet. Prompts:")?;
        for (i, p) in form.prompts.iter().enumerate() {
            say!("  {}. {}", i + 1, p.text)?;
        }
    }
    Ok(())
}

fn pending(ctx: &Ctx, now: DateTime<Utc>) -> Result<()> {
    let waiting = ctx.store.meetings_awaiting_feedback(now)?;
    if ctx.json {
        return print_json(&waiting);
    }
    if waiting.is_empty() {
        say!("No meeting is waiting for feedback.")?;
        return Ok(());
    }
    let mut table = Table::new(&["MEETING ID", "CIRCLE", "#", "WHEN", "TIME ZONE", "NOTES"]);
    for w in &waiting {
        table.row(vec![
            w.meeting.id.clone(),
            w.circle_name.clone(),
            w.meeting.number.to_string(),
            meeting_when(&w.meeting),
            w.time_zone.clone(),
            clip(&w.meeting.notes, 30),
        ]);
    }
    table.print()?;
    say!("Give feedback with `circles feedback MEETING_ID --rating 1-5 --reflection \"...\"`.")?;
    Ok(())
}
