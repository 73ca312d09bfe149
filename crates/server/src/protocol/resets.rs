//! Password resets by email: a request makes a one-hour, single-use link
//! (its token stored only as sha256) and puts its message in the outbox in
//! the same transaction, at most `MAX_RESETS_PER_HOUR` times an hour per
//! account; the answer never tells whether the account exists. Setting the
//! new password uses the link up and revokes every token of the account,
//! so each laptop signs in again.

use axum::http::StatusCode;
use chrono::{Duration, Utc};

use super::accounts::normal_email;
use super::audit_log::{self, AuditEvent, Entry};
use super::ApiResult;
use crate::common::{now_text, time_text};
use crate::error::ApiError;
use crate::storage::{Backend, NewMail, ResetRecord, Tx};

/// How long a reset link works.
pub const RESET_MINUTES: i64 = 60;
/// Reset messages one account gets in an hour, at most (more requests are
/// answered the same and send nothing).
pub const MAX_RESETS_PER_HOUR: i64 = 3;

/// Makes the reset message for an account's email (the caller knows the link).
pub type ComposeReset<'a> = &'a (dyn Fn(&str) -> ApiResult<NewMail> + Sync);

/// Ask for a reset: a link by mail if the account exists and has not asked
/// too often. Whether a message was enqueued (for logs and tests only:
/// people are always told the same).
pub(super) fn request(
    backend: &impl Backend,
    email: &str,
    token_hash: &str,
    compose: ComposeReset<'_>,
) -> ApiResult<bool> {
    let email = normal_email(email);
    backend.write_unordered(|tx| {
        // No account, or a disabled one: the same answer, and no message
        // (a disabled account's password is not reset by its owner).
        let Some(user) = tx.user_by_email(&email)?.filter(|u| !u.disabled) else { return Ok(false) };
        let hour_ago = time_text(Utc::now() - Duration::hours(1));
        if tx.resets_since(&user.id, &hour_ago)? >= MAX_RESETS_PER_HOUR {
            return Ok(false);
        }
        tx.insert_reset(&ResetRecord {
            id: uuid::Uuid::now_v7().to_string(),
            user_id: user.id.clone(),
            token_hash: token_hash.to_string(),
            created_at: now_text(),
            expires_at: time_text(Utc::now() + Duration::minutes(RESET_MINUTES)),
            used_at: None,
        })?;
        tx.enqueue_mail(&compose(&user.email)?)?;
        Ok(true)
    })
}

/// The email of the account a reset link is for, if the link still works.
pub(super) fn open(backend: &impl Backend, token_hash: &str) -> ApiResult<String> {
    backend.read(|tx| {
        let reset = usable(tx, token_hash)?;
        Ok(tx.user_by_id(&reset.user_id)?.map(|u| u.email).unwrap_or_default())
    })
}

/// Set the new password (hashed by the caller), use the link up, and
/// revoke every token of the account; nothing if the link stopped working.
pub(super) fn complete(backend: &impl Backend, token_hash: &str, password_hash: &str) -> ApiResult<()> {
    backend.write_unordered(|tx| {
        let reset = usable(tx, token_hash)?;
        let now = now_text();
        if !tx.use_reset(&reset.id, &now)? {
            return Err(used());
        }
        tx.set_password_hash(&reset.user_id, password_hash)?;
        let revoked = tx.revoke_user_tokens(&reset.user_id, None, &now)?;
        let email = tx.user_by_id(&reset.user_id)?.map(|u| u.email).unwrap_or_default();
        let detail = format!("through a reset link; {revoked} tokens revoked");
        audit_log::record(tx, Entry::new(AuditEvent::PasswordReset, Some(&reset.user_id), &email).detail(&detail))
    })
}

fn usable(tx: &mut dyn Tx, token_hash: &str) -> ApiResult<ResetRecord> {
    let reset = tx.reset_by_token(token_hash)?.ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "reset_unknown", "this reset link is not one this server made")
    })?;
    if reset.used_at.is_some() {
        return Err(used());
    }
    if reset.expires_at <= now_text() {
        return Err(ApiError::new(StatusCode::GONE, "reset_expired", "this reset link has expired"));
    }
    Ok(reset)
}

fn used() -> ApiError {
    ApiError::new(StatusCode::GONE, "reset_used", "this reset link was used already")
}
