//! What a failed command sends to the UI: a sentence for a person, and where
//! it belongs (the entity and input field of a validation error), so the UI
//! can show it next to that field.

use circles_core::CoreError;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct UiError {
    /// "invalid" (validation, see `field`), "not_found", "store" (the data
    /// folder or database), "sync" (the server), or "internal".
    pub kind: String,
    pub message: String,
    pub entity: Option<String>,
    pub field: Option<String>,
}

impl UiError {
    pub fn new(kind: &str, message: impl Into<String>) -> UiError {
        UiError { kind: kind.into(), message: message.into(), entity: None, field: None }
    }

    /// A validation error about one input field, made here (not by the core).
    pub fn invalid(entity: &str, field: &str, message: impl Into<String>) -> UiError {
        UiError {
            kind: "invalid".into(),
            message: message.into(),
            entity: Some(entity.into()),
            field: Some(field.into()),
        }
    }
}

impl From<CoreError> for UiError {
    fn from(e: CoreError) -> UiError {
        match &e {
            CoreError::Invalid { entity, field, message } => UiError {
                kind: "invalid".into(),
                message: message.clone(),
                entity: Some((*entity).into()),
                field: Some((*field).into()),
            },
            CoreError::Schedule(_) => UiError {
                kind: "invalid".into(),
                message: e.to_string(),
                entity: None,
                field: e.field().map(Into::into),
            },
            CoreError::NotFound { entity, .. } => UiError {
                kind: "not_found".into(),
                message: e.to_string(),
                entity: Some((*entity).into()),
                field: None,
            },
            CoreError::Db(_) => {
                tracing::error!(error = %e, "database error");
                UiError::new("store", e.to_string())
            }
            _ => UiError::new("store", e.to_string()),
        }
    }
}

impl From<circles_core::sync::engine::SyncError> for UiError {
    fn from(e: circles_core::sync::engine::SyncError) -> UiError {
        match e {
            circles_core::sync::engine::SyncError::Store(core) => core.into(),
            other => UiError::new("sync", other.to_string()),
        }
    }
}

pub type UiResult<T> = Result<T, UiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validation_error_names_its_field() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = circles_core::Store::open_in(dir.path()).unwrap();
        let e: UiError = store
            .create_circle(&circles_core::CircleInput::new("X", "Mars/Olympus", "18:00", 90), None)
            .unwrap_err()
            .into();
        assert_eq!(e.kind, "invalid");
        assert_eq!(e.field.as_deref(), Some("time_zone"), "{e:?}");
    }
}
