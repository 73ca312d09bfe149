//! Typed errors of the core. Every message names what was wrong and, where
//! possible, what to do, because it ends up in front of a facilitator as is.

use std::path::PathBuf;

use crate::schedule::ScheduleError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A write was refused by validation; `field` is the input field a UI
    /// should put the message next to.
    #[error("{entity} {field}: {message}")]
    Invalid {
        entity: &'static str,
        field: &'static str,
        message: String,
    },

    #[error("no {entity} with id {id}")]
    NotFound { entity: &'static str, id: String },

    #[error(
        "{} was written by a newer version of Circles (schema version {found}, this version knows up to {supported}); \
         update Circles to open it. The file was not changed.",
        path.display()
    )]
    NewerDatabase {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error(
        "{} is not a Circles database or is damaged ({reason}); the file was left untouched. \
         Move it aside or restore a backup to continue.",
        path.display()
    )]
    NotADatabase { path: PathBuf, reason: String },

    #[error("cannot use data folder {}: {source}", path.display())]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("no data folder could be determined for this user; pass --data-dir or set CIRCLES_DATA_DIR")]
    NoDataDir,

    #[error("database schema upgrade failed: {0}")]
    Migration(String),

    #[error(transparent)]
    Schedule(#[from] ScheduleError),

    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),

    #[error("export failed: {0}")]
    Export(String),
}

impl CoreError {
    pub(crate) fn invalid(entity: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        CoreError::Invalid {
            entity,
            field,
            message: message.into(),
        }
    }

    pub(crate) fn not_found(entity: &'static str, id: impl Into<String>) -> Self {
        CoreError::NotFound { entity, id: id.into() }
    }

    /// The input field this error concerns, for front ends that show errors
    /// next to fields.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            CoreError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;
