//! What a failed command sends to the UI: a sentence for a person, its kind,
//! the rule a refused value broke (a stable code the UI translates), and
//! where it belongs (the entity and input field of a validation error), so
//! the UI can show it next to that field in the person's language.

use circles_core::{CoreError, Rule};
use serde::Serialize;

/// What kind of failure, so the UI can choose where and how to show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum UiErrorKind {
    /// Input refused by validation (see `rule` and `field`).
    Invalid,
    /// The row asked for does not exist (any more).
    NotFound,
    /// The data folder or the database.
    Store,
    /// The server, or the network to it.
    Sync,
    /// Signing in or syncing asked of the demo, which never does either
    /// (core's `demo_store`).
    Demo,
    /// The app lock: the window is locked (`fault` `app_locked`), or the lock
    /// refused (`app_lock_wrong`, `app_lock_wait`, `app_lock_invalid` with its
    /// `field`, `app_lock_not_set`).
    Lock,
    /// A bug or a state the app cannot explain.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct UiError {
    pub kind: UiErrorKind,
    /// The core's sentence, in English: shown as is when the UI has no
    /// translation for `rule`.
    pub message: String,
    pub rule: Option<Rule>,
    pub entity: Option<&'static str>,
    pub field: Option<String>,
    /// For a fault of the store itself, its stable code (`store_read_only`,
    /// `store_disk_full`, `store_damaged`, `store_not_a_database`): each
    /// has its own way out on the error screen.
    pub fault: Option<&'static str>,
}

impl UiError {
    pub fn new(kind: UiErrorKind, message: impl Into<String>) -> UiError {
        UiError { kind, message: message.into(), rule: None, entity: None, field: None, fault: None }
    }

    /// A validation error about one input field, made here (not by the core).
    pub fn invalid(entity: &'static str, field: &str, rule: Rule, message: impl Into<String>) -> UiError {
        UiError {
            kind: UiErrorKind::Invalid,
            message: message.into(),
            rule: Some(rule),
            entity: Some(entity),
            field: Some(field.into()),
            fault: None,
        }
    }
}

impl From<CoreError> for UiError {
    fn from(e: CoreError) -> UiError {
        let rule = e.rule();
        match &e {
            CoreError::Invalid { entity, field, message, .. } => UiError {
                kind: UiErrorKind::Invalid,
                message: message.clone(),
                rule,
                entity: Some(entity),
                field: Some((*field).into()),
                fault: None,
            },
            CoreError::Schedule(_) => UiError {
                kind: UiErrorKind::Invalid,
                message: e.to_string(),
                rule,
                entity: None,
                field: e.field().map(Into::into),
                fault: None,
            },
            CoreError::NotFound { entity, .. } => UiError {
                kind: UiErrorKind::NotFound,
                message: e.to_string(),
                rule: None,
                entity: Some(entity),
                field: None,
                fault: None,
            },
            CoreError::LearnerErased { .. } => UiError {
                kind: UiErrorKind::Invalid,
                message: e.to_string(),
                rule: Some(circles_core::Rule::State),
                entity: Some("learner"),
                field: None,
                fault: None,
            },
            CoreError::Protocol(_) => UiError::new(UiErrorKind::Sync, e.to_string()),
            CoreError::DemoStore => UiError::new(UiErrorKind::Demo, e.to_string()),
            CoreError::AppLock(lock) => UiError {
                field: lock.field().map(Into::into),
                fault: e.code(),
                ..UiError::new(UiErrorKind::Lock, e.to_string())
            },
            CoreError::Db(_) => {
                tracing::error!(error = %e, "database error");
                UiError::new(UiErrorKind::Store, e.to_string())
            }
            // The store's faults and its key's (`store_key_no_keyring`,
            // `store_passphrase_needed`, `store_wrong_passphrase`...).
            _ => UiError { fault: e.code(), ..UiError::new(UiErrorKind::Store, e.to_string()) },
        }
    }
}

impl From<circles_core::sync::engine::SyncError> for UiError {
    fn from(e: circles_core::sync::engine::SyncError) -> UiError {
        match e {
            circles_core::sync::engine::SyncError::Store(core) => core.into(),
            other => UiError::new(UiErrorKind::Sync, other.to_string()),
        }
    }
}

pub type UiResult<T> = Result<T, UiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validation_error_names_its_field_and_rule() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = circles_core::Store::open_in_with(
            dir.path(),
            &circles_core::KeySource::Raw(circles_core::StoreKey::from_bytes([1; 32])),
        )
        .unwrap();
        let e: UiError = store
            .create_circle(&circles_core::CircleInput::new("X", "Mars/Olympus", "18:00", 90), None)
            .unwrap_err()
            .into();
        assert_eq!(e.kind, UiErrorKind::Invalid);
        assert_eq!(e.field.as_deref(), Some("time_zone"), "{e:?}");
        assert_eq!(e.rule, Some(Rule::TimeZone));
    }

    /// Read-only, disk full and damage each reach the window as a store
    /// problem (shown with the data folder) in the core's own words.
    #[test]
    fn store_faults_are_store_errors_with_their_own_words() {
        let path = Some(std::path::PathBuf::from("/data/circles.sqlite"));
        let faults = [
            (CoreError::ReadOnly { path: path.clone() }, "read-only", "store_read_only"),
            (CoreError::DiskFull { path: path.clone() }, "is full", "store_disk_full"),
            (CoreError::Damaged { path, detail: "quick_check: page 7".into() }, "is damaged", "store_damaged"),
        ];
        for (fault, words, code) in faults {
            let e: UiError = fault.into();
            assert_eq!(e.kind, UiErrorKind::Store);
            assert!(e.message.contains(words), "{}", e.message);
            assert_eq!(e.fault, Some(code), "the screen picks its way out by this code");
        }
    }

    #[test]
    fn app_lock_errors_carry_their_code_and_field() {
        let e: UiError = CoreError::from(circles_core::AppLockError::PinFormat).into();
        assert_eq!((e.kind, e.fault, e.field.as_deref()), (UiErrorKind::Lock, Some("app_lock_invalid"), Some("pin")));
        let e: UiError = CoreError::from(circles_core::AppLockError::Wrong { wait_until: None }).into();
        assert_eq!((e.kind, e.fault), (UiErrorKind::Lock, Some("app_lock_wrong")));
        assert_eq!(serde_json::to_value(&e).unwrap()["kind"], "lock");
    }

    #[test]
    fn rules_serialize_as_a_code_with_their_figures() {
        let json = serde_json::to_value(Rule::TooLong { length: 12, max: 10 }).unwrap();
        assert_eq!(json, serde_json::json!({"code": "too_long", "length": 12, "max": 10}));
        let e = UiError::new(UiErrorKind::NotFound, "gone");
        assert_eq!(serde_json::to_value(&e).unwrap()["kind"], "not_found");
    }
}
