//! What the app and CLI show about sync: the account, and the state.

use serde::Serialize;

use crate::error::Result;
use crate::store::{meta, Store};

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
        let (Some(server_url), Some(token)) = (self.meta(meta::SYNC_SERVER_URL)?, self.meta(meta::SYNC_TOKEN)?) else {
            return Ok(None);
        };
        Ok(Some(Account {
            server_url,
            token,
            email: self.meta(meta::SYNC_EMAIL)?.unwrap_or_default(),
            user_name: self.meta(meta::SYNC_USER_NAME)?.unwrap_or_default(),
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
            last_success: self.meta(meta::SYNC_LAST_SUCCESS)?,
            last_error: self.meta(meta::SYNC_LAST_ERROR)?,
        })
    }
}
