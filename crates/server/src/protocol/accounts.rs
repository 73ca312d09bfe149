//! Accounts, teams and tokens. An account is also a synced `facilitators`
//! row and a team a synced `teams` row with the same id, written by the
//! server itself (`SERVER_DEVICE`), so any replica can name them: a
//! facilitator as a circle's co-facilitator, a team as a circle's team.
//! An account can be disabled (no sign-in, every token refused at once,
//! where the session is looked up) and its password changed or reset (its
//! other tokens revoked); the first account and team come from `init`.
//! A token unused for the idle time (`serve --token-idle-days`) expires.
//! Each of these is noted in the audit log (`audit_log.rs`).

use axum::http::StatusCode;
use circles_core::hlc::{wall_clock_millis, Hlc};
use circles_core::{validate, TeamRole};
use serde_json::Value;

use super::audit_log::{self, AuditEvent, Entry};
use super::{teams, ApiResult};
use crate::common::{now_text, SERVER_DEVICE};
use crate::error::ApiError;
use crate::storage::{Backend, NewToken, OwnChange, Session, TokenRecord, Tx, UserRecord};

/// Emails are kept trimmed and in lower case.
pub(crate) fn normal_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub(super) fn add_user(backend: &impl Backend, email: &str, name: &str, password_hash: &str) -> ApiResult<String> {
    let email = checked_account(email, name)?;
    backend.write(|tx| insert_account(tx, &email, name, password_hash))
}

/// An account's email (normalized) and name, checked as a replica checks a
/// facilitator's.
fn checked_account(email: &str, name: &str) -> ApiResult<String> {
    let email = normal_email(email);
    check_new_user(&email, name)?;
    Ok(email)
}

/// The checks a new account's email and name pass: those a replica applies
/// to a facilitator.
pub(crate) fn check_new_user(email: &str, name: &str) -> ApiResult<()> {
    new_user_problem(email, name).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// `check_new_user` as core's error, naming the field (for a form).
pub(crate) fn new_user_problem(email: &str, name: &str) -> Result<(), circles_core::CoreError> {
    validate::required("facilitator", "name", name, validate::MAX_NAME)
        .and_then(|()| validate::email("facilitator", "email", email))
}

/// A new account (email normalized and checked) and its synced facilitator
/// row, in the caller's transaction: its id.
pub(crate) fn insert_account(tx: &mut dyn Tx, email: &str, name: &str, password_hash: &str) -> ApiResult<String> {
    if tx.email_taken(email)? {
        return Err(ApiError::new(StatusCode::CONFLICT, "user_exists", format!("{email} already has an account")));
    }
    let id = uuid::Uuid::now_v7().to_string();
    let user = UserRecord {
        id: id.clone(),
        email: email.to_string(),
        name: name.trim().to_string(),
        password_hash: password_hash.to_string(),
        disabled: false,
    };
    tx.insert_user(&user, &now_text())?;
    audit_log::record(tx, Entry::new(AuditEvent::AccountCreated, None, email))?;
    log_own_row(
        tx,
        "facilitators",
        &id,
        &[
            ("name", Value::from(name.trim())),
            ("email", Value::from(email)),
            ("deleted", Value::from(0)),
            ("created_at", Value::from(now_text())),
        ],
    )?;
    Ok(id)
}

/// A team is authorization data here, and also a synced `teams` row, so
/// facilitators can put their circles in it and its organizers then see them.
pub(super) fn add_team(backend: &impl Backend, name: &str) -> ApiResult<String> {
    let name = checked_team_name(name)?;
    backend.write(|tx| insert_team(tx, &name))
}

fn checked_team_name(name: &str) -> ApiResult<String> {
    validate::required("team", "name", name, validate::MAX_NAME).map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(name.trim().to_string())
}

fn insert_team(tx: &mut dyn Tx, name: &str) -> ApiResult<String> {
    let id = uuid::Uuid::now_v7().to_string();
    tx.insert_team(&id, name)?;
    log_own_row(
        tx,
        "teams",
        &id,
        &[("name", Value::from(name)), ("deleted", Value::from(0)), ("created_at", Value::from(now_text()))],
    )?;
    Ok(id)
}

/// The first run: the first account (an admin: the organizer of the first
/// team) and that team, in one write; refused once any account exists.
pub(super) fn init(
    backend: &impl Backend,
    email: &str,
    name: &str,
    password_hash: &str,
    team: &str,
) -> ApiResult<(String, String)> {
    let email = checked_account(email, name)?;
    let team = checked_team_name(team)?;
    backend.write(|tx| {
        let users = tx.user_count()?;
        if users > 0 {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "already_initialized",
                format!(
                    "this server already has {users} account{}: init only runs on a new server; \
                     use `user add` and `team member add`",
                    if users == 1 { "" } else { "s" }
                ),
            ));
        }
        let user = insert_account(tx, &email, name, password_hash)?;
        let team = insert_team(tx, &team)?;
        teams::set_role(tx, None, &team, &user, TeamRole::Organizer)?;
        Ok((user, team))
    })
}

/// The account with this email, or 404 naming it.
pub(super) fn user_with_email(tx: &mut dyn Tx, email: &str) -> ApiResult<UserRecord> {
    let email = normal_email(email);
    tx.user_by_email(&email)?.ok_or_else(|| ApiError::not_found(format!("no user with email {email}")))
}

/// Disable an account (its tokens are refused from now on, and revoked:
/// enabling it again does not bring them back) or enable it (it may sign
/// in again).
pub(super) fn set_disabled(backend: &impl Backend, email: &str, disabled: bool) -> ApiResult<()> {
    backend.write_unordered(|tx| {
        let user = user_with_email(tx, email)?;
        let now = now_text();
        tx.set_user_disabled(&user.id, disabled.then_some(now.as_str()))?;
        if disabled {
            let revoked = tx.revoke_user_tokens(&user.id, None, &now)?;
            let detail = format!("{revoked} tokens revoked");
            audit_log::record(tx, Entry::new(AuditEvent::AccountDisabled, None, &user.email).detail(&detail))
        } else {
            audit_log::record(tx, Entry::new(AuditEvent::AccountEnabled, None, &user.email))
        }
    })
}

/// A new password for an account (hashed by the caller, by the rules of
/// `auth`): every token of the account but `keep` is revoked. How many were.
pub(super) fn set_password(
    backend: &impl Backend,
    user_id: &str,
    password_hash: &str,
    keep: Option<&str>,
) -> ApiResult<usize> {
    backend.write_unordered(|tx| {
        let Some(user) = tx.user_by_id(user_id)? else {
            return Err(ApiError::not_found(format!("no user with id {user_id}")));
        };
        tx.set_password_hash(user_id, password_hash)?;
        let revoked = tx.revoke_user_tokens(user_id, keep, &now_text())?;
        // `keep` is the caller's own token: the owner changed it; else an admin set it.
        let actor = keep.map(|_| user_id);
        let detail = format!("{revoked} other tokens revoked");
        audit_log::record(tx, Entry::new(AuditEvent::PasswordChanged, actor, &user.email).detail(&detail))?;
        Ok(revoked)
    })
}

/// How many days a token may go unused before it expires, unless `serve`
/// is told otherwise (`--token-idle-days`, `token_idle_days`).
pub const DEFAULT_TOKEN_IDLE_DAYS: u32 = 90;
/// The range an operator may choose from.
pub const TOKEN_IDLE_DAYS: std::ops::RangeInclusive<u32> = 1..=3650;

/// A token's use is noted at most this often: a write on every request
/// would cost each pull a write, and the idle time is counted in days.
fn touch_every() -> chrono::Duration {
    chrono::Duration::hours(1)
}

/// The session of a token as looked up: a disabled account's tokens are
/// refused (401 `account_disabled`), a revoked or unknown token is none,
/// and a token unused for longer than `idle_days` is revoked and refused
/// (401 `token_expired`). A live token's use is noted (hourly at most).
pub(super) fn live_session(
    backend: &impl Backend,
    record: Option<TokenRecord>,
    idle_days: u32,
) -> ApiResult<Option<crate::storage::Session>> {
    let Some(record) = record else { return Ok(None) };
    if record.user_disabled {
        return Err(account_disabled(StatusCode::UNAUTHORIZED));
    }
    if record.revoked {
        return Ok(None);
    }
    let now = chrono::Utc::now();
    // A time the server did not write cannot be judged: taken as now.
    let last = chrono::DateTime::parse_from_rfc3339(&record.last_active).map_or(now, |t| t.with_timezone(&chrono::Utc));
    let session = record.session;
    if now - last > chrono::Duration::days(i64::from(idle_days)) {
        backend.write_unordered(|tx| {
            tx.revoke_token(&session.token_id, None, &now_text())?;
            let detail = format!("unused since {}", record.last_active);
            audit_log::record(
                tx,
                Entry::new(AuditEvent::TokenExpired, Some(&session.user_id), &session.token_id).detail(&detail),
            )
        })?;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            format!("this sign-in expired after {idle_days} days without a sync; sign in again"),
        ));
    }
    if now - last > touch_every() {
        backend.write_unordered(|tx| Ok::<_, ApiError>(tx.touch_token(&session.token_id, &now_text())?))?;
    }
    Ok(Some(session))
}

/// A sign-in refused, noted in the audit log: the email typed (an unknown
/// one too), where from, and why.
pub(super) fn record_failed_sign_in(backend: &impl Backend, email: &str, address: &str, why: &str) -> ApiResult<()> {
    backend.write_unordered(|tx| {
        audit_log::record(tx, Entry::new(AuditEvent::SignInFailed, None, email).from(Some(address)).detail(why))
    })
}

/// Revoke a token (with `owner`: only one of theirs), noted: false if none matched.
pub(super) fn revoke_token(backend: &impl Backend, token_id: &str, owner: Option<&str>) -> ApiResult<bool> {
    backend.write_unordered(|tx| {
        let revoked = tx.revoke_token(token_id, owner, &now_text())?;
        if revoked {
            audit_log::record(tx, Entry::new(AuditEvent::TokenRevoked, owner, token_id))?;
        }
        Ok(revoked)
    })
}

/// A disabled account: sign-in is refused with 403, its tokens with 401.
pub(crate) fn account_disabled(status: StatusCode) -> ApiError {
    ApiError::new(
        status,
        "account_disabled",
        "this account is disabled; ask the server's administrator (circles-server user enable)",
    )
}

/// A token for a user on a device. The device id is bound to the first
/// account that signs in with it and never to another: pulled changes show
/// device ids, so anyone could name someone else's device, and a device's
/// conflicts, batch numbers and own changes belong to its account alone.
pub(super) fn create_token(
    backend: &impl Backend,
    user_id: &str,
    device_id: &str,
    device_name: &str,
    token_hash: &str,
    address: &str,
) -> ApiResult<String> {
    // Tokens touch no seq.
    backend.write_unordered(|tx| {
        let created_at = now_text();
        tx.bind_device(device_id, user_id, &created_at)?;
        if tx.device_owner(device_id)?.as_deref() != Some(user_id) {
            return Err(device_taken());
        }
        let id = uuid::Uuid::now_v7().to_string();
        tx.insert_token(&NewToken { id: &id, user_id, device_id, device_name, token_hash, created_at: &created_at })?;
        let detail = format!("device {device_id} ({device_name})");
        audit_log::record(tx, Entry::new(AuditEvent::SignIn, Some(user_id), &id).from(Some(address)).detail(&detail))?;
        Ok(id)
    })
}

pub(super) fn device_taken() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "device_taken",
        "this device id belongs to another account; sign in again from a Circles that takes a new device id \
         (Circles does so by itself since this version)",
    )
}

/// Give the caller's device a new identity: a fresh device id, made here
/// so it is unused, bound to the caller's account, with a new token bound to
/// it (returned: (device id, token id)). A replica asks for one when it finds
/// its batch numbers used by another batch: its data folder was copied or
/// restored from a backup. The caller's token stays with the old device id,
/// which the other copy goes on using; moving it instead would make the two
/// copies take the id from each other at every sync.
pub(super) fn renew_device(backend: &impl Backend, session: &Session, token_hash: &str) -> ApiResult<(String, String)> {
    backend.write_unordered(|tx| {
        let device_name = tx
            .tokens(Some(&session.user_id))?
            .into_iter()
            .find(|t| t.id == session.token_id)
            .map_or_else(|| "renewed device".to_string(), |t| t.device_name);
        let device_id = uuid::Uuid::now_v7().to_string();
        let created_at = now_text();
        tx.bind_device(&device_id, &session.user_id, &created_at)?;
        let id = uuid::Uuid::now_v7().to_string();
        tx.insert_token(&NewToken {
            id: &id,
            user_id: &session.user_id,
            device_id: &device_id,
            device_name: &device_name,
            token_hash,
            created_at: &created_at,
        })?;
        let detail = format!("a new device id {device_id} for a copied data folder");
        audit_log::record(tx, Entry::new(AuditEvent::TokenCreated, Some(&session.user_id), &id).detail(&detail))?;
        Ok((device_id, id))
    })
}

/// A row written by the server itself, field by field, on its own clock,
/// ahead of every version the row's fields hold (so the server's write wins
/// on every replica, whatever the clock of a laptop that wrote it before).
pub(crate) fn log_own_row(
    tx: &mut dyn Tx,
    table: &'static str,
    row_id: &str,
    fields: &[(&str, Value)],
) -> ApiResult<()> {
    log_own_fields(tx, table, row_id, None, fields)
}

/// A circle's row written by the server itself (a co-facilitator who
/// accepted an invitation): scoped to the circle, like a pushed one.
pub(super) fn log_own_circle_row(
    tx: &mut dyn Tx,
    circle: &str,
    table: &'static str,
    row_id: &str,
    fields: &[(&str, Value)],
) -> ApiResult<()> {
    log_own_fields(tx, table, row_id, Some(circle), fields)
}

fn log_own_fields(
    tx: &mut dyn Tx,
    table: &'static str,
    row_id: &str,
    scope: Option<&str>,
    fields: &[(&str, Value)],
) -> ApiResult<()> {
    let mut latest = Hlc::ZERO;
    for (field, _) in fields {
        if let Some(stored) = tx.field(table, row_id, field)? {
            latest = latest.max(stored.hlc.parse().unwrap_or(Hlc::ZERO));
        }
    }
    let mut clock = Hlc::tick(latest, wall_clock_millis());
    let received_at = now_text();
    let person = super::directory::person_of(tx, table, row_id, fields)?;
    for (field, value) in fields {
        tx.log_own_change(&OwnChange {
            change_id: &uuid::Uuid::now_v7().to_string(),
            table,
            row_id,
            field,
            value: &value.to_string(),
            hlc: &clock.to_string(),
            device_id: SERVER_DEVICE,
            received_at: &received_at,
            scope,
            person: person.as_deref(),
        })?;
        clock = Hlc::tick(clock, 0);
    }
    Ok(())
}
