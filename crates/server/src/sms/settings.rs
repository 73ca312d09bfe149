//! SMS settings: `serve`'s `--sms-*` flags (and environment variables),
//! over the config file's `[sms]` table (`config.rs` checks each value and
//! names the key and line of a bad one). All four or none: without them
//! SMS is off.

use std::fmt;

use clap::Args;

/// `serve`'s SMS flags.
#[derive(Debug, Clone, Default, Args)]
pub struct SmsServeArgs {
    /// The SMS provider's API base, shaped like Twilio's
    /// (https://api.twilio.com): texts are POSTed to
    /// {base}/2010-04-01/Accounts/{account}/Messages.json. Without it SMS is
    /// off: texts are not even queued.
    #[arg(long, env = "CIRCLES_SMS_URL")]
    pub sms_url: Option<String>,
    /// The provider account (Twilio's Account SID, AC...).
    #[arg(long, env = "CIRCLES_SMS_ACCOUNT")]
    pub sms_account: Option<String>,
    /// The account's auth token: the password of the API and the key of the
    /// signatures on replies. Better from the environment than the command line.
    #[arg(long, env = "CIRCLES_SMS_TOKEN", hide_env_values = true)]
    pub sms_token: Option<String>,
    /// The number texts come from, in international form (+13125550143).
    #[arg(long, env = "CIRCLES_SMS_FROM")]
    pub sms_from: Option<String>,
}

/// SMS as `serve` runs it: every value checked.
#[derive(Clone, PartialEq)]
pub struct SmsSettings {
    /// The API base, http(s), without a trailing slash.
    pub url: String,
    pub account: String,
    pub token: String,
    /// E.164.
    pub from: String,
}

impl fmt::Debug for SmsSettings {
    /// Never the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsSettings")
            .field("url", &self.url)
            .field("account", &self.account)
            .field("token", &"<hidden>")
            .field("from", &self.from)
            .finish()
    }
}

/// The API base: an absolute http(s) URL with a host, no query.
pub fn check_url(value: &str) -> Result<String, String> {
    crate::config::check_public_url(value)
        .map_err(|p| p.replace("https://sync.example.org", "https://api.twilio.com"))?;
    let url = url::Url::parse(value).map_err(|e| e.to_string())?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err("has a query or fragment: give the API's base, like https://api.twilio.com".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("holds credentials: give them as the account and token instead".into());
    }
    Ok(value.trim_end_matches('/').to_string())
}

/// The account: letters, digits, `-` and `_` (it is part of the URL's path).
pub fn check_account(value: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(value.to_string())
    } else {
        Err("is not an account id (letters and digits, like Twilio's AC... Account SID)".into())
    }
}

/// The token: not empty, one line.
pub fn check_token(value: &str) -> Result<String, String> {
    if value.trim().is_empty() || value.chars().any(char::is_control) || value.trim() != value {
        return Err("is not a token (one word, not empty)".into());
    }
    Ok(value.to_string())
}

/// The sender: an E.164 number (core's mobile rule).
pub fn check_from(value: &str) -> Result<String, String> {
    let number = circles_core::validate::normalize_mobile(value);
    circles_core::validate::mobile("sms", "from", &number)
        .map_err(|_| "is not a number in international form, like +13125550143".to_string())?;
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_is_checked() {
        assert_eq!(check_url("http://127.0.0.1:9000/").unwrap(), "http://127.0.0.1:9000");
        assert!(check_url("ftp://api.twilio.com").unwrap_err().contains("not an http(s) URL"));
        assert!(check_url("https://api.twilio.com?x=1").unwrap_err().contains("query"));
        assert!(check_url("https://AC1:secret@api.twilio.com").unwrap_err().contains("credentials"));
        assert!(check_account("AC0123abc").is_ok());
        assert!(check_account("AC/../x").is_err() && check_account("").is_err());
        assert!(check_token("s3cret").is_ok() && check_token(" ").is_err() && check_token("a\nb").is_err());
        assert_eq!(check_from("+1 312 555 0143").unwrap(), "+13125550143");
        assert!(check_from("555-0143").is_err());
        let settings =
            SmsSettings { url: "u".into(), account: "a".into(), token: "s3cret".into(), from: "+13125550143".into() };
        assert!(!format!("{settings:?}").contains("s3cret"));
    }
}
