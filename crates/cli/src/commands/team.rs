//! `circles team ...`: the teams this person is in and who is in them.
//! Membership itself is changed on the server (invitations, the team screen).

use anyhow::Result;

use crate::args::TeamCommand;
use crate::output::{clip, print_json, Table};
use crate::Ctx;

pub fn run(ctx: &Ctx, command: TeamCommand) -> Result<()> {
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
        TeamCommand::Members { team } => {
            let team = ctx.store.find_team(&team)?;
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
    }
}
