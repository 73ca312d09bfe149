//! `circles wrapup CIRCLE ...`: how a circle ended.

use anyhow::{anyhow, Result};
use chrono::{DateTime, Utc};
use circles_core::{CircleOutcome, WrapUp, WrapUpInput};
use clap::Args;

use crate::output::{print_fields, print_json};
use crate::Ctx;

#[derive(Debug, Args)]
pub struct WrapupArgs {
    pub circle: String,
    /// The circle ran to its end (only once its last meeting has ended).
    #[arg(long, conflicts_with = "did_not_happen")]
    pub completed: bool,
    /// The circle did not happen.
    #[arg(long)]
    pub did_not_happen: bool,
    /// What you wanted to achieve with this circle.
    #[arg(long)]
    pub goal: Option<String>,
    /// How well you reached your goal, 1 (not at all) to 5 (fully).
    #[arg(long, value_name = "1-5")]
    pub goal_rating: Option<u8>,
    /// How good the course was for a learning circle, 1 to 5.
    #[arg(long, value_name = "1-5")]
    pub course_rating: Option<u8>,
    /// Why you rated the course so.
    #[arg(long)]
    pub reason: Option<String>,
    /// As of this instant instead of now (RFC 3339).
    #[arg(long, value_name = "INSTANT")]
    pub at: Option<String>,
}

pub fn run(ctx: &mut Ctx, args: WrapupArgs) -> Result<()> {
    let id = ctx.circle_id(&args.circle)?;
    let now = match &args.at {
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map_err(|e| anyhow!("invalid instant {text:?} ({e}): expected RFC 3339, such as 2026-03-10T17:00:00Z"))?
            .to_utc(),
        None => Utc::now(),
    };
    let current = ctx.store.circle_wrap_up(&id, now)?;
    let outcome = match (args.completed, args.did_not_happen) {
        (true, _) => Some(CircleOutcome::Completed),
        (_, true) => Some(CircleOutcome::DidNotHappen),
        _ => None,
    };
    let Some(outcome) = outcome else {
        if args.goal.is_some() || args.goal_rating.is_some() || args.course_rating.is_some() || args.reason.is_some() {
            return Err(anyhow!("say how the circle ended: --completed or --did-not-happen"));
        }
        return show(ctx, &current);
    };
    let input = WrapUpInput {
        outcome,
        facilitator_goal: args.goal.unwrap_or(current.facilitator_goal),
        goal_rating: args.goal_rating.or(current.goal_rating),
        course_rating: args.course_rating.or(current.course_rating),
        course_rating_reason: args.reason.unwrap_or(current.course_rating_reason),
    };
    let wrap = ctx.store.wrap_up_at(&id, &input, now)?;
    if ctx.json {
        return print_json(&wrap);
    }
    let name = ctx.store.circle(&id)?.fields.name;
    match outcome {
        CircleOutcome::Completed => say!("Wrapped up \"{name}\": completed.")?,
        CircleOutcome::DidNotHappen => say!("Recorded that \"{name}\" did not happen.")?,
    }
    Ok(())
}

fn show(ctx: &Ctx, wrap: &WrapUp) -> Result<()> {
    if ctx.json {
        return print_json(wrap);
    }
    let outcome = match wrap.outcome {
        Some(CircleOutcome::Completed) => "completed".to_string(),
        Some(CircleOutcome::DidNotHappen) => "did not happen".to_string(),
        None if wrap.can_complete => "not wrapped up yet (the last meeting has ended)".to_string(),
        None => match wrap.last_meeting_ends_at {
            Some(at) => format!("not wrapped up (the last meeting ends {})", at.format("%Y-%m-%d %H:%M UTC")),
            None => "not wrapped up (no meetings)".to_string(),
        },
    };
    print_fields(&[
        ("outcome", outcome),
        ("goal", wrap.facilitator_goal.clone()),
        ("goal rating", wrap.goal_rating.map(|r| format!("{r}/5")).unwrap_or_default()),
        ("course rating", wrap.course_rating.map(|r| format!("{r}/5")).unwrap_or_default()),
        ("reason", wrap.course_rating_reason.clone()),
    ])
}
