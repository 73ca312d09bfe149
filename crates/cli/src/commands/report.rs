//! `circles report circle|team|sign-in-sheet ...`: the figures a facilitator
//! or an organizer hands on, as a summary, CSV, JSON or PDF, and the sheet
//! learners sign at each meeting.

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use circles_core::schema::TEAMS;
use circles_core::sync::team_admin;
use circles_core::{circle_report_pdf, sign_in_sheet_pdf, team_report_pdf};
use circles_core::{write_circle_csv, write_team_csv, CircleReport, Figures, TeamReport};
use clap::{Subcommand, ValueEnum};

use crate::commands::guide::{write_pdf, PdfArgs};
use crate::commands::parse_date;
use crate::output::{Data, Table};
use crate::Ctx;

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// One circle: attendance per meeting, retention, learners who came to half, ratings over time.
    Circle {
        id: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        #[command(flatten)]
        pdf: PdfArgs,
    },
    /// A team over a period: circles run, meetings held, unique learners, attendance by month and venue.
    Team {
        id: String,
        /// First day of the period, YYYY-MM-DD (local dates of each circle).
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: String,
        /// Last day of the period, YYYY-MM-DD (included).
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        #[command(flatten)]
        pdf: PdfArgs,
    },
    /// A circle's printed sign-in sheet as PDF: one page per meeting that is not cancelled (or the one
    /// --meeting names), the enrolled learners by name with a box each, blank rows for walk-ins.
    SignInSheet {
        circle: String,
        /// Only this meeting (an id or its unique prefix; one of this circle's meetings).
        #[arg(long, value_name = "MEETING")]
        meeting: Option<String>,
        #[command(flatten)]
        pdf: PdfArgs,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A summary for the terminal.
    Text,
    Csv,
    Json,
    Pdf,
}

pub fn run(ctx: &Ctx, command: ReportCommand) -> Result<()> {
    match command {
        ReportCommand::Circle { id, format, pdf } => {
            let report = ctx.store.circle_report(&ctx.circle_id(&id)?)?;
            let what = format!("the report of \"{}\"", report.circle.name);
            match format {
                Format::Text if !ctx.json => circle_text(&report),
                Format::Text | Format::Json => emit(ctx, json(&report)?.as_bytes(), Data::Json, pdf.out, &what),
                Format::Csv => {
                    let mut out = Vec::new();
                    write_circle_csv(&report, &mut out)?;
                    emit(ctx, &out, Data::Bytes, pdf.out, &what)
                }
                Format::Pdf => write_pdf(ctx, &circle_report_pdf(&report, &pdf.options()?), pdf.out.as_ref(), &what),
            }
        }
        ReportCommand::Team { id, from, to, format, pdf } => {
            let team = ctx.store.resolve_id(&TEAMS, &id)?;
            // Asks the server whose laptops are behind when signed in.
            let report = team_admin::team_report_checked(&ctx.store, &team, parse_date(&from)?, parse_date(&to)?)?;
            let what = format!("the report of {}", report.team.name);
            match format {
                Format::Text if !ctx.json => team_text(&report),
                Format::Text | Format::Json => emit(ctx, json(&report)?.as_bytes(), Data::Json, pdf.out, &what),
                Format::Csv => {
                    let mut out = Vec::new();
                    write_team_csv(&report, &mut out)?;
                    emit(ctx, &out, Data::Bytes, pdf.out, &what)
                }
                Format::Pdf => write_pdf(ctx, &team_report_pdf(&report, &pdf.options()?), pdf.out.as_ref(), &what),
            }
        }
        ReportCommand::SignInSheet { circle, meeting, pdf } => {
            let options = pdf.options()?;
            let circle = ctx.circle_id(&circle)?;
            let meeting = meeting.map(|m| ctx.meeting_id(&m)).transpose()?;
            let sheet = ctx.store.sign_in_sheet(&circle, meeting.as_deref())?;
            let what = match sheet.meetings.as_slice() {
                [one] => format!("the sign-in sheet of \"{}\", meeting {}", sheet.circle_name, one.number),
                all => format!("the sign-in sheet of \"{}\" ({} meetings)", sheet.circle_name, all.len()),
            };
            write_pdf(ctx, &sign_in_sheet_pdf(&sheet, &options), pdf.out.as_ref(), &what)
        }
    }
}

fn json(value: &impl serde::Serialize) -> Result<String> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(text)
}

/// To stdout, or to a file (made in memory first: no half-written file).
fn emit(ctx: &Ctx, bytes: &[u8], data: Data, out: Option<PathBuf>, what: &str) -> Result<()> {
    match out {
        None => crate::output::write_data(bytes, data),
        Some(path) => {
            std::fs::write(&path, bytes).map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
            if !ctx.json {
                say!("Wrote {what} to {}.", path.display())?;
            }
            Ok(())
        }
    }
}

fn percent(v: Option<f64>) -> String {
    v.map(|v| format!("{:.0}%", v * 100.0)).unwrap_or_else(|| "-".into())
}

fn decimal(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into())
}

fn circle_text(r: &CircleReport) -> Result<()> {
    let s = &r.summary;
    say!("{}", r.circle.name)?;
    say!(
        "Meetings held: {} of {} ({} cancelled) · learners: {} ({} withdrawn, {} walk-ins)",
        s.meetings_held,
        s.meetings_scheduled,
        s.meetings_cancelled,
        s.learners,
        s.learners_withdrawn,
        s.walk_ins
    )?;
    say!(
        "Attendances: {} · average per meeting: {} · attendance rate: {} · retention first to last: {}",
        s.attendances,
        decimal(s.average_attendance),
        percent(s.attendance_rate),
        percent(s.retention)
    )?;
    if let Some(half) = s.learners_at_least_half {
        say!("Came to at least half the meetings: {half} of {} learners", s.learners)?;
    }
    say!()?;
    let mut table = Table::new(&[
        "#",
        "DATE",
        "STATUS",
        "PRESENT",
        "LATE",
        "EXCUSED",
        "ABSENT",
        "HEAD COUNT",
        "ATTENDANCE",
        "RATING",
    ]);
    for m in &r.meetings {
        table.row(vec![
            m.number.to_string(),
            m.local_date.to_string(),
            if m.held { "held".into() } else { m.status.as_str().into() },
            m.marks.present.to_string(),
            m.marks.late.to_string(),
            m.marks.excused.to_string(),
            m.marks.absent.to_string(),
            m.head_count.map(|n| n.to_string()).unwrap_or_default(),
            m.attendance.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
            m.rating.map(|n| format!("{n}/5")).unwrap_or_default(),
        ]);
    }
    table.print()
}

fn team_text(r: &TeamReport) -> Result<()> {
    say!("{}: {} to {}", r.team.name, r.from, r.to)?;
    say!("{}", r.synced_line())?;
    say!("{}", r.laptops.line())?;
    let t = &r.totals;
    say!(
        "Circles run: {} · meetings held: {} · unique learners: {} · attendances: {} · rate: {} · average: {}",
        t.circles_run,
        t.meetings_held,
        t.unique_learners,
        t.attendances,
        percent(t.attendance_rate),
        decimal(t.average_attendance)
    )?;
    say!()?;
    let mut table = Table::new(&["GROUP", "NAME", "CIRCLES", "MEETINGS", "ATTENDANCES", "LEARNERS", "RATE", "AVERAGE"]);
    let mut row = |group: &str, name: &str, f: &Figures| {
        table.row(vec![
            group.into(),
            name.into(),
            f.circles_run.to_string(),
            f.meetings_held.to_string(),
            f.attendances.to_string(),
            f.unique_learners.to_string(),
            percent(f.attendance_rate),
            decimal(f.average_attendance),
        ])
    };
    for m in &r.by_month {
        row("month", &m.month, &m.figures);
    }
    for v in &r.by_venue {
        row("venue", &v.venue, &v.figures);
    }
    row("total", "", t);
    table.print()
}
