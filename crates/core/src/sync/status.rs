//! What the app and CLI show about sync: the account, and the state.

use serde::Serialize;

use crate::error::Result;
use crate::store::{meta, Store};

/// Why a pulled change is kept aside instead of applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum KeptAsideKind {
    /// It names a row this replica does not have (yet): applies when it arrives.
    MissingReference,
    /// It would show a row one of whose references is kept aside.
    WaitsForReference,
    /// Not a value or field this version can hold (a broken or newer peer).
    Invalid,
    /// Stamped far in the future: applies when its time comes.
    FutureClock,
}

impl KeptAsideKind {
    /// As stored in `kept_aside.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeptAsideKind::MissingReference => "missing_reference",
            KeptAsideKind::WaitsForReference => "waits_for_reference",
            KeptAsideKind::Invalid => "invalid",
            KeptAsideKind::FutureClock => "future_clock",
        }
    }

    fn parse(text: &str) -> KeptAsideKind {
        [Self::MissingReference, Self::WaitsForReference, Self::FutureClock]
            .into_iter()
            .find(|k| k.as_str() == text)
            .unwrap_or(Self::Invalid)
    }
}

/// A pulled change kept aside: it is tried again on every later pull.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeptAside {
    pub change_id: String,
    /// The server's log position.
    pub seq: i64,
    pub table: String,
    pub row_id: String,
    pub field: String,
    /// The value it carries (JSON), as the server sent it.
    pub value: serde_json::Value,
    pub device_id: String,
    pub kind: KeptAsideKind,
    pub reason: String,
    /// RFC 3339 times of the first and the latest attempt.
    pub first_attempt: String,
    pub last_attempt: String,
    pub attempts: u64,
}

/// A change made here that the server refused, or that was made to a
/// circle this person then lost access to: kept here, never sent, so it can
/// be read and exported (`circles refused --json`, the app's Sync screen).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RefusedLocalChange {
    pub change_id: String,
    pub table: String,
    /// What the row is ("learner", "meeting"...).
    pub entity: String,
    pub row_id: String,
    pub field: String,
    /// The value it set (JSON).
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub value: serde_json::Value,
    /// When it was made here (RFC 3339, from its clock).
    pub made_at: String,
}

/// The server account this replica syncs with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account {
    pub server_url: String,
    pub email: String,
    pub user_name: String,
    /// The account's id, also its facilitator id (empty: signed in before
    /// Circles remembered it; `Store::my_facilitator_id` then goes by email).
    pub user_id: String,
    #[serde(skip)]
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncStatus {
    pub account: Option<Account>,
    /// Local changes not yet acknowledged by the server.
    pub pending: u64,
    /// Local changes the server refused (kept locally, not synced).
    pub refused: u64,
    pub open_conflicts: u64,
    /// Pulled changes this replica could not apply yet (see `kept_aside`).
    pub kept_aside: u64,
    pub last_success: Option<String>,
    pub last_error: Option<String>,
}

impl Store {
    pub fn account(&self) -> Result<Option<Account>> {
        let (Some(server_url), Some(token)) = (self.meta(meta::SYNC_SERVER_URL)?, self.meta(meta::SYNC_TOKEN)?) else {
            return Ok(None);
        };
        Ok(Some(Account {
            server_url,
            token,
            email: self.meta(meta::SYNC_EMAIL)?.unwrap_or_default(),
            user_name: self.meta(meta::SYNC_USER_NAME)?.unwrap_or_default(),
            user_id: self.meta(meta::SYNC_USER_ID)?.unwrap_or_default(),
        }))
    }

    /// Remember a signed-in account. Signing in to a different server starts
    /// the replica's sync history afresh (cursors, batches), keeping its data
    /// and its waiting changes.
    pub fn save_account(&mut self, account: &Account) -> Result<()> {
        let tx = self.conn.transaction()?;
        let previous = meta::get(&tx, meta::SYNC_SERVER_URL)?;
        if previous.as_deref() != Some(account.server_url.as_str()) {
            for key in meta::SYNC_POSITION {
                meta::delete(&tx, key)?;
            }
        }
        meta::set(&tx, meta::SYNC_SERVER_URL, &account.server_url)?;
        meta::set(&tx, meta::SYNC_TOKEN, &account.token)?;
        meta::set(&tx, meta::SYNC_EMAIL, &account.email)?;
        meta::set(&tx, meta::SYNC_USER_NAME, &account.user_name)?;
        if account.user_id.is_empty() {
            meta::delete(&tx, meta::SYNC_USER_ID)?;
        } else {
            meta::set(&tx, meta::SYNC_USER_ID, &account.user_id)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Forget the token (sign out). Data and waiting changes stay.
    pub fn forget_token(&mut self) -> Result<()> {
        meta::delete(&self.conn, meta::SYNC_TOKEN)?;
        Ok(())
    }

    pub fn sync_status(&self) -> Result<SyncStatus> {
        let open_conflicts: i64 =
            self.conn.query_row("SELECT count(*) FROM conflicts WHERE resolved_at IS NULL", [], |r| r.get(0))?;
        Ok(SyncStatus {
            account: self.account()?,
            pending: self.pending_count()?,
            refused: self.refused_count()?,
            open_conflicts: open_conflicts as u64,
            kept_aside: self.conn.query_row("SELECT count(*) FROM kept_aside", [], |r| r.get::<_, i64>(0))? as u64,
            last_success: self.meta(meta::SYNC_LAST_SUCCESS)?,
            last_error: self.meta(meta::SYNC_LAST_ERROR)?,
        })
    }

    /// Pulled changes kept aside, in the server's log order.
    pub fn kept_aside(&self) -> Result<Vec<KeptAside>> {
        let mut stmt = self.conn.prepare(
            "SELECT change_id, seq, table_name, row_id, field, change, kind, reason, first_attempt, last_attempt,
                    attempts
             FROM kept_aside ORDER BY seq",
        )?;
        let rows = stmt.query_map([], |r| {
            let change: serde_json::Value = serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default();
            Ok(KeptAside {
                change_id: r.get(0)?,
                seq: r.get(1)?,
                table: r.get(2)?,
                row_id: r.get(3)?,
                field: r.get(4)?,
                value: change.get("value").cloned().unwrap_or_default(),
                device_id: change.get("device_id").and_then(|d| d.as_str()).unwrap_or_default().to_string(),
                kind: KeptAsideKind::parse(&r.get::<_, String>(6)?),
                reason: r.get(7)?,
                first_attempt: r.get(8)?,
                last_attempt: r.get(9)?,
                attempts: r.get::<_, i64>(10)? as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
