//! The app lock: an optional PIN or passphrase that keeps the desktop window
//! closed to a passer-by on a shared laptop, at start and after an idle time.
//!
//! The policy lives here, once: what a PIN or passphrase may be, the idle
//! time's range, that changing or removing the lock needs the current one,
//! and how wrong tries are counted (in `meta`, so a restart does not reset
//! them) and make the next try wait. Only an Argon2id hash is kept, in the
//! store's `meta`, which the store's encryption covers (docs/privacy.md).
//! There is no way round a forgotten PIN but removing this computer's data
//! (`sync::account::sign_out_and_remove`): the data is still on the server.
//! The lock guards the window, not the files: the CLI and the files are
//! protected by the store's encryption and the operating-system account.

pub mod rules;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::Serialize;

use crate::error::Result;
use crate::store::app_lock::rules::{
    check_idle_minutes, check_secret, stamp, wait_after, AppLockError, LockKind, DEFAULT_IDLE_MINUTES, MAX_WAIT_SECONDS,
};
use crate::store::{meta, Store};

/// The lock as a front end shows it (never the hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AppLock {
    /// Whether a lock is set; the rest is about it.
    pub kind: Option<LockKind>,
    /// Minutes without input after which the window locks.
    pub idle_minutes: u32,
    /// Wrong tries in a row so far.
    pub failed_tries: u32,
    /// While a wait is running, when the next try is allowed (RFC 3339, UTC).
    pub wait_until: Option<String>,
}

fn hash(secret: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| crate::error::CoreError::Corrupt(format!("salt: {e}")))?;
    Ok(Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map_err(|e| crate::error::CoreError::Corrupt(format!("hashing the app lock failed: {e}")))?
        .to_string())
}

fn matches(secret: &str, hash: &str) -> Result<bool> {
    let parsed = PasswordHash::new(hash)
        .map_err(|e| crate::error::CoreError::Corrupt(format!("the app lock's stored hash is unreadable: {e}")))?;
    Ok(Argon2::default().verify_password(secret.as_bytes(), &parsed).is_ok())
}

impl Store {
    /// The app lock's state at `now` (a wait that has run out is not shown).
    pub fn app_lock(&self, now: DateTime<Utc>) -> Result<AppLock> {
        let kind = match self.meta(meta::APP_LOCK_KIND)?.as_deref() {
            Some("pin") => Some(LockKind::Pin),
            Some("passphrase") => Some(LockKind::Passphrase),
            _ => None,
        };
        let kind = if self.app_lock_set()? { kind } else { None };
        let idle = meta::get_int(&self.conn, meta::APP_LOCK_IDLE_MINUTES)?;
        Ok(AppLock {
            kind,
            idle_minutes: check_idle_minutes(idle).unwrap_or(DEFAULT_IDLE_MINUTES),
            failed_tries: u32::try_from(meta::get_int(&self.conn, meta::APP_LOCK_FAILED_TRIES)?).unwrap_or(0),
            wait_until: self.lock_wait(now)?.map(|until| stamp(&until)),
        })
    }

    /// Whether an app lock is set.
    pub fn app_lock_set(&self) -> Result<bool> {
        Ok(self.meta(meta::APP_LOCK_HASH)?.is_some())
    }

    /// The running wait, if any.
    fn lock_wait(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let until = self
            .meta(meta::APP_LOCK_WAIT_UNTIL)?
            .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
            .map(|t| t.with_timezone(&Utc));
        // A clock set back never makes a wait longer than the longest.
        Ok(until.filter(|u| *u > now).map(|u| u.min(now + Duration::seconds(MAX_WAIT_SECONDS))))
    }

    /// Check a PIN or passphrase against the lock. During a wait nothing is
    /// checked (`Wait`); a wrong one is counted, and from the `FREE_TRIES`th
    /// in a row on each makes the next try wait longer (`Wrong`); a right
    /// one clears the count. With no lock set, `NotSet`.
    pub fn verify_app_lock(&mut self, secret: &str, now: DateTime<Utc>) -> Result<()> {
        let Some(hash) = self.meta(meta::APP_LOCK_HASH)? else {
            return Err(AppLockError::NotSet.into());
        };
        if let Some(until) = self.lock_wait(now)? {
            return Err(AppLockError::Wait { until }.into());
        }
        let right = matches(secret, &hash)?;
        let tx = self.conn.transaction()?;
        if right {
            meta::delete(&tx, meta::APP_LOCK_FAILED_TRIES)?;
            meta::delete(&tx, meta::APP_LOCK_WAIT_UNTIL)?;
            tx.commit()?;
            return Ok(());
        }
        let failed = u32::try_from(meta::get_int(&tx, meta::APP_LOCK_FAILED_TRIES)?).unwrap_or(0).saturating_add(1);
        meta::set(&tx, meta::APP_LOCK_FAILED_TRIES, &failed.to_string())?;
        let wait_until = wait_after(failed).map(|wait| now + wait);
        if let Some(until) = wait_until {
            meta::set(&tx, meta::APP_LOCK_WAIT_UNTIL, &stamp(&until))?;
        }
        tx.commit()?;
        Err(AppLockError::Wrong { wait_until }.into())
    }

    /// Set the app lock, or change it: `current` must then be the PIN or
    /// passphrase set now (checked and counted like an unlock). The new
    /// secret and the idle time are checked first; a refusal changes nothing.
    pub fn set_app_lock(
        &mut self,
        current: Option<&str>,
        kind: LockKind,
        secret: &str,
        idle_minutes: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        check_secret(kind, secret)?;
        let idle = check_idle_minutes(idle_minutes)?;
        self.verify_current(current, now)?;
        let hash = hash(secret)?;
        let tx = self.conn.transaction()?;
        meta::set(&tx, meta::APP_LOCK_HASH, &hash)?;
        meta::set(&tx, meta::APP_LOCK_KIND, kind.as_str())?;
        meta::set(&tx, meta::APP_LOCK_IDLE_MINUTES, &idle.to_string())?;
        meta::delete(&tx, meta::APP_LOCK_FAILED_TRIES)?;
        meta::delete(&tx, meta::APP_LOCK_WAIT_UNTIL)?;
        tx.commit()?;
        Ok(())
    }

    /// Choose the idle time of the lock that is set (no PIN needed: whoever
    /// changes it is already in the unlocked window).
    pub fn set_app_lock_idle(&mut self, idle_minutes: i64) -> Result<()> {
        let idle = check_idle_minutes(idle_minutes)?;
        if !self.app_lock_set()? {
            return Err(AppLockError::NotSet.into());
        }
        meta::set(&self.conn, meta::APP_LOCK_IDLE_MINUTES, &idle.to_string())
    }

    /// Remove the app lock; needs the current PIN or passphrase.
    pub fn remove_app_lock(&mut self, current: &str, now: DateTime<Utc>) -> Result<()> {
        if !self.app_lock_set()? {
            return Err(AppLockError::NotSet.into());
        }
        self.verify_current(Some(current), now)?;
        let tx = self.conn.transaction()?;
        for key in meta::APP_LOCK_ALL {
            meta::delete(&tx, key)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A change to a set lock needs the current secret: missing is
    /// `CurrentNeeded` (not counted), else checked as an unlock.
    fn verify_current(&mut self, current: Option<&str>, now: DateTime<Utc>) -> Result<()> {
        if !self.app_lock_set()? {
            return Ok(());
        }
        match current.filter(|c| !c.is_empty()) {
            None => Err(AppLockError::CurrentNeeded.into()),
            Some(current) => self.verify_app_lock(current, now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CoreError;
    use crate::store::app_lock::rules::FREE_TRIES;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        (dir, store)
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-03T12:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn lock_error(e: CoreError) -> AppLockError {
        match e {
            CoreError::AppLock(e) => e,
            other => panic!("not an app lock error: {other}"),
        }
    }

    /// Everything the lock keeps, to show a refusal changed nothing.
    fn kept(store: &Store) -> Vec<Option<String>> {
        meta::APP_LOCK_ALL.iter().map(|k| store.meta(*k).unwrap()).collect()
    }

    #[test]
    fn no_lock_by_default() {
        let (_dir, mut store) = store();
        let lock = store.app_lock(now()).unwrap();
        assert_eq!(lock, AppLock { kind: None, idle_minutes: 5, failed_tries: 0, wait_until: None });
        assert!(!store.app_lock_set().unwrap());
        let e = lock_error(store.verify_app_lock("1234", now()).unwrap_err());
        assert_eq!(e.code(), "app_lock_not_set");
        assert_eq!(lock_error(store.remove_app_lock("1234", now()).unwrap_err()), AppLockError::NotSet);
        assert_eq!(lock_error(store.set_app_lock_idle(10).unwrap_err()), AppLockError::NotSet);
    }

    #[test]
    fn a_pin_is_set_kept_as_a_hash_and_verified() {
        let (dir, mut store) = store();
        store.set_app_lock(None, LockKind::Pin, "2468", 10, now()).unwrap();
        let lock = store.app_lock(now()).unwrap();
        assert_eq!(lock.kind, Some(LockKind::Pin));
        assert_eq!(lock.idle_minutes, 10);
        let hash = store.meta(meta::APP_LOCK_HASH).unwrap().unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("2468"));
        store.verify_app_lock("2468", now()).unwrap();
        // Kept across a restart.
        drop(store);
        let mut store = Store::open_in(dir.path()).unwrap();
        assert!(store.app_lock_set().unwrap());
        store.verify_app_lock("2468", now()).unwrap();
    }

    #[test]
    fn bad_input_is_refused_with_its_field_and_changes_nothing() {
        let (_dir, mut store) = store();
        for (kind, secret, field) in [
            (LockKind::Pin, "123", "pin"),
            (LockKind::Pin, "1234567890123", "pin"),
            (LockKind::Pin, "12a4", "pin"),
            (LockKind::Pin, "12 34", "pin"),
            (LockKind::Pin, "١٢٣٤", "pin"),
            (LockKind::Passphrase, "short", "passphrase"),
            (LockKind::Passphrase, "", "passphrase"),
        ] {
            let e = lock_error(store.set_app_lock(None, kind, secret, 5, now()).unwrap_err());
            assert_eq!((e.code(), e.field()), ("app_lock_invalid", Some(field)), "{secret:?}");
            assert!(!store.app_lock_set().unwrap());
        }
        for idle in [0, 241, -5, i64::MAX] {
            let e = lock_error(store.set_app_lock(None, LockKind::Pin, "1234", idle, now()).unwrap_err());
            assert_eq!(e, AppLockError::IdleOutOfRange { given: idle });
            assert_eq!(e.field(), Some("idle_minutes"));
        }
        assert_eq!(kept(&store), vec![None; meta::APP_LOCK_ALL.len()]);

        // The edges are allowed.
        store.set_app_lock(None, LockKind::Pin, "123456789012", 240, now()).unwrap();
        store.set_app_lock(Some("123456789012"), LockKind::Passphrase, "eight ch", 1, now()).unwrap();
        let before = kept(&store);
        for idle in [0, 241] {
            assert_eq!(lock_error(store.set_app_lock_idle(idle).unwrap_err()).code(), "app_lock_invalid");
        }
        assert_eq!(kept(&store), before);
        store.set_app_lock_idle(30).unwrap();
        assert_eq!(store.app_lock(now()).unwrap().idle_minutes, 30);
    }

    #[test]
    fn changing_or_removing_needs_the_current_secret() {
        let (_dir, mut store) = store();
        store.set_app_lock(None, LockKind::Pin, "1357", 5, now()).unwrap();
        let before = kept(&store);
        // Missing: refused, not counted.
        let e = lock_error(store.set_app_lock(None, LockKind::Pin, "9999", 5, now()).unwrap_err());
        assert_eq!((e.code(), e.field()), ("app_lock_invalid", Some("current")));
        assert_eq!(kept(&store), before);
        // A bad new PIN is refused before the current one is even checked.
        let e = lock_error(store.set_app_lock(Some("0000"), LockKind::Pin, "99", 5, now()).unwrap_err());
        assert_eq!(e, AppLockError::PinFormat);
        assert_eq!(kept(&store), before);
        // Wrong: refused and counted.
        let e = lock_error(store.set_app_lock(Some("0000"), LockKind::Pin, "9999", 5, now()).unwrap_err());
        assert_eq!(e.code(), "app_lock_wrong");
        assert_eq!(store.app_lock(now()).unwrap().failed_tries, 1);
        let e = lock_error(store.remove_app_lock("0000", now()).unwrap_err());
        assert_eq!(e.code(), "app_lock_wrong");
        assert_eq!(store.meta(meta::APP_LOCK_HASH).unwrap(), before[0]);
        store.verify_app_lock("1357", now()).unwrap();

        store.set_app_lock(Some("1357"), LockKind::Passphrase, "correct horse", 15, now()).unwrap();
        assert_eq!(lock_error(store.verify_app_lock("1357", now()).unwrap_err()).code(), "app_lock_wrong");
        store.verify_app_lock("correct horse", now()).unwrap();
        store.remove_app_lock("correct horse", now()).unwrap();
        assert_eq!(kept(&store), vec![None; meta::APP_LOCK_ALL.len()]);
        assert_eq!(store.app_lock(now()).unwrap().kind, None);
    }

    #[test]
    fn wrong_tries_make_the_next_wait_longer_and_survive_a_restart() {
        let (dir, mut store) = store();
        store.set_app_lock(None, LockKind::Pin, "4321", 5, now()).unwrap();
        for i in 1..FREE_TRIES {
            let e = lock_error(store.verify_app_lock("0000", now()).unwrap_err());
            assert_eq!(e, AppLockError::Wrong { wait_until: None }, "try {i}");
        }
        // The fifth wrong one in a row starts a 30 s wait.
        let e = lock_error(store.verify_app_lock("0000", now()).unwrap_err());
        let until = now() + Duration::seconds(30);
        assert_eq!(e, AppLockError::Wrong { wait_until: Some(until) });
        assert_eq!(e.wait_until(), Some(until));

        // A restart does not reset the count or the wait.
        drop(store);
        let mut store = Store::open_in(dir.path()).unwrap();
        let lock = store.app_lock(now()).unwrap();
        assert_eq!(lock.failed_tries, FREE_TRIES);
        assert_eq!(lock.wait_until.as_deref(), Some("2026-12-03T12:00:30Z"));

        // During the wait even the right PIN is not checked, and nothing is counted.
        let e = lock_error(store.verify_app_lock("4321", now() + Duration::seconds(29)).unwrap_err());
        assert_eq!((e.code(), e.wait_until()), ("app_lock_wait", Some(until)));
        assert_eq!(store.app_lock(now()).unwrap().failed_tries, FREE_TRIES);

        // After it: the next wrong try waits 60 s, then 120 s...
        let mut at = until;
        for wait in [60, 120, 240, 480, 900, 900] {
            let e = lock_error(store.verify_app_lock("0000", at).unwrap_err());
            assert_eq!(e.wait_until(), Some(at + Duration::seconds(wait)), "wait {wait}");
            at += Duration::seconds(wait);
        }
        assert!(store.app_lock(at).unwrap().wait_until.is_none(), "a wait that ran out is not shown");

        // The right PIN after the wait clears everything.
        store.verify_app_lock("4321", at).unwrap();
        let lock = store.app_lock(at).unwrap();
        assert_eq!((lock.failed_tries, lock.wait_until), (0, None));
        assert_eq!(
            lock_error(store.verify_app_lock("0000", at).unwrap_err()),
            AppLockError::Wrong { wait_until: None }
        );
    }

    #[test]
    fn a_clock_set_back_never_waits_longer_than_the_longest() {
        let (_dir, mut store) = store();
        store.set_app_lock(None, LockKind::Pin, "4321", 5, now()).unwrap();
        for _ in 0..FREE_TRIES {
            let _ = store.verify_app_lock("0000", now() + Duration::days(1));
        }
        let e = lock_error(store.verify_app_lock("4321", now()).unwrap_err());
        assert_eq!(e.wait_until(), Some(now() + Duration::seconds(MAX_WAIT_SECONDS)));
    }
}
