//! The state Tauri manages: the data folder, the store (or why it could not be
//! opened), and the background sync worker.
//!
//! If the store cannot be opened (a damaged file, a database written by a newer
//! version, a folder that cannot be created), the window still opens: the
//! commands answer with the error and the UI shows it next to the data folder
//! path. Nothing is written to a store that failed to open.
//!
//! The app lock (core's store/app_lock.rs): a store with a lock opens
//! locked, and `lock_app` locks it; while locked, every way to the store
//! here (`with_store`, so `read` and `edit`; switching folders; restoring a
//! backup; the account's network calls) is refused with `app_locked`. Only
//! the lock's own status and unlocking (`with_lock`) and removing this
//! computer's data reach the store then.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use circles_core::Store;

use crate::error::{UiError, UiErrorKind, UiResult};
use crate::sync_worker::SyncWorker;

pub struct AppState {
    /// The folder in use: the person's real one, or the demo's.
    data_dir: Mutex<Result<PathBuf, String>>,
    /// The person's real folder, where "Leave the demo" goes back to.
    real_dir: Result<PathBuf, String>,
    /// `Store` owns a SQLite connection (Send, not Sync): one mutex. The
    /// background sync uses a connection of its own, so a sync waiting on the
    /// network never holds this lock.
    /// The open store, or why it could not be opened (with its fault code,
    /// so the error screen offers the right way out).
    store: Mutex<Result<Store, UiError>>,
    /// The window is locked: set when a store with an app lock is opened and
    /// by `lock`, cleared by `unlock` (the right PIN) or a store without one.
    locked: AtomicBool,
    pub sync: SyncWorker,
}

impl AppState {
    /// Resolve and open. Never fails: a failure is kept and reported to the UI.
    /// Started on a demo store (`--data-dir` on the demo folder, as
    /// scripts/run-app.sh does), the real folder is the default one
    /// (`CIRCLES_DATA_DIR`, else the per-user folder).
    pub fn open(data_dir: Result<PathBuf, String>) -> AppState {
        let store = match &data_dir {
            Ok(dir) => open_store(dir),
            Err(e) => Err(UiError::new(UiErrorKind::Store, e.clone())),
        };
        let real_dir = match &store {
            Ok(s) if s.is_demo().unwrap_or(false) => circles_core::data_dir::resolve(None).map_err(|e| e.to_string()),
            _ => data_dir.clone(),
        };
        AppState::with(data_dir, real_dir, store)
    }

    /// Open the demo's own folder of the data folder `real` (loading the
    /// demo there if it is empty); the real folder is not opened until the
    /// person leaves the demo.
    pub fn open_demo(real: Result<PathBuf, String>) -> AppState {
        let dir = real.as_deref().map(circles_core::data_dir::demo_dir).map_err(Clone::clone);
        let store = match &dir {
            Ok(dir) => circles_core::open_demo(dir, chrono::Utc::now()).map_err(|e| {
                tracing::error!(data_dir = %dir.display(), error = %e, "cannot open the demo");
                UiError::from(e)
            }),
            Err(e) => Err(UiError::new(UiErrorKind::Store, e.clone())),
        };
        AppState::with(dir, real, store)
    }

    fn with(
        data_dir: Result<PathBuf, String>,
        real_dir: Result<PathBuf, String>,
        store: Result<Store, UiError>,
    ) -> Self {
        let state = AppState {
            sync: SyncWorker::new(data_dir.clone().ok()),
            data_dir: Mutex::new(data_dir),
            real_dir,
            store: Mutex::new(store),
            locked: AtomicBool::new(false),
        };
        if let Ok(slot) = state.store.lock() {
            state.note_lock(&slot);
        }
        state
    }

    /// A store was just put in the slot: it is locked exactly when it has an
    /// app lock (one whose lock cannot be read counts as locked).
    fn note_lock(&self, slot: &Result<Store, UiError>) {
        let locked = match slot {
            Ok(store) => store.app_lock_set().unwrap_or(true),
            Err(_) => false,
        };
        self.locked.store(locked, Ordering::SeqCst);
    }

    /// Whether the window is locked.
    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::SeqCst)
    }

    /// Refused while the window is locked, with the code `app_locked`.
    pub fn refuse_if_locked(&self) -> UiResult<()> {
        if self.is_locked() {
            return Err(UiError {
                fault: Some("app_locked"),
                ..UiError::new(UiErrorKind::Lock, "Circles is locked: unlock it with its PIN or passphrase first")
            });
        }
        Ok(())
    }

    /// Lock the window now (`lock_app`, the idle timer). Refused, and nothing
    /// changes, when no lock is set.
    pub fn lock(&self) -> UiResult<()> {
        self.with_lock(|store| {
            if !store.app_lock_set()? {
                return Err(circles_core::AppLockError::NotSet.into());
            }
            Ok(())
        })?;
        self.locked.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Unlock with the PIN or passphrase (core counts wrong tries and makes
    /// them wait). With no lock set the window is simply not locked.
    pub fn unlock(&self, secret: &str) -> UiResult<()> {
        self.with_lock(|store| {
            if store.app_lock_set()? {
                store.verify_app_lock(secret, chrono::Utc::now())?;
            }
            Ok(())
        })?;
        self.locked.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// The folder in use.
    pub fn data_dir(&self) -> UiResult<PathBuf> {
        lock(&self.data_dir)?.clone().map_err(|e| UiError::new(UiErrorKind::Store, e))
    }

    /// The person's real folder.
    pub fn real_dir(&self) -> UiResult<PathBuf> {
        self.real_dir.clone().map_err(|e| UiError::new(UiErrorKind::Store, e))
    }

    /// Close the store in use and open the one in `dir` with `open` (core
    /// does the work: the demo's loading, its reset); the background sync
    /// follows. If `open` fails, the folder in use stays as it was.
    pub fn switch_to(&self, dir: PathBuf, open: impl FnOnce(&Path) -> circles_core::Result<Store>) -> UiResult<()> {
        let mut slot = lock(&self.store)?;
        self.refuse_if_locked()?;
        let previous = lock(&self.data_dir)?.clone();
        // Closed first: the demo's reset replaces its file.
        *slot = Err(UiError::new(UiErrorKind::Store, "another data folder is being opened"));
        match open(&dir) {
            Ok(store) => {
                tracing::info!(data_dir = %dir.display(), "switched data folder");
                *slot = Ok(store);
                self.note_lock(&slot);
                *lock(&self.data_dir)? = Ok(dir.clone());
                self.sync.set_data_dir(Some(dir));
                if let Ok(store) = &*slot {
                    self.sync.refresh_from(store);
                }
                Ok(())
            }
            Err(e) => {
                *slot = match &previous {
                    Ok(dir) => open_store(dir),
                    Err(e) => Err(UiError::new(UiErrorKind::Store, e.clone())),
                };
                self.note_lock(&slot);
                Err(e.into())
            }
        }
    }

    /// Run `f` with the open store; refused while the window is locked.
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> UiResult<T>) -> UiResult<T> {
        self.store_for(true, f)
    }

    /// Run `f` with the open store even while the window is locked: only for
    /// the app lock's own status, setting and unlocking (core's rules).
    pub fn with_lock<T>(&self, f: impl FnOnce(&mut Store) -> circles_core::Result<T>) -> UiResult<T> {
        self.store_for(false, |store| f(store).map_err(UiError::from))
    }

    /// The one way to the open store. If opening failed earlier, try once
    /// more first (the person may have moved a damaged file aside meanwhile).
    fn store_for<T>(&self, refuse_locked: bool, f: impl FnOnce(&mut Store) -> UiResult<T>) -> UiResult<T> {
        let mut slot = lock(&self.store)?;
        if slot.is_err() {
            if let Ok(dir) = self.data_dir() {
                *slot = open_store(&dir);
                self.note_lock(&slot);
            }
        }
        if refuse_locked {
            self.refuse_if_locked()?;
        }
        match &mut *slot {
            Ok(store) => f(store),
            Err(e) => Err(e.clone()),
        }
    }

    /// Put the newest local backup in place of the store (closing it first,
    /// and opening the restored one); returns the backup's file name.
    pub fn restore_newest_backup(&self) -> UiResult<String> {
        self.refuse_if_locked()?;
        let dir = self.data_dir()?;
        let file = circles_core::newest_backup(&dir)?
            .ok_or_else(|| UiError::new(UiErrorKind::Store, "there is no backup of this computer's data to restore"))?;
        let mut slot = lock(&self.store)?;
        self.refuse_if_locked()?;
        // Closed while the files are swapped.
        *slot = Err(UiError::new(UiErrorKind::Store, "the data is being restored from a backup"));
        let restored = circles_core::restore_backup(&dir, &file);
        *slot = open_store(&dir);
        self.note_lock(&slot);
        restored?;
        Ok(file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
    }

    /// Open the store with a passphrase (no keyring answered, or the store is
    /// locked with one). A wrong passphrase is an error and leaves everything
    /// as it was; once open, the key is remembered for the process, so the
    /// sync worker's own connection needs no second asking.
    pub fn unlock_store(&self, passphrase: String) -> UiResult<()> {
        let dir = self.data_dir()?;
        let mut slot = lock(&self.store)?;
        if slot.is_ok() {
            return Ok(());
        }
        let store = Store::open_in_with(&dir, &circles_core::KeySource::Passphrase(passphrase))?;
        tracing::info!(data_dir = %dir.display(), "store opened with a passphrase");
        *slot = Ok(store);
        self.note_lock(&slot);
        Ok(())
    }

    /// Move a damaged store aside (into `damaged-<stamp>/` in the data folder)
    /// and open a new, empty one, which a sign-in fills from the server;
    /// returns the folder it went to. Refused when the full check finds the
    /// store sound: nothing is moved then.
    pub fn set_aside_damaged_store(&self) -> UiResult<String> {
        let dir = self.data_dir()?;
        let mut slot = lock(&self.store)?;
        self.refuse_if_locked()?;
        // Closed first: the check must see the file as it is on disk, and the
        // files cannot be moved while open.
        let previous =
            std::mem::replace(&mut *slot, Err(UiError::new(UiErrorKind::Store, "the damaged data is being set aside")));
        drop(previous);
        let moved = circles_core::set_aside_damaged(&dir, false);
        *slot = open_store(&dir);
        self.note_lock(&slot);
        Ok(moved?.folder.display().to_string())
    }

    /// "Sign out and remove this computer's data": core decides whether it
    /// may (nothing waiting, or the person accepted losing it; never the
    /// demo) and removes the files; then a new, empty store opens in the
    /// same folder, so the window starts over on its welcome screen. On a
    /// refusal the same store opens again, unchanged (and locked again if
    /// it has an app lock). Allowed while locked: it is the way out of a
    /// forgotten PIN, and it leaves nothing to read.
    pub fn remove_computer_data(&self, discard_waiting: bool) -> UiResult<circles_core::sync::account::Removed> {
        let dir = self.data_dir()?;
        let mut slot = lock(&self.store)?;
        let current = std::mem::replace(
            &mut *slot,
            Err(UiError::new(UiErrorKind::Store, "this computer's data is being removed")),
        );
        let removed = match current {
            Ok(store) => {
                circles_core::sync::account::sign_out_and_remove(store, discard_waiting).map_err(UiError::from)
            }
            Err(e) => Err(e),
        };
        *slot = open_store(&dir);
        self.note_lock(&slot);
        if let Ok(store) = &*slot {
            self.sync.refresh_from(store);
        }
        removed
    }

    /// A read: core errors become UI errors.
    pub fn read<T>(&self, f: impl FnOnce(&Store) -> circles_core::Result<T>) -> UiResult<T> {
        self.with_store(|store| f(store).map_err(UiError::from))
    }

    /// A local edit: after it lands, the background sync is told (debounced).
    pub fn edit<T>(&self, f: impl FnOnce(&mut Store) -> circles_core::Result<T>) -> UiResult<T> {
        let out = self.with_store(|store| f(store).map_err(UiError::from))?;
        self.sync.local_edit();
        Ok(out)
    }
}

fn lock<T>(m: &Mutex<T>) -> UiResult<std::sync::MutexGuard<'_, T>> {
    m.lock().map_err(|_| UiError::new(UiErrorKind::Internal, "a lock of the app was poisoned; restart Circles"))
}

pub fn open_store(dir: &Path) -> UiResult<Store> {
    match Store::open_in(dir) {
        Ok(store) => {
            tracing::info!(data_dir = %dir.display(), "store opened");
            Ok(store)
        }
        Err(e) => {
            tracing::error!(data_dir = %dir.display(), error = %e, "cannot open the store");
            Err(e.into())
        }
    }
}
