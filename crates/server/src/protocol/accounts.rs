//! Accounts, teams and tokens. An account is also a synced `facilitators`
//! row and a team a synced `teams` row with the same id, written by the
//! server itself (`SERVER_DEVICE`), so any replica can name them: a
//! facilitator as a circle's co-facilitator, a team as a circle's team.

use axum::http::StatusCode;
use circles_core::hlc::{wall_clock_millis, Hlc};
use circles_core::validate;
use serde_json::Value;

use super::ApiResult;
use crate::common::{now_text, SERVER_DEVICE};
use crate::error::ApiError;
use crate::storage::{Backend, NewToken, OwnChange, Session, Tx, UserRecord};

/// Emails are kept trimmed and in lower case.
pub(crate) fn normal_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub(super) fn add_user(backend: &impl Backend, email: &str, name: &str, password_hash: &str) -> ApiResult<String> {
    let email = normal_email(email);
    check_new_user(&email, name)?;
    backend.write(|tx| insert_user(tx, &email, name, password_hash))
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

/// Write a new account (email already normal and checked) and its
/// facilitator row in the caller's transaction: its id.
pub(super) fn insert_user(tx: &mut dyn Tx, email: &str, name: &str, password_hash: &str) -> ApiResult<String> {
    if tx.email_taken(email)? {
        return Err(ApiError::new(StatusCode::CONFLICT, "user_exists", format!("{email} already has an account")));
    }
    let id = uuid::Uuid::now_v7().to_string();
    let user = UserRecord {
        id: id.clone(),
        email: email.to_string(),
        name: name.trim().to_string(),
        password_hash: password_hash.to_string(),
    };
    tx.insert_user(&user, &now_text())?;
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
    if name.trim().is_empty() {
        return Err(ApiError::bad_request("a team needs a name"));
    }
    backend.write(|tx| {
        let id = uuid::Uuid::now_v7().to_string();
        tx.insert_team(&id, name.trim())?;
        log_own_row(
            tx,
            "teams",
            &id,
            &[("name", Value::from(name.trim())), ("deleted", Value::from(0)), ("created_at", Value::from(now_text()))],
        )?;
        Ok(id)
    })
}

pub(super) fn add_organizer(backend: &impl Backend, team_id: &str, email: &str) -> ApiResult<()> {
    let email = normal_email(email);
    backend.write(|tx| {
        if !tx.team_exists(team_id)? {
            return Err(ApiError::not_found(format!("no team with id {team_id}")));
        }
        let user =
            tx.user_by_email(&email)?.ok_or_else(|| ApiError::not_found(format!("no user with email {email}")))?;
        tx.add_organizer(team_id, &user.id)?;
        grant_team_circles(tx, team_id, &user.id)
    })
}

/// The team's existing circles become visible to a new organizer from now on.
pub(super) fn grant_team_circles(tx: &mut dyn Tx, team_id: &str, user_id: &str) -> ApiResult<()> {
    let circles = tx.rows_with_value("circles", "team_id", &Value::from(team_id).to_string())?;
    let seq = tx.max_seq()?;
    for circle in circles {
        tx.grant(&circle, user_id, seq)?;
    }
    Ok(())
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
        Ok((device_id, id))
    })
}

/// A row written by the server itself, field by field, on its own clock.
pub(super) fn log_own_row(tx: &mut dyn Tx, table: &str, row_id: &str, fields: &[(&str, Value)]) -> ApiResult<()> {
    log_own_fields(tx, table, row_id, None, fields)
}

/// A circle's row written by the server itself (a co-facilitator who
/// accepted an invitation): scoped to the circle, like a pushed one.
pub(super) fn log_own_circle_row(
    tx: &mut dyn Tx,
    circle: &str,
    table: &str,
    row_id: &str,
    fields: &[(&str, Value)],
) -> ApiResult<()> {
    log_own_fields(tx, table, row_id, Some(circle), fields)
}

fn log_own_fields(
    tx: &mut dyn Tx,
    table: &str,
    row_id: &str,
    scope: Option<&str>,
    fields: &[(&str, Value)],
) -> ApiResult<()> {
    let mut clock = Hlc::tick(Hlc::ZERO, wall_clock_millis());
    let received_at = now_text();
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
        })?;
        clock = Hlc::tick(clock, 0);
    }
    Ok(())
}
