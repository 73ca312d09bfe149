//! A change that names another row (a learner's circle, a mark's learner, a
//! membership's team) must name one that exists on the server, or arrives
//! earlier in the same push, and, for a circle's rows, one of the same
//! circle. Otherwise every replica that pulls it would hold a dangling
//! reference (or, with foreign keys, fail to apply it). Which field names
//! which table is core's schema (`FieldKind::Reference`).

use circles_core::schema::{self, FieldKind, Scope, TableDef};
use circles_core::sync::wire::WireChange;
use circles_core::validate::shown;
use circles_core::Rule;

use super::push::Push;
use super::ApiResult;
use crate::error::ApiError;
use crate::storage::Tx;

/// Check the row a change names, if it names one. `circle` is the circle of
/// the changed row (None: a global row).
pub(super) fn check_reference<'a>(
    push: &mut Push<'a>,
    tx: &mut dyn Tx,
    table: &'static TableDef,
    change: &'a WireChange,
    circle: Option<&str>,
) -> ApiResult<()> {
    let Some(FieldKind::Reference { table: target, same_circle }) = schema::field_kind(table, &change.field) else {
        return Ok(());
    };
    let Some(id) = change.value.as_str() else {
        // Null: the reference is cleared.
        return Ok(());
    };
    let target = schema::table(target).expect("the schema names its own tables");
    // A circle's row exists from its first change on, which also scoped it,
    // so its scope answers both questions at once.
    let found = match (target.scope, circle) {
        // A global row exists once something was logged for it.
        (Scope::Global, _) => push.row_creator(tx, target.name, id)?.is_some(),
        (_, Some(circle)) if same_circle => push.row_scope(tx, target.name, id)?.as_deref() == Some(circle),
        _ => push.row_scope(tx, target.name, id)?.is_some(),
    };
    if found {
        return Ok(());
    }
    let place = match circle {
        Some(circle) if same_circle && target.scope != Scope::Global => format!(" in circle {}", shown(circle)),
        _ => String::new(),
    };
    Err(ApiError::refused_change(
        change,
        &change.field,
        Rule::Reference,
        format!("there is no {} with id {}{place}", target.entity, shown(id)),
    ))
}
