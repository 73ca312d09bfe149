//! Background sync: one tokio task that syncs on start, every few minutes,
//! shortly after local edits (debounced), and, while the server cannot be
//! reached, every few seconds so it catches the network coming back. Only this
//! task ever syncs, so two syncs never run at once. The sync itself runs on a
//! blocking thread with its own store connection: the UI's commands never
//! wait for the network. Progress and state go to the UI as `sync-state`
//! events.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use circles_core::sync::engine::{sync_once, Phase, SyncError};
use circles_core::sync::http::HttpTransport;
use circles_core::Store;
use serde::Serialize;
use tauri::{AppHandle, Emitter};
use tokio::sync::Notify;

pub const EVENT: &str = "sync-state";
/// Sync this long after the last local edit (edits in a burst sync once).
const DEBOUNCE: Duration = Duration::from_secs(2);
const PERIOD: Duration = Duration::from_secs(5 * 60);
/// While offline, try this often: the network coming back is noticed soon.
const OFFLINE_RETRY: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum SyncActivity {
    /// No account, or signed out.
    SignedOut,
    Idle,
    Syncing,
    /// The server cannot be reached; edits are kept and sync later.
    Offline,
    /// The server refused, or something else went wrong: see `last_error`.
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SyncProgress {
    /// "pushing" or "pulling".
    pub phase: String,
    pub done: u32,
    pub total: u32,
}

/// A pulled change this laptop could not apply (yet), as the Sync screen
/// lists it; every sync tries it again.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct KeptAsideView {
    pub table: String,
    pub row_id: String,
    pub field: String,
    pub kind: circles_core::sync::status::KeptAsideKind,
    /// The core's own words (English), shown as a detail.
    pub reason: String,
    pub attempts: u32,
    /// RFC 3339 time it was first kept aside.
    pub since: String,
}

/// At most this many kept-aside changes ride along in every state event
/// (the count is always whole; `circles status` lists them all).
const KEPT_ASIDE_SHOWN: usize = 20;

/// Everything the window shows about sync, always current.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SyncView {
    pub activity: SyncActivity,
    pub progress: Option<SyncProgress>,
    pub server_url: Option<String>,
    pub email: Option<String>,
    pub user_name: Option<String>,
    /// Local changes not yet acknowledged by the server.
    pub pending: u32,
    /// Local changes the server refused for good (kept here).
    pub refused: u32,
    pub open_conflicts: u32,
    /// Pulled changes this laptop could not apply yet (the first few listed).
    pub kept_aside: u32,
    pub kept_aside_changes: Vec<KeptAsideView>,
    /// RFC 3339 time of the last successful sync.
    pub last_success: Option<String>,
    pub last_error: Option<String>,
    /// Goes up whenever a sync changed local data: screens reload.
    pub data_revision: u32,
    /// Circles removed from this computer by the latest sync, because this
    /// person no longer has access to them (0: none).
    pub revoked_circles: u32,
}

impl SyncView {
    fn signed_out() -> SyncView {
        SyncView {
            activity: SyncActivity::SignedOut,
            progress: None,
            server_url: None,
            email: None,
            user_name: None,
            pending: 0,
            refused: 0,
            open_conflicts: 0,
            kept_aside: 0,
            kept_aside_changes: Vec::new(),
            last_success: None,
            last_error: None,
            data_revision: 0,
            revoked_circles: 0,
        }
    }

    /// Fill in the figures of the store's sync status.
    fn refresh(&mut self, store: &Store) -> circles_core::Result<()> {
        let status = store.sync_status()?;
        self.pending = status.pending as u32;
        self.refused = status.refused as u32;
        self.open_conflicts = status.open_conflicts as u32;
        self.kept_aside = status.kept_aside as u32;
        if status.kept_aside == 0 {
            self.kept_aside_changes.clear();
        } else {
            self.kept_aside_changes = store
                .kept_aside()?
                .into_iter()
                .take(KEPT_ASIDE_SHOWN)
                .map(|k| KeptAsideView {
                    table: k.table,
                    row_id: k.row_id,
                    field: k.field,
                    kind: k.kind,
                    reason: k.reason,
                    attempts: k.attempts as u32,
                    since: k.first_attempt,
                })
                .collect();
        }
        self.last_success = status.last_success;
        self.last_error = status.last_error;
        match status.account {
            Some(account) => {
                self.server_url = Some(account.server_url);
                self.email = Some(account.email);
                self.user_name = Some(account.user_name);
                if self.activity == SyncActivity::SignedOut {
                    self.activity = SyncActivity::Idle;
                }
            }
            None => {
                self.server_url = None;
                self.email = None;
                self.user_name = None;
                self.activity = SyncActivity::SignedOut;
            }
        }
        Ok(())
    }
}

struct Shared {
    /// The folder in use (changes when the app enters or leaves the demo).
    data_dir: Mutex<Option<PathBuf>>,
    edited: Notify,
    now: Notify,
    view: Mutex<SyncView>,
    app: Mutex<Option<AppHandle>>,
}

#[derive(Clone)]
pub struct SyncWorker {
    shared: Arc<Shared>,
}

impl SyncWorker {
    pub fn new(data_dir: Option<PathBuf>) -> SyncWorker {
        SyncWorker {
            shared: Arc::new(Shared {
                data_dir: Mutex::new(data_dir),
                edited: Notify::new(),
                now: Notify::new(),
                view: Mutex::new(SyncView::signed_out()),
                app: Mutex::new(None),
            }),
        }
    }

    /// Start the task (once, from the app's setup).
    pub fn start(&self, app: AppHandle) {
        *self.shared.app.lock().unwrap() = Some(app);
        let shared = self.shared.clone();
        tauri::async_runtime::spawn(async move { run(shared).await });
    }

    /// Sync the store in another folder from now on (a sync running on the
    /// old one finishes there), and tell the window at once.
    pub fn set_data_dir(&self, dir: Option<PathBuf>) {
        *self.shared.data_dir.lock().unwrap() = dir;
        self.shared.now.notify_one();
    }

    /// A local edit landed: sync soon.
    pub fn local_edit(&self) {
        self.shared.edited.notify_one();
    }

    /// Sync as soon as possible (button, sign-in).
    pub fn sync_now(&self) {
        self.shared.now.notify_one();
    }

    pub fn view(&self) -> SyncView {
        self.shared.view.lock().unwrap().clone()
    }

    /// Recompute the figures (after a local edit, a conflict resolved, a
    /// sign-in or out) and tell the window.
    pub fn refresh_from(&self, store: &Store) {
        let mut view = self.shared.view.lock().unwrap();
        if let Err(e) = view.refresh(store) {
            tracing::warn!(error = %e, "cannot read the sync status");
        }
        let snapshot = view.clone();
        drop(view);
        emit(&self.shared, &snapshot);
    }
}

fn emit(shared: &Shared, view: &SyncView) {
    if let Some(app) = shared.app.lock().unwrap().as_ref() {
        if let Err(e) = app.emit(EVENT, view) {
            tracing::warn!(error = %e, "cannot send the sync state to the window");
        }
    }
}

fn update(shared: &Shared, f: impl FnOnce(&mut SyncView)) {
    let snapshot = {
        let mut view = shared.view.lock().unwrap();
        f(&mut view);
        view.clone()
    };
    emit(shared, &snapshot);
}

enum Outcome {
    Synced,
    SignedOut,
    Offline,
    Failed,
}

async fn run(shared: Arc<Shared>) {
    loop {
        let outcome = {
            let shared = shared.clone();
            tauri::async_runtime::spawn_blocking(move || sync_blocking(&shared)).await.unwrap_or(Outcome::Failed)
        };
        let wait = match outcome {
            Outcome::Offline => OFFLINE_RETRY,
            Outcome::Synced | Outcome::SignedOut | Outcome::Failed => PERIOD,
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shared.now.notified() => {}
            _ = debounced(&shared.edited) => {}
        }
    }
}

/// Resolves `DEBOUNCE` after the last of a burst of notifications.
async fn debounced(edited: &Notify) {
    edited.notified().await;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(DEBOUNCE) => return,
            _ = edited.notified() => continue,
        }
    }
}

fn sync_blocking(shared: &Shared) -> Outcome {
    let Some(dir) = shared.data_dir.lock().unwrap().clone() else { return Outcome::Failed };
    // A store that cannot be opened is shown by the screens themselves (with
    // the data folder); sync just waits for it to be fixed.
    let Ok(mut store) = Store::open_in(&dir) else { return Outcome::Failed };
    let account = match store.account() {
        Ok(Some(account)) => account,
        Ok(None) | Err(_) => {
            update(shared, |v| {
                let _ = v.refresh(&store);
                v.activity = SyncActivity::SignedOut;
            });
            return Outcome::SignedOut;
        }
    };
    update(shared, |v| {
        let _ = v.refresh(&store);
        v.activity = SyncActivity::Syncing;
        v.progress = None;
    });
    // A daily copy in the data folder's backups/, before the data changes
    // (as `circles sync` does): a damaged store then has a recent way back.
    if let Err(e) = store.backup_if_due() {
        tracing::warn!(error = %e, "the daily backup could not be written");
    }
    let result = HttpTransport::new(&account.server_url, Some(account.token)).and_then(|transport| {
        sync_once(&mut store, &transport, &mut |p| {
            update(shared, |v| {
                v.progress = Some(SyncProgress {
                    phase: match p.phase {
                        Phase::Pushing => "pushing".into(),
                        Phase::Pulling => "pulling".into(),
                    },
                    done: p.done as u32,
                    total: p.total as u32,
                })
            })
        })
    });
    let (activity, outcome, changed) = match &result {
        Ok(report) => (
            SyncActivity::Idle,
            Outcome::Synced,
            report.applied > 0 || report.new_conflicts > 0 || report.revoked_circles > 0,
        ),
        Err(SyncError::Unreachable(_)) => (SyncActivity::Offline, Outcome::Offline, false),
        Err(_) => (SyncActivity::Error, Outcome::Failed, false),
    };
    if let Err(e) = &result {
        tracing::warn!(error = %e, "background sync did not complete");
    }
    update(shared, |v| {
        let _ = v.refresh(&store);
        v.activity = activity;
        v.progress = None;
        if let Err(e) = &result {
            v.last_error = Some(e.to_string());
        }
        if changed {
            v.data_revision += 1;
        }
        if let Ok(report) = &result {
            v.revoked_circles = report.revoked_circles as u32;
        }
    });
    outcome
}
