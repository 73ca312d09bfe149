//! `circles-server migrate-db --from sqlite:PATH --to postgres://...`: copy
//! everything a SQLite server database holds into an empty PostgreSQL one,
//! then prove it by comparing both, table by table (row count and a SHA-256
//! of every row in key order).
//!
//! The copy is one PostgreSQL transaction holding the write lock, so a
//! server already pointed at the target can never interleave with it, and a
//! failed copy leaves the target empty.

use std::path::Path;

use anyhow::{bail, Context, Result};
use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};

use crate::storage::postgres;

/// A copied table: columns (name, is an integer), and the key it is ordered by.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, bool)],
    key: &'static [&'static str],
}

/// Every table of the server schema, parents before children.
const TABLES: &[Table] = &[
    Table {
        name: "users",
        columns: &[
            ("id", false),
            ("email", false),
            ("name", false),
            ("password_hash", false),
            ("created_at", false),
            ("disabled_at", false),
        ],
        key: &["id"],
    },
    Table {
        name: "tokens",
        columns: &[
            ("id", false),
            ("user_id", false),
            ("device_id", false),
            ("device_name", false),
            ("token_hash", false),
            ("created_at", false),
            ("last_used_at", false),
            ("revoked_at", false),
        ],
        key: &["id"],
    },
    Table {
        name: "devices",
        columns: &[("device_id", false), ("user_id", false), ("created_at", false)],
        key: &["device_id"],
    },
    Table {
        name: "row_creator",
        columns: &[("table_name", false), ("row_id", false), ("user_id", false)],
        key: &["table_name", "row_id"],
    },
    Table { name: "teams", columns: &[("id", false), ("name", false)], key: &["id"] },
    Table {
        name: "team_members",
        columns: &[("team_id", false), ("user_id", false), ("role", false)],
        key: &["team_id", "user_id"],
    },
    Table {
        name: "access_revocations",
        columns: &[("user_id", false), ("circle_id", false), ("seq", true)],
        key: &["user_id", "seq", "circle_id"],
    },
    Table {
        name: "changes",
        columns: &[
            ("seq", true),
            ("change_id", false),
            ("table_name", false),
            ("row_id", false),
            ("field", false),
            ("value", false),
            ("hlc", false),
            ("device_id", false),
            ("base_seq", true),
            ("user_id", false),
            ("scope_circle", false),
            ("received_at", false),
            ("scope_person", false),
        ],
        key: &["seq"],
    },
    Table { name: "seen_changes", columns: &[("change_id", false)], key: &["change_id"] },
    Table {
        name: "field_state",
        columns: &[
            ("table_name", false),
            ("row_id", false),
            ("field", false),
            ("value", false),
            ("hlc", false),
            ("device_id", false),
            ("seq", true),
        ],
        key: &["table_name", "row_id", "field"],
    },
    Table {
        name: "row_scope",
        columns: &[("table_name", false), ("row_id", false), ("circle_id", false)],
        key: &["table_name", "row_id"],
    },
    Table {
        name: "circle_access",
        columns: &[("circle_id", false), ("user_id", false), ("granted_seq", true)],
        key: &["circle_id", "user_id"],
    },
    Table {
        name: "push_batches",
        columns: &[("device_id", false), ("batch_seq", true), ("batch_id", false), ("response_json", false)],
        key: &["device_id", "batch_seq"],
    },
    Table {
        name: "conflicts",
        columns: &[
            ("id", true),
            ("table_name", false),
            ("row_id", false),
            ("field", false),
            ("lost_value", false),
            ("lost_hlc", false),
            ("lost_device", false),
            ("won_value", false),
            ("won_hlc", false),
            ("won_device", false),
            ("created_at", false),
        ],
        key: &["id"],
    },
    Table {
        name: "directory_contacts",
        columns: &[("token_id", false), ("person_id", false), ("since_seq", true)],
        key: &["token_id", "person_id"],
    },
    Table {
        name: "token_circles",
        columns: &[("token_id", false), ("circle_id", false)],
        key: &["token_id", "circle_id"],
    },
    Table {
        name: "mail_outbox",
        columns: &[
            ("id", false),
            ("created_at", false),
            ("kind", false),
            ("dedupe_key", false),
            ("to_address", false),
            ("subject", false),
            ("body_text", false),
            ("body_html", false),
            ("attachments", false),
            ("state", false),
            ("attempts", true),
            ("next_attempt_at", false),
            ("lease_owner", false),
            ("lease_until", false),
            ("last_error", false),
            ("sent_at", false),
            ("channel", false),
            ("provider_id", false),
            ("delivery", false),
            ("delivery_logged", true),
        ],
        key: &["id"],
    },
    Table { name: "learner_sends", columns: &[("send_key", false), ("done_at", false)], key: &["send_key"] },
    Table {
        name: "invitations",
        columns: &[
            ("id", false),
            ("team_id", false),
            ("email", false),
            ("circle_id", false),
            ("role", false),
            ("invited_by", false),
            ("token_hash", false),
            ("created_at", false),
            ("expires_at", false),
            ("used_at", false),
            ("used_by", false),
            ("cancelled_at", false),
        ],
        key: &["id"],
    },
    Table {
        name: "team_join_domains",
        columns: &[
            ("team_id", false),
            ("domain", false),
            ("token_hash", false),
            ("set_by", false),
            ("created_at", false),
        ],
        key: &["team_id"],
    },
    Table {
        name: "password_resets",
        columns: &[
            ("id", false),
            ("user_id", false),
            ("token_hash", false),
            ("created_at", false),
            ("expires_at", false),
            ("used_at", false),
        ],
        key: &["id"],
    },
    Table {
        name: "public_slugs",
        columns: &[("slug", false), ("kind", false), ("target_id", false), ("created_at", false)],
        key: &["slug"],
    },
    Table { name: "server_secrets", columns: &[("name", false), ("value", false)], key: &["name"] },
    Table {
        name: "audit_log",
        columns: &[
            ("id", true),
            ("at", false),
            ("event", false),
            ("actor", false),
            ("subject", false),
            ("address", false),
            ("detail", false),
        ],
        key: &["id"],
    },
];

const CHUNK: usize = 5_000;

/// One table on both sides.
#[derive(Debug, Clone, PartialEq)]
pub struct TableCheck {
    pub table: &'static str,
    pub rows: u64,
    pub digest: String,
}

/// Rows as text (integers in decimal, NULL as None): the form both sides are compared in.
type TextRow = Vec<Option<String>>;

fn hash_row(hasher: &mut Sha256, row: &TextRow) {
    for value in row {
        match value {
            Some(v) => {
                hasher.update([1u8]);
                hasher.update((v.len() as u64).to_le_bytes());
                hasher.update(v.as_bytes());
            }
            None => hasher.update([0u8]),
        }
    }
}

fn sqlite_text(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Some(hex::encode(b)),
    }
}

fn open_sqlite(path: &Path) -> Result<rusqlite::Connection> {
    if !path.is_file() {
        bail!("{} does not exist", path.display());
    }
    let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()
        .with_context(|| format!("{} is not a circles-server database", path.display()))?;
    for t in TABLES {
        if !tables.iter().any(|n| n == t.name) {
            bail!("{} is not a circles-server database (no table {})", path.display(), t.name);
        }
    }
    if let Some(unknown) = tables.iter().find(|n| !TABLES.iter().any(|t| t.name == n.as_str())) {
        bail!(
            "{} has a table this version does not know ({unknown}): it was written by a newer circles-server; migrate with that version",
            path.display()
        );
    }
    Ok(conn)
}

fn sqlite_check(conn: &rusqlite::Connection, t: &Table) -> Result<TableCheck> {
    let cols: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
    let sql = format!("SELECT {} FROM {} ORDER BY {}", cols.join(", "), t.name, t.key.join(", "));
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut hasher = Sha256::new();
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let row: TextRow = (0..cols.len()).map(|i| r.get_ref(i).map(sqlite_text)).collect::<rusqlite::Result<_>>()?;
        hash_row(&mut hasher, &row);
        n += 1;
    }
    Ok(TableCheck { table: t.name, rows: n, digest: hex::encode(hasher.finalize()) })
}

fn pg_check(client: &mut ::postgres::Client, t: &Table) -> Result<TableCheck> {
    let cols: Vec<String> = t.columns.iter().map(|c| format!("{}::text", c.0)).collect();
    // COLLATE "C": byte order, as SQLite's BINARY collation sorts.
    let order: Vec<String> = t
        .key
        .iter()
        .map(|k| {
            if t.columns.iter().any(|c| c.0 == *k && c.1) {
                format!("src.{k}")
            } else {
                format!("src.{k} COLLATE \"C\"")
            }
        })
        .collect();
    // Qualified (src.k): the key's own column, not the ::text output of the same name.
    let sql = format!("SELECT {} FROM {} AS src ORDER BY {}", cols.join(", "), t.name, order.join(", "));
    let mut hasher = Sha256::new();
    let mut n = 0;
    let mut tx = client.build_transaction().read_only(true).start()?;
    let portal = tx.bind(sql.as_str(), &[])?;
    loop {
        let rows = tx.query_portal(&portal, CHUNK as i32)?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let row: TextRow = (0..t.columns.len()).map(|i| r.get::<_, Option<String>>(i)).collect();
            hash_row(&mut hasher, &row);
            n += 1;
        }
    }
    tx.commit()?;
    Ok(TableCheck { table: t.name, rows: n, digest: hex::encode(hasher.finalize()) })
}

/// Row counts and digests of every table of a SQLite server database.
pub fn check_sqlite(path: &Path) -> Result<Vec<TableCheck>> {
    let conn = open_sqlite(path)?;
    TABLES.iter().map(|t| sqlite_check(&conn, t)).collect()
}

/// Row counts and digests of every table of a PostgreSQL server database.
pub fn check_postgres(url: &str) -> Result<Vec<TableCheck>> {
    let mut client = postgres::connect(url)?;
    TABLES.iter().map(|t| pg_check(&mut client, t)).collect()
}

/// Copy `from` (SQLite) into `to` (PostgreSQL, migrated, empty), then
/// compare both. Returns the checks (equal on both sides).
pub fn sqlite_to_postgres(from: &Path, to: &str) -> Result<Vec<TableCheck>> {
    let source = open_sqlite(from)?;
    // One snapshot of the source for the copy and the check.
    source.execute_batch("BEGIN")?;
    let mut client = postgres::connect(to).context("cannot connect to the target database")?;
    postgres::migrate(&mut client)?;
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&postgres::WRITE_LOCK])?;
    let mut held = Vec::new();
    for t in TABLES {
        let n: i64 = tx.query_one(&format!("SELECT count(*) FROM {}", t.name), &[])?.get(0);
        if n > 0 {
            held.push(format!("{n} rows in {}", t.name));
        }
    }
    if !held.is_empty() {
        bail!(
            "the target database is not empty ({}): migrate-db only fills a new, empty database, so nothing was copied",
            held.join(", ")
        );
    }
    for t in TABLES {
        let cols: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
        let params: Vec<String> = (1..=cols.len()).map(|i| format!("${i}::text[]")).collect();
        let casts: Vec<String> = t
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| if c.1 { format!("c{i}::bigint") } else { format!("c{i}") })
            .collect();
        let names: Vec<String> = (0..cols.len()).map(|i| format!("c{i}")).collect();
        let insert = tx.prepare(&format!(
            "INSERT INTO {} ({}) SELECT {} FROM unnest({}) AS u({})",
            t.name,
            cols.join(", "),
            casts.join(", "),
            params.join(", "),
            names.join(", ")
        ))?;
        let mut stmt =
            source.prepare(&format!("SELECT {} FROM {} ORDER BY {}", cols.join(", "), t.name, t.key.join(", ")))?;
        let mut rows = stmt.query([])?;
        let mut columns: Vec<Vec<Option<String>>> = vec![Vec::new(); cols.len()];
        let flush = |tx: &mut ::postgres::Transaction<'_>, columns: &mut Vec<Vec<Option<String>>>| -> Result<()> {
            if columns[0].is_empty() {
                return Ok(());
            }
            let refs: Vec<&(dyn ::postgres::types::ToSql + Sync)> =
                columns.iter().map(|c| c as &(dyn ::postgres::types::ToSql + Sync)).collect();
            tx.execute(&insert, &refs)?;
            columns.iter_mut().for_each(Vec::clear);
            Ok(())
        };
        while let Some(r) = rows.next()? {
            for (i, col) in columns.iter_mut().enumerate() {
                col.push(sqlite_text(r.get_ref(i)?));
            }
            if columns[0].len() >= CHUNK {
                flush(&mut tx, &mut columns)?;
            }
        }
        flush(&mut tx, &mut columns)?;
    }
    // Ids copied as they were: the serial columns go on after the largest.
    for table in ["conflicts", "audit_log"] {
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}"
            ),
            &[],
        )?;
    }
    tx.commit()?;
    drop(client);

    let before: Vec<TableCheck> = TABLES.iter().map(|t| sqlite_check(&source, t)).collect::<Result<_>>()?;
    let after = check_postgres(to)?;
    for (a, b) in before.iter().zip(&after) {
        if a != b {
            bail!(
                "table {} differs after the copy: {} rows (sha256 {}) in SQLite, {} rows (sha256 {}) in PostgreSQL",
                a.table,
                a.rows,
                a.digest,
                b.rows,
                b.digest
            );
        }
    }
    Ok(after)
}
