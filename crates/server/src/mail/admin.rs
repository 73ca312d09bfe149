//! The command line's side of mail: `serve`'s mail flags (checked before
//! the server starts, with errors that name the flag) and the `mail`
//! subcommands: `test` (enqueue a test message), `list` (what the outbox
//! holds), `retry` (a failed message goes out again).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use lettre::message::Mailbox;

use super::{Email, Kind, MailUrl, WorkerConfig};
use crate::common::now_text;
use crate::storage::MailState;
use crate::SyncService;

/// `serve`'s mail flags.
#[derive(Debug, Clone, Args)]
pub struct MailServeArgs {
    /// Where mail goes: smtp://HOST:PORT (plain, for a local relay),
    /// smtp+starttls://USER:PASSWORD@HOST:587, smtps://USER:PASSWORD@HOST:465,
    /// or file:///path/dir (each message an .eml file, for development).
    /// Without it mail is off: messages wait in the outbox (`mail list`).
    #[arg(long, env = "CIRCLES_MAIL_URL")]
    pub mail_url: Option<String>,
    /// The address messages come from: `circles@example.org` or
    /// `"Circles <circles@example.org>"`. Needed with --mail-url.
    #[arg(long, env = "CIRCLES_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// This server's public address, the base of links in messages
    /// (https://circles.example.org).
    #[arg(long, env = "CIRCLES_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Tests: the first wait before a retry, in ms (then doubling, capped at 8x).
    #[arg(long, hide = true)]
    pub mail_backoff_ms: Option<u64>,
    /// Tests: how long a claim holds, in ms.
    #[arg(long, hide = true)]
    pub mail_lease_ms: Option<u64>,
    /// Tests: how often the worker looks for due messages, in ms.
    #[arg(long, hide = true)]
    pub mail_poll_ms: Option<u64>,
    /// Tests: messages claimed at once.
    #[arg(long, hide = true)]
    pub mail_batch: Option<usize>,
}

/// Mail as `serve` runs it.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub url: MailUrl,
    pub from: String,
    pub worker: WorkerConfig,
}

impl MailServeArgs {
    /// The settings, or None when mail is off. Errors name the flag.
    pub fn settings(&self) -> Result<Option<MailSettings>> {
        let Some(url) = &self.mail_url else {
            if self.mail_from.is_some() {
                tracing::warn!("--mail-from is set but --mail-url is not: mail is off");
            }
            return Ok(None);
        };
        let url = MailUrl::parse(url).context("--mail-url")?;
        let Some(from) = &self.mail_from else {
            bail!("--mail-from (or CIRCLES_MAIL_FROM) is needed with --mail-url: the address messages come from");
        };
        from.parse::<Mailbox>()
            .map_err(|e| anyhow::anyhow!("`{from}` is not an address ({e}); e.g. circles@example.org"))
            .context("--mail-from")?;
        Ok(Some(MailSettings { url, from: from.clone(), worker: self.worker() }))
    }

    /// How the outbox workers (mail's and SMS's) go about it: the defaults,
    /// or the tests' hidden flags.
    pub fn worker(&self) -> WorkerConfig {
        let mut worker = WorkerConfig::default();
        if let Some(ms) = self.mail_backoff_ms {
            worker.backoff.first = Duration::from_millis(ms);
            worker.backoff.cap = Duration::from_millis(ms.saturating_mul(8));
        }
        if let Some(ms) = self.mail_lease_ms {
            worker.lease = Duration::from_millis(ms);
            worker.send_timeout = worker.send_timeout.min(worker.lease / 2);
        }
        if let Some(ms) = self.mail_poll_ms {
            worker.poll = Duration::from_millis(ms);
        }
        if let Some(n) = self.mail_batch {
            worker.batch = n.max(1);
        }
        worker
    }
}

/// `circles-server mail ...`
#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Put a test message in the outbox; a running `serve` with --mail-url sends it.
    Test {
        #[arg(long)]
        to: String,
    },
    /// Messages in the outbox (mail and SMS), newest first.
    List {
        #[arg(long, value_parser = ["pending", "sending", "sent", "failed"])]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Send a failed message again (its attempts start over).
    Retry { id: String },
}

pub fn run(storage: &dyn SyncService, command: MailCommand) -> Result<()> {
    match command {
        MailCommand::Test { to } => {
            let email = Email::new(
                Kind::Test,
                &to,
                "Circles: a test message",
                "This is a test message from circles-server: its mail settings work.\n",
            );
            let mail = email.to_new_mail().context("--to")?;
            let (id, _) = storage.enqueue_mail(&mail)?;
            println!("{id}  queued for {to}");
            Ok(())
        }
        MailCommand::List { state, limit } => {
            let state = state.as_deref().and_then(MailState::parse);
            let messages = storage.mail_summaries(state, limit)?;
            println!("id  channel  to  subject  state  attempts  next attempt  last error");
            for m in messages {
                let next = if matches!(m.state, MailState::Pending | MailState::Sending) {
                    m.next_attempt_at.as_str()
                } else {
                    "-"
                };
                println!(
                    "{}  {}  {}  {}  {}  {}  {}  {}",
                    m.id,
                    m.channel.as_str(),
                    shown(&m.to),
                    if m.subject.is_empty() { "-".to_string() } else { shown(&m.subject) },
                    m.state.as_str(),
                    m.attempts,
                    next,
                    m.last_error.as_deref().map_or("-".to_string(), shown)
                );
            }
            Ok(())
        }
        MailCommand::Retry { id } => {
            storage.retry_mail(&id, &now_text())?;
            println!("message {id} is pending again");
            Ok(())
        }
    }
}

/// Text from outside (an SMTP server's answer) on one terminal line.
fn shown(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}
