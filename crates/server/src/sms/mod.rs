//! SMS to learners, through the mail outbox (`mail/`): an `Sms` is an
//! outbox row whose channel is `sms`, claimed by its own worker (the same
//! `mail::worker`, with leases, backoff and "sent once") and sent through
//! an `SmsProvider`.
//!
//! - `Sms` (here): what callers enqueue, checked before it is stored.
//! - `SmsSender` (here): what handlers and `serve` hold; with SMS off
//!   (no `--sms-*` settings) nothing is enqueued at all.
//! - `provider.rs`: the `SmsProvider` trait and `TwilioHttp`, a provider
//!   shaped like Twilio's Messages API.
//! - `settings.rs`: `serve`'s `--sms-*` flags and `[sms]` keys, checked.
//! - `signature.rs`: checking the `X-Twilio-Signature` of a reply webhook.
//!
//! Replies (STOP, START) come back on `POST /v1/sms/inbound`; the rule that
//! opts a learner out is `protocol/sms_replies.rs`.
//!
//! **For callers** (reminders, notices): build `Sms::new(kind, mobile,
//! text)` with a `dedupe_key`, for learners with a mobile, consent and
//! `sms_opt_out` = 0, and enqueue it with `SmsSender::enqueue` (from a
//! handler), or, inside a protocol transaction, with
//! `tx.enqueue_mail(&sms.to_new_mail()?)` when `SyncService::sms_enabled()`.

pub mod inbound;
pub mod provider;
pub mod settings;
pub mod signature;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use crate::error::ApiError;
use crate::mail::worker::{Outlet, SendResult};
use crate::mail::{outbox_row, Kind};
use crate::storage::{Channel, ClaimedMail, NewMail};
use crate::SyncService;

pub use provider::{SmsProvider, TwilioHttp};
pub use settings::{SmsServeArgs, SmsSettings};

/// The longest text kept: Twilio's limit (ten segments).
pub const MAX_TEXT: usize = 1600;

/// A text message to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Sms {
    pub kind: Kind,
    /// An E.164 mobile (`+13125550143`); separators people type are removed.
    pub to: String,
    pub text: String,
    /// Enqueueing the same key twice makes one message (shared with mail's
    /// keys: prefix them, e.g. `sms-reminder:<meeting>:<learner>`).
    pub dedupe_key: Option<String>,
}

impl Sms {
    pub fn new(kind: Kind, to: &str, text: &str) -> Sms {
        Sms { kind, to: to.trim().to_string(), text: text.to_string(), dedupe_key: None }
    }

    /// The outbox row for it, due now; refused if it could never be sent.
    pub fn to_new_mail(&self) -> Result<NewMail, SmsError> {
        let to = circles_core::validate::normalize_mobile(&self.to);
        circles_core::validate::mobile("sms", "to", &to).map_err(|_| SmsError::BadMobile(self.to.clone()))?;
        if self.text.trim().is_empty() {
            return Err(SmsError::EmptyText);
        }
        let chars = self.text.chars().count();
        if chars > MAX_TEXT {
            return Err(SmsError::TooLong(chars));
        }
        Ok(outbox_row(Channel::Sms, self.kind, &to, &self.text, self.dedupe_key.as_deref()))
    }
}

/// A text that cannot be enqueued, or an SMS setting that cannot work.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SmsError {
    #[error("`{0}` is not a mobile number in international form, e.g. +13125550143")]
    BadMobile(String),
    #[error("a text message needs some text")]
    EmptyText,
    #[error("a text message of {0} characters is over the limit of {MAX_TEXT}")]
    TooLong(usize),
}

impl SmsError {
    /// A stable code, for the API.
    pub fn code(&self) -> &'static str {
        match self {
            SmsError::BadMobile(_) => "bad_mobile",
            SmsError::EmptyText => "empty_text",
            SmsError::TooLong(_) => "text_too_long",
        }
    }
}

impl From<SmsError> for ApiError {
    fn from(e: SmsError) -> Self {
        ApiError::new(axum::http::StatusCode::BAD_REQUEST, e.code(), e.to_string())
    }
}

/// What handlers hold to send SMS: enqueue (when SMS is on), then wake
/// this process's SMS worker; and the webhook's signing token.
#[derive(Clone)]
pub struct SmsSender {
    storage: Arc<dyn SyncService>,
    wake: Arc<Notify>,
    settings: Option<Arc<SmsSettings>>,
    said_off: Arc<AtomicBool>,
}

impl SmsSender {
    /// SMS off: nothing is enqueued, replies are not accepted.
    pub fn off(storage: Arc<dyn SyncService>) -> SmsSender {
        SmsSender { storage, wake: Arc::new(Notify::new()), settings: None, said_off: Arc::default() }
    }

    /// SMS on with these settings (`serve` also tells the storage, so that
    /// rules inside transactions know: `SyncService::set_sms_enabled`).
    pub fn on(storage: Arc<dyn SyncService>, settings: SmsSettings) -> SmsSender {
        storage.set_sms_enabled(true);
        SmsSender { settings: Some(Arc::new(settings)), ..SmsSender::off(storage) }
    }

    pub fn settings(&self) -> Option<&SmsSettings> {
        self.settings.as_deref()
    }

    /// What the worker waits on.
    pub fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Put a text in the outbox (blocking: call from `spawn_blocking`): its
    /// id and whether it is new (false: its dedupe key was there); None
    /// when SMS is off (nothing is stored; said once in the log). A bad
    /// mobile or text is refused either way.
    pub fn enqueue(&self, sms: &Sms) -> Result<Option<(String, bool)>, ApiError> {
        let row = sms.to_new_mail()?;
        if self.settings.is_none() {
            if !self.said_off.swap(true, Ordering::Relaxed) {
                tracing::warn!("SMS is off (no --sms-url): text messages are not sent nor kept");
            }
            return Ok(None);
        }
        let queued = self.storage.enqueue_mail(&row)?;
        self.wake.notify_one();
        Ok(Some(queued))
    }
}

/// A provider as the outbox worker's outlet for the `sms` channel.
pub struct SmsOutlet(pub Arc<dyn SmsProvider>);

impl Outlet for SmsOutlet {
    fn channel(&self) -> Channel {
        Channel::Sms
    }

    fn describe(&self) -> String {
        self.0.describe()
    }

    fn send<'a>(&'a self, mail: &'a ClaimedMail) -> Pin<Box<dyn Future<Output = SendResult> + Send + 'a>> {
        // An accepted text without an id (a provider that gives none) is sent all the same.
        Box::pin(async move { self.0.send(&mail.to, &mail.text).await.map(|id| (!id.is_empty()).then_some(id)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_needs_an_international_mobile_and_at_most_1600_characters() {
        let row = Sms::new(Kind::Reminder, " +1 (312) 555-0143 ", "See you Monday").to_new_mail().unwrap();
        assert_eq!((row.channel, row.to.as_str(), row.subject.as_str()), (Channel::Sms, "+13125550143", ""));
        for bad in ["3125550143", "+1 312", "+0123456789", "+1312555014x", ""] {
            let e = Sms::new(Kind::Reminder, bad, "Hi").to_new_mail().unwrap_err();
            assert_eq!(e.code(), "bad_mobile", "{bad}");
        }
        assert_eq!(Sms::new(Kind::Notice, "+13125550143", " ").to_new_mail().unwrap_err(), SmsError::EmptyText);
        assert!(Sms::new(Kind::Notice, "+13125550143", &"é".repeat(1600)).to_new_mail().is_ok());
        assert_eq!(
            Sms::new(Kind::Notice, "+13125550143", &"é".repeat(1601)).to_new_mail().unwrap_err(),
            SmsError::TooLong(1601)
        );
    }
}
