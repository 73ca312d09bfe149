//! Twilio's webhook signature: `X-Twilio-Signature` is the base64 of the
//! HMAC-SHA1, keyed with the account's auth token, of the full URL Twilio
//! requested followed by each POST parameter's name and value, sorted by
//! name, with nothing between them.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

fn mac(token: &str, url: &str, params: &[(String, String)]) -> HmacSha1 {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = HmacSha1::new_from_slice(token.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// The signature of a request to `url` with these form parameters.
pub fn sign(token: &str, url: &str, params: &[(String, String)]) -> String {
    base64::engine::general_purpose::STANDARD.encode(mac(token, url, params).finalize().into_bytes())
}

/// Whether `signature` is the request's (compared in constant time).
pub fn valid(token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    mac(token, url, params).verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of Twilio's documentation ("Validating signatures from Twilio").
    #[test]
    fn twilio_s_documented_example_checks() {
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let token = "12345";
        assert_eq!(sign(token, url, &params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(valid(token, url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        assert!(!valid("54321", url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        assert!(!valid(token, "https://mycompany.com/other", &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        assert!(!valid(token, url, &params, "not base64!"));
    }
}
