//! The sync engine: push the outbox, then pull until up to date. The same
//! engine serves the CLI and the desktop app; only the transport differs
//! (HTTP in both, an in-process server in the simulation tests).

use std::time::Duration;

use serde::Serialize;

use crate::error::CoreError;
use crate::store::hlc::wall_clock_millis;
use crate::store::{meta, Store};
use crate::sync::wire::{
    DeviceRenewal, Hello, PullResponse, PushRequest, PushResponse, MAX_PULL_LIMIT, MAX_PUSH_CHANGES,
};

/// Changes per pulled page (the most a server gives): every page is a
/// round trip, a transaction here and a count of what remains there.
pub const BATCH_SIZE: usize = MAX_PULL_LIMIT;
/// Changes per pushed batch at most (each batch is also bounded in bytes,
/// see `sync::replica::PUSH_BATCH_BYTES`): every batch costs the server one
/// durable commit, so fewer, larger batches push faster.
pub const PUSH_BATCH_SIZE: usize = MAX_PUSH_CHANGES;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The server could not be reached (no network, timeout): try later.
    #[error("the server cannot be reached ({0}); your changes are kept and will sync when it can")]
    Unreachable(String),
    /// The server answered with an error.
    #[error("the server refused the request ({code}): {message}")]
    Refused { status: u16, code: String, message: String },
    #[error("not signed in to a server; sign in first (circles login)")]
    NotSignedIn,
    #[error(transparent)]
    Store(#[from] CoreError),
    /// A bug: the sync stopped where it should not have (a panic, caught so
    /// that it is recorded and reported like any other failure).
    #[error("sync stopped by an internal error ({0}); please report it")]
    Internal(String),
}

impl SyncError {
    pub(crate) fn code(&self) -> Option<&str> {
        match self {
            SyncError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Worth retrying later without any change on this side.
    pub fn is_transient(&self) -> bool {
        matches!(self, SyncError::Unreachable(_))
            || matches!(self, SyncError::Refused { status, .. } if *status >= 500 || *status == 429)
    }
}

/// How the engine reaches a server.
pub trait Transport {
    fn hello(&self) -> Result<Hello, SyncError>;
    fn push(&self, batch: &PushRequest) -> Result<PushResponse, SyncError>;
    fn pull(&self, cursor: i64, conflict_cursor: i64, limit: usize) -> Result<PullResponse, SyncError>;
    /// A fresh device id from the server and a token bound to it, which
    /// the transport uses from then on (`POST /v1/device/renew`).
    /// Transports that cannot ask say so.
    fn renew_device(&self) -> Result<DeviceRenewal, SyncError> {
        Err(SyncError::Refused {
            status: 0,
            code: "renew_unsupported".into(),
            message: "this connection cannot ask the server for a new device id".into(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Pushing,
    Pulling,
}

/// Progress of a running sync, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub phase: Phase,
    pub done: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncReport {
    pub pushed: u64,
    pub pulled: u64,
    pub applied: u64,
    pub new_conflicts: u64,
    /// Changes the server refused for good in this sync (kept locally).
    pub refused: u64,
    /// Pulled changes this replica could not apply, kept aside in this sync
    /// (`Store::kept_aside` lists all that wait).
    pub kept_aside: u64,
    /// Circles this person no longer sees, removed from this computer in
    /// this sync (their unpushed changes are counted in `refused`).
    pub revoked_circles: u64,
}

/// One full sync: push everything waiting, then pull until up to date.
/// Each step commits on its own, so an interrupted sync resumes where it
/// stopped.
pub fn sync_once(
    store: &mut Store,
    transport: &dyn Transport,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport, SyncError> {
    // A demo store never syncs (refused before anything is recorded).
    store.refuse_if_demo()?;
    // A panic inside the sync must not leave `last error` empty: it is
    // caught here (the open transaction rolls back as it unwinds) and
    // recorded like any other failure.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(store, transport, on_progress)))
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            // A write opened without a guard (`BEGIN IMMEDIATE`) is still open.
            if !store.conn.is_autocommit() {
                let _ = store.conn.execute_batch("ROLLBACK");
            }
            Err(SyncError::Internal(what))
        });
    let outcome = match &result {
        Ok(_) => (meta::SYNC_LAST_SUCCESS, chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        Err(e) => (meta::SYNC_LAST_ERROR, e.to_string()),
    };
    meta::set(&store.conn, outcome.0, &outcome.1)?;
    if result.is_ok() {
        meta::delete(&store.conn, meta::SYNC_LAST_ERROR)?;
    }
    result
}

fn run(
    store: &mut Store,
    transport: &dyn Transport,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    push_all(store, transport, on_progress, &mut report)?;
    pull_all(store, transport, on_progress, &mut report)?;
    // A pulled erase (or a pull that brought old values of a learner erased
    // here) leaves nothing of the old values on this computer.
    store.purge_erased_learners()?;
    // Merged schedules can call for different guides than either side
    // derived; the re-derived guides go out in this same sync.
    if report.applied > 0 && store.rederive_all_guides()? > 0 {
        push_all(store, transport, on_progress, &mut report)?;
    }
    Ok(report)
}

fn push_all(
    store: &mut Store,
    transport: &dyn Transport,
    on_progress: &mut dyn FnMut(Progress),
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let total = store.pending_count()?;
    let mut clock_corrected = false;
    let mut renewed = false;
    // What this server takes (halved on 413), and how many changes to try
    // at once while looking for the ones it refuses (halved on 403/422,
    // grown again after a success).
    let mut size_limit = PUSH_BATCH_SIZE;
    let mut bisect = PUSH_BATCH_SIZE;
    let mut pulled_for_access = false;
    while let Some(batch) = store.next_push_batch(size_limit.min(bisect))? {
        match transport.push(&batch) {
            Ok(response) => {
                bisect = bisect.saturating_mul(2).min(PUSH_BATCH_SIZE);
                store.ack_push(&batch, &response)?;
                report.pushed += response.results.len() as u64;
                on_progress(Progress { phase: Phase::Pushing, done: report.pushed.min(total), total });
            }
            Err(e) if e.code() == Some("clock_skew") && !clock_corrected => {
                let hello = transport.hello()?;
                store.correct_clock(hello.server_time_ms as i64 - wall_clock_millis() as i64)?;
                clock_corrected = true;
            }
            // Too large for this server (more changes than it takes, or a
            // body over its limit: text full of characters JSON escapes can
            // outgrow the byte estimate): it applied none of it, so send it
            // again in halves rather than fail on it at every sync.
            Err(SyncError::Refused { status: 413, .. }) if batch.changes.len() > 1 => {
                size_limit = batch.changes.len() / 2;
                store.drop_pending_batch()?;
            }
            // Another batch already holds this batch number (this data
            // folder was copied or restored from a backup, and the other
            // copy pushed under the same device id), or the token is bound
            // to another device than the changes': take a new identity from
            // the server and send the waiting changes again under it.
            Err(e) if matches!(e.code(), Some("batch_conflict" | "wrong_device")) && !renewed => {
                let renewal = transport.renew_device()?;
                let restamped = store.adopt_device_id(&renewal.device_id, Some(&renewal.token))?;
                tracing::warn!(renewal.device_id, restamped, error = %e, "this data folder took a new device identity");
                renewed = true;
            }
            // The server refuses a batch whole, for one change it may not
            // take (a circle this person lost access to, a value it refuses).
            // Send it again in halves, so only the refused changes are kept
            // aside and the rest of the outbox syncs; the server applied none
            // of it, so its batch number is free for the smaller batch.
            Err(SyncError::Refused { status, .. }) if matches!(status, 403 | 422) && batch.changes.len() > 1 => {
                store.drop_pending_batch()?;
                if status == 403 && !pulled_for_access {
                    // Most often this person lost access to a circle while
                    // offline: a pull says which, removes it here and keeps
                    // all its waiting changes aside at once.
                    pulled_for_access = true;
                    pull_all(store, transport, on_progress, report)?;
                } else {
                    bisect = batch.changes.len() / 2;
                }
            }
            Err(SyncError::Refused { status: 403 | 422, .. }) => {
                report.refused += store.refuse_pending_batch()? as u64;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn pull_all(
    store: &mut Store,
    transport: &dyn Transport,
    on_progress: &mut dyn FnMut(Progress),
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let mut resets = 0;
    loop {
        let (cursor, conflict_cursor) = store.pull_cursors()?;
        let page = transport.pull(cursor, conflict_cursor, BATCH_SIZE)?;
        let stats = store.apply_pull(&page)?;
        report.revoked_circles += stats.revoked_circles as u64;
        report.refused += stats.kept_refused as u64;
        if page.reset {
            resets += 1;
            if resets > 2 {
                return Err(SyncError::Refused {
                    status: 500,
                    code: "reset_loop".into(),
                    message: "the server keeps asking for a full resync".into(),
                });
            }
            continue;
        }
        report.pulled += page.changes.len() as u64;
        report.applied += stats.applied as u64;
        report.new_conflicts += stats.conflicts as u64;
        report.kept_aside += stats.kept_aside as u64;
        on_progress(Progress { phase: Phase::Pulling, done: report.pulled, total: report.pulled + page.remaining });
        if !page.has_more {
            // What the server says of newer apps, kept for the offline notice.
            store.remember_app_release(page.app_release.as_ref())?;
            return Ok(());
        }
    }
}

/// `sync_once`, retried with exponential backoff while the failure is
/// transient (at most `attempts` tries).
pub fn sync_with_retry(
    store: &mut Store,
    transport: &dyn Transport,
    attempts: u32,
    first_delay: Duration,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport, SyncError> {
    let mut delay = first_delay;
    let mut attempt = 1;
    loop {
        match sync_once(store, transport, on_progress) {
            Err(e) if e.is_transient() && attempt < attempts => {
                tracing::warn!(attempt, error = %e, "sync failed; retrying");
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(60));
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::hlc::Hlc;
    use crate::sync::wire::{ServerChange, WireChange};
    use serde_json::json;

    /// A server that answers every pull with one fixed page (a hostile or
    /// broken one), or panics while pulling.
    struct FixedPage(Option<PullResponse>);

    impl Transport for FixedPage {
        fn hello(&self) -> Result<Hello, SyncError> {
            Err(SyncError::Unreachable("no hello here".into()))
        }
        fn push(&self, _: &PushRequest) -> Result<PushResponse, SyncError> {
            Err(SyncError::Unreachable("nothing is pushed here".into()))
        }
        fn pull(&self, _: i64, _: i64, _: usize) -> Result<PullResponse, SyncError> {
            match &self.0 {
                Some(page) => Ok(page.clone()),
                None => panic!("a bug while pulling"),
            }
        }
    }

    fn change(seq: i64, table: &str, row: &str, field: &str, value: serde_json::Value, hlc: Hlc) -> ServerChange {
        let change_id = format!("c{seq}");
        let device_id = "dev-b".into();
        let (table, row_id, field) = (table.into(), row.into(), field.into());
        ServerChange {
            seq,
            change: WireChange { change_id, table, row_id, field, value, hlc, device_id, base_seq: None },
        }
    }

    #[test]
    fn a_sync_pulling_hostile_changes_succeeds_applies_the_rest_and_reports_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        let t = |millis| Hlc { millis, counter: 0 };
        let changes = vec![
            change(1, "team_members", "tm1", "team_id", json!("no-such-team"), t(10)),
            change(2, "team_members", "tm1", "deleted", json!(0), t(11)),
            change(3, "courses", "co1", "title", json!("Honest"), t(12)),
            change(4, "courses", "co1", "provider", json!("P"), Hlc { millis: 13, counter: 7 }),
            change(5, "courses", "co1", "archived", json!("not a flag"), t(14)),
            change(6, "courses", "co1", "mood", json!("unknown field"), t(15)),
            change(7, "courses", "co1", "deleted", json!(0), t(16)),
        ];
        let page = PullResponse {
            changes,
            cursor: 7,
            has_more: false,
            remaining: 0,
            reset: false,
            conflicts: vec![],
            server_time_ms: 0,
            app_release: None,
            revoked: Vec::new(),
        };
        let report = sync_once(&mut store, &FixedPage(Some(page)), &mut |_| {}).unwrap();
        assert_eq!((report.pulled, report.applied, report.kept_aside), (7, 3, 4));
        let status = store.sync_status().unwrap();
        assert_eq!(status.kept_aside, 4);
        assert_eq!(status.last_error, None);
        assert!(status.last_success.is_some());
        assert_eq!(store.pull_cursors().unwrap().0, 7);
        let title: String = store
            .conn
            .query_row("SELECT title FROM courses WHERE id = 'co1' AND deleted = 0", [], |r| r.get(0))
            .unwrap();
        assert_eq!(title, "Honest");
    }

    #[test]
    fn a_failed_sync_always_leaves_its_error_even_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        let error = sync_once(&mut store, &FixedPage(None), &mut |_| {}).unwrap_err();
        assert!(matches!(error, SyncError::Internal(_)), "{error}");
        let last_error = store.sync_status().unwrap().last_error.expect("a failed sync records its error");
        assert!(last_error.contains("a bug while pulling"), "{last_error}");
        // The store is still usable afterwards.
        store.create_course(&crate::domain::course::CourseInput::new("After")).unwrap();
    }

    /// A server that refuses (422) any batch holding a change to one row and
    /// applies every other batch; it counts the pushes and what it applied.
    struct RefusesOneRow {
        row: String,
        pushes: std::cell::Cell<u32>,
        applied: std::cell::RefCell<Vec<String>>,
    }

    impl Transport for RefusesOneRow {
        fn hello(&self) -> Result<Hello, SyncError> {
            Err(SyncError::Unreachable("no hello here".into()))
        }
        fn push(&self, batch: &PushRequest) -> Result<PushResponse, SyncError> {
            self.pushes.set(self.pushes.get() + 1);
            if batch.changes.iter().any(|c| c.row_id == self.row) {
                return Err(SyncError::Refused { status: 422, code: "invalid_change".into(), message: "no".into() });
            }
            let results = batch
                .changes
                .iter()
                .map(|c| {
                    self.applied.borrow_mut().push(c.row_id.clone());
                    crate::sync::wire::PushResult {
                        change_id: c.change_id.clone(),
                        outcome: crate::sync::wire::PushOutcome::Applied,
                        seq: None,
                    }
                })
                .collect();
            Ok(PushResponse {
                batch_id: batch.batch_id.clone(),
                batch_seq: batch.batch_seq,
                results,
                server_time_ms: 0,
            })
        }
        fn pull(&self, cursor: i64, _: i64, _: usize) -> Result<PullResponse, SyncError> {
            Ok(PullResponse {
                changes: vec![],
                cursor,
                has_more: false,
                remaining: 0,
                reset: false,
                conflicts: vec![],
                server_time_ms: 0,
                app_release: None,
                revoked: Vec::new(),
            })
        }
    }

    #[test]
    fn one_refused_change_is_kept_aside_and_every_other_change_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        let mut courses = Vec::new();
        for i in 0..40 {
            courses.push(store.create_course(&crate::domain::course::CourseInput::new(format!("Course {i}"))).unwrap());
        }
        let waiting = store.pending_count().unwrap();
        let server =
            RefusesOneRow { row: courses[17].clone(), pushes: Default::default(), applied: Default::default() };
        let report = sync_once(&mut store, &server, &mut |_| {}).unwrap();
        let refused = store.refused_changes().unwrap();
        assert!(!refused.is_empty() && refused.iter().all(|c| c.row_id == courses[17]), "{refused:?}");
        assert_eq!(report.refused as usize, refused.len());
        assert_eq!(server.applied.borrow().len() as u64 + report.refused, waiting, "every other change was sent");
        assert!(!server.applied.borrow().contains(&courses[17]));
        assert_eq!(store.pending_count().unwrap(), 0, "nothing is stuck behind the refused change");
        // 440 changes, 11 of them refused: found by halving, not one push per change.
        assert!(server.pushes.get() < 60, "found by halving, in {} pushes", server.pushes.get());
    }
}
