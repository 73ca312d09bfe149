//! What a pull returns: a page of the changes the user may see (everyone's
//! and their circles', not the device's own), the device's lost conflicts,
//! a reset when the user gained a circle whose history the token's stream
//! has already passed, and the circles taken away from the user after the
//! request's cursor (`revoked`, on every page until the cursor passes the
//! revocation; `access.rs`). The puller's contacts are brought up to date
//! first, and new ones' rows come with the page (`directory.rs`).

use axum::http::StatusCode;
use circles_core::sync::wire::{PullResponse, MAX_PULL_LIMIT};

use super::directory;
use super::pull_page::gather_page;
use super::ApiResult;
use crate::error::ApiError;
use crate::storage::{Backend, Session, Tx};

pub(super) fn pull(
    backend: &impl Backend,
    session: &Session,
    cursor: i64,
    conflict_cursor: i64,
    limit: usize,
    now_ms: u64,
) -> ApiResult<PullResponse> {
    if cursor < 0 || conflict_cursor < 0 {
        return Err(ApiError::bad_request("cursor and conflict_cursor must not be negative"));
    }
    let limit = limit.clamp(1, MAX_PULL_LIMIT);
    // Usually read-only; only when the user has circles this token's
    // stream does not include yet does the pull need to write.
    let ready = backend.read(|tx| {
        check_cursor(tx, cursor)?;
        if tx.unlisted_circles(session)?.is_empty() && directory::contacts_in_step(tx, session)? {
            page(tx, session, cursor, conflict_cursor, limit, now_ms).map(Some)
        } else {
            Ok(None)
        }
    })?;
    if let Some(ready) = ready {
        return Ok(ready);
    }
    backend.write(|tx| {
        check_cursor(tx, cursor)?;
        directory::refresh_contacts(tx, session, cursor)?;
        let mut reset = false;
        for circle in tx.unlisted_circles(session)? {
            // From 0 the stream includes everything of the circle. Past 0 it
            // does only if the circle has nothing at or before the cursor (a
            // circle made after it): otherwise reset.
            if cursor > 0 && tx.circle_logged_by(&circle, cursor)? {
                reset = true;
            } else {
                tx.list_circle(&session.token_id, &circle)?;
            }
        }
        if reset {
            let revoked = tx.revoked_circles(&session.user_id, cursor)?;
            return Ok(PullResponse {
                changes: vec![],
                cursor: 0,
                has_more: true,
                remaining: 0,
                reset: true,
                conflicts: vec![],
                server_time_ms: now_ms,
                app_release: None,
                revoked,
            });
        }
        page(tx, session, cursor, conflict_cursor, limit, now_ms)
    })
}

fn check_cursor(tx: &mut dyn Tx, cursor: i64) -> ApiResult<()> {
    let max = tx.max_seq()?;
    if cursor > max {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "cursor_from_future",
            format!("cursor {cursor} is ahead of this server's log (last change {max}); resync from 0"),
        ));
    }
    Ok(())
}

/// One page of the changes the user may see after `cursor`, from one
/// snapshot (whose last seq has every smaller one committed before it).
fn page(
    tx: &mut dyn Tx,
    session: &Session,
    cursor: i64,
    conflict_cursor: i64,
    limit: usize,
    now_ms: u64,
) -> ApiResult<PullResponse> {
    let max = tx.max_seq()?;
    let conflicts = tx.device_conflicts(session, conflict_cursor)?;
    // New contacts' rows first (outside the limit: a few rows per person).
    let mut changes = if cursor > 0 { tx.contact_catch_up(session, cursor)? } else { Vec::new() };
    let (gathered, stopped_at) = gather_page(cursor, limit, |after, n| tx.visible_changes(session, after, n))?;
    changes.extend(gathered);
    let full_page = stopped_at.is_some();
    // A short page saw everything up to `max` in this snapshot.
    let next = stopped_at.unwrap_or(max);
    let remaining = if full_page { tx.count_visible(session, next)? } else { 0 };
    let revoked = tx.revoked_circles(&session.user_id, cursor)?;
    Ok(PullResponse {
        changes,
        cursor: next,
        has_more: remaining > 0,
        remaining: remaining as u64,
        reset: false,
        conflicts,
        server_time_ms: now_ms,
        app_release: None,
        revoked,
    })
}
