//! Which circle a pushed row belongs to, and who may write it: a row's
//! circle comes from its table's `Scope` in core's schema (its own id, a
//! circle field, or the circle of the meeting a field names); a user may
//! write a circle's rows if they facilitate or organize it; a row never
//! moves to another circle.

use circles_core::schema::{Scope, TableDef};
use circles_core::sync::wire::WireChange;

use super::push::Push;
use super::ApiResult;
use crate::error::ApiError;
use crate::storage::Tx;

/// The circle a change belongs to (None: a global table), checking that the
/// pushing user may write it. Notes the row's circle the first time.
pub(super) fn authorize<'a>(
    push: &mut Push<'a>,
    tx: &mut dyn Tx,
    table: &'static TableDef,
    change: &'a WireChange,
) -> ApiResult<Option<String>> {
    if table.scope == Scope::Global {
        return Ok(None);
    }
    let known = push.row_scope(tx, table.name, &change.row_id)?;
    let home = known.clone();
    let text_value = || change.value.as_str();
    let empty = |field: &str| ApiError::invalid_change(format!("change {}: {field} cannot be empty", change.change_id));
    let circle = match table.scope {
        Scope::Global => return Ok(None),
        Scope::OwnId => {
            if known.is_none() {
                // A circle nobody has written yet: its author may create it.
                push.set_scope(table.name, &change.row_id, &change.row_id);
                let user = push.session.user_id.clone();
                push.grant(&change.row_id, &user, 0);
            }
            change.row_id.clone()
        }
        Scope::CircleField(field) => match (known, change.field == field) {
            (_, true) => text_value().ok_or_else(|| empty(field))?.to_string(),
            (Some(circle), false) => circle,
            (None, false) => return Err(first_change_error(table, field, change)),
        },
        Scope::MeetingField(field) => match (known, change.field == field) {
            (_, true) => {
                let meeting = text_value().ok_or_else(|| empty(field))?;
                push.row_scope(tx, "meetings", meeting)?.ok_or_else(|| {
                    ApiError::invalid_change(format!("change {}: no meeting with id {meeting}", change.change_id))
                })?
            }
            (Some(circle), false) => circle,
            (None, false) => return Err(first_change_error(table, field, change)),
        },
    };
    let mut may_write = |push: &mut Push<'a>, circle: &str| -> ApiResult<()> {
        if !push.may_write(tx, circle)? {
            return Err(ApiError::forbidden(format!(
                "you do not facilitate or organize circle {circle} (change {} to {})",
                change.change_id, table.name
            )));
        }
        Ok(())
    };
    // A row stays in the circle it was made in: its history is scoped there,
    // and moving it would hand it to people who may not see that history.
    if let Some(home) = home.as_ref().filter(|home| **home != circle) {
        may_write(push, home)?;
        return Err(ApiError::invalid_change(format!(
            "change {}: a {} cannot move to another circle (it belongs to circle {home})",
            change.change_id, table.entity
        )));
    }
    may_write(push, &circle)?;
    if home.is_none() {
        push.set_scope(table.name, &change.row_id, &circle);
    }
    Ok(Some(circle))
}

fn first_change_error(table: &TableDef, field: &str, change: &WireChange) -> ApiError {
    ApiError::invalid_change(format!(
        "change {}: the first change of a new {} must set {field}",
        change.change_id, table.entity
    ))
}
