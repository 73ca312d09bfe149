//! The app lock (core's store/app_lock.rs): its status, setting, changing and
//! removing it, locking the window now and unlocking it. The status and
//! unlocking are answered while the window is locked (`AppState::with_lock`);
//! setting, changing and removing need the window unlocked.

use circles_core::{AppLock, LockKind};
use serde::Serialize;
use tauri::State;

use crate::error::UiResult;
use crate::state::AppState;

/// What the window needs to know about the lock.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AppLockStatus {
    pub lock: AppLock,
    /// The window is locked now: show the lock screen, nothing else.
    pub locked: bool,
    /// The interface language chosen in Settings, so the lock screen speaks
    /// it while every other read is refused ("" for the system's).
    pub language: String,
    /// The rules' figures, for the UI's sentences (core's constants).
    pub limits: AppLockLimits,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AppLockLimits {
    pub min_pin_digits: u32,
    pub max_pin_digits: u32,
    pub min_passphrase_chars: u32,
    pub min_idle_minutes: u32,
    pub max_idle_minutes: u32,
}

pub(crate) fn status(state: &AppState) -> UiResult<AppLockStatus> {
    let (lock, language) = state
        .with_lock(|s| Ok((s.app_lock(chrono::Utc::now())?, s.settings().map(|s| s.language).unwrap_or_default())))?;
    Ok(AppLockStatus {
        lock,
        locked: state.is_locked(),
        language,
        limits: AppLockLimits {
            min_pin_digits: circles_core::MIN_PIN_DIGITS as u32,
            max_pin_digits: circles_core::MAX_PIN_DIGITS as u32,
            min_passphrase_chars: circles_core::MIN_LOCK_PASSPHRASE_CHARS as u32,
            min_idle_minutes: circles_core::MIN_IDLE_MINUTES,
            max_idle_minutes: circles_core::MAX_IDLE_MINUTES,
        },
    })
}

/// Whether a lock is set, its idle time, whether the window is locked, and
/// until when a try must wait. Answered while locked.
#[tauri::command]
pub async fn app_lock_status(state: State<'_, AppState>) -> UiResult<AppLockStatus> {
    status(&state)
}

/// Set the lock, or change it (`current`: the PIN or passphrase set now).
#[tauri::command]
pub async fn set_app_lock(
    state: State<'_, AppState>,
    current: Option<String>,
    kind: LockKind,
    secret: String,
    idle_minutes: i64,
) -> UiResult<AppLockStatus> {
    state.refuse_if_locked()?;
    state.with_lock(|s| s.set_app_lock(current.as_deref(), kind, &secret, idle_minutes, chrono::Utc::now()))?;
    status(&state)
}

/// Choose the idle time of the lock that is set.
#[tauri::command]
pub async fn set_app_lock_idle(state: State<'_, AppState>, idle_minutes: i64) -> UiResult<AppLockStatus> {
    state.refuse_if_locked()?;
    state.with_lock(|s| s.set_app_lock_idle(idle_minutes))?;
    status(&state)
}

/// Remove the lock; needs the current PIN or passphrase.
#[tauri::command]
pub async fn remove_app_lock(state: State<'_, AppState>, current: String) -> UiResult<AppLockStatus> {
    state.refuse_if_locked()?;
    state.with_lock(|s| s.remove_app_lock(&current, chrono::Utc::now()))?;
    status(&state)
}

/// Lock the window now ("Lock now", the idle timer).
#[tauri::command]
pub async fn lock_app(state: State<'_, AppState>) -> UiResult<AppLockStatus> {
    state.lock()?;
    status(&state)
}

/// Unlock with the PIN or passphrase; a wrong one is counted and may make
/// the next try wait (core's rules).
#[tauri::command]
pub async fn unlock_app(state: State<'_, AppState>, secret: String) -> UiResult<AppLockStatus> {
    state.unlock(&secret)?;
    status(&state)
}
