//! Group commit, the same for every backend: pushes that arrive while another
//! group is being written wait for it, then one of them (the leader) writes
//! them all in one transaction (one write lock, one commit, one fsync) and
//! hands each its own answer. Under load the durable commit, not the merge,
//! is what a push waits for; sharing it keeps latency flat as clients grow.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};

use circles_core::schema::TableDef;
use circles_core::sync::wire::{PushRequest, PushResponse};

use super::ApiResult;
use crate::error::ApiError;
use crate::storage::Session;

/// At most this many pushes, or this many changes, in one transaction.
const MAX_GROUP: usize = 64;
const MAX_GROUP_CHANGES: usize = 20_000;

/// One push waiting for its group, checked by `precheck`.
pub(crate) struct PushJob {
    pub session: Session,
    pub batch: PushRequest,
    pub tables: Vec<&'static TableDef>,
    pub now_ms: u64,
}

impl PushJob {
    /// A push that passed the checks needing no database (`precheck`), done
    /// before it waits for the writer.
    pub fn checked(session: &Session, batch: PushRequest, now_ms: u64) -> ApiResult<PushJob> {
        let tables = super::precheck::precheck(session, &batch, now_ms)?;
        Ok(PushJob { session: session.clone(), batch, tables, now_ms })
    }
}

type PushResult = ApiResult<PushResponse>;

#[derive(Default)]
pub(crate) struct GroupCommit {
    state: Mutex<GroupState>,
    done: Condvar,
}

#[derive(Default)]
struct GroupState {
    queue: Vec<(u64, PushJob)>,
    results: HashMap<u64, PushResult>,
    leader: bool,
    next_id: u64,
}

/// Hands the group's answers out when the leader is done, also when it
/// panicked (then each push gets an error and another waiter takes the
/// lead): nobody waits forever.
struct LeaderGuard<'a> {
    group: &'a GroupCommit,
    ids: Vec<u64>,
    results: Option<Vec<PushResult>>,
}

impl Drop for LeaderGuard<'_> {
    fn drop(&mut self) {
        let results = self
            .results
            .take()
            .unwrap_or_else(|| self.ids.iter().map(|_| Err(ApiError::internal("the push group failed"))).collect());
        let mut state = self.group.state.lock().unwrap_or_else(|p| p.into_inner());
        state.results.extend(self.ids.iter().copied().zip(results));
        state.leader = false;
        drop(state);
        self.group.done.notify_all();
    }
}

impl GroupCommit {
    /// Queue `job` and return its answer, written by `write_group` (one call
    /// per group, pushes in arrival order, one result each) on this thread
    /// or another's.
    pub fn push(&self, job: PushJob, write_group: impl Fn(&[(u64, PushJob)]) -> Vec<PushResult>) -> PushResult {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let id = state.next_id;
        state.next_id += 1;
        state.queue.push((id, job));
        loop {
            if let Some(result) = state.results.remove(&id) {
                return result;
            }
            if state.leader {
                state = self.done.wait(state).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            // Lead: take what is queued (ours among it) and write it.
            state.leader = true;
            let mut changes = 0;
            let take = state
                .queue
                .iter()
                .take_while(|(_, j)| {
                    changes += j.batch.changes.len();
                    changes <= MAX_GROUP_CHANGES
                })
                .count()
                .clamp(1, MAX_GROUP);
            let jobs: Vec<(u64, PushJob)> = state.queue.drain(..take).collect();
            drop(state);
            let mut guard = LeaderGuard { group: self, ids: jobs.iter().map(|(id, _)| *id).collect(), results: None };
            let results = write_group(&jobs);
            debug_assert_eq!(results.len(), jobs.len());
            guard.results = Some(results);
            drop(guard);
            state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::each_push;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn job(n: i64) -> PushJob {
        PushJob {
            session: Session { user_id: "u".into(), device_id: format!("d{n}"), token_id: "t".into() },
            batch: PushRequest { batch_id: format!("b{n}"), batch_seq: n, changes: vec![] },
            tables: vec![],
            now_ms: 0,
        }
    }

    fn answer(job: &PushJob) -> PushResult {
        Ok(PushResponse {
            batch_id: job.batch.batch_id.clone(),
            batch_seq: job.batch.batch_seq,
            results: vec![],
            server_time_ms: 0,
        })
    }

    #[test]
    fn concurrent_pushes_share_groups_and_each_gets_its_own_answer() {
        let group = Arc::new(GroupCommit::default());
        let groups = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..16)
            .map(|n| {
                let (group, groups) = (group.clone(), groups.clone());
                std::thread::spawn(move || {
                    group.push(job(n), |jobs| {
                        groups.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        jobs.iter().map(|(_, j)| answer(j)).collect()
                    })
                })
            })
            .collect();
        for (n, t) in threads.into_iter().enumerate() {
            assert_eq!(t.join().unwrap().unwrap().batch_id, format!("b{n}"));
        }
        let groups = groups.load(Ordering::SeqCst);
        assert!(groups < 16, "{groups} groups for 16 pushes that arrived together");
    }

    #[test]
    fn a_leader_that_panics_fails_its_group_and_the_next_push_still_goes_through() {
        let group = Arc::new(GroupCommit::default());
        let failed = {
            let group = group.clone();
            std::thread::spawn(move || group.push(job(1), |_| panic!("disk on fire")))
        };
        assert!(failed.join().is_err(), "the leader's own thread panicked");
        assert_eq!(group.push(job(2), |jobs| jobs.iter().map(|(_, j)| answer(j)).collect()).unwrap().batch_seq, 2);
    }

    #[test]
    fn a_refused_push_is_answered_alone_and_a_server_error_fails_the_group() {
        let jobs: Vec<_> = (1..=3).map(|n| (n as u64, job(n))).collect();
        let refuse_second = |_: &mut (), j: &PushJob| {
            if j.batch.batch_seq == 2 {
                Err(ApiError::forbidden("not yours"))
            } else {
                answer(j)
            }
        };
        let results = each_push(&mut (), jobs.len(), |tx, i| refuse_second(tx, &jobs[i].1)).unwrap();
        assert_eq!(results.iter().map(|r| r.is_ok()).collect::<Vec<_>>(), [true, false, true]);
        let fail_second = |_: &mut (), j: &PushJob| {
            if j.batch.batch_seq == 2 {
                Err(ApiError::internal("disk full"))
            } else {
                answer(j)
            }
        };
        assert!(each_push(&mut (), jobs.len(), |tx, i| fail_second(tx, &jobs[i].1)).is_err());
    }
}
