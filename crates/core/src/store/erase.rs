//! Erased learners' history, purged from this computer: once a learner is
//! erased (`learners.erased` = 1, set here by `Store::erase_learner` or
//! pulled from another replica), the old values of their personal fields
//! must not survive anywhere in the data folder: not in the row, the outbox
//! (`changes`), kept-aside pulls, conflicts, the automatic backups, nor in
//! free pages of the file or its WAL.
//!
//! This is the third writer of the `learners` table besides `store/rows.rs`
//! and the pull (`crates/core/tests/layers.rs`): it writes no change record
//! on purpose, because the blanking itself was already recorded (the erase)
//! or pulled; it only makes the rest of the history agree with it.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags};

use crate::error::Result;
use crate::schema::{erased_value_json, ERASED_LEARNER_FIELDS, LEARNERS};
use crate::store::backup::{automatic_backups, BACKUPS_DIR};
use crate::store::Store;

/// What one purge changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    /// Erased learners whose history still held old values.
    pub learners: usize,
    /// Values blanked or removed (row fields, change records, conflict
    /// sides, kept-aside changes).
    pub values: usize,
    /// Automatic backups scrubbed the same way.
    pub backups: usize,
}

impl Store {
    /// Purge the old personal values of every erased learner from this
    /// store, then make sure the bytes are gone from the files: the store is
    /// vacuumed and its WAL truncated, and every automatic backup in
    /// `backups/` is purged and vacuumed too. Does nothing (and costs one
    /// query) when no erased learner has anything left to purge, so the sync
    /// engine runs it after every pull.
    pub fn purge_erased_learners(&mut self) -> Result<Purged> {
        let ids = learners_left_to_purge(&self.conn)?;
        if ids.is_empty() {
            return Ok(Purged::default());
        }
        let tx = self.conn.transaction()?;
        let mut out = Purged::default();
        for id in &ids {
            let values = purge_learner(&tx, id)?;
            if values > 0 {
                out.learners += 1;
                out.values += values;
            }
        }
        tx.commit()?;
        if out.values > 0 {
            scrub_file(&self.conn)?;
            if let Some(dir) = self.path().parent() {
                out.backups = scrub_backups(&dir.join(BACKUPS_DIR), &ids, &self.key)?;
            }
        }
        Ok(out)
    }
}

/// Every file under `dir` (subfolders included) whose bytes contain
/// `needle`: how an erase is checked to have left a value in no file of a
/// data folder (or a server's database folder).
pub fn files_holding(dir: &Path, needle: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(files_holding(&path, needle)?);
        } else if std::fs::read(&path)?.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            out.push(path);
        }
    }
    Ok(out)
}

/// The learners marked erased (deleted ones included) whose old personal
/// values are still somewhere in this store: the row, a change record, a
/// conflict or a kept-aside change. One query, by index, however many
/// learners were erased before: after a purge an erased learner is not
/// looked at again, so a sync does not grow slower with every erase.
fn learners_left_to_purge(conn: &Connection) -> Result<Vec<String>> {
    // Built from core's schema constants only; the blanks are bound.
    let mut in_row = Vec::new();
    let mut in_history = Vec::new();
    let mut blanks: Vec<String> = Vec::new();
    for (field, blank) in ERASED_LEARNER_FIELDS {
        blanks.push((*blank).to_string());
        in_row.push(format!("l.{field} <> ?{}", blanks.len()));
        blanks.push(erased_value_json(field).expect("a personal field"));
        in_history.push(format!("(h.field = '{field}' AND h.value <> ?{})", blanks.len()));
    }
    let fields = ERASED_LEARNER_FIELDS.iter().map(|(f, _)| format!("'{f}'")).collect::<Vec<_>>().join(", ");
    let changed = in_history.join(" OR ");
    let in_conflicts = ERASED_LEARNER_FIELDS
        .iter()
        .enumerate()
        .map(|(i, (field, _))| {
            let n = 2 * i + 2; // the field's JSON blank, bound above
            format!("(h.field = '{field}' AND (h.lost_value <> ?{n} OR h.won_value <> ?{n}))")
        })
        .collect::<Vec<_>>()
        .join(" OR ");
    let sql = format!(
        "SELECT l.id FROM learners l WHERE l.erased = 1 AND ({row}
            OR EXISTS (SELECT 1 FROM changes h WHERE h.table_name = '{table}' AND h.row_id = l.id AND ({changed}))
            OR EXISTS (SELECT 1 FROM conflicts h WHERE h.table_name = '{table}' AND h.row_id = l.id AND ({in_conflicts}))
            OR EXISTS (SELECT 1 FROM kept_aside h WHERE h.table_name = '{table}' AND h.row_id = l.id AND h.field IN ({fields})))
         ORDER BY l.id",
        row = in_row.join(" OR "),
        table = LEARNERS.name,
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let ids = stmt
        .query_map(rusqlite::params_from_iter(blanks.iter()), |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(ids)
}

/// Blank one learner's personal fields everywhere this database holds them;
/// the number of values changed (0: nothing was left). Tables an older
/// backup does not have are passed over.
fn purge_learner(conn: &Connection, id: &str) -> Result<usize> {
    let has_table = |name: &str| -> rusqlite::Result<bool> {
        conn.query_row("SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)", [name], |r| {
            r.get(0)
        })
    };
    let (kept_aside, conflicts) = (has_table("kept_aside")?, has_table("conflicts")?);
    let table = LEARNERS.name;
    let mut changed = 0;
    for (field, blank) in ERASED_LEARNER_FIELDS {
        let blank_json = erased_value_json(field).expect("a personal field");
        // `field` comes from core's schema, never from outside.
        changed += conn.execute(
            &format!("UPDATE learners SET {field} = ?1 WHERE id = ?2 AND {field} <> ?1"),
            params![blank, id],
        )?;
        changed += conn.execute(
            "UPDATE changes SET value = ?1 WHERE table_name = ?2 AND row_id = ?3 AND field = ?4 AND value <> ?1",
            params![blank_json, table, id, field],
        )?;
        if conflicts {
            changed += conn.execute(
                "UPDATE conflicts SET lost_value = ?1, won_value = ?1
                 WHERE table_name = ?2 AND row_id = ?3 AND field = ?4 AND (lost_value <> ?1 OR won_value <> ?1)",
                params![blank_json, table, id, field],
            )?;
        }
        if kept_aside {
            // A kept-aside change of a personal field is an old value waiting
            // to apply; after the erase it must never apply.
            changed += conn.execute(
                "DELETE FROM kept_aside WHERE table_name = ?1 AND row_id = ?2 AND field = ?3",
                params![table, id, field],
            )?;
        }
    }
    Ok(changed)
}

/// Make freed bytes unreadable: overwrite them (`secure_delete`), rebuild the
/// file without free pages (VACUUM), and fold the WAL in and cut it to zero
/// length, since the WAL still holds the pages as they were before.
fn scrub_file(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "secure_delete", true)?;
    conn.execute_batch("VACUUM")?;
    // TRUNCATE waits for readers (busy timeout); a reader that stays (the app
    // beside the CLI) leaves the WAL for the next purge or checkpoint.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

/// Purge the erased learners from every automatic backup (copies made by
/// `VACUUM INTO`, so free pages hold nothing older than the copy); a copy
/// that cannot be opened as a database is removed rather than left holding
/// an erased learner. The number of backups changed.
fn scrub_backups(dir: &Path, ids: &[String], key: &crate::store::key::StoreKey) -> Result<usize> {
    let mut scrubbed = 0;
    for file in automatic_backups(dir)? {
        let purged = (|| -> Result<usize> {
            let mut conn = crate::store::key::open_keyed(&file, OpenFlags::SQLITE_OPEN_READ_WRITE, key)?;
            conn.pragma_update(None, "secure_delete", true)?;
            let tx = conn.transaction()?;
            let mut values = 0;
            for id in ids {
                values += purge_learner(&tx, id)?;
            }
            tx.commit()?;
            if values > 0 {
                conn.execute_batch("VACUUM")?;
            }
            Ok(values)
        })();
        match purged {
            Ok(0) => {}
            Ok(_) => scrubbed += 1,
            Err(_) => {
                std::fs::remove_file(&file).ok();
                scrubbed += 1;
            }
        }
    }
    Ok(scrubbed)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::error::CoreError;
    use crate::{CircleInput, LearnerInput, Mark, WeeklyRule};

    const EMAIL: &str = "ana.souza@example.org";
    const FIRST_EMAIL: &str = "ana.first@example.org";

    struct Fixture {
        dir: tempfile::TempDir,
        store: Store,
        circle: String,
        ana: String,
    }

    /// Ana signed up with one email, then it was edited; she came to two
    /// meetings; a conflict and a kept-aside pull hold her old email; an
    /// automatic backup was made before the erase.
    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        let rule = WeeklyRule { first_date: NaiveDate::from_ymd_opt(2026, 3, 3).unwrap(), count: 3 };
        let circle = store
            .create_circle(&CircleInput::new("Python Tuesdays", "America/Chicago", "18:00", 90), Some(&rule))
            .unwrap();
        let meetings: Vec<String> = store.meetings(&circle).unwrap().into_iter().map(|m| m.id).collect();
        let mut input = LearnerInput::new("Ana Souza");
        input.email = FIRST_EMAIL.into();
        input.support_needs = "uses a wheelchair".into();
        let ana = store.add_learner(&circle, &input).unwrap();
        input.email = EMAIL.into();
        store.update_learner(&ana, &input).unwrap();
        store.mark_attendance(&meetings[0], &ana, Mark::Present).unwrap();
        store.mark_attendance(&meetings[1], &ana, Mark::Late).unwrap();
        store
            .conn
            .execute(
                "INSERT INTO conflicts (id, table_name, row_id, field, lost_value, lost_hlc, won_value, won_hlc,
                 won_device, detected_at) VALUES ('c1', 'learners', ?1, 'email', ?2, 'h1', ?3, 'h2', 'other', 'now')",
                params![ana, format!("\"{FIRST_EMAIL}\""), format!("\"{EMAIL}\"")],
            )
            .unwrap();
        store
            .conn
            .execute(
                "INSERT INTO kept_aside (change_id, seq, table_name, row_id, field, change, kind, reason, first_attempt,
                 last_attempt) VALUES ('k1', 9, 'learners', ?1, 'mobile', ?2, 'invalid', 'test', 'now', 'now')",
                params![ana, format!("{{\"value\":\"+15555550100\",\"note\":\"{EMAIL}\"}}")],
            )
            .unwrap();
        store.backup_if_due().unwrap().expect("a daily backup");
        Fixture { dir, store, circle, ana }
    }

    #[test]
    fn export_holds_the_fields_marks_circle_and_conflicts() {
        let f = fixture();
        let export = f.store.export_learner(&f.ana).unwrap();
        assert_eq!(export.learner.fields.email, EMAIL);
        assert_eq!(export.circle.name, "Python Tuesdays");
        let marks: Vec<&str> = export.attendance.iter().map(|m| m.mark.as_str()).collect();
        assert_eq!(marks, ["present", "late"]);
        assert_eq!(export.conflicts.len(), 1);
        assert_eq!(export.conflicts[0].lost_value, serde_json::json!(FIRST_EMAIL));
        assert_eq!(export.kept_aside.len(), 1);
        let text = serde_json::to_string(&export).unwrap();
        assert!(text.contains("uses a wheelchair"));
        assert!(matches!(f.store.export_learner("nope"), Err(CoreError::NotFound { entity: "learner", .. })));
    }

    #[test]
    fn erase_leaves_no_old_value_in_any_file_and_keeps_attendance() {
        let mut f = fixture();
        // The store is encrypted (store/key.rs): no file shows the email even
        // before the erase; the purge is checked through the key below.
        assert_eq!(files_holding(f.dir.path(), FIRST_EMAIL).unwrap(), Vec::<PathBuf>::new(), "encrypted at rest");
        let before = f.store.learner_attendance_total(&f.ana);
        let purged = f.store.erase_learner(&f.ana).unwrap();
        assert!(purged.values > 0 && purged.backups == 1, "{purged:?}");
        let ana = f.store.learner(&f.ana).unwrap();
        assert!(ana.erased);
        assert_eq!(ana.fields.name, "Erased learner");
        assert_eq!((ana.fields.email.as_str(), ana.fields.support_needs.as_str()), ("", ""));
        assert_eq!(f.store.learner_attendance_total(&f.ana), before, "attendance counts stay right");
        assert_eq!(f.store.learners(&f.circle).unwrap().len(), 1, "the row stays");
        // The blanking waits in the outbox to reach every other replica.
        let waiting: i64 = f
            .store
            .conn
            .query_row(
                "SELECT count(*) FROM changes WHERE row_id = ?1 AND field = 'erased' AND value = '1' AND pushed = 0",
                [&f.ana],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(waiting, 1);
        drop(f.store);
        for needle in [EMAIL, FIRST_EMAIL, "uses a wheelchair", "Ana Souza"] {
            assert_eq!(files_holding(f.dir.path(), needle).unwrap(), Vec::<PathBuf>::new(), "{needle}");
        }
    }

    #[test]
    fn an_erased_learner_is_looked_at_again_only_while_an_old_value_is_left() {
        let mut f = fixture();
        f.store.erase_learner(&f.ana).unwrap();
        assert_eq!(learners_left_to_purge(&f.store.conn).unwrap(), Vec::<String>::new(), "all purged");
        let old_email = serde_json::Value::String(FIRST_EMAIL.into()).to_string();
        // An old value back in any one place (as a crash between a pull and
        // its purge would leave it) makes the learner one to purge again.
        for reappear in [
            "UPDATE learners SET goals = 'learn Python' WHERE id = ?1 AND ?2 IS NOT NULL",
            "UPDATE changes SET value = ?2 WHERE rowid = (SELECT min(rowid) FROM changes WHERE row_id = ?1 AND field = 'email')",
            "UPDATE conflicts SET won_value = ?2 WHERE row_id = ?1 AND field = 'email'",
        ] {
            let n = f.store.conn.execute(reappear, rusqlite::params![f.ana, old_email]).unwrap();
            assert_eq!(n, 1, "{reappear}");
            assert_eq!(learners_left_to_purge(&f.store.conn).unwrap(), vec![f.ana.clone()], "{reappear}");
            assert!(f.store.purge_erased_learners().unwrap().values > 0, "{reappear}");
            assert_eq!(learners_left_to_purge(&f.store.conn).unwrap(), Vec::<String>::new(), "{reappear}");
        }
    }

    #[test]
    fn erasing_twice_an_unknown_learner_or_editing_an_erased_one_is_refused_and_changes_nothing() {
        let mut f = fixture();
        f.store.erase_learner(&f.ana).unwrap();
        let outbox = |s: &Store| -> i64 { s.conn.query_row("SELECT count(*) FROM changes", [], |r| r.get(0)).unwrap() };
        let waiting = outbox(&f.store);
        let again = f.store.erase_learner(&f.ana).unwrap_err();
        assert!(matches!(again, CoreError::LearnerErased { .. }), "{again}");
        assert_eq!(again.code(), Some("learner_erased"));
        let edit = f.store.update_learner(&f.ana, &LearnerInput::new("Ana again")).unwrap_err();
        assert!(matches!(edit, CoreError::LearnerErased { .. }));
        assert!(matches!(f.store.erase_learner("nope"), Err(CoreError::NotFound { entity: "learner", .. })));
        assert_eq!(outbox(&f.store), waiting, "nothing was written");
        assert_eq!(f.store.purge_erased_learners().unwrap(), Purged::default(), "nothing left to purge");
    }

    impl Store {
        fn learner_attendance_total(&self, id: &str) -> i64 {
            self.conn
                .query_row("SELECT count(*) FROM attendance WHERE learner_id = ?1 AND deleted = 0", [id], |r| r.get(0))
                .unwrap()
        }
    }
}
