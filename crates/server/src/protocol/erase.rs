//! A learner's erase, on the server: a push that sets `learners.erased`
//! (the laptop blanked the personal fields through its write path, in the
//! same batch) is an instruction to purge the old values of that learner's
//! personal fields from the change log, the field states and the conflicts
//! kept for laptops. Batch records keep no values (`batch_record.rs`), so
//! they need nothing. Who may erase is who may write the learner: the push's
//! scope check (`scope.rs`) refuses a stranger's erase whole, before this
//! runs, so nothing is purged then.
//!
//! A later push that writes a personal field of an erased learner (an edit
//! made offline before the laptop heard of the erase) is purged the same
//! way, so the erase holds on every replica (each laptop blanks its own copy
//! of an erased learner, `circles_core::store::erase`).

use std::collections::BTreeSet;

use circles_core::schema::{erased_value_json, ERASED_LEARNER_FIELDS, LEARNERS};

use super::audit_log::{self, AuditEvent, Entry};
use super::ApiResult;
use crate::storage::{Logged, Tx};

/// The stored value of a set flag (core's `flag(true)` as JSON text).
const SET_FLAG: &str = "1";

/// After a push's writes, in its transaction: purge the history of every
/// erased learner the push touched. True when anything was overwritten (the
/// backend should then make freed bytes unreadable, `scrub_freed_pages`).
/// Each erase the push carried (`erased` set by it) is noted in the audit
/// log with `actor`, the pushing account, by the learner's id alone.
pub(super) fn purge_erased(tx: &mut dyn Tx, actor: Option<&str>, logged: &[Logged<'_>]) -> ApiResult<bool> {
    for l in logged.iter().filter(|l| l.table == LEARNERS.name && l.change.field == "erased" && l.value == SET_FLAG) {
        let detail = format!("circle {}", l.scope.as_deref().unwrap_or("-"));
        audit_log::record(tx, Entry::new(AuditEvent::LearnerErased, actor, &l.change.row_id).detail(&detail))?;
    }
    let touched: BTreeSet<&str> = logged
        .iter()
        .filter(|l| {
            l.table == LEARNERS.name && (l.change.field == "erased" || erased_value_json(&l.change.field).is_some())
        })
        .map(|l| l.change.row_id.as_str())
        .collect();
    let mut purged = 0;
    for row_id in touched {
        if !is_erased(tx, row_id)? {
            continue;
        }
        purged += purge_learner(tx, row_id)?;
    }
    Ok(purged > 0)
}

/// Whether a learner is marked erased, as stored now.
pub(super) fn is_erased(tx: &mut dyn Tx, learner: &str) -> ApiResult<bool> {
    Ok(tx.stored_value(LEARNERS.name, learner, "erased")?.as_deref() == Some(SET_FLAG))
}

/// Overwrite every old value of an erased learner's personal fields (log,
/// field states, conflicts) with its blank: the number of values changed.
/// The push's purge above and the retention run (`retention.rs`) share it.
pub(super) fn purge_learner(tx: &mut dyn Tx, learner: &str) -> ApiResult<u64> {
    let mut purged = 0;
    for (field, _) in ERASED_LEARNER_FIELDS {
        let blank = erased_value_json(field).expect("a personal field");
        purged += tx.overwrite_field_history(LEARNERS.name, learner, field, &blank)?;
    }
    Ok(purged)
}
