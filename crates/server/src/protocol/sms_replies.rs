//! Replies to the texts the server sends (`POST /v1/sms/inbound`, signed by
//! the provider): STOP and its synonyms opt the sender out of texts, START
//! opts them back in. The flag (`learners.sms_opt_out`) is written by the
//! server (SERVER_DEVICE) on every learner row with that mobile, in the
//! learner's circle scope, so the facilitators' laptops pull it; a row that
//! already holds it is left alone, so a repeated STOP writes nothing.
//! Anything else is no command and changes nothing.

use circles_core::schema::LEARNERS;
use serde_json::Value;

use super::accounts::log_own_circle_row;
use super::public::{flag, text};
use super::ApiResult;
use crate::error::ApiError;
use crate::storage::Tx;

/// What a reply asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsCommand {
    /// No more texts.
    Stop,
    /// Texts again.
    Start,
}

impl SmsCommand {
    /// The command a reply's body is, if any: the carriers' opt-out and
    /// opt-in words, alone, in any case, spaces around them ignored.
    pub fn of(body: &str) -> Option<SmsCommand> {
        match body.trim().to_ascii_uppercase().as_str() {
            "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" => Some(SmsCommand::Stop),
            "START" | "UNSTOP" => Some(SmsCommand::Start),
            _ => None,
        }
    }
}

/// What a reply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsReply {
    pub command: Option<SmsCommand>,
    /// Learner rows whose flag changed.
    pub changed: usize,
}

/// The sender's number as learners' rows store it, or 400 `bad_mobile`.
pub fn sender(from: &str) -> ApiResult<String> {
    let number = circles_core::validate::normalize_mobile(from.trim());
    circles_core::validate::mobile("sms", "From", &number).map_err(|_| {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "bad_mobile",
            format!("From `{}` is not a mobile number in international form", circles_core::validate::shown(from)),
        )
    })?;
    Ok(number)
}

/// Apply a reply from `number` (checked by `sender`), in the write's transaction.
pub(super) fn apply(tx: &mut dyn Tx, number: &str, body: &str) -> ApiResult<SmsReply> {
    let Some(command) = SmsCommand::of(body) else {
        return Ok(SmsReply { command: None, changed: 0 });
    };
    let opt_out = command == SmsCommand::Stop;
    let mut changed = 0;
    for id in tx.rows_with_value(LEARNERS.name, "mobile", &Value::from(number).to_string())? {
        if flag(tx, LEARNERS.name, &id, "deleted")? || flag(tx, LEARNERS.name, &id, "sms_opt_out")? == opt_out {
            continue;
        }
        let circle = text(tx, LEARNERS.name, &id, "circle_id")?;
        if circle.is_empty() {
            continue;
        }
        log_own_circle_row(tx, &circle, LEARNERS.name, &id, &[("sms_opt_out", Value::from(i64::from(opt_out)))])?;
        changed += 1;
    }
    tracing::info!(command = ?command, changed, "an SMS reply");
    Ok(SmsReply { command: Some(command), changed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_carriers_words_in_any_case_and_nothing_else() {
        for stop in ["STOP", " stop ", "StopAll", "unsubscribe", "CANCEL", "end", "Quit\n"] {
            assert_eq!(SmsCommand::of(stop), Some(SmsCommand::Stop), "{stop}");
        }
        for start in ["START", "unstop"] {
            assert_eq!(SmsCommand::of(start), Some(SmsCommand::Start), "{start}");
        }
        for other in ["", "stop it", "please stop", "STOP!", "yes", "stopp"] {
            assert_eq!(SmsCommand::of(other), None, "{other}");
        }
        assert_eq!(sender("+1 (312) 555-0143").unwrap(), "+13125550143");
        assert_eq!(sender("alice").unwrap_err().code, "bad_mobile");
    }
}
