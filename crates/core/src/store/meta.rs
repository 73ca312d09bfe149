//! The `meta` table: this store's own bookkeeping (device id, clock, sync
//! cursors, the account) and preferences, as text by key. Every key is a
//! constant here, so a misspelt key fails to compile and `ls` of one file
//! shows everything a store keeps outside its synced tables (a tidy test
//! refuses key literals anywhere else).

use rusqlite::{Connection, OptionalExtension};

use crate::error::Result;

/// A key of the `meta` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MetaKey(&'static str);

/// This replica's id, made once when the store is created.
pub(crate) const DEVICE_ID: MetaKey = MetaKey("device_id");
/// The last clock value this replica issued or saw (`Hlc` text).
pub(crate) const HLC: MetaKey = MetaKey("hlc");

/// The batch being pushed, stored before it is sent and re-sent verbatim
/// until the server answers it.
pub(crate) const SYNC_PENDING_BATCH: MetaKey = MetaKey("sync.pending_batch");
/// The number of the last batch the server acknowledged.
pub(crate) const SYNC_LAST_BATCH_SEQ: MetaKey = MetaKey("sync.last_batch_seq");
/// The server log position pulled up to.
pub(crate) const SYNC_CURSOR: MetaKey = MetaKey("sync.cursor");
/// The last conflict the server reported to this device.
pub(crate) const SYNC_CONFLICT_CURSOR: MetaKey = MetaKey("sync.conflict_cursor");
/// How far this computer's clock is behind the server's, in ms.
pub(crate) const SYNC_CLOCK_OFFSET: MetaKey = MetaKey("sync.clock_offset_ms");
/// The acknowledgement cursor: every outbox change up to this seq that is
/// not refused has been acknowledged. The outbox is a log and batches are
/// its oldest waiting changes, so acknowledging a batch moves this cursor
/// instead of marking each of its changes.
pub(crate) const SYNC_ACKED_THROUGH: MetaKey = MetaKey("sync.acked_through");
/// The acknowledgement cursor when the last complete pull ended: this
/// replica's changes after it reached the server after everything it had
/// pulled, so a device whose deletion arrives later may not have seen them
/// (delete against edit, `sync/replica/pull.rs`).
pub(crate) const SYNC_ACKED_AT_LAST_PULL: MetaKey = MetaKey("sync.acked_at_last_pull");
/// The account this store syncs with.
pub(crate) const SYNC_SERVER_URL: MetaKey = MetaKey("sync.server_url");
pub(crate) const SYNC_TOKEN: MetaKey = MetaKey("sync.token");
pub(crate) const SYNC_USER_NAME: MetaKey = MetaKey("sync.user_name");
pub(crate) const SYNC_EMAIL: MetaKey = MetaKey("sync.email");
/// The signed-in account's id, which is also its facilitator id in synced
/// data: who "I" am when choosing a circle's team or co-facilitators. Kept
/// after signing out, like the name and email.
pub(crate) const SYNC_USER_ID: MetaKey = MetaKey("sync.user_id");
/// When the last sync succeeded, and why the last one failed (cleared by a success).
pub(crate) const SYNC_LAST_SUCCESS: MetaKey = MetaKey("sync.last_success");
pub(crate) const SYNC_LAST_ERROR: MetaKey = MetaKey("sync.last_error");
/// What a new sign-in to another server starts over from.
pub(crate) const SYNC_POSITION: [MetaKey; 4] =
    [SYNC_CURSOR, SYNC_CONFLICT_CURSOR, SYNC_PENDING_BATCH, SYNC_LAST_BATCH_SEQ];

/// Set ("1") in a store that holds the demo: it never signs in or syncs
/// (`store/first_run.rs`).
pub(crate) const DEMO: MetaKey = MetaKey("store.demo");
/// The newest app version the server announced, and where to get it, kept
/// so the notice shows offline too (`sync/app_update.rs`).
pub(crate) const APP_LATEST_VERSION: MetaKey = MetaKey("app.latest_version");
pub(crate) const APP_DOWNLOAD_URL: MetaKey = MetaKey("app.download_url");

/// Preferences of this installation (not synced).
pub(crate) const UI_LANGUAGE: MetaKey = MetaKey("ui.language");
pub(crate) const UI_SERVER_URL: MetaKey = MetaKey("ui.server_url");
/// Set once the person chose "start without an account" on the welcome
/// screen, so it is not shown again.
pub(crate) const UI_WELCOME_DONE: MetaKey = MetaKey("ui.welcome_done");

/// The app lock (`store/app_lock.rs`): the Argon2id hash of its PIN or
/// passphrase (PHC string), which of the two it is, the idle minutes, the
/// wrong tries in a row, and until when the next try must wait (RFC 3339).
pub(crate) const APP_LOCK_HASH: MetaKey = MetaKey("app_lock.hash");
pub(crate) const APP_LOCK_KIND: MetaKey = MetaKey("app_lock.kind");
pub(crate) const APP_LOCK_IDLE_MINUTES: MetaKey = MetaKey("app_lock.idle_minutes");
pub(crate) const APP_LOCK_FAILED_TRIES: MetaKey = MetaKey("app_lock.failed_tries");
pub(crate) const APP_LOCK_WAIT_UNTIL: MetaKey = MetaKey("app_lock.wait_until");
/// Everything the lock keeps (removing it removes these), the hash first.
pub(crate) const APP_LOCK_ALL: [MetaKey; 5] =
    [APP_LOCK_HASH, APP_LOCK_KIND, APP_LOCK_IDLE_MINUTES, APP_LOCK_FAILED_TRIES, APP_LOCK_WAIT_UNTIL];

pub(crate) fn get(conn: &Connection, key: MetaKey) -> Result<Option<String>> {
    let mut stmt = conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?;
    Ok(stmt.query_row([key.0], |r| r.get(0)).optional()?)
}

/// A number kept as text; 0 when absent or unreadable.
pub(crate) fn get_int(conn: &Connection, key: MetaKey) -> Result<i64> {
    Ok(get(conn, key)?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

pub(crate) fn set(conn: &Connection, key: MetaKey, value: &str) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?;
    stmt.execute([key.0, value])?;
    Ok(())
}

pub(crate) fn delete(conn: &Connection, key: MetaKey) -> Result<()> {
    let mut stmt = conn.prepare_cached("DELETE FROM meta WHERE key = ?1")?;
    stmt.execute([key.0])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct() {
        let all = [
            DEVICE_ID,
            HLC,
            SYNC_PENDING_BATCH,
            SYNC_LAST_BATCH_SEQ,
            SYNC_CURSOR,
            SYNC_CONFLICT_CURSOR,
            SYNC_CLOCK_OFFSET,
            SYNC_ACKED_THROUGH,
            SYNC_ACKED_AT_LAST_PULL,
            SYNC_SERVER_URL,
            SYNC_TOKEN,
            SYNC_USER_NAME,
            SYNC_EMAIL,
            SYNC_LAST_SUCCESS,
            SYNC_LAST_ERROR,
            DEMO,
            APP_LATEST_VERSION,
            APP_DOWNLOAD_URL,
            UI_LANGUAGE,
            UI_SERVER_URL,
            UI_WELCOME_DONE,
            APP_LOCK_HASH,
            APP_LOCK_KIND,
            APP_LOCK_IDLE_MINUTES,
            APP_LOCK_FAILED_TRIES,
            APP_LOCK_WAIT_UNTIL,
        ];
        let unique: std::collections::HashSet<_> = all.iter().map(|k| k.0).collect();
        assert_eq!(unique.len(), all.len());
    }
}
