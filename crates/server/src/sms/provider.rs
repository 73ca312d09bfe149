//! Sending one text: the `SmsProvider` trait, and `TwilioHttp`, a provider
//! shaped like Twilio's Messages API: `POST {base}/2010-04-01/Accounts/
//! {account}/Messages.json`, form-encoded `To`, `From`, `Body`, HTTP basic
//! auth (account sid, auth token). A 2xx answer is sent (its JSON `sid`
//! kept); a 4xx (but 429) is a refusal for good (Twilio's error code and
//! message kept); a 5xx, a 429, a timeout or no connection is tried again.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::mail::transport::SendError;

/// Where texts go. Sending answers the provider's id for the message, or
/// a failure worth retrying (`SendError::Transient`) or not (`Permanent`).
pub trait SmsProvider: Send + Sync + 'static {
    /// For the log: where texts go, never a secret.
    fn describe(&self) -> String;
    fn send<'a>(
        &'a self,
        to: &'a str,
        text: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<String, SendError>> + Send + 'a>>;
}

/// Twilio's Messages API (or anything shaped like it) over HTTP(S).
pub struct TwilioHttp {
    client: reqwest::Client,
    /// The API's base, without a trailing slash (https://api.twilio.com).
    base: String,
    account: String,
    token: String,
    from: String,
}

impl TwilioHttp {
    /// A provider; `timeout` bounds each request as a whole.
    pub fn new(base: &str, account: &str, token: &str, from: &str, timeout: Duration) -> anyhow::Result<TwilioHttp> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()?;
        Ok(TwilioHttp {
            client,
            base: base.trim_end_matches('/').to_string(),
            account: account.to_string(),
            token: token.to_string(),
            from: from.to_string(),
        })
    }

    fn messages_url(&self) -> String {
        format!("{}/2010-04-01/Accounts/{}/Messages.json", self.base, self.account)
    }

    async fn post(&self, to: &str, text: &str) -> Result<String, SendError> {
        let response = self
            .client
            .post(self.messages_url())
            .basic_auth(&self.account, Some(&self.token))
            .form(&[("To", to), ("From", self.from.as_str()), ("Body", text)])
            .send()
            .await
            .map_err(|e| SendError::Transient(request_error(e)))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        let json: Option<serde_json::Value> = serde_json::from_str(&body).ok();
        if status.is_success() {
            return match json.as_ref().and_then(|j| j.get("sid")).and_then(|s| s.as_str()) {
                Some(sid) => Ok(shown(sid, 64)),
                // Accepted all the same: sending again would send it twice.
                None => Ok(String::new()),
            };
        }
        let said = refusal(json.as_ref(), &body, to);
        let what = format!("the SMS provider answered {}: {said}", status.as_u16());
        if status.is_client_error() && status != reqwest::StatusCode::TOO_MANY_REQUESTS {
            Err(SendError::Permanent(what))
        } else {
            Err(SendError::Transient(what))
        }
    }
}

impl SmsProvider for TwilioHttp {
    fn describe(&self) -> String {
        format!("{} (account {}, from {})", self.base, self.account, self.from)
    }

    fn send<'a>(
        &'a self,
        to: &'a str,
        text: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<String, SendError>> + Send + 'a>> {
        Box::pin(self.post(to, text))
    }
}

/// Why a request got no answer, without its URL (which names the account).
fn request_error(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = if e.is_timeout() {
        "the SMS provider did not answer in time".to_string()
    } else if e.is_connect() {
        "cannot connect to the SMS provider".to_string()
    } else {
        format!("the request to the SMS provider failed: {e}")
    };
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A refusal as kept in `last_error`: Twilio's `code` and `message` (else
/// the start of the body), on one line, the number it was for left out.
fn refusal(json: Option<&serde_json::Value>, body: &str, to: &str) -> String {
    let field = |name: &str| json.and_then(|j| j.get(name)).filter(|v| !v.is_null());
    let said = match (field("code"), field("message")) {
        (Some(code), Some(message)) => {
            format!(
                "error {} {}",
                code.as_i64().map_or_else(|| code.to_string(), |c| c.to_string()),
                message_text(message)
            )
        }
        (None, Some(message)) => message_text(message),
        _ => body.to_string(),
    };
    shown(&said.replace(to, "the number"), 300)
}

fn message_text(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// Text from outside on one line, at most `max` characters.
fn shown(text: &str, max: usize) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(max).collect::<String>().trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_keeps_twilio_s_code_and_message_without_the_number() {
        let json = serde_json::json!({"code": 21211, "message": "The 'To' number +15005550001 is not a valid phone number.", "status": 400});
        assert_eq!(
            refusal(Some(&json), "", "+15005550001"),
            "error 21211 The 'To' number the number is not a valid phone number."
        );
        assert_eq!(refusal(None, "Bad\nGateway", "+1"), "Bad Gateway");
    }
}
