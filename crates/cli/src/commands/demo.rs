//! `circles demo`: load the demo into the data folder.

use anyhow::Result;
use circles_core::DemoMode;

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
    say!("Try `circles today` and `circles circle list`.")?;
    Ok(())
}
