//! The app lock's rules, with nothing below them: what a PIN or passphrase
//! may be, the idle time's range, how long a try waits after wrong ones, and
//! the lock's refusals with their stable codes (`AppLockError`, which
//! `CoreError` carries, so nothing here may use the error module).

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// A PIN has this many digits at least...
pub const MIN_PIN_DIGITS: usize = 4;
/// ...and at most.
pub const MAX_PIN_DIGITS: usize = 12;
/// A lock passphrase has at least this many characters...
pub const MIN_LOCK_PASSPHRASE_CHARS: usize = 8;
/// ...and at most (Argon2 takes any length, but nobody types more).
pub const MAX_LOCK_PASSPHRASE_CHARS: usize = 1024;
/// The idle time after which the window locks, in minutes: the range...
pub const MIN_IDLE_MINUTES: u32 = 1;
pub const MAX_IDLE_MINUTES: u32 = 240;
/// ...and what it is until someone chooses.
pub const DEFAULT_IDLE_MINUTES: u32 = 5;
/// Wrong tries in a row allowed before each further try must wait.
pub const FREE_TRIES: u32 = 5;
/// The first wait, doubled by each further wrong try...
pub const FIRST_WAIT_SECONDS: i64 = 30;
/// ...up to this.
pub const MAX_WAIT_SECONDS: i64 = 15 * 60;

/// What unlocks the window: a PIN (digits only) or a passphrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum LockKind {
    Pin,
    Passphrase,
}

impl LockKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LockKind::Pin => "pin",
            LockKind::Passphrase => "passphrase",
        }
    }
}

/// Why the lock refused. Codes (`code()`): `app_lock_invalid` for input
/// that cannot be a lock or an idle time (`field()` says which), then
/// `app_lock_wrong`, `app_lock_wait`, `app_lock_not_set`. Every refusal
/// changes nothing but the count of wrong tries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppLockError {
    #[error("a PIN is {MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} digits (0-9) and nothing else; nothing was changed")]
    PinFormat,
    #[error(
        "a passphrase for the app lock has {MIN_LOCK_PASSPHRASE_CHARS} to {MAX_LOCK_PASSPHRASE_CHARS} characters; \
         nothing was changed"
    )]
    PassphraseLength,
    #[error(
        "the idle time is {MIN_IDLE_MINUTES} to {MAX_IDLE_MINUTES} minutes; {given} is outside that, so nothing \
         was changed"
    )]
    IdleOutOfRange { given: i64 },
    #[error("type the current PIN or passphrase to change or remove the app lock; nothing was changed")]
    CurrentNeeded,
    /// A wrong PIN or passphrase, counted; `wait_until` when this try
    /// started a wait.
    #[error("that is not the PIN or passphrase{}", match wait_until {
        Some(until) => format!("; too many wrong tries: try again after {}", stamp(until)),
        None => String::new(),
    })]
    Wrong { wait_until: Option<DateTime<Utc>> },
    /// Tried during a wait: not checked, not counted.
    #[error("too many wrong tries: try again after {}", stamp(until))]
    Wait { until: DateTime<Utc> },
    #[error("no app lock is set")]
    NotSet,
}

impl AppLockError {
    pub fn code(&self) -> &'static str {
        match self {
            AppLockError::PinFormat
            | AppLockError::PassphraseLength
            | AppLockError::IdleOutOfRange { .. }
            | AppLockError::CurrentNeeded => "app_lock_invalid",
            AppLockError::Wrong { .. } => "app_lock_wrong",
            AppLockError::Wait { .. } => "app_lock_wait",
            AppLockError::NotSet => "app_lock_not_set",
        }
    }

    /// The input a refused value came from: `pin`, `passphrase`,
    /// `idle_minutes` or `current`.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            AppLockError::PinFormat => Some("pin"),
            AppLockError::PassphraseLength => Some("passphrase"),
            AppLockError::IdleOutOfRange { .. } => Some("idle_minutes"),
            AppLockError::CurrentNeeded | AppLockError::Wrong { .. } | AppLockError::Wait { .. } => Some("current"),
            AppLockError::NotSet => None,
        }
    }

    /// When the next try is allowed, for a refusal that made or met a wait.
    pub fn wait_until(&self) -> Option<DateTime<Utc>> {
        match self {
            AppLockError::Wrong { wait_until } => *wait_until,
            AppLockError::Wait { until } => Some(*until),
            _ => None,
        }
    }
}

pub(crate) fn stamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A new lock's secret, checked for its kind.
pub(crate) fn check_secret(kind: LockKind, secret: &str) -> Result<(), AppLockError> {
    match kind {
        LockKind::Pin => {
            let digits = secret.chars().count();
            if !(MIN_PIN_DIGITS..=MAX_PIN_DIGITS).contains(&digits) || !secret.chars().all(|c| c.is_ascii_digit()) {
                return Err(AppLockError::PinFormat);
            }
        }
        LockKind::Passphrase => {
            let chars = secret.chars().count();
            if !(MIN_LOCK_PASSPHRASE_CHARS..=MAX_LOCK_PASSPHRASE_CHARS).contains(&chars) {
                return Err(AppLockError::PassphraseLength);
            }
        }
    }
    Ok(())
}

/// An idle time in minutes, checked against its range.
pub fn check_idle_minutes(minutes: i64) -> Result<u32, AppLockError> {
    match u32::try_from(minutes) {
        Ok(m) if (MIN_IDLE_MINUTES..=MAX_IDLE_MINUTES).contains(&m) => Ok(m),
        _ => Err(AppLockError::IdleOutOfRange { given: minutes }),
    }
}

/// How long the try after `failed` wrong ones in a row must wait (none
/// before `FREE_TRIES`; then 30 s doubling, capped at 15 minutes).
pub(crate) fn wait_after(failed: u32) -> Option<Duration> {
    let extra = failed.checked_sub(FREE_TRIES)?;
    let seconds = FIRST_WAIT_SECONDS.saturating_mul(1i64 << extra.min(20)).min(MAX_WAIT_SECONDS);
    Some(Duration::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_grows_from_the_fifth_wrong_try_and_is_capped() {
        assert_eq!(wait_after(4), None);
        assert_eq!(wait_after(5), Some(Duration::seconds(30)));
        assert_eq!(wait_after(6), Some(Duration::seconds(60)));
        assert_eq!(wait_after(10), Some(Duration::seconds(900)));
        assert_eq!(wait_after(u32::MAX), Some(Duration::seconds(900)));
    }
}
