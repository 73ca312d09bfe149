//! What the app and CLI show about sync: the account, and the state.

use serde::Serialize;

use crate::error::Result;
use crate::store::{meta_set, Store};

const SERVER_URL: &str = "sync.server_url";
const TOKEN: &str = "sync.token";
const USER_NAME: &str = "sync.user_name";
const EMAIL: &str = "sync.email";

/// The server account this replica syncs with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account {
    pub server_url: String,
    pub email: String,
    pub user_name: String,
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
    pub last_success: Option<String>,
    pub last_error: Option<String>,
}

impl Store {
    pub fn account(&self) -> Result<Option<Account>> {
        let (Some(server_url), Some(token)) = (self.meta(SERVER_URL)?, self.meta(TOKEN)?) else {
            return Ok(None);
        };
        Ok(Some(Account {
            server_url,
            token,
            email: self.meta(EMAIL)?.unwrap_or_default(),
            user_name: self.meta(USER_NAME)?.unwrap_or_default(),
        }))
    }

    /// Remember a signed-in account. Signing in to a different server starts
    /// the replica's sync history afresh (cursors, batches), keeping its data
    /// and its waiting changes.
    pub fn save_account(&mut self, account: &Account) -> Result<()> {
        let tx = self.conn.transaction()?;
        let previous = crate::store::meta_get(&tx, SERVER_URL)?;
        if previous.as_deref() != Some(account.server_url.as_str()) {
            tx.execute("DELETE FROM meta WHERE key IN ('sync.cursor', 'sync.conflict_cursor', 'sync.pending_batch', 'sync.last_batch_seq')", [])?;
        }
        meta_set(&tx, SERVER_URL, &account.server_url)?;
        meta_set(&tx, TOKEN, &account.token)?;
        meta_set(&tx, EMAIL, &account.email)?;
        meta_set(&tx, USER_NAME, &account.user_name)?;
        tx.commit()?;
        Ok(())
    }

    /// Forget the token (sign out). Data and waiting changes stay.
    pub fn forget_token(&mut self) -> Result<()> {
        self.conn.execute("DELETE FROM meta WHERE key = ?1", [TOKEN])?;
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
            last_success: self.meta("sync.last_success")?,
            last_error: self.meta("sync.last_error")?,
        })
    }
}
