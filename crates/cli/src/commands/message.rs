//! `circles message ...`: what a circle's learners receive. Messages to all
//! of a circle's learners are written here, offline, and go out when the
//! server has them (after `circles sync`); `message list` shows the planned
//! reminders, the messages and what the server sent.

use anyhow::Result;
use clap::Subcommand;

use crate::commands::print_created;
use crate::output::{clip, print_json, Table};
use crate::Ctx;

#[derive(Debug, Subcommand)]
pub enum MessageCommand {
    /// Write a message to all of a circle's learners (those who agreed to be contacted); it goes
    /// out at the next sync. Prints its id.
    Send {
        /// The circle (its id, or a unique prefix of it).
        circle: String,
        /// The subject line.
        #[arg(long)]
        subject: String,
        /// The message itself.
        #[arg(long)]
        body: String,
    },
    /// A circle's planned reminders, its messages and what the server sent each learner.
    List {
        /// The circle (its id, or a unique prefix of it).
        circle: String,
    },
}

pub fn run(ctx: &mut Ctx, command: MessageCommand) -> Result<()> {
    match command {
        MessageCommand::Send { circle, subject, body } => {
            let circle_id = ctx.circle_id(&circle)?;
            let id = ctx.store.add_circle_message(&circle_id, &subject, &body)?;
            print_created(ctx, &id)
        }
        MessageCommand::List { circle } => {
            let circle_id = ctx.circle_id(&circle)?;
            let outgoing = ctx.store.circle_outgoing(&circle_id, chrono::Utc::now())?;
            if ctx.json {
                return print_json(&outgoing);
            }
            let zone = ctx.store.circle(&circle_id)?.fields.time_zone;
            if outgoing.reminder_hours == 0 {
                say!("Reminders are off for this circle.")?;
            } else if outgoing.planned.is_empty() {
                say!("No reminders to send: no scheduled meeting ahead.")?;
            } else {
                say!("Reminders, {} hours before each meeting ({zone}):", outgoing.reminder_hours)?;
                let mut table = Table::new(&["#", "MEETING", "GOES OUT", "EMAILS", "TEXTS", "MESSAGE"]);
                for r in &outgoing.planned {
                    table.row(vec![
                        r.meeting_number.to_string(),
                        format!("{} {}", r.meeting_date, r.meeting_time),
                        format!("{} {}", r.send_date, r.send_time),
                        r.emails.to_string(),
                        r.texts.to_string(),
                        clip(&r.message, 40),
                    ]);
                }
                table.print()?;
            }
            say!()?;
            if outgoing.messages.is_empty() {
                say!("No messages to the circle yet.")?;
            } else {
                say!("Messages to the circle:")?;
                let mut table = Table::new(&["ID", "WRITTEN", "SUBJECT", "STATE"]);
                for m in &outgoing.messages {
                    let state = if m.waiting_for_sync { "goes out at the next sync" } else { "sent to the server" };
                    table.row(vec![m.id.clone(), m.created_at.clone(), clip(&m.subject, 40), state.into()]);
                }
                table.print()?;
            }
            say!()?;
            if outgoing.deliveries.is_empty() {
                say!("Nothing sent yet.")?;
            } else {
                say!("Sent:")?;
                let mut table = Table::new(&["LEARNER", "WHAT", "CHANNEL", "WHEN", "RESULT"]);
                for d in &outgoing.deliveries {
                    let result = match (d.status.as_str(), d.problem.as_str()) {
                        ("sent", _) => "sent".to_string(),
                        (_, "bad_address") => "failed: bad address".to_string(),
                        (_, "refused") => "failed: refused by the mail server".to_string(),
                        (_, "gave_up") => "failed: gave up after many tries".to_string(),
                        (status, problem) => format!("{status} {problem}").trim().to_string(),
                    };
                    table.row(vec![d.learner_name.clone(), d.kind.clone(), d.channel.clone(), d.at.clone(), result]);
                }
                table.print()?;
            }
            Ok(())
        }
    }
}
