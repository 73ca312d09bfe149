//! `circles-server audit`: read the audit log (newest first, filtered by
//! time and event, as text or JSON lines), or trim it (`--prune-before`).
//! What is logged and why: protocol/audit_log.rs, docs/security.md.

use anyhow::{bail, Result};
use chrono::{DateTime, NaiveDate, Utc};
use circles_core::validate::shown;
use clap::Args;

use crate::common::time_text;
use crate::protocol::audit_log::AuditEvent;
use crate::storage::AuditQuery;
use crate::SyncService;

#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// Only entries from this day (2026-12-01, UTC) or time (RFC 3339) on.
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only one kind of entry (e.g. sign_in_failed, learner_erased).
    #[arg(long)]
    event: Option<String>,
    /// At most this many entries (1 to 10000).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=10_000))]
    limit: i64,
    /// One JSON object per line instead of columns.
    #[arg(long)]
    json: bool,
    /// Delete the entries before this day (UTC) instead of listing; the
    /// pruning itself is logged.
    #[arg(long, value_name = "DATE", conflicts_with_all = ["since", "event", "json"])]
    prune_before: Option<String>,
}

/// A day or a time as the log stores times (`common::time_text`).
fn moment(flag: &str, text: &str) -> Result<String> {
    let text = text.trim();
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(time_text(day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()));
    }
    match DateTime::parse_from_rfc3339(text) {
        Ok(t) => Ok(time_text(t.with_timezone(&Utc))),
        Err(_) => bail!("{flag} {:?} is neither a day (2026-12-01) nor a time (2026-12-01T09:30:00Z)", shown(text)),
    }
}

pub fn run(storage: &dyn SyncService, args: AuditArgs) -> Result<()> {
    if let Some(before) = &args.prune_before {
        let before = moment("--prune-before", before)?;
        if before > time_text(Utc::now()) {
            bail!("--prune-before {before} is in the future: that would delete today's entries too");
        }
        let n = storage.prune_audit(&before)?;
        println!("deleted {n} audit entries from before {before}");
        return Ok(());
    }
    let since = args.since.as_deref().map(|s| moment("--since", s)).transpose()?;
    if let Some(event) = &args.event {
        if AuditEvent::parse(event).is_none() {
            let known: Vec<&str> = AuditEvent::ALL.iter().map(|e| e.as_str()).collect();
            bail!("--event {:?} is not an audit event; known events: {}", shown(event), known.join(", "));
        }
    }
    let entries = storage.audit_entries(&AuditQuery { since, event: args.event.clone(), limit: args.limit })?;
    for e in &entries {
        if args.json {
            println!("{}", serde_json::to_string(e)?);
            continue;
        }
        // Typed text (an email someone tried) may hold anything: escaped.
        let actor = e.actor_email.as_deref().or(e.actor.as_deref()).unwrap_or("-");
        println!(
            "{}  {:<16}  {}  {}  {}  {}",
            e.at,
            e.event,
            shown(actor),
            if e.subject.is_empty() { "-".to_string() } else { shown(&e.subject) },
            e.address.as_deref().unwrap_or("-"),
            shown(&e.detail),
        );
    }
    if entries.is_empty() && !args.json {
        eprintln!("no audit entries match");
    }
    Ok(())
}
