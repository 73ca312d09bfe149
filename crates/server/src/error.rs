//! Every error the server returns: a status and a JSON `ErrorBody` with a
//! stable code and a message for a person. Nothing returns 200 on error,
//! and nothing returns text/plain.

use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use circles_core::sync::merge::ChangeRejected;
use circles_core::sync::wire::{ErrorBody, RefusedChange, WireChange};

use crate::storage::{GroupError, StorageError};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// For `invalid_change`: which change, field and rule.
    pub refused: Option<Box<RefusedChange>>,
    /// Sent as `Retry-After` (whole seconds, rounded up): when to try again.
    pub retry_after: Option<std::time::Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), refused: None, retry_after: None }
    }
    pub fn with_retry_after(self, wait: std::time::Duration) -> Self {
        ApiError { retry_after: Some(wait), ..self }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn invalid_change(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_change", message)
    }
    /// A change of a push broke a rule: 422 naming the change, the field
    /// and the rule.
    pub fn refused_change(
        change: &WireChange,
        field: &str,
        rule: circles_core::Rule,
        message: impl AsRef<str>,
    ) -> Self {
        ApiError {
            refused: Some(Box::new(RefusedChange {
                change_id: change.change_id.clone(),
                table: change.table.clone(),
                field: field.to_string(),
                rule,
            })),
            ..Self::invalid_change(format!(
                "change {} ({}.{}): {}",
                circles_core::validate::shown(&change.change_id),
                circles_core::validate::shown(&change.table),
                circles_core::validate::shown(&change.field),
                message.as_ref()
            ))
        }
    }
    pub fn rejected(change: &WireChange, rejected: ChangeRejected) -> Self {
        let field = rejected.field().unwrap_or("table").to_string();
        Self::refused_change(change, &field, rejected.rule(), rejected.to_string())
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, message = %self.message, "request failed");
        }
        let body = ErrorBody { code: self.code.to_string(), message: self.message, refused: self.refused.map(|r| *r) };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(wait) = self.retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, crate::throttle::whole_seconds(wait).into());
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::body_rejected(rejection.status(), rejection.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        ApiError::body_rejected(rejection.status(), rejection.body_text())
    }
}

impl ApiError {
    /// A request body axum refused: too large, of another type, or not the
    /// JSON expected.
    fn body_rejected(status: StatusCode, text: String) -> Self {
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => "bad_request",
        };
        // 422 from axum means "valid JSON, wrong shape": still the client's
        // malformed request, reported as 400 with serde's precise reason.
        let status = if status == StatusCode::UNPROCESSABLE_ENTITY { StatusCode::BAD_REQUEST } else { status };
        ApiError::new(status, code, text)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request(rejection.body_text())
    }
}

/// The one place a storage failure becomes an answer.
impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Unavailable(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "database_unavailable", e.to_string())
            }
            StorageError::Database(_) => ApiError::internal(e.to_string()),
        }
    }
}

/// In a push group, the client's mistakes (4xx) are refusals that undo only
/// their push; a server error fails the group.
impl GroupError for ApiError {
    fn is_refusal(&self) -> bool {
        !self.status.is_server_error()
    }
}
