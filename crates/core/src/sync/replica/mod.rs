//! The replica's side of sync, on the local store: building push batches
//! from the outbox, recording acknowledgements, applying pulled pages and
//! keeping lost concurrent edits for a person to resolve.
//!
//! Every step is one SQLite transaction together with the cursor or batch
//! state it moves, so a crash at any point leaves a state the next sync
//! continues from: a batch is re-sent verbatim until acknowledged, and a page
//! is applied and its cursor advanced together or not at all.

use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{params, Transaction};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result, Rule};
use crate::schema;
use crate::store::hlc::{wall_clock_millis, Hlc};
use crate::store::{meta, Store};
use crate::sync::merge::{self, Version};
use crate::sync::wire::{PullResponse, PushRequest, PushResponse, ServerChange, WireChange};

mod conflicts;
mod pull;
mod push;

pub use conflicts::Resolution;

#[cfg(test)]
mod tests {
    use super::pull::ApplyStats;
    use super::push::PUSH_BATCH_BYTES;
    use super::*;
    use crate::domain::course::CourseInput;
    use crate::schema::COURSES;
    use crate::store::rows::{new_id, text};
    use crate::sync::wire::PushOutcome;
    use proptest::prelude::*;
    use serde_json::json;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn a_batch_of_long_values_stays_under_the_byte_budget_and_is_resent_verbatim() {
        let (dir, mut store) = store();
        let long = "x".repeat(crate::domain::validate::MAX_TEXT);
        for _ in 0..240 {
            store
                .write(|w| w.insert(&COURSES, &new_id(), &[("title", text("Long")), ("caption", text(&long))]))
                .unwrap();
        }
        let waiting = store.pending_count().unwrap() as usize;
        let batch = store.next_push_batch(5_000).unwrap().unwrap();
        let bytes = serde_json::to_string(&batch).unwrap().len();
        assert!(batch.changes.len() < waiting, "{} of {waiting} changes in one batch", batch.changes.len());
        assert!(bytes <= PUSH_BATCH_BYTES + 64 * 1024, "{bytes} bytes");
        assert_eq!(batch.changes, store.pending_changes(batch.changes.len()).unwrap(), "the oldest waiting changes");
        // A new edit after the batch was made does not change the batch.
        store.create_course(&CourseInput::new("Later")).unwrap();
        drop(store);
        let mut store = Store::open_in(dir.path()).unwrap();
        assert_eq!(store.next_push_batch(5_000).unwrap().unwrap(), batch);
    }

    #[test]
    fn a_whole_batch_stored_by_an_earlier_version_is_still_sent_and_acknowledged() {
        let (_dir, mut store) = store();
        store.create_course(&CourseInput::new("Python")).unwrap();
        let changes = store.pending_changes(1_000).unwrap();
        let batch = PushRequest { batch_id: "old-batch".into(), batch_seq: 1, changes: changes.clone() };
        meta::set(&store.conn, meta::SYNC_PENDING_BATCH, &serde_json::to_string(&batch).unwrap()).unwrap();
        assert_eq!(store.next_push_batch(5_000).unwrap().unwrap(), batch);
        let response = PushResponse {
            batch_id: batch.batch_id.clone(),
            batch_seq: 1,
            results: changes
                .iter()
                .enumerate()
                .map(|(i, c)| crate::sync::wire::PushResult {
                    change_id: c.change_id.clone(),
                    outcome: PushOutcome::Applied,
                    seq: Some(i as i64 + 7),
                })
                .collect(),
            server_time_ms: 0,
        };
        store.ack_push(&batch, &response).unwrap();
        assert_eq!(store.pending_count().unwrap(), 0);
        assert_eq!(store.next_push_batch(5_000).unwrap(), None);
    }

    #[test]
    fn acknowledging_a_batch_moves_past_it_and_leaves_later_changes_waiting() {
        let (_dir, mut store) = store();
        store.create_course(&CourseInput::new("Python")).unwrap();
        let batch = store.next_push_batch(5_000).unwrap().unwrap();
        // A change made while the batch was out stays waiting.
        store.create_course(&CourseInput::new("Later")).unwrap();
        let results = batch
            .changes
            .iter()
            .enumerate()
            .map(|(i, c)| crate::sync::wire::PushResult {
                change_id: c.change_id.clone(),
                outcome: if i == 0 { PushOutcome::Superseded } else { PushOutcome::Applied },
                seq: (i > 0).then_some(100 + i as i64),
            })
            .collect();
        let response =
            PushResponse { batch_id: batch.batch_id.clone(), batch_seq: batch.batch_seq, results, server_time_ms: 0 };
        store.ack_push(&batch, &response).unwrap();
        assert_eq!(store.pending_count().unwrap() as usize, COURSES.fields.len());
        let next = store.next_push_batch(5_000).unwrap().unwrap();
        assert_eq!(next.batch_seq, batch.batch_seq + 1);
        assert_eq!(next.changes, store.pending_changes(100).unwrap());
        assert!(next.changes.iter().all(|c| !batch.changes.contains(c)), "no acknowledged change is offered again");
    }

    #[test]
    fn an_answer_that_does_not_match_the_batch_acknowledges_the_changes_it_names() {
        let (_dir, mut store) = store();
        store.create_course(&CourseInput::new("Python")).unwrap();
        let batch = store.next_push_batch(5_000).unwrap().unwrap();
        // The server answered for the first two changes only.
        let results = batch.changes[..2]
            .iter()
            .map(|c| crate::sync::wire::PushResult {
                change_id: c.change_id.clone(),
                outcome: PushOutcome::Applied,
                seq: Some(1),
            })
            .collect();
        let response =
            PushResponse { batch_id: batch.batch_id.clone(), batch_seq: batch.batch_seq, results, server_time_ms: 0 };
        store.ack_push(&batch, &response).unwrap();
        let next = store.next_push_batch(5_000).unwrap().unwrap();
        assert_eq!(next.changes, batch.changes[2..].to_vec());
    }

    #[test]
    fn a_new_identity_restamps_only_waiting_changes_and_starts_batches_and_pulls_over() {
        let (dir, mut store) = store();
        // Another connection to the same store (the app's UI beside its sync).
        let mut other = Store::open_in(dir.path()).unwrap();
        let old = store.device_id().to_string();
        let acked_course = store.create_course(&CourseInput::new("Acknowledged")).unwrap();
        let batch = store.next_push_batch(5_000).unwrap().unwrap();
        let results = batch
            .changes
            .iter()
            .enumerate()
            .map(|(i, c)| crate::sync::wire::PushResult {
                change_id: c.change_id.clone(),
                outcome: PushOutcome::Applied,
                seq: Some(i as i64 + 1),
            })
            .collect();
        let response = PushResponse { batch_id: batch.batch_id.clone(), batch_seq: 1, results, server_time_ms: 0 };
        store.ack_push(&batch, &response).unwrap();
        store.apply_pull(&page(vec![remote(40, "r9", "title", json!("Theirs"), 1, "dev-b")])).unwrap();
        let waiting_course = store.create_course(&CourseInput::new("Waiting")).unwrap();
        let waiting_ids: Vec<String> = store.pending_changes(1_000).unwrap().into_iter().map(|c| c.change_id).collect();
        // A batch was out when the batch number turned out to be used.
        let refused_batch = store.next_push_batch(5_000).unwrap().unwrap();
        assert_eq!(refused_batch.batch_seq, 2);

        let restamped = store.adopt_device_id("new-device", Some("new-token")).unwrap();
        assert_eq!(restamped, waiting_ids.len());
        assert_eq!(store.device_id(), "new-device");
        let next = store.next_push_batch(5_000).unwrap().unwrap();
        assert_eq!(next.batch_seq, 1, "batch numbers start over for the new id");
        assert_ne!(next.batch_id, refused_batch.batch_id);
        assert_eq!(
            next.changes.iter().map(|c| c.change_id.clone()).collect::<Vec<_>>(),
            waiting_ids,
            "the waiting changes again, with their change ids, and no acknowledged one"
        );
        assert!(next.changes.iter().all(|c| c.device_id == "new-device"));
        assert_eq!(store.pull_cursors().unwrap().0, 0, "a full pull brings what the other copy sent");
        assert_eq!(meta::get(&store.conn, meta::SYNC_TOKEN).unwrap().as_deref(), Some("new-token"));
        let version_device = |row: &str| -> String {
            store
                .conn
                .query_row(
                    "SELECT device_id FROM field_versions WHERE table_name = 'courses' AND row_id = ?1 AND field = 'title'",
                    [row],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert_eq!(version_device(&acked_course), old, "acknowledged versions keep the id they were sent with");
        assert_eq!(version_device(&waiting_course), "new-device");
        assert_eq!(version_device("r9"), "dev-b", "others' versions are untouched");
        // The other connection's next edit carries the new id too.
        other.create_course(&CourseInput::new("From the other connection")).unwrap();
        assert!(store.pending_changes(1_000).unwrap().iter().all(|c| c.device_id == "new-device"));
    }

    fn remote(seq: i64, row: &str, field: &str, value: serde_json::Value, millis: u64, device: &str) -> ServerChange {
        ServerChange {
            seq,
            change: WireChange {
                change_id: format!("c{seq}"),
                table: "courses".into(),
                row_id: row.into(),
                field: field.into(),
                value,
                hlc: Hlc { millis, counter: 0 },
                device_id: device.into(),
                base_seq: None,
            },
        }
    }

    fn page(changes: Vec<ServerChange>) -> PullResponse {
        let cursor = changes.last().map_or(0, |c| c.seq);
        PullResponse {
            changes,
            cursor,
            has_more: false,
            remaining: 0,
            reset: false,
            conflicts: vec![],
            server_time_ms: 0,
        }
    }

    /// A field version as stored: row, field, hlc, device, server seq.
    type StoredVersion = (String, String, String, String, Option<i64>);

    /// What a replica holds: every course row and every field version.
    fn state(store: &Store) -> (Vec<Vec<rusqlite::types::Value>>, Vec<StoredVersion>) {
        let mut stmt =
            store.conn.prepare(&format!("SELECT id, {} FROM courses ORDER BY id", COURSES.fields.join(", "))).unwrap();
        let rows = stmt
            .query_map([], |r| (0..=COURSES.fields.len()).map(|i| r.get(i)).collect::<rusqlite::Result<Vec<_>>>())
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap();
        let mut stmt = store
            .conn
            .prepare("SELECT row_id, field, hlc, device_id, server_seq FROM field_versions ORDER BY row_id, field")
            .unwrap();
        let versions = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap();
        (rows, versions)
    }

    #[test]
    fn a_row_split_across_pages_stays_hidden_until_its_deleted_field_arrives() {
        let (_dir, mut store) = store();
        let first = page(vec![
            remote(1, "r1", "title", json!("Split"), 10, "dev-b"),
            remote(2, "r1", "provider", json!("Somewhere"), 11, "dev-b"),
        ]);
        let stats = store.apply_pull(&first).unwrap();
        assert_eq!(stats.applied, 2);
        let hidden: (String, i64) = store
            .conn
            .query_row("SELECT title, deleted FROM courses WHERE id = 'r1'", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(hidden, ("Split".into(), 1));
        let mut second = page(vec![
            remote(3, "r1", "deleted", json!(0), 12, "dev-b"),
            remote(4, "r1", "title", json!("Older"), 5, "dev-c"),
        ]);
        second.cursor = 4;
        let stats = store.apply_pull(&second).unwrap();
        assert_eq!((stats.applied, stats.superseded), (1, 1));
        let shown: (String, String, i64) = store
            .conn
            .query_row("SELECT title, provider, deleted FROM courses WHERE id = 'r1'", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(shown, ("Split".into(), "Somewhere".into(), 0));
        assert_eq!(store.pull_cursors().unwrap().0, 4);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Applying a page at once gives exactly what applying its changes
        /// one page each gives: same rows, same field versions, same counts.
        #[test]
        fn a_page_applies_like_its_changes_one_by_one(
            steps in prop::collection::vec(
                (0usize..3, 0usize..4, 0u64..6, 0usize..3, 0u8..2),
                1..40,
            ),
        ) {
            let (_a_dir, mut whole) = store();
            let (_b_dir, mut single) = store();
            // The third device is the replica itself (its own changes coming back).
            let me = whole.device_id().to_string();
            let devices = ["dev-a", "dev-b", me.as_str()];
            let fields = ["title", "archived", "deleted", "created_at"];
            let changes: Vec<ServerChange> = steps
                .iter()
                .enumerate()
                .map(|(i, &(row, field, millis, device, flag))| {
                    let field = fields[field];
                    let value = match field {
                        "archived" | "deleted" => json!(flag),
                        "created_at" => json!(format!("2026-12-02T08:{:02}:00.000Z", i % 60)),
                        _ => json!(format!("{field} {i}")),
                    };
                    remote(i as i64 + 1, &format!("row-{row}"), field, value, 1 + millis, devices[device])
                })
                .collect();
            let stats = whole.apply_pull(&page(changes.clone())).unwrap();
            let mut total = ApplyStats::default();
            for change in changes {
                // The same change under the other replica's device id where it is "own".
                let mut change = change;
                if change.change.device_id == me {
                    change.change.device_id = single.device_id().to_string();
                }
                let s = single.apply_pull(&page(vec![change])).unwrap();
                total.applied += s.applied;
                total.superseded += s.superseded;
                total.own += s.own;
            }
            prop_assert_eq!(stats, total);
            let (rows_a, versions_a) = state(&whole);
            let (rows_b, versions_b) = state(&single);
            prop_assert_eq!(rows_a, rows_b);
            let normalize = |v: Vec<StoredVersion>, own: &str| {
                v.into_iter().map(|(r, f, h, d, s)| (r, f, h, if d == own { "me".to_string() } else { d }, s)).collect::<Vec<_>>()
            };
            prop_assert_eq!(normalize(versions_a, &me), normalize(versions_b, single.device_id()));
        }
    }
}
