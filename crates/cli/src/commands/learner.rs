//! `circles learner ...`: people signed up to a circle.

use anyhow::{bail, Result};
use circles_core::schema::SIGNUP_ONLINE;
use circles_core::{Learner, LearnerInput};

use crate::args::{LearnerCommand, LearnerDetails};
use crate::commands::export::{emit, to_json};
use crate::commands::{print_created, print_done};
use crate::output::{clip, print_fields, print_json, yes_no, Data, Table};
use crate::Ctx;

pub fn run(ctx: &mut Ctx, command: LearnerCommand) -> Result<()> {
    match command {
        LearnerCommand::Add { circle, name, details } => {
            let circle_id = ctx.circle_id(&circle)?;
            let mut input = LearnerInput::new(name);
            apply(&details, &mut input);
            let id = ctx.store.add_learner(&circle_id, &input)?;
            print_created(ctx, &id)
        }
        LearnerCommand::List { circle } => {
            let learners = ctx.store.learners(&ctx.circle_id(&circle)?)?;
            list(ctx, &learners)
        }
        LearnerCommand::Show { id } => {
            let learner = ctx.store.learner(&ctx.learner_id(&id)?)?;
            show(ctx, &learner)
        }
        LearnerCommand::Edit { id, name, details } => {
            let id = ctx.learner_id(&id)?;
            let mut input = ctx.store.learner(&id)?.fields;
            if let Some(name) = name {
                input.name = name;
            }
            apply(&details, &mut input);
            ctx.store.update_learner(&id, &input)?;
            let learner = ctx.store.learner(&id)?;
            print_done(ctx, &format!("Updated {}.", learner.fields.name), &learner)
        }
        LearnerCommand::Withdraw { id, undo } => {
            let id = ctx.learner_id(&id)?;
            ctx.store.set_learner_withdrawn(&id, !undo)?;
            let learner = ctx.store.learner(&id)?;
            let message = if undo {
                format!("{} is back on the roster.", learner.fields.name)
            } else {
                format!("{} has withdrawn; their attendance history is kept.", learner.fields.name)
            };
            print_done(ctx, &message, &learner)
        }
        LearnerCommand::Admit { id } => {
            let id = ctx.learner_id(&id)?;
            ctx.store.admit_learner(&id)?;
            let learner = ctx.store.learner(&id)?;
            print_done(ctx, &format!("{} has a place now (off the waitlist).", learner.fields.name), &learner)
        }
        LearnerCommand::Export { id, out } => {
            let export = ctx.store.export_learner(&ctx.learner_id(&id)?)?;
            let what = format!("what this computer holds about {}", export.learner.fields.name);
            emit(ctx, to_json(&export)?.as_bytes(), Data::Json, out.as_deref(), &what)
        }
        LearnerCommand::Erase { id, yes } => {
            let id = ctx.learner_id(&id)?;
            if !yes {
                bail!(
                    "erasing {id} blanks their name, email, mobile, goals, support needs and signup answer on every \
                     computer and on the server, for good; run again with --yes to erase (nothing was changed)"
                );
            }
            let purged = ctx.store.erase_learner(&id)?;
            let learner = ctx.store.learner_or_deleted(&id)?;
            let message = format!(
                "Erased learner {id}: {} old values purged from this computer ({} backups scrubbed); the next sync \
                 erases them everywhere else.",
                purged.values, purged.backups
            );
            print_done(ctx, &message, &learner)
        }
        LearnerCommand::Delete { id } => {
            let learner = ctx.store.learner(&ctx.learner_id(&id)?)?;
            ctx.store.delete_learner(&learner.id)?;
            print_done(ctx, &format!("Deleted {}.", learner.fields.name), &learner)
        }
    }
}

/// Copy the options that were given onto a learner's fields.
fn apply(d: &LearnerDetails, input: &mut LearnerInput) {
    let text_fields = [
        (&d.email, &mut input.email),
        (&d.mobile, &mut input.mobile),
        (&d.goals, &mut input.goals),
        (&d.support_needs, &mut input.support_needs),
        (&d.answer, &mut input.question_answer),
    ];
    for (given, field) in text_fields {
        if let Some(value) = given {
            field.clone_from(value);
        }
    }
    let flags = [
        (d.consent, &mut input.consent),
        (d.walk_in, &mut input.walk_in),
        (d.email_opt_out, &mut input.email_opt_out),
        (d.sms_opt_out, &mut input.sms_opt_out),
    ];
    for (given, field) in flags {
        if let Some(value) = given {
            *field = value;
        }
    }
}

/// "signed up online, waitlist (#2)": what sets a learner apart on the roster.
fn status(learner: &Learner) -> String {
    let mut parts = Vec::new();
    if learner.signup_source == SIGNUP_ONLINE {
        parts.push("signed up online".to_string());
    }
    if learner.fields.walk_in {
        parts.push("walk-in".to_string());
    }
    if learner.fields.withdrawn {
        parts.push("withdrawn".to_string());
    } else if let Some(n) = learner.waitlist_position {
        parts.push(format!("waitlist (#{n})"));
    }
    parts.join(", ")
}

fn list(ctx: &Ctx, learners: &[Learner]) -> Result<()> {
    if ctx.json {
        return print_json(&learners);
    }
    if learners.is_empty() {
        say!("No learners yet. Add one with `circles learner add --circle ID --name NAME`.")?;
        return Ok(());
    }
    let mut table = Table::new(&["ID", "NAME", "EMAIL", "MOBILE", "CONSENT", "STATUS", "SUPPORT NEEDS"]);
    for l in learners {
        let f = &l.fields;
        table.row(vec![
            l.id.clone(),
            f.name.clone(),
            f.email.clone(),
            f.mobile.clone(),
            yes_no(f.consent),
            status(l),
            clip(&f.support_needs, 40),
        ]);
    }
    table.print()?;
    Ok(())
}

fn show(ctx: &Ctx, learner: &Learner) -> Result<()> {
    if ctx.json {
        return print_json(learner);
    }
    let f = &learner.fields;
    let circle = ctx.store.circle(&learner.circle_id)?;
    let opted_out = [("email", f.email_opt_out), ("text messages", f.sms_opt_out)]
        .iter()
        .filter(|(_, out)| *out)
        .map(|(what, _)| *what)
        .collect::<Vec<_>>()
        .join(", ");
    say!("{}", f.name)?;
    print_fields(&[
        ("id", learner.id.clone()),
        ("circle", circle.fields.name),
        ("status", status(learner)),
        ("email", f.email.clone()),
        ("mobile", f.mobile.clone()),
        ("consent", yes_no(f.consent)),
        ("opted out of", opted_out),
        ("goals", f.goals.clone()),
        ("support needs", f.support_needs.clone()),
        ("signup answer", f.question_answer.clone()),
        ("signed up", learner.created_at.clone()),
    ])?;
    Ok(())
}
