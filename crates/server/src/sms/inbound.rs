//! `POST /v1/sms/inbound`: the provider's webhook for replies to our texts,
//! shaped like Twilio's (form-encoded `From`, `Body`, ...; signed with
//! `X-Twilio-Signature` over the URL it requested, which is this server's
//! `--public-url` and the path; without one, the Host the request names).
//! A request without a valid signature is refused (403) and changes
//! nothing. The rule is `protocol::sms_replies`; the answer an empty TwiML
//! `<Response/>`, so the provider sends nothing back.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;

use super::signature;
use crate::api::{blocking, AppState};
use crate::error::ApiError;

/// What the webhook answers: no reply text.
pub const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

/// The header the provider signs with.
pub const SIGNATURE_HEADER: &str = "x-twilio-signature";

pub async fn inbound(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let Some(settings) = state.sms.settings() else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "sms_off", "SMS is not configured on this server"));
    };
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let url = match &state.public_url {
        Some(base) => format!("{base}{path}"),
        None => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
            format!("http://{host}{path}")
        }
    };
    let signed = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|given| signature::valid(&settings.token, &url, &params, given));
    if !signed {
        tracing::warn!(%url, "an SMS webhook request without a valid signature was refused");
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "bad_signature",
            "the request's X-Twilio-Signature is missing or does not match",
        ));
    }
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let Some(from) = param("From") else {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "missing_field", "the form has no From"));
    };
    let text = param("Body").unwrap_or_default();
    let storage = state.storage.clone();
    blocking(move || storage.sms_reply(&from, &text)).await?;
    Ok(([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], EMPTY_TWIML))
}
