//! A pushed batch's record (`push_batches`): how a batch number is checked
//! against it, and how an answer is kept and given again to a repeat. The
//! same on every backend; each only reads and writes the row its own way.

use axum::http::StatusCode;
use circles_core::sync::wire::{PushOutcome, PushRequest, PushResponse, PushResult};
use serde::{Deserialize, Serialize};

use super::ApiResult;
use crate::error::ApiError;

/// What the batch record says of a pushed batch, the same on every backend:
/// `recorded` is the (batch id, stored answer) under the batch's number, if
/// any, and `last` the device's last recorded number. A repeat gets the
/// stored answer (Some); a new batch must follow the last one (None).
pub(crate) fn check_batch_record(
    batch: &PushRequest,
    recorded: Option<(String, String)>,
    last: i64,
) -> ApiResult<Option<PushResponse>> {
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
        // A run goes on with the same outcome and, for applied changes, the
        // next seq (none after none).
        let next_seq = |run: &OutcomeRun| run.first_seq.map(|first| first + run.count as i64);
        match runs.last_mut() {
            Some(run) if run.outcome == result.outcome && next_seq(run) == result.seq => run.count += 1,
            _ => runs.push(OutcomeRun { outcome: result.outcome, count: 1, first_seq: result.seq }),
        }
    }
    let change_ids_sha256 = change_ids_digest(response.results.iter().map(|r| r.change_id.as_str()));
    serde_json::to_string(&CompactAnswer { server_time_ms: response.server_time_ms, runs, change_ids_sha256 })
        .expect("record serializes")
}

/// The answer a record keeps for a batch sent again.
fn recorded_answer(batch: &PushRequest, record: &str) -> ApiResult<PushResponse> {
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
    let outcomes = compact
        .runs
        .iter()
        .flat_map(|run| (0..run.count as i64).map(move |i| (run.outcome, run.first_seq.map(|first| first + i))));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::title_change;

    fn batch(ids: &[&str]) -> PushRequest {
        PushRequest { batch_id: "b1".into(), batch_seq: 3, changes: ids.iter().map(|id| title_change(id)).collect() }
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
        let record =
            batch_record(&answer(&recorded, &[(PushOutcome::Applied, Some(1)), (PushOutcome::Applied, Some(2))]));
        let err = check_batch_record(&batch(&["a"]), Some(("b1".into(), record.clone())), 3).unwrap_err();
        assert_eq!((err.status, err.code), (StatusCode::CONFLICT, "batch_conflict"));
        let err = check_batch_record(&batch(&["a", "c"]), Some(("b1".into(), record.clone())), 3).unwrap_err();
        assert_eq!((err.status, err.code), (StatusCode::CONFLICT, "batch_conflict"));
        let err = check_batch_record(&recorded, Some(("other".into(), record)), 3).unwrap_err();
        assert_eq!(err.code, "batch_conflict");
    }
}
