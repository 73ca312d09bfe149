//! Signed learner links: the links in a learner's messages that come back
//! to the server (`/l/{token}`): answer a meeting's reminder (`rsvp_yes`,
//! `rsvp_no`), withdraw from the circle (`withdraw`), stop email or SMS
//! (`email_opt_out`, `sms_opt_out`). What following one does is in
//! `learner_links.rs`; its pages in `pages/learner_links.rs`.
//!
//! A token is base64url (no padding) of the payload `purpose \n learner id
//! \n meeting id or "" \n expiry (unix seconds)` followed by the 32 bytes of
//! its HMAC-SHA256 under the server's link secret. Nothing is stored per
//! link: the token carries ids only (never a name, an address or a number)
//! and is good for one purpose, for one learner (and meeting), until it
//! expires. The secret is 32 random bytes made once and kept in the server
//! database (`server_secrets`), so every process of a server and a database
//! moved by `migrate-db` make and accept the same links.

use axum::http::StatusCode;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use super::ApiResult;
use crate::error::ApiError;
use crate::storage::Tx;

/// The name of the link secret in `server_secrets`.
const SECRET: &str = "learner_links";
/// How long a withdraw or opt-out link works.
pub const LONG_LINK_DAYS: i64 = 180;
/// How long an RSVP link works after its meeting's end.
pub const RSVP_GRACE_DAYS: i64 = 1;
const MAC_LEN: usize = 32;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    RsvpYes,
    RsvpNo,
    Withdraw,
    EmailOptOut,
    SmsOptOut,
}

impl Purpose {
    pub const ALL: [Purpose; 5] =
        [Purpose::RsvpYes, Purpose::RsvpNo, Purpose::Withdraw, Purpose::EmailOptOut, Purpose::SmsOptOut];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::RsvpYes => "rsvp_yes",
            Purpose::RsvpNo => "rsvp_no",
            Purpose::Withdraw => "withdraw",
            Purpose::EmailOptOut => "email_opt_out",
            Purpose::SmsOptOut => "sms_opt_out",
        }
    }

    pub fn parse(text: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// An answer to a meeting's reminder: its link names the meeting.
    pub fn is_rsvp(self) -> bool {
        matches!(self, Purpose::RsvpYes | Purpose::RsvpNo)
    }
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnerLink {
    pub purpose: Purpose,
    pub learner_id: String,
    /// Empty for a link about no meeting.
    pub meeting_id: String,
    /// Unix seconds.
    pub expires: i64,
}

impl LearnerLink {
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        now.timestamp() >= self.expires
    }
}

/// A learner's links, absolute URLs, for a message to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnerLinks {
    /// Only for a message about a meeting.
    pub rsvp_yes: Option<String>,
    pub rsvp_no: Option<String>,
    pub withdraw: String,
    pub email_opt_out: String,
    pub sms_opt_out: String,
}

/// A link that is not one of ours: forged, damaged or cut short (404).
pub fn invalid() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "link_invalid", "this link is not valid")
}

/// The server's link secret, made (32 random bytes) the first time; needs
/// a write transaction then (`ensure_secret` makes it when the server opens).
fn secret(tx: &mut dyn Tx) -> ApiResult<Vec<u8>> {
    if let Some(secret) = stored_secret(tx)? {
        return Ok(secret);
    }
    ensure_secret(tx)?;
    stored_secret(tx)?.ok_or_else(|| ApiError::internal("the link secret was not kept"))
}

fn stored_secret(tx: &mut dyn Tx) -> ApiResult<Option<Vec<u8>>> {
    match tx.server_secret(SECRET)? {
        Some(text) => {
            let bytes = hex::decode(text).map_err(|_| ApiError::internal("the stored link secret is damaged"))?;
            Ok(Some(bytes))
        }
        None => Ok(None),
    }
}

/// Make the link secret unless it is there (kept then), in a write.
pub(crate) fn ensure_secret(tx: &mut dyn Tx) -> ApiResult<()> {
    if tx.server_secret(SECRET)?.is_some() {
        return Ok(());
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    tx.insert_server_secret(SECRET, &hex::encode(bytes))?;
    Ok(())
}

fn mac(secret: &[u8]) -> ApiResult<Hmac<Sha256>> {
    <Hmac<Sha256> as Mac>::new_from_slice(secret).map_err(|_| ApiError::internal("the link secret is unusable"))
}

fn payload(link: &LearnerLink) -> String {
    format!("{}\n{}\n{}\n{}", link.purpose.as_str(), link.learner_id, link.meeting_id, link.expires)
}

/// A link's token, signed with `secret`.
pub(crate) fn token_with(secret: &[u8], link: &LearnerLink) -> ApiResult<String> {
    if link.learner_id.is_empty() || link.learner_id.contains('\n') || link.meeting_id.contains('\n') {
        return Err(ApiError::internal("a link names an id it cannot carry"));
    }
    if link.purpose.is_rsvp() == link.meeting_id.is_empty() {
        return Err(ApiError::internal("an RSVP link names a meeting, and only an RSVP link does"));
    }
    let mut bytes = payload(link).into_bytes();
    let mut signer = mac(secret)?;
    signer.update(&bytes);
    bytes.extend_from_slice(&signer.finalize().into_bytes());
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// What a token says, if `secret` signed it (whatever its expiry: the
/// caller tells an expired link apart). A forged, damaged or cut token is
/// `invalid`; the signature is compared in constant time.
pub(crate) fn open_with(secret: &[u8], token: &str) -> ApiResult<LearnerLink> {
    if token.len() > 1024 {
        return Err(invalid());
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    if bytes.len() <= MAC_LEN {
        return Err(invalid());
    }
    let (body, signature) = bytes.split_at(bytes.len() - MAC_LEN);
    let mut verifier = mac(secret)?;
    verifier.update(body);
    verifier.verify_slice(signature).map_err(|_| invalid())?;
    let text = std::str::from_utf8(body).map_err(|_| invalid())?;
    let mut parts = text.split('\n');
    let (Some(purpose), Some(learner), Some(meeting), Some(expires), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let purpose = Purpose::parse(purpose).ok_or_else(invalid)?;
    let expires = expires.parse::<i64>().map_err(|_| invalid())?;
    if learner.is_empty() || purpose.is_rsvp() == meeting.is_empty() {
        return Err(invalid());
    }
    Ok(LearnerLink { purpose, learner_id: learner.to_string(), meeting_id: meeting.to_string(), expires })
}

/// What a token says, checked against this server's secret (any
/// transaction; a server with no secret yet made no link).
pub(crate) fn open(tx: &mut dyn Tx, token: &str) -> ApiResult<LearnerLink> {
    let secret = stored_secret(tx)?.ok_or_else(invalid)?;
    open_with(&secret, token)
}

/// One link's token.
pub(crate) fn token(tx: &mut dyn Tx, link: &LearnerLink) -> ApiResult<String> {
    let secret = secret(tx)?;
    token_with(&secret, link)
}

/// When a link made at `now` expires: an RSVP link a day after its
/// meeting's end, the others after `LONG_LINK_DAYS`.
pub fn expiry(purpose: Purpose, meeting_end: Option<DateTime<Utc>>, now: DateTime<Utc>) -> i64 {
    match (purpose.is_rsvp(), meeting_end) {
        (true, Some(end)) => (end + Duration::days(RSVP_GRACE_DAYS)).timestamp(),
        _ => (now + Duration::days(LONG_LINK_DAYS)).timestamp(),
    }
}

/// The address of a link: `{base}/l/{token}`.
pub fn link_url(base_url: &str, token: &str) -> String {
    format!("{}/l/{token}", base_url.trim_end_matches('/'))
}

/// A learner's links for a message, signed with the server's secret (made
/// the first time, so call it in a write transaction, as the reminders do).
/// `meeting`: the meeting the message is about and when it ends (RSVP links
/// then, working until a day after that end); withdraw and opt-out links
/// work for 180 days.
pub fn learner_links(
    tx: &mut dyn Tx,
    base_url: &str,
    learner_id: &str,
    meeting: Option<(&str, DateTime<Utc>)>,
    now: DateTime<Utc>,
) -> ApiResult<LearnerLinks> {
    let secret = secret(tx)?;
    let make = |purpose: Purpose, meeting_id: &str, meeting_end: Option<DateTime<Utc>>| -> ApiResult<String> {
        let link = LearnerLink {
            purpose,
            learner_id: learner_id.to_string(),
            meeting_id: meeting_id.to_string(),
            expires: expiry(purpose, meeting_end, now),
        };
        Ok(link_url(base_url, &token_with(&secret, &link)?))
    };
    let (rsvp_yes, rsvp_no) = match meeting {
        Some((meeting_id, end)) => {
            (Some(make(Purpose::RsvpYes, meeting_id, Some(end))?), Some(make(Purpose::RsvpNo, meeting_id, Some(end))?))
        }
        None => (None, None),
    };
    Ok(LearnerLinks {
        rsvp_yes,
        rsvp_no,
        withdraw: make(Purpose::Withdraw, "", None)?,
        email_opt_out: make(Purpose::EmailOptOut, "", None)?,
        sms_opt_out: make(Purpose::SmsOptOut, "", None)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(purpose: Purpose, meeting: &str) -> LearnerLink {
        LearnerLink { purpose, learner_id: "l1".into(), meeting_id: meeting.into(), expires: 2_000_000_000 }
    }

    #[test]
    fn a_token_opens_to_what_it_was_made_for() {
        let secret = [7u8; 32];
        for (purpose, meeting) in [
            (Purpose::RsvpYes, "m1"),
            (Purpose::RsvpNo, "m1"),
            (Purpose::Withdraw, ""),
            (Purpose::EmailOptOut, ""),
            (Purpose::SmsOptOut, ""),
        ] {
            let made = link(purpose, meeting);
            let token = token_with(&secret, &made).unwrap();
            assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{token}");
            assert_eq!(open_with(&secret, &token).unwrap(), made);
        }
    }

    #[test]
    fn a_changed_or_foreign_token_is_invalid() {
        let secret = [7u8; 32];
        let token = token_with(&secret, &link(Purpose::RsvpYes, "m1")).unwrap();
        // Another server's secret.
        assert_eq!(open_with(&[8u8; 32], &token).unwrap_err().code, "link_invalid");
        // Each byte changed in turn.
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let bytes = engine.decode(&token).unwrap();
        for i in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[i] ^= 1;
            assert_eq!(open_with(&secret, &engine.encode(&changed)).unwrap_err().code, "link_invalid", "byte {i}");
        }
        // Another purpose, learner or expiry with the same signature.
        let signature = &bytes[bytes.len() - MAC_LEN..];
        for body in ["rsvp_no\nl1\nm1\n2000000000", "rsvp_yes\nl2\nm1\n2000000000", "rsvp_yes\nl1\nm1\n2100000000"] {
            let mut forged = body.as_bytes().to_vec();
            forged.extend_from_slice(signature);
            assert_eq!(open_with(&secret, &engine.encode(&forged)).unwrap_err().code, "link_invalid", "{body}");
        }
        for junk in ["", "abc", "!!!!", &"A".repeat(2000)] {
            assert_eq!(open_with(&secret, junk).unwrap_err().code, "link_invalid", "{junk}");
        }
    }

    #[test]
    fn rsvp_links_last_a_day_past_their_meeting_and_the_others_half_a_year() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z").unwrap().with_timezone(&Utc);
        let end = now + Duration::days(7);
        assert_eq!(expiry(Purpose::RsvpYes, Some(end), now), (end + Duration::days(1)).timestamp());
        assert_eq!(expiry(Purpose::Withdraw, Some(end), now), (now + Duration::days(180)).timestamp());
        assert!(link(Purpose::Withdraw, "").expired(DateTime::from_timestamp(2_000_000_000, 0).unwrap()));
        assert!(!link(Purpose::Withdraw, "").expired(DateTime::from_timestamp(1_999_999_999, 0).unwrap()));
    }
}
