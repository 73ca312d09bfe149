//! What a store is for, as the first run decides it: a demo store (marked
//! in `meta`, it never signs in or syncs), a store that has met a server (an
//! account, or sync history), and whether the welcome screen was answered.

use crate::error::{CoreError, Result};
use crate::store::{meta, Store};

impl Store {
    /// Whether this store holds the demo.
    pub fn is_demo(&self) -> Result<bool> {
        Ok(self.meta(meta::DEMO)?.as_deref() == Some("1"))
    }

    /// Mark this store as the demo's (inside the demo's own transaction).
    pub(crate) fn mark_demo(&self) -> Result<()> {
        meta::set(&self.conn, meta::DEMO, "1")
    }

    /// Refuse what a demo store must never do (sign in, sync), with the
    /// one message every front end shows (`CoreError::DemoStore`).
    pub fn refuse_if_demo(&self) -> Result<()> {
        if self.is_demo()? {
            return Err(CoreError::DemoStore);
        }
        Ok(())
    }

    /// The server this store is, or was, signed in to: an account remembered
    /// (signed out keeps the address), or any sync history with a server.
    /// `Some("")` when only the history is left.
    pub fn sync_identity(&self) -> Result<Option<String>> {
        if let Some(url) = self.meta(meta::SYNC_SERVER_URL)? {
            return Ok(Some(url));
        }
        let synced = meta::get_int(&self.conn, meta::SYNC_CURSOR)? > 0
            || meta::get_int(&self.conn, meta::SYNC_LAST_BATCH_SEQ)? > 0
            || self.meta(meta::SYNC_LAST_SUCCESS)?.is_some();
        Ok(synced.then(String::new))
    }

    /// Whether the person already answered the welcome screen ("start
    /// without an account").
    pub fn welcome_done(&self) -> Result<bool> {
        Ok(self.meta(meta::UI_WELCOME_DONE)?.is_some())
    }

    /// Remember that the welcome screen was answered, so it is not shown again.
    pub fn finish_welcome(&mut self) -> Result<()> {
        meta::set(&self.conn, meta::UI_WELCOME_DONE, "1")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn a_demo_store_refuses_with_the_demo_code() {
        let (_dir, store) = store();
        assert!(!store.is_demo().unwrap());
        store.refuse_if_demo().unwrap();
        store.mark_demo().unwrap();
        assert!(store.is_demo().unwrap());
        let err = store.refuse_if_demo().unwrap_err();
        assert_eq!(err.code(), Some("demo_store"));
        assert!(err.to_string().starts_with("This is the demo: it never syncs."), "{err}");
    }

    #[test]
    fn sync_identity_survives_signing_out_and_counts_history() {
        let (_dir, mut store) = store();
        assert_eq!(store.sync_identity().unwrap(), None);
        meta::set(&store.conn, meta::SYNC_CURSOR, "12").unwrap();
        assert_eq!(store.sync_identity().unwrap(), Some(String::new()));
        meta::set(&store.conn, meta::SYNC_SERVER_URL, "https://circles.example.org").unwrap();
        store.forget_token().unwrap();
        assert_eq!(store.sync_identity().unwrap().as_deref(), Some("https://circles.example.org"));
        assert!(!store.welcome_done().unwrap());
        store.finish_welcome().unwrap();
        assert!(store.welcome_done().unwrap());
    }
}
