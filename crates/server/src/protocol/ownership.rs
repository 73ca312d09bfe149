//! Who may write a global row. A circle's rows are written by whoever
//! facilitates or organizes the circle (`scope`); global rows have no
//! circle, so their writers follow from who made them and from team roles:
//!
//! - a team: its organizers, or the person who made it;
//! - a team's membership: no laptop; the server is the one authority of
//!   membership and writes those rows itself (`teams.rs`: invitations, the
//!   organizers' API, admin commands);
//! - a team's course-list entry: whoever may write the team;
//! - a course: the person who made it, or an organizer of a team listing it;
//! - a facilitator: the account itself; a facilitator without an account (a
//!   co-facilitator typed in on a laptop): the person who made it.
//!
//! Anyone may make a new row. The accounts and teams the server wrote were
//! made by the server, which no laptop is.

use circles_core::schema::TableDef;
use circles_core::sync::wire::WireChange;
use circles_core::validate::shown;
use circles_core::Rule;

use super::push::Push;
use super::teams::is_organizer;
use super::ApiResult;
use crate::error::ApiError;
use crate::storage::Tx;

/// Check that the pushing user may write a change to a global row.
pub(super) fn authorize_global<'a>(
    push: &mut Push<'a>,
    tx: &mut dyn Tx,
    table: &'static TableDef,
    change: &'a WireChange,
) -> ApiResult<()> {
    if table.name == "team_members" {
        return Err(ApiError::forbidden(format!(
            "you may not change team member {} (change {}): team membership is changed on the server: \
             invitations and the team screen",
            shown(&change.row_id),
            shown(&change.change_id),
        )));
    }
    let me = push.session.user_id.clone();
    let row = change.row_id.as_str();
    let creator = push.row_creator(tx, table.name, row)?;
    if creator.is_none() {
        push.note_created(table.name, row);
    }
    // A row nobody has written yet is this user's to make.
    let made_by_me = creator.is_none_or(|creator| creator == me);
    let allowed = match table.name {
        "teams" => made_by_me || is_organizer(tx, row, &me)?,
        "team_courses" => {
            let team = parent_team(push, tx, table, change)?;
            may_write_team(push, tx, &team)?
        }
        "courses" => made_by_me || organizes_a_team_listing(push, tx, row)?,
        "facilitators" => row == me || (made_by_me && !tx.is_user(row)?),
        // A new global table must say here who writes it.
        _ => false,
    };
    if allowed {
        return Ok(());
    }
    Err(ApiError::forbidden(format!(
        "you may not change {} {} (change {}): {}",
        table.entity,
        shown(row),
        shown(&change.change_id),
        match table.name {
            "teams" | "team_courses" => "only the team's organizers may",
            "courses" => "only the person who added the course, or an organizer of a team listing it, may",
            "facilitators" => "only that facilitator may",
            _ => "no one may",
        }
    )))
}

fn may_write_team(push: &mut Push<'_>, tx: &mut dyn Tx, team: &str) -> ApiResult<bool> {
    if is_organizer(tx, team, &push.session.user_id)? {
        return Ok(true);
    }
    Ok(push.row_creator(tx, "teams", team)?.as_deref() == Some(push.session.user_id.as_str()))
}

/// The team a course-list row belongs to; like a circle's rows, it never
/// moves to another team.
fn parent_team<'a>(
    push: &mut Push<'a>,
    tx: &mut dyn Tx,
    table: &'static TableDef,
    change: &'a WireChange,
) -> ApiResult<String> {
    let stored = push.field_text(tx, table.name, &change.row_id, "team_id")?;
    let incoming = (change.field == "team_id").then(|| change.value.as_str()).flatten();
    match (stored, incoming) {
        (Some(stored), Some(incoming)) if stored != incoming => Err(ApiError::refused_change(
            change,
            "team_id",
            Rule::State,
            format!("a {} cannot move to another team", table.entity),
        )),
        (Some(team), _) => Ok(team),
        (None, Some(team)) => Ok(team.to_string()),
        (None, None) => Err(ApiError::refused_change(
            change,
            "team_id",
            Rule::Required,
            format!("the first change of a new {} must set team_id", table.entity),
        )),
    }
}

fn organizes_a_team_listing(push: &mut Push<'_>, tx: &mut dyn Tx, course: &str) -> ApiResult<bool> {
    let links = tx.rows_with_value("team_courses", "course_id", &serde_json::Value::from(course).to_string())?;
    for link in links {
        let team = push.stored_text(tx, "team_courses", &link, "team_id")?;
        if let Some(team) = team {
            if is_organizer(tx, &team, &push.session.user_id)? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// A circle goes only on a team the person putting it there belongs to (the
/// rule core's `check_team_choice` applies on the laptop): otherwise anyone
/// could hand their circle, learners included, to another team's
/// organizers. Keeping the team a circle has is always allowed.
pub(super) fn check_circle_team<'a>(
    push: &mut Push<'a>,
    tx: &mut dyn Tx,
    table: &'static TableDef,
    change: &'a WireChange,
) -> ApiResult<()> {
    if table.name != "circles" || change.field != "team_id" {
        return Ok(());
    }
    let Some(team) = change.value.as_str() else { return Ok(()) };
    if push.field_text(tx, table.name, &change.row_id, "team_id")?.as_deref() == Some(team) {
        return Ok(());
    }
    if super::teams::is_member(tx, team, &push.session.user_id)? {
        return Ok(());
    }
    Err(ApiError::forbidden(format!(
        "you are not a member of team {} (change {}): a circle goes only on one of your teams",
        shown(team),
        shown(&change.change_id)
    )))
}
