//! Finding rows the way people type them: a full id, or the first or last
//! few characters of one (as copied from a listing), and an overview of what
//! a store holds. UUID v7 ids start with their creation time, so rows made
//! together share long prefixes; their last characters are random, which is
//! why a suffix is accepted too.

use std::collections::BTreeMap;

use rusqlite::params;
use serde::Serialize;

use crate::error::{CoreError, Result, Rule};
use crate::schema::{TableDef, ALL_TABLES};
use crate::store::{schema_version, Store};

/// The shortest id prefix accepted. Shorter prefixes match too much to be a
/// deliberate choice, so they are refused rather than guessed at.
pub const MIN_PREFIX_LEN: usize = 4;

/// What a data folder holds, for `circles info` and support requests.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StoreOverview {
    pub database_path: String,
    /// The schema version recorded in the database file.
    pub schema_version: i64,
    /// The newest schema version this build knows.
    pub supported_schema_version: i64,
    pub device_id: String,
    /// Live (not deleted) rows per table, by table name.
    pub row_counts: BTreeMap<String, i64>,
    /// Local changes the server has not yet acknowledged.
    pub unsynced_changes: u64,
}

impl Store {
    /// The full id of the live row of `table` that `given` names: either its
    /// whole id, or a prefix of at least [`MIN_PREFIX_LEN`] characters that
    /// only one live row's id starts with. Deleted rows never match, so a
    /// prefix cannot silently pick a row the person no longer sees.
    pub fn resolve_id(&self, table: &TableDef, given: &str) -> Result<String> {
        let given = given.trim();
        if given.is_empty() {
            return Err(CoreError::invalid(table.entity, "id", Rule::Required, "is required"));
        }
        // Table names come from the schema constants, never from input; the
        // typed text is always a bound parameter.
        let exact: bool = self.conn.query_row(
            &format!("SELECT EXISTS(SELECT 1 FROM {} WHERE id = ?1 AND deleted = 0)", table.name),
            [given],
            |r| r.get(0),
        )?;
        if exact {
            return Ok(given.to_string());
        }
        // Ids are lower-case UUIDs; accept a prefix typed in capitals.
        let prefix = given.to_lowercase();
        let prefix_len = prefix.chars().count();
        if prefix_len < MIN_PREFIX_LEN {
            // A short text that matches nothing is simply unknown; one that
            // matches is too short to trust.
            if self.count_prefix(table, &prefix, prefix_len)? == 0 {
                return Err(CoreError::not_found(table.entity, given));
            }
            return Err(CoreError::invalid(
                table.entity,
                "id",
                Rule::Reference,
                format!("\"{given}\" is too short to pick one; type at least {MIN_PREFIX_LEN} characters of the id"),
            ));
        }
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id FROM {} WHERE deleted = 0 AND (substr(id, 1, ?1) = ?2 OR substr(id, -?1) = ?2) ORDER BY id LIMIT 2",
            table.name
        ))?;
        let found: Vec<String> =
            stmt.query_map(params![prefix_len as i64, prefix], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        match found.as_slice() {
            [] => Err(CoreError::not_found(table.entity, given)),
            [only] => Ok(only.clone()),
            _ => {
                let matches = self.count_prefix(table, &prefix, prefix_len)?;
                Err(CoreError::invalid(
                    table.entity,
                    "id",
                    Rule::Reference,
                    format!(
                        "\"{given}\" is ambiguous: {matches} {} ids start with it; type more of the id",
                        table.entity
                    ),
                ))
            }
        }
    }

    fn count_prefix(&self, table: &TableDef, prefix: &str, prefix_len: usize) -> Result<i64> {
        Ok(self.conn.query_row(
            &format!(
                "SELECT count(*) FROM {} WHERE deleted = 0 AND (substr(id, 1, ?1) = ?2 OR substr(id, -?1) = ?2)",
                table.name
            ),
            params![prefix_len as i64, prefix],
            |r| r.get(0),
        )?)
    }

    /// Counts of what the store holds, its versions and identity.
    pub fn overview(&self) -> Result<StoreOverview> {
        let mut row_counts = BTreeMap::new();
        for table in ALL_TABLES {
            let count: i64 =
                self.conn
                    .query_row(&format!("SELECT count(*) FROM {} WHERE deleted = 0", table.name), [], |r| r.get(0))?;
            row_counts.insert(table.name.to_string(), count);
        }
        let unsynced_changes = self.pending_count()?;
        let found_version = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        Ok(StoreOverview {
            database_path: self.path().display().to_string(),
            schema_version: found_version,
            supported_schema_version: schema_version(),
            device_id: self.device_id().to_string(),
            row_counts,
            unsynced_changes,
        })
    }
}

impl Store {
    /// A few words naming a row for a person (a conflict in the inbox, say):
    /// the circle, learner, team or course name, or the meeting's date with
    /// its circle. Deleted rows are named too; an unknown row by its id.
    pub fn row_label(&self, table: &str, row_id: &str) -> Result<String> {
        use rusqlite::OptionalExtension;
        let sql = match table {
            "circles" | "learners" | "teams" | "facilitators" | "guide_templates" => {
                format!("SELECT name FROM {table} WHERE id = ?1")
            }
            "courses" => "SELECT title FROM courses WHERE id = ?1".into(),
            "meetings" => "SELECT c.name || ', ' || m.local_date FROM meetings m
                           JOIN circles c ON c.id = m.circle_id WHERE m.id = ?1"
                .into(),
            "attendance" => "SELECT l.name || ', ' || m.local_date FROM attendance a
                             JOIN learners l ON l.id = a.learner_id
                             JOIN meetings m ON m.id = a.meeting_id WHERE a.id = ?1"
                .into(),
            "meeting_guides" | "meeting_feedback" => format!(
                "SELECT c.name || ', ' || m.local_date FROM {table} x
                 JOIN meetings m ON m.id = x.meeting_id JOIN circles c ON c.id = m.circle_id WHERE x.id = ?1"
            ),
            _ => return Ok(row_id.to_string()),
        };
        let label: Option<String> = self.conn.query_row(&sql, params![row_id], |r| r.get(0)).optional()?;
        Ok(label.unwrap_or_else(|| row_id.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{CIRCLES, COURSES, LEARNERS};
    use crate::{CircleInput, CourseInput, LearnerInput};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open_in(dir.path()).expect("open store");
        (dir, store)
    }

    fn circle(store: &mut Store, name: &str) -> String {
        store.create_circle(&CircleInput::new(name, "America/Chicago", "18:00", 90), None).expect("create circle")
    }

    #[test]
    fn full_ids_and_unique_prefixes_resolve() {
        let (_dir, mut store) = store();
        let id = circle(&mut store, "Python");
        assert_eq!(store.resolve_id(&CIRCLES, &id).unwrap(), id);
        assert_eq!(store.resolve_id(&CIRCLES, &format!("  {id} ")).unwrap(), id);
        assert_eq!(store.resolve_id(&CIRCLES, id.get(..8).unwrap()).unwrap(), id);
        assert_eq!(store.resolve_id(&CIRCLES, &id.get(..8).unwrap().to_uppercase()).unwrap(), id);
    }

    #[test]
    fn ambiguous_prefixes_say_how_many_match() {
        let (_dir, mut store) = store();
        // UUID v7 ids made in the same millisecond range share their first
        // characters; three quick circles share at least "0" plus the clock.
        let ids: Vec<String> = (0..3).map(|i| circle(&mut store, &format!("Circle {i}"))).collect();
        let common = ids
            .iter()
            .skip(1)
            .map(|id| id.chars().zip(ids[0].chars()).take_while(|(a, b)| a == b).count())
            .min()
            .unwrap();
        assert!(common >= MIN_PREFIX_LEN, "v7 ids made together share a time prefix");
        let err = store.resolve_id(&CIRCLES, ids[0].get(..MIN_PREFIX_LEN).unwrap()).unwrap_err();
        assert!(matches!(err, CoreError::Invalid { field: "id", .. }), "{err}");
        assert!(err.to_string().contains("3 circle ids start with it"), "{err}");
    }

    #[test]
    fn short_unknown_and_deleted_ids_are_refused() {
        let (_dir, mut store) = store();
        let id = circle(&mut store, "Python");
        let err = store.resolve_id(&CIRCLES, id.get(..3).unwrap()).unwrap_err();
        assert!(err.to_string().contains("at least 4 characters"), "{err}");
        assert!(matches!(store.resolve_id(&CIRCLES, "zzzz"), Err(CoreError::NotFound { entity: "circle", .. })));
        assert!(matches!(store.resolve_id(&CIRCLES, "zz"), Err(CoreError::NotFound { .. })));
        assert!(store.resolve_id(&CIRCLES, "").is_err());
        // A circle id is not a course id.
        assert!(matches!(store.resolve_id(&COURSES, &id), Err(CoreError::NotFound { entity: "course", .. })));
        store.delete_circle(&id).unwrap();
        assert!(matches!(store.resolve_id(&CIRCLES, &id), Err(CoreError::NotFound { .. })));
        assert!(matches!(store.resolve_id(&CIRCLES, id.get(..8).unwrap()), Err(CoreError::NotFound { .. })));
    }

    #[test]
    fn sql_wildcards_in_input_are_plain_text() {
        let (_dir, mut store) = store();
        circle(&mut store, "Python");
        for given in ["%%%%", "____", "0%", "' OR 1=1 --"] {
            assert!(store.resolve_id(&CIRCLES, given).is_err(), "{given}");
        }
    }

    #[test]
    fn overview_counts_live_rows() {
        let (_dir, mut store) = store();
        let id = circle(&mut store, "Python");
        store.create_course(&CourseInput::new("Public Speaking")).unwrap();
        let learner = store.add_learner(&id, &LearnerInput::new("Ana")).unwrap();
        store.add_learner(&id, &LearnerInput::new("Ben")).unwrap();
        store.delete_learner(&learner).unwrap();
        let overview = store.overview().unwrap();
        assert_eq!(overview.row_counts["circles"], 1);
        assert_eq!(overview.row_counts["courses"], 1);
        assert_eq!(overview.row_counts[LEARNERS.name], 1);
        assert_eq!(overview.schema_version, schema_version());
        assert!(overview.unsynced_changes > 0);
        assert_eq!(overview.device_id, store.device_id());
    }
}
