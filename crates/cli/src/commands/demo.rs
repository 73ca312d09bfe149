//! `circles demo`: load the demo into its own folder (or a given empty one),
//! or start it afresh.

use std::path::Path;

use anyhow::Result;
use circles_core::{DemoMode, DemoSummary};

use crate::args::DemoArgs;
use crate::commands::parse_date;
use crate::output::{print_json, Table};
use crate::Ctx;

pub fn run(ctx: &mut Ctx, args: DemoArgs) -> Result<()> {
    let mode = if args.force { DemoMode::AlongsideExistingData } else { DemoMode::OnlyIntoEmptyStore };
    // Without a date, each circle's "today" is the date in its own zone, so
    // the circle meant to meet today does so whatever the hour here.
    let summary = match &args.today {
        Some(text) => ctx.store.load_demo(parse_date(text)?, mode)?,
        None => ctx.store.load_demo_at(chrono::Utc::now(), mode)?,
    };
    if ctx.json {
        return print_json(&summary);
    }
    say!("Loaded the demo into {}:", ctx.data_dir.display())?;
    print_summary(&summary, &ctx.data_dir)
}

/// `circles demo --reset`: replace a demo folder with a fresh demo.
pub fn reset(data_dir: &Path, _args: &DemoArgs, json: bool) -> Result<()> {
    let store = circles_core::reset_demo(data_dir, chrono::Utc::now())?;
    if json {
        return print_json(&serde_json::json!({ "data_dir": data_dir, "circles": store.circles()?.len() }));
    }
    say!("Started the demo afresh in {}.", data_dir.display())?;
    say!("This folder is the demo: it never signs in or syncs.")?;
    say!("Try `circles --data-dir {} today`.", data_dir.display())?;
    Ok(())
}

fn print_summary(summary: &DemoSummary, data_dir: &Path) -> Result<()> {
    say!(
        "  team {}, {} courses, {} facilitators, {} learners, {} meetings, {} attendance marks",
        summary.team,
        summary.courses,
        summary.facilitators,
        summary.learners,
        summary.meetings,
        summary.attendance_marks
    )?;
    say!()?;
    let mut table = Table::new(&["ID", "CIRCLE", "TIME ZONE", "MEETINGS", "LEARNERS"]);
    for c in &summary.circles {
        table.row(vec![
            c.id.clone(),
            c.name.clone(),
            c.time_zone.clone(),
            c.meetings.to_string(),
            c.learners.to_string(),
        ]);
    }
    table.print()?;
    say!()?;
    if !summary.meets_today.is_empty() {
        let names: Vec<String> = summary.meets_today.iter().map(|name| format!("\"{name}\"")).collect();
        say!("Meeting today: {}.", names.join(", "))?;
    }
    say!("This folder is the demo: it never signs in or syncs.")?;
    say!("Try `circles --data-dir {dir} today` and `circles --data-dir {dir} circle list`.", dir = data_dir.display())?;
    Ok(())
}
