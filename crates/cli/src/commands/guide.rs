//! `circles guide ...`: a meeting's guide (show, print as a run sheet, edit
//! its sections) and facilitators' own templates.

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use circles_core::schema::GUIDE_TEMPLATES;
use circles_core::{run_sheet_pdf, Paper, PdfOptions, RunSheetOptions};
use circles_core::{GuideEdit, GuideSection, MeetingGuide};
use clap::{Args, Subcommand};

use crate::commands::{meeting_when, print_done, time_range};
use crate::output::{print_json, Table};
use crate::Ctx;

#[derive(Debug, Subcommand)]
pub enum GuideCommand {
    /// A meeting's guide: its sections with clock times, notes, last week's note and the timing check.
    Show { meeting: String },
    /// A meeting's one-page run sheet as PDF (to --out FILE, or stdout when it is not a terminal).
    Print {
        meeting: String,
        /// Add the meeting's sign-in sheet after the run sheet.
        #[arg(long)]
        include_sign_in: bool,
        #[command(flatten)]
        pdf: PdfArgs,
    },
    /// Change a section (numbered from 1 as `guide show` lists them); only the options given change.
    Edit {
        meeting: String,
        #[arg(long, value_name = "N")]
        section: usize,
        #[arg(long)]
        title: Option<String>,
        #[arg(long, value_name = "MINUTES")]
        minutes: Option<u32>,
        #[arg(long)]
        notes: Option<String>,
    },
    /// Move a section to another position.
    Move {
        meeting: String,
        #[arg(long, value_name = "N")]
        section: usize,
        #[arg(long, value_name = "N")]
        to: usize,
    },
    /// Add a section (at the end, or at position --at).
    Add {
        meeting: String,
        #[arg(long)]
        title: String,
        #[arg(long, value_name = "MINUTES")]
        minutes: u32,
        #[arg(long, default_value = "")]
        notes: String,
        #[arg(long, value_name = "N")]
        at: Option<usize>,
    },
    /// Remove a section.
    Remove {
        meeting: String,
        #[arg(long, value_name = "N")]
        section: usize,
    },
    /// Throw away the edits: the meeting gets its template's guide again.
    Reset { meeting: String },
    /// Write the guides a circle's meetings are missing (meetings made before guides existed).
    Derive { circle: String },
    /// Facilitator templates: save a circle's guides, use them for another circle.
    #[command(subcommand)]
    Template(TemplateCommand),
}

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Save a circle's guides as a template for your next circles; prints its id.
    Save {
        #[arg(long, value_name = "CIRCLE_ID")]
        circle: String,
        #[arg(long)]
        name: String,
        /// The middle meeting whose guide to keep (default: the latest one you edited).
        #[arg(long, value_name = "MEETING_ID")]
        middle_from: Option<String>,
    },
    /// The templates saved in this data folder.
    List,
    /// Make a circle's guides from a template (guides you edited stay as they are).
    Use {
        template: String,
        #[arg(long, value_name = "CIRCLE_ID")]
        circle: String,
    },
    /// Go back to the built-in templates for a circle.
    Clear {
        #[arg(long, value_name = "CIRCLE_ID")]
        circle: String,
    },
    /// Delete a template (circles made from it keep their guides).
    Delete { template: String },
}

#[derive(Debug, Args)]
pub struct PdfArgs {
    /// Write the PDF to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Paper size: letter or a4.
    #[arg(long, default_value = "letter", value_name = "letter|a4")]
    pub paper: String,
}

impl PdfArgs {
    pub fn options(&self) -> Result<PdfOptions> {
        let paper = Paper::parse(&self.paper)
            .ok_or_else(|| anyhow!("unknown paper size {:?}: use letter or a4", self.paper))?;
        Ok(PdfOptions { paper, made_on: Some(chrono::Local::now().date_naive()) })
    }
}

/// 1-based position typed by a person to core's 0-based index.
fn index(n: usize) -> Result<usize> {
    n.checked_sub(1).ok_or_else(|| anyhow!("sections are numbered from 1"))
}

pub fn run(ctx: &mut Ctx, command: GuideCommand) -> Result<()> {
    match command {
        GuideCommand::Show { meeting } => {
            let guide = ctx.store.guide(&ctx.meeting_id(&meeting)?)?;
            show(ctx, &guide)
        }
        GuideCommand::Print { meeting, include_sign_in, pdf } => {
            let options = pdf.options()?;
            let id = ctx.meeting_id(&meeting)?;
            let sheet = ctx.store.run_sheet_with(&id, RunSheetOptions { include_sign_in })?;
            let bytes = run_sheet_pdf(&sheet, &options);
            write_pdf(ctx, &bytes, pdf.out.as_ref(), &format!("the run sheet of meeting {}", sheet.number))
        }
        GuideCommand::Edit { meeting, section, title, minutes, notes } => {
            let edit = GuideEdit::Edit { index: index(section)?, title, minutes, notes };
            edited(ctx, &meeting, &edit, &format!("Changed section {section}."))
        }
        GuideCommand::Move { meeting, section, to } => {
            let edit = GuideEdit::Move { from: index(section)?, to: index(to)? };
            edited(ctx, &meeting, &edit, &format!("Moved section {section} to position {to}."))
        }
        GuideCommand::Add { meeting, title, minutes, notes, at } => {
            let at = at.map(index).transpose()?;
            let edit = GuideEdit::Add { at, section: GuideSection { title: title.clone(), minutes, notes } };
            edited(ctx, &meeting, &edit, &format!("Added \"{}\".", title.trim()))
        }
        GuideCommand::Remove { meeting, section } => {
            let edit = GuideEdit::Remove { index: index(section)? };
            edited(ctx, &meeting, &edit, &format!("Removed section {section}."))
        }
        GuideCommand::Reset { meeting } => {
            let guide = ctx.store.reset_meeting_guide(&ctx.meeting_id(&meeting)?)?;
            after_edit(ctx, &guide, &format!("The guide follows its template again ({}).", guide.template))
        }
        GuideCommand::Derive { circle } => {
            let id = ctx.circle_id(&circle)?;
            let written = ctx.store.derive_circle_guides(&id)?;
            print_done(ctx, &format!("Wrote {written} guides."), &serde_json::json!({ "written": written }))
        }
        GuideCommand::Template(command) => template(ctx, command),
    }
}

fn edited(ctx: &mut Ctx, meeting: &str, edit: &GuideEdit, message: &str) -> Result<()> {
    let guide = ctx.store.edit_meeting_guide(&ctx.meeting_id(meeting)?, edit)?;
    after_edit(ctx, &guide, message)
}

fn after_edit(ctx: &Ctx, guide: &MeetingGuide, message: &str) -> Result<()> {
    if ctx.json {
        return print_json(guide);
    }
    say!("{message} The sections add up to {} of {} minutes.", guide.total_minutes, guide.duration_minutes)?;
    if let Some(warning) = &guide.timing_warning {
        say!("warning: {warning}")?;
    }
    Ok(())
}

fn show(ctx: &Ctx, guide: &MeetingGuide) -> Result<()> {
    if ctx.json {
        return print_json(guide);
    }
    let meeting = ctx.store.meeting(&guide.meeting_id)?;
    let circle = ctx.store.circle(&guide.circle_id)?;
    let count = ctx.store.meetings(&circle.id)?.iter().filter(|m| !m.is_cancelled()).count();
    let position = match guide.kind {
        Some(kind) => format!("meeting {} of {count} ({} meeting)", guide.number, kind.as_str()),
        None => "a cancelled meeting".to_string(),
    };
    say!("{}: {position}", circle.fields.name)?;
    say!(
        "{}–{} ({})",
        meeting_when(&meeting),
        time_range(&meeting.local_time, guide.duration_minutes).split('–').nth(1).unwrap_or_default(),
        circle.fields.time_zone
    )?;
    let origin = match (guide.customized, guide.template.is_empty()) {
        (true, true) => "edited by hand".to_string(),
        (true, false) => format!("edited, from {}", guide.template),
        (false, _) => format!("from {}", guide.template),
    };
    say!("Guide {origin}{}", if guide.stored { "" } else { " (not saved yet)" })?;
    if let Some(note) = &guide.note_from_last_meeting {
        say!()?;
        say!("Note from the last meeting ({}):", note.local_date)?;
        for line in note.text.lines() {
            say!("  {line}")?;
        }
    }
    say!()?;
    let mut table = Table::new(&["#", "TIME", "MIN", "SECTION"]);
    let start = chrono::NaiveTime::parse_from_str(&meeting.local_time, "%H:%M").unwrap_or_default();
    let mut elapsed = 0i64;
    for (i, s) in guide.sections.iter().enumerate() {
        let (at, _) = start.overflowing_add_signed(chrono::TimeDelta::minutes(elapsed));
        table.row(vec![(i + 1).to_string(), at.format("%H:%M").to_string(), s.minutes.to_string(), s.title.clone()]);
        elapsed += i64::from(s.minutes);
    }
    let rendered = table.render();
    let mut lines = rendered.lines();
    say!("{}", lines.next().unwrap_or_default())?;
    // Each section's notes under its row.
    for (line, section) in lines.zip(&guide.sections) {
        say!("{line}")?;
        for note in section.notes.lines() {
            say!("      {note}")?;
        }
    }
    say!()?;
    say!("Total: {} of {} minutes.", guide.total_minutes, guide.duration_minutes)?;
    if let Some(warning) = &guide.timing_warning {
        say!("warning: {warning}")?;
    }
    Ok(())
}

fn template(ctx: &mut Ctx, command: TemplateCommand) -> Result<()> {
    match command {
        TemplateCommand::Save { circle, name, middle_from } => {
            let circle = ctx.circle_id(&circle)?;
            let middle = middle_from.map(|m| ctx.meeting_id(&m)).transpose()?;
            let id = ctx.store.save_guide_as_template(&circle, &name, middle.as_deref())?;
            crate::commands::print_created(ctx, &id)
        }
        TemplateCommand::List => {
            let templates = ctx.store.guide_templates()?;
            if ctx.json {
                return print_json(&templates);
            }
            if templates.is_empty() {
                say!("No templates yet. Save one with `circles guide template save --circle ID --name NAME`.")?;
                return Ok(());
            }
            let mut table = Table::new(&["ID", "NAME", "LANGUAGE", "MINUTES", "FIRST", "MIDDLE", "LAST"]);
            for t in &templates {
                let n = |s: &[GuideSection]| {
                    if s.is_empty() {
                        "built-in".to_string()
                    } else {
                        format!("{} sections", s.len())
                    }
                };
                table.row(vec![
                    t.id.clone(),
                    t.name.clone(),
                    t.language.clone(),
                    t.duration_minutes.to_string(),
                    n(&t.first),
                    n(&t.middle),
                    n(&t.last),
                ]);
            }
            table.print()
        }
        TemplateCommand::Use { template, circle } => {
            let template = ctx.store.resolve_id(&GUIDE_TEMPLATES, &template)?;
            let circle = ctx.circle_id(&circle)?;
            let changed = ctx.store.set_circle_guide_template(&circle, Some(&template))?;
            let name = ctx.store.guide_template(&template)?.name;
            print_done(
                ctx,
                &format!("The circle's guides now come from \"{name}\" ({changed} guides changed)."),
                &serde_json::json!({ "template": template, "changed": changed }),
            )
        }
        TemplateCommand::Clear { circle } => {
            let circle = ctx.circle_id(&circle)?;
            let changed = ctx.store.set_circle_guide_template(&circle, None)?;
            print_done(
                ctx,
                &format!("The circle's guides come from the built-in templates again ({changed} guides changed)."),
                &serde_json::json!({ "template": null, "changed": changed }),
            )
        }
        TemplateCommand::Delete { template } => {
            let id = ctx.store.resolve_id(&GUIDE_TEMPLATES, &template)?;
            let t = ctx.store.guide_template(&id)?;
            ctx.store.delete_guide_template(&id)?;
            print_done(ctx, &format!("Deleted the template \"{}\".", t.name), &t)
        }
    }
}

/// Write PDF bytes to a file, or to stdout when it is not a terminal.
pub fn write_pdf(ctx: &Ctx, bytes: &[u8], out: Option<&PathBuf>, what: &str) -> Result<()> {
    use std::io::IsTerminal;
    match out {
        Some(path) => {
            std::fs::write(path, bytes).map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
            if ctx.json {
                print_json(&serde_json::json!({ "file": path, "bytes": bytes.len() }))
            } else {
                say!("Wrote {what} to {}.", path.display())?;
                Ok(())
            }
        }
        None if std::io::stdout().is_terminal() => {
            Err(anyhow!("a PDF is not for the terminal: give --out FILE.pdf, or redirect the output to a file"))
        }
        None => crate::output::write_data(bytes, crate::output::Data::Bytes),
    }
}
