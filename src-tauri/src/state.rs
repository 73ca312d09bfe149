//! The state Tauri manages: the data folder, the store (or why it could not be
//! opened), and the background sync worker.
//!
//! If the store cannot be opened (a damaged file, a database written by a newer
//! version, a folder that cannot be created), the window still opens: the
//! commands answer with the error and the UI shows it next to the data folder
//! path. Nothing is written to a store that failed to open.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use circles_core::Store;

use crate::error::{UiError, UiErrorKind, UiResult};
use crate::sync_worker::SyncWorker;

pub struct AppState {
    data_dir: Result<PathBuf, String>,
    /// `Store` owns a SQLite connection (Send, not Sync): one mutex. The
    /// background sync uses a connection of its own, so a sync waiting on the
    /// network never holds this lock.
    /// The open store, or why it could not be opened (with its fault code,
    /// so the error screen offers the right way out).
    store: Mutex<Result<Store, UiError>>,
    pub sync: SyncWorker,
}

impl AppState {
    /// Resolve and open. Never fails: a failure is kept and reported to the UI.
    pub fn open(data_dir: Result<PathBuf, String>) -> AppState {
        let store = match &data_dir {
            Ok(dir) => open_store(dir),
            Err(e) => Err(UiError::new(UiErrorKind::Store, e.clone())),
        };
        AppState { sync: SyncWorker::new(data_dir.clone().ok()), data_dir, store: Mutex::new(store) }
    }

    pub fn data_dir(&self) -> UiResult<&Path> {
        self.data_dir.as_deref().map_err(|e| UiError::new(UiErrorKind::Store, e.clone()))
    }

    /// Run `f` with the open store. If opening failed earlier, try once more
    /// first (the person may have moved a damaged file aside meanwhile).
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> UiResult<T>) -> UiResult<T> {
        let mut slot = self
            .store
            .lock()
            .map_err(|_| UiError::new(UiErrorKind::Internal, "the store lock was poisoned; restart Circles"))?;
        if slot.is_err() {
            if let Ok(dir) = &self.data_dir {
                *slot = open_store(dir);
            }
        }
        match &mut *slot {
            Ok(store) => f(store),
            Err(e) => Err(e.clone()),
        }
    }

    /// Put the newest local backup in place of the store (closing it first,
    /// and opening the restored one); returns the backup's file name.
    pub fn restore_newest_backup(&self) -> UiResult<String> {
        let dir = self.data_dir()?.to_path_buf();
        let file = circles_core::newest_backup(&dir)?
            .ok_or_else(|| UiError::new(UiErrorKind::Store, "there is no backup of this computer's data to restore"))?;
        let mut slot = self
            .store
            .lock()
            .map_err(|_| UiError::new(UiErrorKind::Internal, "the store lock was poisoned; restart Circles"))?;
        // Closed while the files are swapped.
        *slot = Err(UiError::new(UiErrorKind::Store, "the data is being restored from a backup"));
        let restored = circles_core::restore_backup(&dir, &file);
        *slot = open_store(&dir);
        restored?;
        Ok(file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
    }

    /// Move a damaged store aside (into `damaged-<stamp>/` in the data folder)
    /// and open a new, empty one, which a sign-in fills from the server;
    /// returns the folder it went to. Refused when the full check finds the
    /// store sound: nothing is moved then.
    pub fn set_aside_damaged_store(&self) -> UiResult<String> {
        let dir = self.data_dir()?.to_path_buf();
        let mut slot = self
            .store
            .lock()
            .map_err(|_| UiError::new(UiErrorKind::Internal, "the store lock was poisoned; restart Circles"))?;
        // Closed first: the check must see the file as it is on disk, and the
        // files cannot be moved while open.
        let previous = std::mem::replace(&mut *slot, Err(UiError::new(UiErrorKind::Store, "the damaged data is being set aside")));
        drop(previous);
        let moved = circles_core::set_aside_damaged(&dir, false);
        *slot = open_store(&dir);
        Ok(moved?.folder.display().to_string())
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
