//! The one path every local write takes: row changes plus their field-level
//! change records (outbox and field versions), in one SQLite transaction.
//!
//! Table and field names come only from the `TableDef`s in `schema`, never
//! from input, which is why formatting them into SQL is safe.

use rusqlite::types::Value;
use rusqlite::{params, OptionalExtension, Savepoint};

use crate::error::{CoreError, Result};
use crate::schema::TableDef;
use crate::store::hlc::Hlc;
use crate::store::{meta, Store};

/// A column name and the value to store in it.
pub type Column = (&'static str, Value);

/// A write in progress. Dropping it without `commit` (an error, a panic, a
/// crash) rolls back the rows and their change records together.
pub struct WriteTx<'a> {
    tx: Savepoint<'a>,
    device_id: String,
    clock: Hlc,
    /// Server time minus local time, learned at sync (0 until then).
    clock_offset_ms: i64,
}

impl Store {
    /// Run `f` as one atomic write: either all its rows and change records
    /// land, or none do.
    pub(crate) fn write<T>(&mut self, f: impl FnOnce(&mut WriteTx<'_>) -> Result<T>) -> Result<T> {
        if self.conn.is_autocommit() {
            // Take the write lock before reading the clock: the desktop app
            // syncs on a second connection, and a deferred transaction that
            // read before another connection's commit could not write at all
            // (SQLITE_BUSY_SNAPSHOT) instead of waiting its turn.
            return self.atomically(|store| store.write_in_transaction(f));
        }
        self.write_in_transaction(f)
    }

    fn write_in_transaction<T>(&mut self, f: impl FnOnce(&mut WriteTx<'_>) -> Result<T>) -> Result<T> {
        let clock = self.last_hlc()?;
        let clock_offset_ms = self.clock_offset_ms()?;
        // From the store, not this connection's copy: another connection
        // (the app's sync) may have given the replica a new identity.
        let device_id = meta::get(&self.conn, meta::DEVICE_ID)?.unwrap_or_else(|| self.device_id().to_string());
        // A savepoint: on its own it is a transaction, and inside
        // `atomically` it nests, so several writes can land as one.
        let tx = self.conn.savepoint()?;
        let mut w = WriteTx { tx, device_id, clock, clock_offset_ms };
        let out = f(&mut w)?;
        w.finish()?;
        Ok(out)
    }
}

impl Store {
    /// Run several writes as one: all of them land, or none does.
    pub(crate) fn atomically<T>(&mut self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        match f(self) {
            Ok(out) => {
                self.conn.execute_batch("COMMIT")?;
                Ok(out)
            }
            Err(e) => {
                // After some failures (a full disk, an I/O error) SQLite has
                // rolled back by itself; a second ROLLBACK would fail and
                // hide the error that says what happened.
                if !self.conn.is_autocommit() {
                    self.conn.execute_batch("ROLLBACK")?;
                }
                Err(e)
            }
        }
    }
}

impl<'a> WriteTx<'a> {
    fn finish(self) -> Result<()> {
        meta::set(&self.tx, meta::HLC, &self.clock.to_string())?;
        self.tx.commit()?;
        Ok(())
    }

    fn tick(&mut self) -> Hlc {
        self.clock = Hlc::tick(self.clock, crate::store::hlc::corrected_now(self.clock_offset_ms));
        self.clock
    }

    /// Insert a new row with the given columns (others take their defaults).
    pub(crate) fn insert(&mut self, table: &TableDef, id: &str, columns: &[Column]) -> Result<()> {
        let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut all: Vec<Column> = columns.to_vec();
        all.push(("created_at", Value::Text(created_at)));
        let names: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
        let placeholders: Vec<String> = (2..=all.len() + 1).map(|i| format!("?{i}")).collect();
        let sql =
            format!("INSERT INTO {} (id, {}) VALUES (?1, {})", table.name, names.join(", "), placeholders.join(", "));
        let mut values: Vec<Value> = vec![Value::Text(id.to_string())];
        values.extend(all.iter().map(|(_, v)| v.clone()));
        self.tx.execute(&sql, rusqlite::params_from_iter(values))?;
        // Record every field, defaults included, so a replica never depends
        // on its own schema defaults to rebuild the row.
        let stored = self.current_values(table, id, table.fields)?;
        for (field, value) in table.fields.iter().zip(stored) {
            self.record(table, id, field, &value)?;
        }
        Ok(())
    }

    /// Set the given columns of an existing, not deleted row; only the ones
    /// whose value differs are written and recorded. Returns how many changed.
    pub(crate) fn update(&mut self, table: &TableDef, id: &str, columns: &[Column]) -> Result<usize> {
        let names: Vec<&'static str> = columns.iter().map(|(n, _)| *n).collect();
        let current = self.current_values(table, id, &names)?;
        let changed: Vec<&Column> =
            columns.iter().zip(current).filter(|((_, new), old)| new != old).map(|(c, _)| c).collect();
        for (field, value) in &changed {
            let sql = format!("UPDATE {} SET {field} = ?1 WHERE id = ?2", table.name);
            self.tx.execute(&sql, params![value, id])?;
            self.record(table, id, field, value)?;
        }
        Ok(changed.len())
    }

    /// Mark a row deleted. The row stays (a tombstone) so the deletion syncs
    /// and a late edit elsewhere cannot bring it back.
    pub(crate) fn tombstone(&mut self, table: &TableDef, id: &str) -> Result<()> {
        self.update(table, id, &[("deleted", Value::Integer(1))])?;
        Ok(())
    }

    /// Set one field of a row whether or not it is deleted (resolving a
    /// conflict may bring back a value on a row deleted elsewhere).
    pub(crate) fn set_field(&mut self, table: &TableDef, id: &str, field: &'static str, value: Value) -> Result<()> {
        let sql = format!("UPDATE {} SET {field} = ?1 WHERE id = ?2", table.name);
        if self.tx.execute(&sql, params![value, id])? == 0 {
            return Err(CoreError::not_found(table.entity, id));
        }
        self.record(table, id, field, &value)
    }

    /// Run a statement on a table that is not synced (bookkeeping that must
    /// commit with the write).
    pub(crate) fn execute(&self, sql: &str, params: impl rusqlite::Params) -> Result<()> {
        self.tx.execute(sql, params)?;
        Ok(())
    }

    /// Write a row whose id is derived from its parents: insert it with
    /// `keys` and `values` if it has never existed, else bring it back if it
    /// was deleted and set `values`.
    pub(crate) fn upsert(&mut self, table: &TableDef, id: &str, keys: &[Column], values: &[Column]) -> Result<()> {
        let exists: bool =
            self.tx
                .query_row(&format!("SELECT EXISTS(SELECT 1 FROM {} WHERE id = ?1)", table.name), [id], |r| r.get(0))?;
        if exists {
            // The keys too: a row that arrived in part from a sync gets
            // whatever it was still missing.
            self.restore(table, id)?;
            let all: Vec<Column> = keys.iter().chain(values).cloned().collect();
            self.update(table, id, &all)?;
        } else {
            let all: Vec<Column> = keys.iter().chain(values).cloned().collect();
            self.insert(table, id, &all)?;
        }
        Ok(())
    }

    /// Bring back a row whose id is derived from its parents (an attendance
    /// mark cleared and then given again). Rows with random ids are never
    /// restored: a deletion is final for them.
    fn restore(&mut self, table: &TableDef, id: &str) -> Result<()> {
        let sql = format!("UPDATE {} SET deleted = 0 WHERE id = ?1 AND deleted = 1", table.name);
        if self.tx.execute(&sql, [id])? == 1 {
            self.record(table, id, "deleted", &Value::Integer(0))?;
        }
        Ok(())
    }

    fn current_values(&self, table: &TableDef, id: &str, names: &[&'static str]) -> Result<Vec<Value>> {
        let sql = format!(
            "SELECT {} FROM {} WHERE id = ?1 AND deleted = 0",
            if names.is_empty() { "id".to_string() } else { names.join(", ") },
            table.name
        );
        let row = self
            .tx
            .query_row(&sql, [id], |r| {
                (0..names.len()).map(|i| r.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<_>>>()
            })
            .optional()?;
        row.ok_or_else(|| CoreError::not_found(table.entity, id))
    }

    /// Append one field change to the outbox and move the field's version.
    /// The field's last known server sequence is kept, and recorded as the
    /// change's base: it is what this edit was made on top of.
    fn record(&mut self, table: &TableDef, id: &str, field: &str, value: &Value) -> Result<()> {
        // The rules every replica and the server check a change against:
        // a value refused there is refused here first, before it is sent.
        let json = value_to_json(value);
        crate::schema::check_value(table, field, &json)?;
        let hlc = self.tick().to_string();
        let change_id = uuid::Uuid::now_v7().to_string();
        let base_seq: Option<i64> = self
            .tx
            .query_row(
                "SELECT server_seq FROM field_versions WHERE table_name = ?1 AND row_id = ?2 AND field = ?3",
                params![table.name, id, field],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        self.tx.execute(
            "INSERT INTO changes (change_id, table_name, row_id, field, value, hlc, device_id, base_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![change_id, table.name, id, field, json.to_string(), hlc, self.device_id, base_seq],
        )?;
        self.tx.execute(
            "INSERT INTO field_versions (table_name, row_id, field, hlc, device_id, server_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, NULL)
             ON CONFLICT(table_name, row_id, field) DO UPDATE
             SET hlc = excluded.hlc, device_id = excluded.device_id",
            params![table.name, id, field, hlc, self.device_id],
        )?;
        Ok(())
    }
}

/// The wire and outbox form of a column value.
pub fn value_to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Integer(i) => serde_json::Value::from(*i),
        Value::Real(f) => serde_json::Value::from(*f),
        Value::Text(s) => serde_json::Value::from(s.as_str()),
        Value::Blob(b) => serde_json::Value::from(b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
    }
}

/// Helpers to build column values from Rust types.
pub(crate) fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}
pub(crate) fn flag(b: bool) -> Value {
    Value::Integer(b as i64)
}
pub(crate) fn int(i: impl Into<i64>) -> Value {
    Value::Integer(i.into())
}
pub(crate) fn opt_int(i: Option<impl Into<i64>>) -> Value {
    i.map_or(Value::Null, |i| Value::Integer(i.into()))
}
pub(crate) fn opt_real(f: Option<f64>) -> Value {
    f.map_or(Value::Null, Value::Real)
}
pub(crate) fn opt_text(s: Option<&str>) -> Value {
    s.map_or(Value::Null, text)
}

/// A new row id: UUID v7, made here so offline creation needs no server.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A deterministic id for a row that is unique per parent key (attendance per
/// meeting and learner, a guide per meeting...), so that two replicas
/// creating it independently write the same row instead of two.
pub fn derived_id(kind: &str, parts: &[&str]) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6b1f_2c4e_8a7d_4f10_9c3b_5e2a_d1c0_ffee);
    let name = format!("{kind}:{}", parts.join(":"));
    uuid::Uuid::new_v5(&NAMESPACE, name.as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::course::{CourseFilter, CourseInput};
    use crate::schema::COURSES;
    use std::path::Path;
    use std::process::Command;

    const CHILD_ENV: &str = "CIRCLES_CRASH_CHILD_DIR";

    fn course_titles(store: &Store) -> Vec<String> {
        store
            .list_courses(&CourseFilter { include_archived: true, ..Default::default() })
            .unwrap()
            .into_iter()
            .map(|c| c.fields.title)
            .collect()
    }

    /// A real crash: a child process commits one write, then aborts in the
    /// middle of a second one, between its row insert and its commit.
    #[test]
    fn crash_mid_write_leaves_store_and_change_record_consistent() {
        if let Ok(dir) = std::env::var(CHILD_ENV) {
            let mut store = Store::open_in(Path::new(&dir)).unwrap();
            store.create_course(&CourseInput::new("Committed before the crash")).unwrap();
            let _: Result<()> = store.write(|w| {
                w.insert(&COURSES, &new_id(), &[("title", text("Half written"))])?;
                std::process::abort()
            });
            unreachable!("the child aborts inside the write");
        }
        let dir = tempfile::tempdir().unwrap();
        // The test's own path, wherever its module moves.
        let name = format!(
            "{}::crash_mid_write_leaves_store_and_change_record_consistent",
            module_path!().trim_start_matches("circles_core::")
        );
        let status = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", &name, "--nocapture"])
            .env(CHILD_ENV, dir.path())
            .status()
            .unwrap();
        assert!(!status.success(), "the child process must have crashed");

        let store = Store::open_in(dir.path()).unwrap();
        assert_eq!(course_titles(&store), ["Committed before the crash"]);
        assert_eq!(store.verify_change_log().unwrap(), []);
        let pending = store.pending_changes(1000).unwrap();
        assert_eq!(pending.len(), COURSES.fields.len(), "one change per field of the committed course only");
        assert!(pending.iter().all(|c| c.value != serde_json::json!("Half written")));
    }

    #[test]
    fn failed_write_rolls_back_rows_and_changes_together() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        store.create_course(&CourseInput::new("Kept")).unwrap();
        let before = store.pending_count().unwrap();
        let result: Result<()> = store.write(|w| {
            w.insert(&COURSES, &new_id(), &[("title", text("Rolled back"))])?;
            Err(CoreError::invalid("course", "title", crate::error::Rule::State, "simulated failure after the insert"))
        });
        assert!(result.is_err());
        assert_eq!(course_titles(&store), ["Kept"]);
        assert_eq!(store.pending_count().unwrap(), before);
        assert_eq!(store.verify_change_log().unwrap(), []);
    }

    #[test]
    fn atomically_lands_all_writes_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        let result: Result<()> = store.atomically(|s| {
            s.create_course(&CourseInput::new("First"))?;
            s.create_course(&CourseInput::new("Second"))?;
            s.create_course(&CourseInput::new(""))?; // refused: title is required
            Ok(())
        });
        assert!(result.is_err());
        assert!(course_titles(&store).is_empty());
        assert_eq!(store.pending_count().unwrap(), 0);
        store
            .atomically(|s| {
                s.create_course(&CourseInput::new("First"))?;
                s.create_course(&CourseInput::new("Second"))
            })
            .unwrap();
        assert_eq!(course_titles(&store), ["First", "Second"]);
    }

    #[test]
    fn update_records_only_changed_fields_with_increasing_clocks() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        let id = store.create_course(&CourseInput::new("Python")).unwrap();
        let before = store.pending_count().unwrap();
        let mut input = store.course(&id).unwrap().fields;
        input.provider = "Coursera".into();
        store.update_course(&id, &input).unwrap();
        store.update_course(&id, &input).unwrap();
        let pending = store.pending_changes(1000).unwrap();
        assert_eq!(pending.len() as u64, before + 1, "one changed field, and a no-op edit records nothing");
        let last = pending.last().unwrap();
        assert_eq!((last.field.as_str(), &last.value), ("provider", &serde_json::json!("Coursera")));
        assert!(pending.windows(2).all(|p| p[0].hlc < p[1].hlc));
    }

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        assert_eq!(derived_id("attendance", &["m", "l"]), derived_id("attendance", &["m", "l"]));
        assert_ne!(derived_id("attendance", &["m", "l"]), derived_id("attendance", &["l", "m"]));
        assert_ne!(derived_id("attendance", &["m"]), derived_id("meeting_guide", &["m"]));
    }
}
