//! `circles login | logout | remove-data | sync | status | conflicts`: the sync client.

use std::io::Read;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use circles_core::sync::account::SignOut;
use circles_core::sync::engine::{sync_with_retry, Phase, SyncError};
use circles_core::sync::http::HttpTransport;
use circles_core::sync::Resolution;

use crate::args::{ConflictCommand, KeepChoice, LoginArgs, RemoveDataArgs};
use crate::output::{clip, last_chars, print_fields, print_json, write_stderr, Table};
use crate::Ctx;

pub fn login(ctx: &mut Ctx, args: LoginArgs) -> Result<()> {
    // Before asking for a password: the demo never signs in, and plain
    // http:// to another computer only when the person said so.
    ctx.store.refuse_if_demo()?;
    circles_core::sync::account::refuse_plain_http(&args.server, args.allow_plain_http)
        .map_err(|e| anyhow::anyhow!("{e}\n(add --allow-plain-http to sign in anyway; nothing was sent)"))?;
    let password = match std::env::var("CIRCLES_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            let mut p = String::new();
            std::io::stdin().read_to_string(&mut p).context("cannot read the password from stdin")?;
            p.trim_end_matches(['\n', '\r']).to_string()
        }
    };
    if password.is_empty() {
        bail!("no password given: pipe it on stdin or set CIRCLES_PASSWORD");
    }
    let device_name = args.device_name.unwrap_or_else(circles_core::sync::account::default_device_name);
    let response = circles_core::sync::account::sign_in(
        &mut ctx.store,
        &args.server,
        &args.email,
        &password,
        &device_name,
        args.allow_plain_http,
    )?;
    if ctx.json {
        return print_json(&serde_json::json!({ "user_id": response.user_id, "name": response.name }));
    }
    say!("signed in as {} on {}", response.name, args.server)
}

pub fn logout(ctx: &mut Ctx) -> Result<()> {
    // Revoking on the server is best effort: offline, the token is still
    // forgotten here, and can be revoked later from another device.
    match circles_core::sync::account::sign_out(&mut ctx.store)? {
        SignOut::Revoked => say!("signed out; the token was revoked on the server"),
        SignOut::NotRevoked(e) => say!("signed out here; the server could not revoke the token ({e})"),
    }
}

pub fn remove_data(ctx: Ctx, args: RemoveDataArgs) -> Result<()> {
    if !args.yes {
        bail!(
            "this removes every Circles file in {} for good (add --yes to confirm); nothing was removed",
            ctx.data_dir.display()
        );
    }
    let removed = circles_core::sync::account::sign_out_and_remove(ctx.store, args.discard_waiting_changes)?;
    if ctx.json {
        return print_json(&serde_json::json!({
            "signed_out": removed.signed_out.is_some(),
            "revoked": matches!(removed.signed_out, Some(SignOut::Revoked)),
            "files": removed.wiped.files,
            "bytes": removed.wiped.bytes,
        }));
    }
    match removed.signed_out {
        Some(SignOut::Revoked) => say!("signed out; the token was revoked on the server")?,
        Some(SignOut::NotRevoked(e)) => say!("signed out here; the server could not revoke the token ({e})")?,
        None => {}
    }
    say!(
        "removed {} file(s) from {} ({} bytes overwritten, then deleted)",
        removed.wiped.files,
        ctx.data_dir.display(),
        removed.wiped.bytes
    )
}

pub fn sync(ctx: &mut Ctx) -> Result<()> {
    ctx.store.refuse_if_demo()?;
    let Some(account) = ctx.store.account()? else { bail!(SyncError::NotSignedIn) };
    // A daily copy in the data folder's backups/, before the data changes.
    if let Err(e) = ctx.store.backup_if_due() {
        tracing::warn!(error = %e, "the daily backup could not be written");
    }
    let transport = HttpTransport::new(&account.server_url, Some(account.token))?;
    let quiet = ctx.json;
    let report = sync_with_retry(&mut ctx.store, &transport, 3, Duration::from_millis(500), &mut |p| {
        if !quiet {
            let what = match p.phase {
                Phase::Pushing => "sent",
                Phase::Pulling => "received",
            };
            write_stderr(&format!("{what} {} of {}", p.done, p.total));
        }
    })?;
    if ctx.json {
        return print_json(&report);
    }
    say!(
        "synced: {} changes sent, {} received ({} applied), {} new conflicts{}",
        report.pushed,
        report.pulled,
        report.applied,
        report.new_conflicts,
        if report.refused > 0 { format!(", {} refused by the server", report.refused) } else { String::new() }
    )?;
    if report.revoked_circles > 0 {
        say!(
            "{} circles you no longer have access to were removed from this computer, with their learners and \
             attendance. Changes you made to them are kept: see `circles refused`.",
            report.revoked_circles
        )?;
    }
    Ok(())
}

pub fn status(ctx: &Ctx) -> Result<()> {
    let status = ctx.store.sync_status()?;
    let kept_aside = ctx.store.kept_aside()?;
    let demo = ctx.store.is_demo()?;
    let newer = ctx.store.newer_release(env!("CARGO_PKG_VERSION"))?;
    if ctx.json {
        let mut value = serde_json::to_value(&status)?;
        value["kept_aside_changes"] = serde_json::to_value(&kept_aside)?;
        value["demo"] = demo.into();
        value["newer_release"] = serde_json::to_value(&newer)?;
        return print_json(&value);
    }
    let account = match &status.account {
        _ if demo => "none: this is the demo, which never signs in or syncs".to_string(),
        Some(a) => format!("{} <{}> on {}", a.user_name, a.email, a.server_url),
        None => "not signed in".to_string(),
    };
    if let Some(release) = &newer {
        // The server's words reach the terminal only through printable.
        say!(
            "A newer version of Circles is available: {} (this is {}). Download it from {}\n",
            printable(&release.latest_version),
            env!("CARGO_PKG_VERSION"),
            printable(&release.download_url)
        )?;
    }
    print_fields(&[
        ("account", account),
        ("changes waiting", status.pending.to_string()),
        ("refused by the server", status.refused.to_string()),
        ("open conflicts", status.open_conflicts.to_string()),
        ("kept aside", status.kept_aside.to_string()),
        ("last synced", status.last_success.clone().unwrap_or_else(|| "never".into())),
        ("last error", status.last_error.clone().unwrap_or_else(|| "none".into())),
    ])?;
    if kept_aside.is_empty() {
        return Ok(());
    }
    say!(
        "\nChanges from the server this computer cannot apply (yet); every sync tries them again, \
         and everything else syncs:"
    )?;
    let mut table = Table::new(&["WHAT", "WHY", "TRIES", "SINCE"]);
    for kept in &kept_aside {
        let row_end: String = {
            let chars: Vec<char> = kept.row_id.chars().collect();
            chars[chars.len().saturating_sub(8)..].iter().collect()
        };
        table.row(vec![
            printable(&format!("{} {} {}", kept.table, row_end, kept.field)),
            printable(&kept.reason),
            kept.attempts.to_string(),
            printable(&kept.first_attempt),
        ]);
    }
    table.print()
}

/// Text from the server as it may be shown on a terminal: control
/// characters (escape sequences) written as escapes, never sent raw.
fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { c.escape_default().collect() } else { c.to_string() }).collect()
}

pub fn conflicts(ctx: &mut Ctx, command: ConflictCommand) -> Result<()> {
    match command {
        ConflictCommand::List { all } => {
            let conflicts = ctx.store.conflicts(all)?;
            if ctx.json {
                return print_json(&conflicts);
            }
            if conflicts.is_empty() {
                return say!("no open conflicts");
            }
            let mut table = Table::new(&["ID", "WHAT", "YOUR VALUE (LOST)", "KEPT VALUE", "STATE"]);
            for c in conflicts {
                table.row(vec![
                    c.id.clone(),
                    format!("{} {} {}", c.table, last_chars(&c.row_id, 8), c.field),
                    c.lost_value.to_string(),
                    c.won_value.to_string(),
                    c.resolution.unwrap_or_else(|| "open".into()),
                ]);
            }
            say!("{}", table.render())
        }
        ConflictCommand::Resolve { id, keep } => {
            let resolution = match keep {
                KeepChoice::Kept => Resolution::KeepWon,
                KeepChoice::Mine => Resolution::RestoreLost,
            };
            ctx.store.resolve_conflict(&id, resolution)?;
            say!("conflict {id} resolved; the choice syncs like any other edit")
        }
    }
}

/// `circles refused`: the changes kept here that the server will not take.
pub fn refused(ctx: &Ctx) -> Result<()> {
    let changes = ctx.store.refused_changes()?;
    if ctx.json {
        return print_json(&changes);
    }
    if changes.is_empty() {
        return say!("no refused changes: everything made here was sent or waits to be sent");
    }
    say!(
        "{} changes made here will not be sent (the server refused them, or they were made to a circle you no \
         longer have access to). `circles --json refused > refused.json` keeps them all.\n",
        changes.len()
    )?;
    let mut table = Table::new(&["MADE", "WHAT", "FIELD", "VALUE"]);
    for c in changes {
        table.row(vec![
            c.made_at.clone(),
            format!("{} {}", c.entity, last_chars(&c.row_id, 8)),
            c.field.clone(),
            clip(&c.value.to_string(), 48),
        ]);
    }
    say!("{}", table.render())
}
