//! The facilitator directory, scoped: a row about a person (their
//! `facilitators` row, their `team_members` rows) is logged with whom it is
//! about (`scope_person`) and is seen only by that person's contacts:
//! themselves, the members of their teams, whoever sees one of the circles
//! they see, and whoever made their row. Everyone else never receives their
//! name or email.
//!
//! Contacts change with teams and circles, so each pull brings the list of
//! the puller's token (one device's stream: each device has passed its own
//! part of the log) up to date first. Someone found as a contact at a cursor past their
//! rows' history gets those rows as they stand (`contact_catch_up`): the
//! latest change of each of their fields at or below the cursor, on every
//! pull at or below the cursor they were found at (so a lost answer is
//! answered again), never on a pull from 0 (that stream has everything).

use circles_core::schema::{FACILITATORS, TEAM_MEMBERS};
use serde_json::Value;

use super::ApiResult;
use crate::storage::{Session, Tx};

/// Whom a row is about: a facilitator row is its person's, a team
/// membership its member's (`facilitator_id`, from the change's fields or
/// the row as stored); None for everyone's rows and circles' rows.
pub(crate) fn person_of(
    tx: &mut dyn Tx,
    table: &str,
    row_id: &str,
    fields: &[(&str, Value)],
) -> ApiResult<Option<String>> {
    if table == FACILITATORS.name {
        return Ok(Some(row_id.to_string()));
    }
    if table != TEAM_MEMBERS.name {
        return Ok(None);
    }
    if let Some((_, value)) = fields.iter().find(|(field, _)| *field == "facilitator_id") {
        return Ok(value.as_str().map(str::to_string));
    }
    let stored = tx.stored_value(table, row_id, "facilitator_id")?;
    Ok(stored.and_then(|text| serde_json::from_str::<Value>(&text).ok()).and_then(|v| v.as_str().map(str::to_string)))
}

/// Whom a pushed row is about (laptops may push facilitator rows, never
/// memberships: `ownership.rs`).
pub(crate) fn pushed_person(table: &str, row_id: &str) -> Option<String> {
    (table == FACILITATORS.name).then(|| row_id.to_string())
}

/// Whether the user's stored contacts are those they have now (a pull then
/// stays read-only).
pub(super) fn contacts_in_step(tx: &mut dyn Tx, session: &Session) -> ApiResult<bool> {
    let (new, lapsed) = tx.contact_drift(session)?;
    Ok(new.is_empty() && lapsed.is_empty())
}

/// Brings the user's contacts up to date: new ones are noted as found at
/// `cursor`, lapsed ones dropped (what their laptop already holds stays
/// there; from now on it receives no more of them).
pub(super) fn refresh_contacts(tx: &mut dyn Tx, session: &Session, cursor: i64) -> ApiResult<()> {
    let (new, lapsed) = tx.contact_drift(session)?;
    for person in new {
        tx.add_contact(&session.token_id, &person, cursor)?;
    }
    for person in lapsed {
        tx.drop_contact(&session.token_id, &person)?;
    }
    Ok(())
}
