//! The outbox's rules over any storage backend (the statements are in
//! `storage/`): mail touches no seq, so it writes outside the sync log's
//! write lock; retrying is only for a message that failed.

use axum::http::StatusCode;

use crate::error::ApiError;
use crate::protocol::ApiResult;
use crate::storage::{Backend, Channel, ClaimedMail, MailOutcome, MailState, MailSummary, NewMail};

pub(crate) fn enqueue(backend: &impl Backend, mail: &NewMail) -> ApiResult<(String, bool)> {
    backend.write_unordered(|tx| Ok(tx.enqueue_mail(mail)?))
}

pub(crate) fn claim(
    backend: &impl Backend,
    channel: Channel,
    owner: &str,
    now: &str,
    lease_until: &str,
    limit: usize,
) -> ApiResult<Vec<ClaimedMail>> {
    backend.write_unordered(|tx| Ok(tx.claim_mail(channel, owner, now, lease_until, limit)?))
}

pub(crate) fn finish(backend: &impl Backend, id: &str, owner: &str, outcome: &MailOutcome) -> ApiResult<bool> {
    backend.write_unordered(|tx| Ok(tx.finish_mail(id, owner, outcome)?))
}

pub(crate) fn list(backend: &impl Backend, state: Option<MailState>, limit: usize) -> ApiResult<Vec<MailSummary>> {
    backend.read(|tx| Ok(tx.mail_summaries(state, limit)?))
}

/// A failed message goes out again, due now, with a fresh count of attempts.
pub(crate) fn retry(backend: &impl Backend, id: &str, now: &str) -> ApiResult<()> {
    backend.write_unordered(|tx| match tx.mail_state(id)? {
        None => Err(ApiError::not_found(format!("no message with id {id}"))),
        Some(MailState::Failed) => {
            tx.requeue_mail(id, now)?;
            Ok(())
        }
        Some(state) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_failed",
            format!("message {id} is {}: only a failed message can be retried", state.as_str()),
        )),
    })
}
