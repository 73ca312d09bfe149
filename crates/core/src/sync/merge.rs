//! The merge rules, applied identically by every replica and the server.

use crate::domain::validate::shown;
use crate::error::{CoreError, Rule};
use crate::schema::{self, TableDef};
use crate::store::hlc::Hlc;
use crate::sync::wire::WireChange;

/// A field version: who wrote it and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version<'a> {
    pub hlc: Hlc,
    pub device_id: &'a str,
}

/// Per field, the last writer wins by (HLC, device id): a total order, so
/// every replica picks the same winner whatever order changes arrive in.
pub fn supersedes(candidate: Version<'_>, current: Version<'_>) -> bool {
    (candidate.hlc, candidate.device_id) > (current.hlc, current.device_id)
}

/// Two edits of one field are concurrent (a person should see both) when
/// the incoming edit was made without having seen the current version: the
/// current version was logged after the incoming edit's base, by another
/// device, and the values differ.
pub fn concurrent(
    incoming_base_seq: Option<i64>,
    incoming_device: &str,
    incoming_value: &serde_json::Value,
    current_seq: i64,
    current_device: &str,
    current_value: &serde_json::Value,
) -> bool {
    incoming_device != current_device
        && incoming_value != current_value
        && incoming_base_seq.is_none_or(|base| current_seq > base)
}

/// Whether a person should hear about concurrent values of a field. Two
/// replicas creating the same derived row (one attendance mark per meeting
/// and learner) stamp different creation times; that is bookkeeping, not a
/// disagreement.
pub fn conflict_matters(field: &str) -> bool {
    field != "created_at"
}

/// Why a change cannot be accepted at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChangeRejected {
    #[error("unknown table \"{}\"", shown(.0))]
    UnknownTable(String),
    /// A field, an id or a value broke a rule of the schema.
    #[error("{message}")]
    Invalid { field: String, rule: Rule, message: String },
}

impl ChangeRejected {
    /// The field the refusal is about (`row_id`, `change_id`... for ids).
    pub fn field(&self) -> Option<&str> {
        match self {
            ChangeRejected::UnknownTable(_) => None,
            ChangeRejected::Invalid { field, .. } => Some(field),
        }
    }

    pub fn rule(&self) -> Rule {
        match self {
            ChangeRejected::UnknownTable(_) => Rule::Choice,
            ChangeRejected::Invalid { rule, .. } => rule.clone(),
        }
    }
}

impl From<CoreError> for ChangeRejected {
    fn from(e: CoreError) -> Self {
        let field = e.field().unwrap_or("value").to_string();
        let rule = e.rule().unwrap_or(Rule::Choice);
        ChangeRejected::Invalid { field, rule, message: e.to_string() }
    }
}

/// Check a change's table, field, ids, value and clock against the rules
/// every local write obeys (`schema::check_value`). The server runs it on
/// every pushed change and a replica on every pulled one.
pub fn check(change: &WireChange) -> Result<&'static TableDef, ChangeRejected> {
    let table = schema::table(&change.table).ok_or_else(|| ChangeRejected::UnknownTable(change.table.clone()))?;
    schema::check_id("change", "row_id", &change.row_id)?;
    schema::check_id("change", "change_id", &change.change_id)?;
    schema::check_id("change", "device_id", &change.device_id)?;
    if change.hlc.counter > MAX_HLC_COUNTER {
        return Err(ChangeRejected::Invalid {
            field: "hlc".to_string(),
            rule: Rule::OutOfRange { min: 0, max: MAX_HLC_COUNTER.into() },
            message: format!(
                "the clock counter {} is beyond {MAX_HLC_COUNTER}: no replica ticks that often in a millisecond",
                change.hlc.counter
            ),
        });
    }
    schema::check_value(table, &change.field, &change.value)?;
    Ok(table)
}

/// The largest clock counter a change may carry. A replica's counter grows
/// only while its wall clock stands still, by one per change; far below
/// `u32::MAX`, so that adding to it can never overflow.
pub const MAX_HLC_COUNTER: u32 = 1 << 24;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn v(millis: u64, counter: u32, device: &str) -> Version<'_> {
        Version { hlc: Hlc { millis, counter }, device_id: device }
    }

    #[test]
    fn later_clock_wins_then_device_breaks_ties() {
        assert!(supersedes(v(2, 0, "a"), v(1, 9, "z")));
        assert!(supersedes(v(1, 0, "b"), v(1, 0, "a")));
        assert!(!supersedes(v(1, 0, "a"), v(1, 0, "a")), "a version does not supersede itself");
    }

    #[test]
    fn concurrency_needs_an_unseen_version_by_someone_else_with_another_value() {
        let (a, b) = (json!("a"), json!("b"));
        assert!(concurrent(Some(3), "dev1", &a, 5, "dev2", &b));
        assert!(!concurrent(Some(5), "dev1", &a, 5, "dev2", &b), "the edit had seen version 5");
        assert!(!concurrent(Some(3), "dev1", &a, 5, "dev1", &b), "own earlier edit");
        assert!(!concurrent(Some(3), "dev1", &a, 5, "dev2", &a), "same value");
        assert!(concurrent(None, "dev1", &a, 1, "dev2", &b));
    }

    proptest! {
        /// Whatever order a set of versions arrives in, folding with
        /// `supersedes` picks the same winner.
        #[test]
        fn winner_is_independent_of_arrival_order(
            mut versions in prop::collection::vec((0u64..5, 0u32..3, prop::sample::select(vec!["a", "b", "c"])), 1..8),
            seed in any::<u64>(),
        ) {
            let fold = |vs: &[(u64, u32, &'static str)]| {
                vs.iter().fold(None::<Version<'static>>, |best, &(m, c, d)| {
                    let cand = Version { hlc: Hlc { millis: m, counter: c }, device_id: d };
                    match best { Some(b) if !supersedes(cand, b) => Some(b), _ => Some(cand) }
                })
            };
            let first = fold(&versions);
            let n = versions.len();
            versions.rotate_left((seed as usize) % n);
            versions.reverse();
            prop_assert_eq!(first, fold(&versions));
        }
    }
}
