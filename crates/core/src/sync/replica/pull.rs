//! Pulling: applying a page of others' changes field by field under the merge
//! rules, with the cursor moved in the same transaction.

use super::*;

/// Prepared statements kept per connection: sync reuses a few dozen (a row
/// write per table and set of fields, multi-row version writes by count).
pub(super) const STATEMENT_CACHE: usize = 256;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApplyStats {
    /// Remote changes that became a field's value here.
    pub applied: usize,
    /// Remote changes older than what this replica holds (no effect).
    pub superseded: usize,
    /// This replica's own changes coming back (acknowledged).
    pub own: usize,
    pub conflicts: usize,
}

/// The changes of one row in a pulled page, in log order.
pub(super) struct RowChanges<'a> {
    pub(super) table: &'static schema::TableDef,
    pub(super) row_id: &'a str,
    pub(super) changes: Vec<&'a ServerChange>,
}

/// A field's version here: who wrote its value, and the last server
/// sequence seen for it.
#[derive(Clone, PartialEq)]
pub(super) struct FieldVersion {
    pub(super) hlc: Hlc,
    /// As stored (kept as it was when only `server_seq` moves).
    pub(super) hlc_text: String,
    pub(super) device_id: String,
    pub(super) server_seq: Option<i64>,
}

/// One field of a row while a page is applied: its version before the page,
/// its version now, and the change whose value it now holds (if one from
/// this page won).
pub(super) struct FieldSlot<'a> {
    pub(super) field: &'static str,
    pub(super) before: Option<FieldVersion>,
    pub(super) now: Option<FieldVersion>,
    pub(super) winner: Option<&'a WireChange>,
}

/// Rows of `field_versions` written by one multi-row statement at most.
pub(super) const VERSIONS_PER_STATEMENT: usize = 32;

/// Apply one row's changes of a page: per field, the last writer by (HLC,
/// device) wins, exactly as if each change were applied in turn; then write
/// the row once and its changed field versions together.
pub(super) fn apply_row(tx: &Transaction<'_>, row: &RowChanges<'_>, me: &str, stats: &mut ApplyStats) -> Result<()> {
    let table = row.table;
    let mut slots: Vec<FieldSlot<'_>> = Vec::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT field, hlc, device_id, server_seq FROM field_versions WHERE table_name = ?1 AND row_id = ?2",
        )?;
        let mut found = stmt.query(params![table.name, row.row_id])?;
        while let Some(r) = found.next()? {
            let field: String = r.get(0)?;
            // Only fields this page touches matter; the schema knows them all.
            let Some(field) = table.fields.iter().copied().find(|f| *f == field) else { continue };
            let hlc_text: String = r.get(1)?;
            let version = FieldVersion {
                hlc: hlc_text.parse().unwrap_or(Hlc::ZERO),
                hlc_text,
                device_id: r.get(2)?,
                server_seq: r.get(3)?,
            };
            slots.push(FieldSlot { field, before: Some(version.clone()), now: Some(version), winner: None });
        }
    }
    for server_change in &row.changes {
        let change = &server_change.change;
        let i = match slots.iter().position(|s| s.field == change.field) {
            Some(i) => i,
            None => {
                // `merge::check` accepted the field, so the schema has it.
                let field = table.fields.iter().copied().find(|f| *f == change.field).expect("checked field");
                slots.push(FieldSlot { field, before: None, now: None, winner: None });
                slots.len() - 1
            }
        };
        let slot = &mut slots[i];
        let wins = match &slot.now {
            None => true,
            Some(current) => merge::supersedes(
                Version { hlc: change.hlc, device_id: &change.device_id },
                Version { hlc: current.hlc, device_id: &current.device_id },
            ),
        };
        let seen_seq = slot.now.as_ref().and_then(|v| v.server_seq).unwrap_or(0).max(server_change.seq);
        if wins {
            slot.now = Some(FieldVersion {
                hlc: change.hlc,
                hlc_text: change.hlc.to_string(),
                device_id: change.device_id.clone(),
                server_seq: Some(seen_seq),
            });
            slot.winner = Some(change);
        } else if let Some(current) = &mut slot.now {
            current.server_seq = Some(seen_seq);
        }
        if change.device_id == me {
            stats.own += 1;
        } else if wins {
            stats.applied += 1;
        } else {
            stats.superseded += 1;
        }
    }
    write_row(tx, table, row.row_id, &slots)?;
    let changed: Vec<&FieldSlot<'_>> = slots.iter().filter(|s| s.now != s.before).collect();
    for chunk in changed.chunks(VERSIONS_PER_STATEMENT) {
        let values = vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO field_versions (table_name, row_id, field, hlc, device_id, server_seq) VALUES {values}
             ON CONFLICT(table_name, row_id, field) DO UPDATE
             SET hlc = excluded.hlc, device_id = excluded.device_id, server_seq = excluded.server_seq"
        );
        let mut params: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(chunk.len() * 6);
        for slot in chunk {
            let version = slot.now.as_ref().expect("a changed field has a version");
            params.extend([
                &table.name as &dyn rusqlite::ToSql,
                &row.row_id,
                &slot.field,
                &version.hlc_text,
                &version.device_id,
                &version.server_seq,
            ]);
        }
        tx.prepare_cached(&sql)?.execute(params.as_slice())?;
    }
    Ok(())
}

/// Write the values that won into the row, in one statement. A row first
/// seen through some of its fields stays hidden (deleted) until its own
/// `deleted` field arrives: a row's creation records `deleted` after every
/// other field but `created_at`, and pages come in log order, so by then the
/// whole row is here. Readers never see half a row when a page boundary
/// splits one.
pub(super) fn write_row(
    tx: &Transaction<'_>,
    table: &schema::TableDef,
    row_id: &str,
    slots: &[FieldSlot<'_>],
) -> Result<()> {
    let mut columns: Vec<&'static str> = Vec::new();
    let mut params: Vec<Value> = vec![Value::Text(row_id.to_string())];
    // Schema order, so the same set of fields always makes the same statement.
    for field in table.fields {
        let Some(change) = slots.iter().find(|s| s.field == *field).and_then(|s| s.winner) else { continue };
        let value = schema::column_value(table, field, &change.value)
            .map_err(|e| CoreError::Protocol(format!("the server sent an invalid value: {e}")))?;
        columns.push(field);
        params.push(value);
    }
    if columns.is_empty() {
        return Ok(());
    }
    // Field names come from the schema, never from the page.
    let sets: Vec<String> = columns.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    let (names, values) = if columns.contains(&"deleted") {
        (columns.join(", "), (2..=columns.len() + 1).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", "))
    } else {
        (
            format!("deleted, {}", columns.join(", ")),
            format!("1, {}", (2..=columns.len() + 1).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")),
        )
    };
    let sql = format!(
        "INSERT INTO {t} (id, {names}) VALUES (?1, {values}) ON CONFLICT(id) DO UPDATE SET {sets}",
        t = table.name,
        sets = sets.join(", ")
    );
    tx.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(params))?;
    Ok(())
}

impl Store {
    /// Where the next pull starts: (change cursor, conflict cursor).
    pub fn pull_cursors(&self) -> Result<(i64, i64)> {
        Ok((meta::get_int(&self.conn, meta::SYNC_CURSOR)?, meta::get_int(&self.conn, meta::SYNC_CONFLICT_CURSOR)?))
    }

    /// Apply one pulled page and move the cursors, atomically.
    pub fn apply_pull(&mut self, page: &PullResponse) -> Result<ApplyStats> {
        let device_id = self.device_id().to_string();
        self.conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let tx = self.conn.transaction()?;
        // References may point at rows later in the same page.
        tx.pragma_update(None, "defer_foreign_keys", true)?;
        let mut stats = ApplyStats::default();
        let mut clock: Hlc = meta::get(&tx, meta::HLC)?.and_then(|s| s.parse().ok()).unwrap_or(Hlc::ZERO);
        if page.reset {
            meta::set(&tx, meta::SYNC_CURSOR, "0")?;
            tx.commit()?;
            return Ok(stats);
        }
        // Check the whole page first (a page this version cannot apply
        // changes nothing), then apply it row by row: each row's changes in
        // log order, rows in the order they first appear. Rows do not
        // affect each other, so this is the same as applying change by change.
        let mut rows: Vec<RowChanges<'_>> = Vec::new();
        let mut row_index: HashMap<(&str, &str), usize> = HashMap::new();
        for server_change in &page.changes {
            let change = &server_change.change;
            let table = merge::check(change).map_err(|e| {
                CoreError::Protocol(format!("the server sent a change this version cannot apply ({e}); update Circles"))
            })?;
            clock = Hlc::observe(clock, change.hlc, wall_clock_millis());
            let i = *row_index.entry((table.name, change.row_id.as_str())).or_insert_with(|| {
                rows.push(RowChanges { table, row_id: &change.row_id, changes: Vec::new() });
                rows.len() - 1
            });
            rows[i].changes.push(server_change);
        }
        for row in &rows {
            apply_row(&tx, row, &device_id, &mut stats)?;
        }
        {
            let mut insert_conflict = tx.prepare_cached(
                "INSERT INTO conflicts (id, table_name, row_id, field, lost_value, lost_hlc, won_value, won_hlc,
                                        won_device, detected_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(id) DO NOTHING",
            )?;
            for conflict in &page.conflicts {
                let inserted = insert_conflict.execute(params![
                    conflict.id.to_string(),
                    conflict.table,
                    conflict.row_id,
                    conflict.field,
                    conflict.lost_value.to_string(),
                    conflict.lost_hlc.to_string(),
                    conflict.won_value.to_string(),
                    conflict.won_hlc.to_string(),
                    conflict.won_device,
                    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                ])?;
                stats.conflicts += inserted;
            }
        }
        let conflict_cursor = page.conflicts.iter().map(|c| c.id).max();
        if let Some(c) = conflict_cursor {
            meta::set(
                &tx,
                meta::SYNC_CONFLICT_CURSOR,
                &c.max(meta::get_int(&tx, meta::SYNC_CONFLICT_CURSOR)?).to_string(),
            )?;
        }
        meta::set(&tx, meta::SYNC_CURSOR, &page.cursor.to_string())?;
        meta::set(&tx, meta::HLC, &clock.to_string())?;
        tx.commit()?;
        Ok(stats)
    }
}
