//! The checks of a batch that need no database, done before the push waits
//! for the writer: size, batch id, known tables and valid values, the
//! token's own device, tables only the server writes (meeting_rsvps,
//! deliveries), and clocks not too far ahead.

use axum::http::StatusCode;
use circles_core::schema::{TableDef, SERVER_WRITTEN_TABLES};
use circles_core::sync::merge;
use circles_core::sync::wire::{PushRequest, MAX_CLOCK_SKEW_MS, MAX_PUSH_CHANGES};
use circles_core::validate::shown;
use circles_core::waitlist;

use super::ApiResult;
use crate::common::MAX_BATCH_ID_LEN;
use crate::error::ApiError;
use crate::storage::Session;

/// Check a batch; returns each change's table.
pub fn precheck(session: &Session, batch: &PushRequest, now_ms: u64) -> ApiResult<Vec<&'static TableDef>> {
    if batch.changes.len() > MAX_PUSH_CHANGES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("a batch carries at most {MAX_PUSH_CHANGES} changes, not {}", batch.changes.len()),
        ));
    }
    if batch.batch_id.is_empty() || batch.batch_id.len() > MAX_BATCH_ID_LEN {
        return Err(ApiError::bad_request(format!("batch_id must be between 1 and {MAX_BATCH_ID_LEN} characters")));
    }
    let mut tables = Vec::with_capacity(batch.changes.len());
    for change in &batch.changes {
        let table = merge::check(change).map_err(|e| ApiError::rejected(change, e))?;
        if let Some((rule, message)) = waitlist::client_may_write(table.name, &change.field, &change.value) {
            let refused = merge::ChangeRejected::Invalid { field: change.field.clone(), rule, message };
            return Err(ApiError::rejected(change, refused));
        }
        if SERVER_WRITTEN_TABLES.contains(&table.name) {
            return Err(ApiError::forbidden(format!(
                "you may not change {} {} (change {}): only the server writes them, from what learners do",
                table.entity,
                shown(&change.row_id),
                shown(&change.change_id),
            )));
        }
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
