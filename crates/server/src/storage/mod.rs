//! The server's storage interface. Handlers only see this trait, so a
//! second backend (PostgreSQL) can be added without touching them. Methods
//! are blocking; handlers call them from `spawn_blocking`.

mod group_commit;
pub mod postgres;
pub mod sqlite;

use axum::http::StatusCode;
use circles_core::schema::TableDef;
use circles_core::sync::merge;
use circles_core::sync::wire::{
    PullResponse, PushOutcome, PushRequest, PushResponse, PushResult, ServerChange, MAX_CLOCK_SKEW_MS,
    MAX_PUSH_CHANGES,
};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Who is calling: the user and the device their token is bound to.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user_id: String,
    pub device_id: String,
    pub token_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserInfo {
    pub id: String,
    pub email: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub user_email: String,
    pub device_id: String,
    pub device_name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

pub type StorageResult<T> = Result<T, ApiError>;

pub trait Storage: Send + Sync + 'static {
    fn health(&self) -> StorageResult<()>;

    fn add_user(&self, email: &str, name: &str, password_hash: &str) -> StorageResult<String>;
    fn users(&self) -> StorageResult<Vec<UserInfo>>;
    fn user_by_email(&self, email: &str) -> StorageResult<Option<UserRecord>>;
    fn add_team(&self, name: &str) -> StorageResult<String>;
    /// Make a user an organizer of a team: they see the team's circles.
    fn add_organizer(&self, team_id: &str, email: &str) -> StorageResult<()>;

    fn create_token(&self, user_id: &str, device_id: &str, device_name: &str, token_hash: &str)
        -> StorageResult<String>;
    /// The live session a token hash belongs to (None: unknown or revoked).
    fn session(&self, token_hash: &str) -> StorageResult<Option<Session>>;
    /// Tokens of a user (by id), or of everyone.
    fn tokens(&self, user_id: Option<&str>) -> StorageResult<Vec<TokenInfo>>;
    /// Revoke a token; with `owner`, only one of that user's. False if none matched.
    fn revoke_token(&self, token_id: &str, owner: Option<&str>) -> StorageResult<bool>;

    /// Accept a batch: all of it with its record, or nothing.
    fn push(&self, session: &Session, batch: PushRequest, now_ms: u64) -> StorageResult<PushResponse>;
    /// A page of the changes the session's user may see.
    fn pull(&self, session: &Session, cursor: i64, conflict_cursor: i64, limit: usize, now_ms: u64)
        -> StorageResult<PullResponse>;
}

/// What the batch record says of a pushed batch, the same on every backend:
/// `recorded` is the (batch id, stored answer) under the batch's number, if
/// any, and `last` the device's last recorded number. A repeat gets the
/// stored answer (Some); a new batch must follow the last one (None).
pub(crate) fn check_batch_record(
    batch: &PushRequest,
    recorded: Option<(String, String)>,
    last: i64,
) -> StorageResult<Option<PushResponse>> {
    if let Some((batch_id, json)) = recorded {
        if batch_id != batch.batch_id {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "batch_conflict",
                format!("batch number {} of this device was already used by another batch", batch.batch_seq),
            ));
        }
        return recorded_answer(batch, &json).map(Some);
    }
    if batch.batch_seq != last + 1 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "batch_gap",
            format!("expected batch number {} from this device, got {}", last + 1, batch.batch_seq),
        ));
    }
    Ok(None)
}

/// A batch's answer as its record keeps it (`push_batches.response_json`):
/// the outcomes in order, in runs, the applied ones with the first of their
/// consecutive seqs. The change ids are the retried batch's own, so a
/// 5,000-change answer is a few bytes instead of a third of the batch again;
/// a digest of the recorded ids makes sure a retry carries the same changes.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompactAnswer {
    server_time_ms: u64,
    runs: Vec<OutcomeRun>,
    change_ids_sha256: String,
}

/// SHA-256 of a batch's change ids, each ended by a newline, in hex.
fn change_ids_digest<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for id in ids {
        hasher.update(id.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeRun {
    outcome: PushOutcome,
    count: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_seq: Option<i64>,
}

/// A record as written by this server, or by an older one (the whole answer).
#[derive(Deserialize)]
#[serde(untagged)]
enum RecordedAnswer {
    Compact(CompactAnswer),
    Whole(PushResponse),
}

/// The record to keep of an answer.
pub(crate) fn batch_record(response: &PushResponse) -> String {
    let mut runs: Vec<OutcomeRun> = Vec::new();
    for result in &response.results {
        match runs.last_mut() {
            Some(run)
                if run.outcome == result.outcome
                    && match (run.first_seq, result.seq) {
                        (Some(first), Some(seq)) => seq == first + run.count as i64,
                        (first, seq) => first.is_none() && seq.is_none(),
                    } =>
            {
                run.count += 1
            }
            _ => runs.push(OutcomeRun { outcome: result.outcome, count: 1, first_seq: result.seq }),
        }
    }
    let change_ids_sha256 = change_ids_digest(response.results.iter().map(|r| r.change_id.as_str()));
    serde_json::to_string(&CompactAnswer { server_time_ms: response.server_time_ms, runs, change_ids_sha256 })
        .expect("record serializes")
}

/// The answer a record keeps for a batch sent again.
fn recorded_answer(batch: &PushRequest, record: &str) -> StorageResult<PushResponse> {
    let compact = match serde_json::from_str(record).map_err(|e| ApiError::internal(format!("batch record: {e}")))? {
        RecordedAnswer::Whole(response) => return Ok(response),
        RecordedAnswer::Compact(compact) => compact,
    };
    let recorded: usize = compact.runs.iter().map(|run| run.count).sum();
    if recorded != batch.changes.len()
        || compact.change_ids_sha256 != change_ids_digest(batch.changes.iter().map(|c| c.change_id.as_str()))
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "batch_conflict",
            format!(
                "batch {} was recorded with other changes ({recorded} of them) than it is sent again with ({})",
                batch.batch_id,
                batch.changes.len()
            ),
        ));
    }
    let outcomes = compact.runs.iter().flat_map(|run| {
        (0..run.count as i64).map(move |i| (run.outcome, run.first_seq.map(|first| first + i)))
    });
    let results = batch
        .changes
        .iter()
        .zip(outcomes)
        .map(|(change, (outcome, seq))| PushResult { change_id: change.change_id.clone(), outcome, seq })
        .collect();
    Ok(PushResponse {
        batch_id: batch.batch_id.clone(),
        batch_seq: batch.batch_seq,
        results,
        server_time_ms: compact.server_time_ms,
    })
}

/// How far a pull page may look, in multiples of its limit, while it passes
/// over the caller's own changes (which it leaves out): right after a large
/// push, one page instead of one round trip per `limit` of them.
const OWN_CHANGES_LOOKAHEAD: usize = 4;

/// One look at the log for a pull page: the changes after a cursor the user
/// may see, at most a given number of them.
pub(crate) struct LogSlice {
    /// The others' changes among them, in order.
    pub changes: Vec<ServerChange>,
    /// How many it looked at, the caller's own included.
    pub looked_at: usize,
    /// The last seq it looked at (None: nothing after the cursor).
    pub last_seq: Option<i64>,
}

/// The changes of a pull page and where it ends: `Some(seq)` when it
/// stopped at its limit at `seq`, None when it saw everything after the
/// cursor. `look(cursor, n)` reads the next `n` visible changes after
/// `cursor`; it is called again from where it stopped while it found mostly
/// the caller's own changes, at most up to `OWN_CHANGES_LOOKAHEAD` times the
/// limit, and never for more than the page still has room for.
pub(crate) fn gather_page<E>(
    cursor: i64,
    limit: usize,
    mut look: impl FnMut(i64, usize) -> Result<LogSlice, E>,
) -> Result<(Vec<ServerChange>, Option<i64>), E> {
    let mut changes = Vec::new();
    let (mut at, mut looked_at) = (cursor, 0);
    loop {
        let room = limit - changes.len();
        let slice = look(at, room)?;
        changes.extend(slice.changes);
        looked_at += slice.looked_at;
        if slice.looked_at < room {
            return Ok((changes, None));
        }
        at = slice.last_seq.expect("a full slice has a last seq");
        if changes.len() == limit || looked_at >= limit * OWN_CHANGES_LOOKAHEAD {
            return Ok((changes, Some(at)));
        }
    }
}

/// The checks of a batch that need no database, the same on every backend:
/// size, batch id, known tables and valid values, the token's own device, and
/// clocks not too far ahead. Returns each change's table.
pub(crate) fn precheck(session: &Session, batch: &PushRequest, now_ms: u64) -> StorageResult<Vec<&'static TableDef>> {
    if batch.changes.len() > MAX_PUSH_CHANGES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("a batch carries at most {MAX_PUSH_CHANGES} changes, not {}", batch.changes.len()),
        ));
    }
    if batch.batch_id.is_empty() || batch.batch_id.len() > 64 {
        return Err(ApiError::bad_request("batch_id must be between 1 and 64 characters"));
    }
    let mut tables = Vec::with_capacity(batch.changes.len());
    for change in &batch.changes {
        let table =
            merge::check(change).map_err(|e| ApiError::invalid_change(format!("change {}: {e}", change.change_id)))?;
        if change.device_id != session.device_id {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "wrong_device",
                format!(
                    "change {} names device {}, but this token belongs to device {}",
                    change.change_id, change.device_id, session.device_id
                ),
            ));
        }
        if change.hlc.millis > now_ms + MAX_CLOCK_SKEW_MS {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "clock_skew",
                format!(
                    "change {} is stamped {} ms ahead of the server clock ({now_ms}); correct the clock and re-stamp",
                    change.change_id,
                    change.hlc.millis - now_ms
                ),
            ));
        }
        tables.push(table);
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;
    use circles_core::hlc::Hlc;
    use circles_core::sync::wire::WireChange;

    fn batch(ids: &[&str]) -> PushRequest {
        let change = |id: &&str| WireChange {
            change_id: id.to_string(),
            table: "courses".into(),
            row_id: "r1".into(),
            field: "title".into(),
            value: serde_json::json!("T"),
            hlc: Hlc { millis: 1, counter: 0 },
            device_id: "d".into(),
            base_seq: None,
        };
        PushRequest { batch_id: "b1".into(), batch_seq: 3, changes: ids.iter().map(change).collect() }
    }

    fn answer(batch: &PushRequest, outcomes: &[(PushOutcome, Option<i64>)]) -> PushResponse {
        let results = batch
            .changes
            .iter()
            .zip(outcomes)
            .map(|(c, (outcome, seq))| PushResult { change_id: c.change_id.clone(), outcome: *outcome, seq: *seq })
            .collect();
        PushResponse { batch_id: batch.batch_id.clone(), batch_seq: batch.batch_seq, results, server_time_ms: 42 }
    }

    /// A log of `own` of the caller's changes then others', looked at the
    /// way a backend does: the next `n` after a cursor.
    fn look_at(own: i64, total: i64) -> impl FnMut(i64, usize) -> Result<LogSlice, ()> {
        let mut looks = 0;
        move |after, n| {
            looks += 1;
            assert!(looks <= 10, "looked again and again");
            let seqs: Vec<i64> = (after + 1..=total).take(n).collect();
            let changes = seqs
                .iter()
                .filter(|&&seq| seq > own)
                .map(|&seq| ServerChange { seq, change: batch(&["x"]).changes.remove(0) })
                .collect();
            Ok(LogSlice { changes, looked_at: seqs.len(), last_seq: seqs.last().copied() })
        }
    }

    fn seqs(page: &(Vec<ServerChange>, Option<i64>)) -> (Vec<i64>, Option<i64>) {
        (page.0.iter().map(|c| c.seq).collect(), page.1)
    }

    #[test]
    fn a_pull_page_passes_over_own_changes_up_to_its_lookahead() {
        // Others' changes right after the caller's: one page brings them.
        assert_eq!(seqs(&gather_page(0, 3, look_at(5, 20)).unwrap()), (vec![6, 7, 8], Some(8)));
        // Only own changes within four limits: an empty page past them.
        assert_eq!(seqs(&gather_page(0, 3, look_at(15, 20)).unwrap()), (vec![], Some(12)));
        // Never more than the limit, nor past the end.
        assert_eq!(seqs(&gather_page(10, 3, look_at(11, 13)).unwrap()), (vec![12, 13], None));
        assert_eq!(seqs(&gather_page(13, 3, look_at(0, 13)).unwrap()), (vec![], None));
        assert_eq!(seqs(&gather_page(0, 3, look_at(0, 3)).unwrap()), (vec![1, 2, 3], Some(3)));
    }

    #[test]
    fn a_recorded_answer_comes_back_exactly_from_its_runs() {
        use PushOutcome::*;
        let batch = batch(&["a", "b", "c", "d", "e", "f", "g", "h"]);
        let response = answer(
            &batch,
            &[
                (Applied, Some(5)),
                (Applied, Some(6)),
                (Duplicate, None),
                (Superseded, None),
                (Superseded, None),
                (Applied, Some(7)),
                (Applied, Some(9)),
                (Applied, Some(10)),
            ],
        );
        let record = batch_record(&response);
        assert_eq!(
            serde_json::from_str::<CompactAnswer>(&record).unwrap().runs.len(),
            5,
            "runs of consecutive seqs: {record}"
        );
        assert_eq!(check_batch_record(&batch, Some(("b1".into(), record)), 3).unwrap(), Some(response));
    }

    #[test]
    fn a_whole_answer_recorded_by_an_older_server_is_still_answered() {
        let batch = batch(&["a", "b"]);
        let response = answer(&batch, &[(PushOutcome::Applied, Some(1)), (PushOutcome::Duplicate, None)]);
        let record = serde_json::to_string(&response).unwrap();
        assert_eq!(check_batch_record(&batch, Some(("b1".into(), record)), 3).unwrap(), Some(response));
    }

    #[test]
    fn a_recorded_batch_sent_again_with_other_changes_is_a_conflict() {
        let recorded = batch(&["a", "b"]);
        let record = batch_record(&answer(&recorded, &[(PushOutcome::Applied, Some(1)), (PushOutcome::Applied, Some(2))]));
        let err = check_batch_record(&batch(&["a"]), Some(("b1".into(), record.clone())), 3).unwrap_err();
        assert_eq!((err.status, err.code), (StatusCode::CONFLICT, "batch_conflict"));
        let err = check_batch_record(&batch(&["a", "c"]), Some(("b1".into(), record.clone())), 3).unwrap_err();
        assert_eq!((err.status, err.code), (StatusCode::CONFLICT, "batch_conflict"));
        let err = check_batch_record(&recorded, Some(("other".into(), record)), 3).unwrap_err();
        assert_eq!(err.code, "batch_conflict");
    }
}
