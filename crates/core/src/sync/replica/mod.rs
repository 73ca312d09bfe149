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
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result, Rule};
use crate::schema;
use crate::store::hlc::{corrected_now, Hlc};
use crate::store::{meta, Store};
use crate::sync::merge::{self, Version};
use crate::sync::status::KeptAsideKind;
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
            app_release: None,
            revoked: vec![],
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

    /// A change of any table, stamped (millis, counter) by `device`.
    fn any_change(seq: i64, table: &str, row: &str, field: &str, value: serde_json::Value, hlc: Hlc) -> ServerChange {
        ServerChange {
            seq,
            change: WireChange {
                change_id: format!("c{seq}"),
                table: table.into(),
                row_id: row.into(),
                field: field.into(),
                value,
                hlc,
                device_id: "dev-b".into(),
                base_seq: None,
            },
        }
    }

    fn at(millis: u64) -> Hlc {
        Hlc { millis, counter: 0 }
    }

    /// A whole new row: its fields in schema order, `deleted` 0, from `seq` on.
    fn new_row(
        seq: i64,
        table: &schema::TableDef,
        row: &str,
        fields: &[(&str, serde_json::Value)],
    ) -> Vec<ServerChange> {
        let mut out: Vec<ServerChange> = fields
            .iter()
            .enumerate()
            .map(|(i, (f, v))| {
                any_change(seq + i as i64, table.name, row, f, v.clone(), at(100 + seq as u64 + i as u64))
            })
            .collect();
        let next = seq + out.len() as i64;
        out.push(any_change(next, table.name, row, "deleted", json!(0), at(100 + next as u64)));
        out
    }

    fn course_page(seq: i64, row: &str, title: &str) -> Vec<ServerChange> {
        new_row(seq, &COURSES, row, &[("title", json!(title))])
    }

    fn visible_courses(store: &Store) -> Vec<String> {
        let mut stmt = store.conn.prepare("SELECT title FROM courses WHERE deleted = 0 ORDER BY title").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<Vec<_>>>().unwrap()
    }

    fn kinds(store: &Store) -> Vec<(String, KeptAsideKind)> {
        store.kept_aside().unwrap().into_iter().map(|k| (k.field, k.kind)).collect()
    }

    #[test]
    fn a_team_member_naming_a_missing_team_is_kept_aside_until_the_team_arrives() {
        let (_dir, mut store) = store();
        let mut changes =
            new_row(1, &schema::TEAM_MEMBERS, "tm1", &[("team_id", json!("team-later")), ("role", json!("member"))]);
        changes.extend(course_page(10, "course-1", "Honest course"));
        let stats = store.apply_pull(&page(changes)).unwrap();
        assert_eq!(stats.kept_aside, 2, "the reference, and the row's `deleted` that would show it without it");
        assert_eq!(visible_courses(&store), ["Honest course"], "the rest of the page applied");
        assert_eq!(store.pull_cursors().unwrap().0, 11, "the cursor moved on");
        let hidden: i64 =
            store.conn.query_row("SELECT deleted FROM team_members WHERE id = 'tm1'", [], |r| r.get(0)).unwrap();
        assert_eq!(hidden, 1, "a member of no team is not shown");
        assert_eq!(
            kinds(&store),
            [
                ("team_id".to_string(), KeptAsideKind::MissingReference),
                ("deleted".to_string(), KeptAsideKind::WaitsForReference)
            ]
        );
        let status = store.sync_status().unwrap();
        assert_eq!(status.kept_aside, 2);
        assert!(store.kept_aside().unwrap()[0].reason.contains("team_id"), "{:?}", store.kept_aside());

        // A page without the team: tried again, still aside.
        let stats = store.apply_pull(&page(course_page(20, "course-2", "Another"))).unwrap();
        assert_eq!((stats.kept_aside, stats.recovered), (0, 0));
        assert_eq!(store.kept_aside().unwrap()[0].attempts, 2);

        // The team arrives: both apply, through the merge rules.
        let stats =
            store.apply_pull(&page(new_row(30, &schema::TEAMS, "team-later", &[("name", json!("T"))]))).unwrap();
        assert_eq!(stats.recovered, 2);
        let member: (Option<String>, i64) = store
            .conn
            .query_row("SELECT team_id, deleted FROM team_members WHERE id = 'tm1'", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(member, (Some("team-later".into()), 0));
        assert_eq!(store.sync_status().unwrap().kept_aside, 0);
    }

    #[test]
    fn a_change_stamped_with_the_largest_counter_applies_without_overflow() {
        let (_dir, mut store) = store();
        let mut changes = course_page(1, "course-1", "Max");
        // The largest counter a change may carry applies; one beyond it
        // (no honest replica stamps it) is kept aside like any bad value.
        let full = Hlc { millis: 5_000, counter: crate::sync::merge::MAX_HLC_COUNTER };
        changes.push(any_change(3, "courses", "course-1", "provider", json!("P"), full));
        let beyond = Hlc { millis: 5_000, counter: u32::MAX };
        changes.push(any_change(4, "courses", "course-1", "format", json!("F"), beyond));
        let stats = store.apply_pull(&page(changes)).unwrap();
        assert_eq!((stats.applied, stats.kept_aside), (3, 1));
        assert!(store.last_hlc().unwrap() > full, "the clock moved past it");
        // A local edit made now is ordered after it.
        store.write(|w| w.set_field(&COURSES, "course-1", "provider", text("Mine"))).unwrap();
        let provider: String =
            store.conn.query_row("SELECT provider FROM courses WHERE id = 'course-1'", [], |r| r.get(0)).unwrap();
        assert_eq!(provider, "Mine");
    }

    #[test]
    fn values_of_the_wrong_kind_and_unknown_fields_are_kept_aside_and_the_rest_applies() {
        let (_dir, mut store) = store();
        let mut changes = course_page(1, "course-1", "Honest");
        changes.push(any_change(3, "courses", "course-1", "archived", json!("yes"), at(200)));
        changes.push(any_change(4, "courses", "course-1", "title", json!(42), at(201)));
        changes.push(any_change(5, "courses", "course-1", "colour", json!("blue"), at(202)));
        changes.push(any_change(6, "spaceships", "s1", "name", json!("x"), at(203)));
        changes.push(any_change(7, "team_members", "tm1", "role", json!("boss"), at(204)));
        changes.extend(course_page(8, "course-2", "Also honest"));
        let stats = store.apply_pull(&page(changes)).unwrap();
        assert_eq!(stats.kept_aside, 5);
        assert_eq!(visible_courses(&store), ["Also honest", "Honest"]);
        assert!(kinds(&store).iter().all(|(_, k)| *k == KeptAsideKind::Invalid), "{:?}", kinds(&store));
        let kept = store.kept_aside().unwrap();
        assert_eq!(kept.iter().map(|k| k.seq).collect::<Vec<_>>(), [3, 4, 5, 6, 7]);
        assert!(kept[2].reason.contains("colour"), "{}", kept[2].reason);
        assert_eq!(kept[1].value, json!(42));
        // Tried again on the next page, still refused, still listed.
        store.apply_pull(&page(course_page(20, "course-3", "Third"))).unwrap();
        assert_eq!(store.sync_status().unwrap().kept_aside, 5);
        assert!(store.kept_aside().unwrap().iter().all(|k| k.attempts == 2));
    }

    #[test]
    fn a_change_stamped_far_in_the_future_is_kept_aside_and_does_not_drag_the_clock() {
        let (_dir, mut store) = store();
        let now = crate::store::hlc::wall_clock_millis();
        let mut changes = course_page(1, "course-1", "Now");
        let future = at(now + 10 * 365 * 24 * 3_600_000);
        changes.push(any_change(3, "courses", "course-1", "title", json!("From the future"), future));
        let stats = store.apply_pull(&page(changes)).unwrap();
        assert_eq!(stats.kept_aside, 1);
        assert_eq!(visible_courses(&store), ["Now"]);
        assert_eq!(kinds(&store), [("title".to_string(), KeptAsideKind::FutureClock)]);
        let clock = store.last_hlc().unwrap();
        assert!(clock.millis < now + crate::store::hlc::MAX_REMOTE_LEAD_MS, "{clock:?}");
    }

    #[test]
    fn a_kept_aside_change_that_applies_later_still_obeys_last_writer_wins() {
        let (_dir, mut store) = store();
        // Two circles whose team is set to a team not here yet: one at time
        // 10 (older), one at time 30 (newer).
        let mut first = new_row(1, &schema::CIRCLES, "older", &[("name", json!("Older"))]);
        first.extend(new_row(3, &schema::CIRCLES, "newer", &[("name", json!("Newer"))]));
        first.push(any_change(5, "circles", "older", "team_id", json!("t1"), at(10)));
        first.push(any_change(6, "circles", "newer", "team_id", json!("t1"), at(30)));
        assert_eq!(store.apply_pull(&page(first)).unwrap().kept_aside, 2);
        // Meanwhile another device cleared both teams at time 20.
        let meanwhile = vec![
            any_change(7, "circles", "older", "team_id", json!(null), at(20)),
            any_change(8, "circles", "newer", "team_id", json!(null), at(20)),
        ];
        let stats = store.apply_pull(&page(meanwhile)).unwrap();
        // Retried at once: the older one now loses whatever its team, so it
        // is settled (superseded) without its team.
        assert_eq!((stats.applied, stats.recovered, stats.superseded), (2, 1, 1));
        assert_eq!(store.sync_status().unwrap().kept_aside, 1);
        // The team arrives: the newer kept-aside change wins.
        let stats = store.apply_pull(&page(new_row(9, &schema::TEAMS, "t1", &[("name", json!("T"))]))).unwrap();
        assert_eq!(stats.recovered, 1);
        let team = |id: &str| -> Option<String> {
            store.conn.query_row("SELECT team_id FROM circles WHERE id = ?1", [id], |r| r.get(0)).unwrap()
        };
        assert_eq!(team("older"), None);
        assert_eq!(team("newer"), Some("t1".into()));
        assert_eq!(store.sync_status().unwrap().kept_aside, 0);
    }

    #[test]
    fn a_chain_of_missing_parents_applies_in_one_page_once_the_root_arrives() {
        let (_dir, mut store) = store();
        // A meeting of a circle of a course, arriving child first on separate pages.
        let meeting = new_row(1, &schema::MEETINGS, "m1", &[("circle_id", json!("ci1"))]);
        let circle = new_row(10, &schema::CIRCLES, "ci1", &[("course_id", json!("co1"))]);
        assert_eq!(store.apply_pull(&page(meeting)).unwrap().kept_aside, 2);
        assert_eq!(store.apply_pull(&page(circle)).unwrap().kept_aside, 2);
        let stats = store.apply_pull(&page(course_page(20, "co1", "Root"))).unwrap();
        assert_eq!(stats.recovered, 4);
        let shown: i64 =
            store.conn.query_row("SELECT count(*) FROM meetings WHERE deleted = 0", [], |r| r.get(0)).unwrap();
        assert_eq!(shown, 1);
    }

    /// A circle with one meeting and one learner, made on another laptop.
    fn circle_from_elsewhere(store: &mut Store) {
        let mut changes = new_row(1, &schema::CIRCLES, "ci", &[("name", json!("Circle"))]);
        changes.extend(new_row(
            10,
            &schema::MEETINGS,
            "m",
            &[("circle_id", json!("ci")), ("local_date", json!("2026-03-03")), ("local_time", json!("18:00"))],
        ));
        changes.extend(new_row(20, &schema::LEARNERS, "l", &[("circle_id", json!("ci")), ("name", json!("Ana"))]));
        assert_eq!(store.apply_pull(&page(changes)).unwrap().kept_aside, 0);
    }

    #[test]
    fn a_learner_deleted_elsewhere_while_marked_here_is_a_conflict_that_can_restore_the_learner() {
        let (_dir, mut store) = store();
        circle_from_elsewhere(&mut store);
        store.mark_attendance("m", "l", crate::domain::attendance::Mark::Present).unwrap();
        // Another laptop deleted the learner without having seen the mark
        // (its deletion is stamped before the mark).
        let deletion = vec![any_change(30, "learners", "l", "deleted", json!(1), at(500))];
        let stats = store.apply_pull(&page(deletion.clone())).unwrap();
        assert_eq!(stats.conflicts, 1);
        let conflicts = store.conflicts(false).unwrap();
        assert_eq!(conflicts.len(), 1);
        let c = &conflicts[0];
        assert_eq!((c.table.as_str(), c.row_id.as_str(), c.field.as_str()), ("learners", "l", "deleted"));
        assert_eq!((c.lost_value.clone(), c.won_value.clone(), c.won_device.as_str()), (json!(0), json!(1), "dev-b"));
        // The same page again (a resync) does not add another.
        let mut again = page(deletion);
        again.cursor = 31;
        assert_eq!(store.apply_pull(&again).unwrap().conflicts, 0);
        // Restoring brings the learner (and so the mark) back.
        store.resolve_conflict(&c.id, Resolution::RestoreLost).unwrap();
        let deleted: i64 =
            store.conn.query_row("SELECT deleted FROM learners WHERE id = 'l'", [], |r| r.get(0)).unwrap();
        assert_eq!(deleted, 0);
    }

    /// Acknowledge everything waiting, as a push answered by the server does.
    fn push_all(store: &mut Store) {
        while let Some(batch) = store.next_push_batch(5_000).unwrap() {
            let results = batch
                .changes
                .iter()
                .map(|c| crate::sync::wire::PushResult {
                    change_id: c.change_id.clone(),
                    outcome: PushOutcome::Applied,
                    seq: Some(1),
                })
                .collect();
            let response = PushResponse {
                batch_id: batch.batch_id.clone(),
                batch_seq: batch.batch_seq,
                results,
                server_time_ms: 0,
            };
            store.ack_push(&batch, &response).unwrap();
        }
    }

    #[test]
    fn a_mark_made_offline_before_the_deletion_but_sent_after_is_a_conflict_too() {
        let (_dir, mut store) = store();
        circle_from_elsewhere(&mut store);
        store.mark_attendance("m", "l", crate::domain::attendance::Mark::Present).unwrap();
        // The deletion is stamped after the mark (the mark was made offline
        // first), but the mark reached the server only in this sync.
        push_all(&mut store);
        let later = store.last_hlc().unwrap().successor();
        let deletion = vec![any_change(30, "learners", "l", "deleted", json!(1), later)];
        assert_eq!(store.apply_pull(&page(deletion)).unwrap().conflicts, 1);
    }

    #[test]
    fn a_deletion_made_after_the_edit_was_there_to_see_is_no_conflict() {
        let (_dir, mut store) = store();
        circle_from_elsewhere(&mut store);
        store.mark_attendance("m", "l", crate::domain::attendance::Mark::Present).unwrap();
        push_all(&mut store);
        // A complete pull after the mark was sent: from then on others could see it.
        let mut nothing = page(vec![]);
        nothing.cursor = 29;
        store.apply_pull(&nothing).unwrap();
        let later = store.last_hlc().unwrap().successor();
        let deletion = vec![any_change(30, "learners", "l", "deleted", json!(1), later)];
        assert_eq!(store.apply_pull(&page(deletion)).unwrap().conflicts, 0);
        assert!(store.conflicts(false).unwrap().is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Hostile changes mixed into honest pages (unknown tables and
        /// fields, values of the wrong kind, references to rows that never
        /// come, clocks far ahead or at the largest counter) never stop a
        /// page: the honest changes give exactly what they give alone.
        #[test]
        fn hostile_changes_never_stop_the_honest_ones(
            steps in prop::collection::vec((0usize..3, 0usize..3, 1u64..50, any::<bool>(), 0usize..7, 1usize..4), 1..40),
        ) {
            let (_a, mut mixed) = store();
            let (_b, mut honest) = store();
            let far = crate::store::hlc::wall_clock_millis() + 1_000_000_000;
            let fields = ["title", "archived", "deleted"];
            let mut seq = 0;
            let mut mixed_pages: Vec<Vec<ServerChange>> = vec![vec![]];
            let mut honest_pages: Vec<Vec<ServerChange>> = vec![vec![]];
            for &(row, field, millis, flag, hostility, page_break) in &steps {
                seq += 1;
                let field = fields[field];
                let value = if field == "title" { json!(format!("t{seq}")) } else { json!(u8::from(flag)) };
                let change = any_change(seq, "courses", &format!("row-{row}"), field, value, at(millis));
                mixed_pages.last_mut().unwrap().push(change.clone());
                honest_pages.last_mut().unwrap().push(change);
                seq += 1;
                let row = format!("row-{row}");
                let bad = match hostility {
                    0 => any_change(seq, "courses", &row, "title", json!(7), at(millis + 1)),
                    1 => any_change(seq, "courses", &row, "nickname", json!("x"), at(millis + 1)),
                    2 => any_change(seq, "nowhere", &row, "title", json!("x"), at(millis + 1)),
                    3 => any_change(seq, "courses", &row, "title", json!("future"), at(far)),
                    4 => any_change(seq, "team_members", "tm", "team_id", json!("no-team"), at(millis)),
                    5 => any_change(seq, "learners", "l", "circle_id", json!("no-circle"), Hlc { millis, counter: u32::MAX }),
                    _ => any_change(seq, "attendance", "a", "mark", json!("maybe"), at(millis)),
                };
                mixed_pages.last_mut().unwrap().push(bad);
                if page_break == 1 {
                    mixed_pages.push(vec![]);
                    honest_pages.push(vec![]);
                }
            }
            for (m, h) in mixed_pages.into_iter().zip(honest_pages) {
                let m_stats = mixed.apply_pull(&page(m)).unwrap();
                let h_stats = honest.apply_pull(&page(h)).unwrap();
                prop_assert_eq!(m_stats.applied + m_stats.superseded, h_stats.applied + h_stats.superseded);
            }
            prop_assert_eq!(state(&mixed), state(&honest));
            prop_assert!(mixed.sync_status().unwrap().kept_aside > 0);
        }
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
