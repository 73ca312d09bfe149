//! `circles team ...`: the teams this person is in and who is in them; an
//! organizer's invitations, removals and roles, which the server decides
//! (core's `sync::team_admin`); `circles password`.

use std::io::Read;

use anyhow::{bail, Context, Result};
use circles_core::schema::CIRCLES;
use circles_core::sync::team_admin;
use circles_core::sync::wire::{Invitation, TeamMembers};
use circles_core::TeamRole;

use crate::args::TeamCommand;
use crate::output::{clip, print_json, Table};
use crate::Ctx;

pub fn run(ctx: &mut Ctx, command: TeamCommand) -> Result<()> {
    match command {
        TeamCommand::List => {
            let teams = ctx.store.my_teams()?;
            if ctx.json {
                return print_json(&teams);
            }
            if teams.is_empty() {
                return say!("You are in no team yet: an organizer can invite you.");
            }
            let mut table = Table::new(&["ID", "NAME"]);
            for t in &teams {
                table.row(vec![t.id.clone(), clip(&t.name, 48)]);
            }
            table.print()
        }
        TeamCommand::Members { team } => members(ctx, &team),
        TeamCommand::Invite { team, email, link: _, circle, organizer } => {
            let team = ctx.store.find_team(&team)?;
            let circle = circle.map(|c| ctx.store.resolve_id(&CIRCLES, &c)).transpose()?;
            let role = if organizer { TeamRole::Organizer } else { TeamRole::Member };
            let invitation = team_admin::invite(&ctx.store, &team.id, email.as_deref(), circle.as_deref(), role)?;
            if ctx.json {
                return print_json(&invitation);
            }
            match (&invitation.email, &invitation.link) {
                (Some(email), _) => say!(
                    "Invited {email} to \"{}\": the server emails them a link, valid until {}.",
                    team.name,
                    invitation.expires_at
                ),
                (None, Some(link)) => say!(
                    "A join link for \"{}\", for one person, valid until {}:\n{link}",
                    team.name,
                    invitation.expires_at
                ),
                (None, None) => say!("Invitation {} made.", invitation.id),
            }
        }
        TeamCommand::Resend { team, invitation } => {
            let team = ctx.store.find_team(&team)?;
            let sent = team_admin::resend_invitation(&ctx.store, &team.id, &invitation)?;
            if ctx.json {
                return print_json(&sent);
            }
            match &sent.link {
                Some(link) => say!("A new link (the old one no longer works):\n{link}"),
                None => say!(
                    "Sent again to {}; the old link no longer works.",
                    sent.email.as_deref().unwrap_or("the invitee")
                ),
            }
        }
        TeamCommand::Cancel { team, invitation } => {
            let team = ctx.store.find_team(&team)?;
            team_admin::cancel_invitation(&ctx.store, &team.id, &invitation)?;
            say!("Cancelled: the invitation's link no longer works.")
        }
        TeamCommand::Remove { team, person } => {
            let team = ctx.store.find_team(&team)?;
            let person = ctx.store.find_facilitator(&person)?;
            team_admin::remove_member(&ctx.store, &team.id, &person.id)?;
            say!(
                "{} is no longer in \"{}\": at their next sync their computer no longer holds the team's circles \
                 they do not facilitate.",
                person.name,
                team.name
            )
        }
        TeamCommand::PrivacyNotice { team, notice } => {
            let team = ctx.store.find_team(&team)?;
            ctx.store.set_team_privacy_notice(&team.id, &notice)?;
            if notice.trim().is_empty() {
                say!("\"{}\" shows the default sentence on its signup forms after the next sync.", team.name)
            } else {
                say!("\"{}\" shows its privacy notice on its signup forms after the next sync.", team.name)
            }
        }
        TeamCommand::Retention { team, days, off } => {
            let team = ctx.store.find_team(&team)?;
            if days.is_some() || off {
                ctx.store.set_team_retention(&team.id, days)?;
            }
            let current = ctx.store.team_retention(&team.id)?;
            if ctx.json {
                return print_json(&serde_json::json!({ "team_id": team.id, "anonymize_after_days": current }));
            }
            let changed = if days.is_some() || off { " (the server applies it after the next sync)" } else { "" };
            match current {
                Some(days) => {
                    say!("\"{}\" anonymizes its learners {days} days after each circle ends{changed}.", team.name)
                }
                None => say!("\"{}\" keeps its learners until someone erases them{changed}.", team.name),
            }
        }
        TeamCommand::Role { team, person, role } => {
            let team = ctx.store.find_team(&team)?;
            let person = ctx.store.find_facilitator(&person)?;
            let role = TeamRole::parse(&role)?;
            team_admin::set_member_role(&ctx.store, &team.id, &person.id, role)?;
            say!("{} is now {} of \"{}\".", person.name, an(role), team.name)
        }
    }
}

fn an(role: TeamRole) -> &'static str {
    match role {
        TeamRole::Organizer => "an organizer",
        TeamRole::Member => "a member",
    }
}

fn members(ctx: &Ctx, team: &str) -> Result<()> {
    let team = ctx.store.find_team(team)?;
    if ctx.store.account()?.is_some() {
        match team_admin::team_members(&ctx.store, &team.id) {
            Ok(online) => return print_online(ctx, &online),
            // Not an organizer, or offline: what this computer knows.
            Err(e) => {
                crate::output::write_stderr(&format!("showing what this computer knows ({e})"));
            }
        }
    }
    let members = ctx.store.team_members(&team.id)?;
    if ctx.json {
        return print_json(&members);
    }
    if members.is_empty() {
        return say!("No members of \"{}\" are known on this computer yet.", team.name);
    }
    let mut table = Table::new(&["ID", "NAME", "EMAIL", "ROLE"]);
    for m in &members {
        table.row(vec![
            m.facilitator.id.clone(),
            clip(&m.facilitator.name, 36),
            m.facilitator.email.clone(),
            m.role.as_str().to_string(),
        ]);
    }
    table.print()
}

fn print_online(ctx: &Ctx, online: &TeamMembers) -> Result<()> {
    if ctx.json {
        return print_json(online);
    }
    let now = chrono::Utc::now();
    let mut table = Table::new(&["NAME", "EMAIL", "ROLE", "LAST SYNC"]);
    for m in &online.members {
        let days = m
            .last_sync_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| (now - t.with_timezone(&chrono::Utc)).num_days());
        table.row(vec![
            clip(&m.name, 36),
            m.email.clone(),
            m.role.clone(),
            match days {
                Some(0) => "today".into(),
                Some(d) => format!("{d} days ago"),
                None => "never".into(),
            },
        ]);
    }
    say!("{} ({} members)", online.name, online.members.len())?;
    table.print()?;
    let laptops = team_admin::laptop_check(online, now);
    if !laptops.behind.is_empty() {
        say!("\n{}", laptops.line())?;
    }
    if !online.invitations.is_empty() {
        say!("\nPending invitations:")?;
        let mut table = Table::new(&["ID", "EMAIL", "ROLE", "EXPIRES"]);
        for i in &online.invitations {
            table.row(invitation_row(i));
        }
        table.print()?;
    }
    Ok(())
}

fn invitation_row(i: &Invitation) -> Vec<String> {
    vec![i.id.clone(), i.email.clone().unwrap_or_else(|| "(a join link)".into()), i.role.clone(), i.expires_at.clone()]
}

/// `circles password`: the current and the new password, from the
/// environment or two lines of stdin.
pub fn password(ctx: &Ctx) -> Result<()> {
    let (current, new) = match (std::env::var("CIRCLES_PASSWORD"), std::env::var("CIRCLES_NEW_PASSWORD")) {
        (Ok(current), Ok(new)) if !current.is_empty() && !new.is_empty() => (current, new),
        _ => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input).context("cannot read the passwords from stdin")?;
            let mut lines = input.lines();
            match (lines.next(), lines.next()) {
                (Some(current), Some(new)) => (current.to_string(), new.to_string()),
                _ => bail!(
                    "give the current password and the new one, each on its own line of stdin \
                     (or set CIRCLES_PASSWORD and CIRCLES_NEW_PASSWORD)"
                ),
            }
        }
    };
    team_admin::change_password(&ctx.store, &current, &new)?;
    say!("Password changed. Your other devices are signed out; this one stays signed in.")
}
