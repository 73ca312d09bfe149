//! Mail, through a durable outbox. Whatever the server sends (a test, an
//! invitation, a password reset, a reminder) is first written to the
//! `mail_outbox` table, in the transaction that decided to send it; a worker
//! inside `serve` then claims due messages with a lease, sends them over
//! SMTP (or writes `.eml` files, for development) and marks each one sent
//! the moment the server accepts it, retrying with backoff and giving up
//! after too many attempts or a permanent refusal.
//!
//! - `Email` (here): what callers enqueue, checked before it is stored.
//! - `transport.rs`: `--mail-url` (smtp://, smtp+starttls://, smtps://,
//!   file://) and sending one message.
//! - `worker.rs`: claiming, sending, retries with backoff, waking on enqueue.
//! - `outbox.rs`: the outbox rules over a storage backend (the SQL is in
//!   `storage/`).
//! - `admin.rs`: `circles-server mail test|list|retry`.
//!
//! **SMS** goes through the same outbox and the same worker: a row's
//! `channel` is `email` or `sms`, and each channel's worker claims only its
//! own (`sms/` holds the SMS side: the message, the provider, the settings).
//!
//! **Sent once.** Claims are exclusive (PostgreSQL: `FOR UPDATE SKIP LOCKED`;
//! SQLite: one `UPDATE … RETURNING` in the one writer's transaction), so two
//! server processes never send one message twice. SMTP itself cannot be
//! exactly-once: a process killed after the SMTP server accepted a message
//! and before it recorded `sent` sends that one message again when its lease
//! runs out. Each message is marked sent on its own, right after it was
//! accepted, so that window holds at most the one message in flight; and each
//! message carries a `Message-ID` made from its outbox id, so the copy is
//! recognisable as the same message.

pub mod admin;
pub(crate) mod outbox;
pub mod transport;
pub mod worker;

use std::sync::Arc;

use lettre::Address;
use tokio::sync::Notify;

use crate::common::now_text;
use crate::error::ApiError;
use crate::storage::{Channel, MailAttachment, NewMail};
use crate::SyncService;

pub use transport::{MailUrl, Transport};
pub use worker::{Backoff, Outlet, WorkerConfig};

/// Longest subject kept (longer ones are refused: a caller's bug).
pub const MAX_SUBJECT: usize = 998;
/// Largest total of attachments, in bytes.
pub const MAX_ATTACHMENTS_BYTES: usize = 5 * 1024 * 1024;

/// What a message is for; stored as text, shown by `mail list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Test,
    Invitation,
    PasswordReset,
    Reminder,
    Notice,
    /// A public signup's confirmation.
    Signup,
    /// A waiting learner got a place (`protocol/waitlist.rs`).
    WaitlistPlace,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Test => "test",
            Kind::Invitation => "invitation",
            Kind::PasswordReset => "password_reset",
            Kind::Reminder => "reminder",
            Kind::Notice => "notice",
            Kind::Signup => "signup",
            Kind::WaitlistPlace => "waitlist_place",
        }
    }
}

/// A message to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    pub kind: Kind,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<MailAttachment>,
    /// Enqueueing the same key twice makes one message (e.g. one reminder
    /// per meeting and learner).
    pub dedupe_key: Option<String>,
}

impl Email {
    pub fn new(kind: Kind, to: &str, subject: &str, text: &str) -> Email {
        Email {
            kind,
            to: to.trim().to_string(),
            subject: subject.to_string(),
            text: text.to_string(),
            html: None,
            attachments: Vec::new(),
            dedupe_key: None,
        }
    }

    /// The outbox row for it, due now; refused if it could never be sent.
    pub fn to_new_mail(&self) -> Result<NewMail, MailError> {
        self.to.parse::<Address>().map_err(|e| MailError::BadAddress(self.to.clone(), e.to_string()))?;
        if self.subject.chars().count() > MAX_SUBJECT || self.subject.contains(['\r', '\n']) {
            return Err(MailError::BadSubject);
        }
        let bytes: usize = self.attachments.iter().map(|a| a.content.len()).sum();
        if bytes > MAX_ATTACHMENTS_BYTES {
            return Err(MailError::TooLarge(bytes));
        }
        for a in &self.attachments {
            if a.name.trim().is_empty() || a.name.contains(['/', '\\', '\r', '\n']) {
                return Err(MailError::BadAttachment(a.name.clone(), "a plain file name".into()));
            }
            if lettre::message::header::ContentType::parse(&a.content_type).is_err() {
                return Err(MailError::BadAttachment(
                    a.name.clone(),
                    format!("a content type, not {}", a.content_type),
                ));
            }
        }
        Ok(NewMail {
            subject: self.subject.clone(),
            html: self.html.clone(),
            attachments: self.attachments.clone(),
            ..outbox_row(Channel::Email, self.kind, &self.to, &self.text, self.dedupe_key.as_deref())
        })
    }
}

/// An outbox row of any channel, due now, with a fresh id (no subject,
/// HTML or attachments: an email adds its own). Callers check what they
/// pass: `Email::to_new_mail`, `sms::Sms::to_new_mail`.
pub(crate) fn outbox_row(channel: Channel, kind: Kind, to: &str, text: &str, dedupe_key: Option<&str>) -> NewMail {
    let now = now_text();
    NewMail {
        id: uuid::Uuid::now_v7().to_string(),
        created_at: now.clone(),
        channel,
        kind: kind.as_str().to_string(),
        dedupe_key: dedupe_key.map(str::to_string),
        to: to.to_string(),
        subject: String::new(),
        text: text.to_string(),
        html: None,
        attachments: Vec::new(),
        next_attempt_at: now,
        delivery: None,
    }
}

/// A message that cannot be enqueued, or a mail setting that cannot work.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MailError {
    #[error("`{0}` is not an email address ({1})")]
    BadAddress(String, String),
    #[error("a subject is one line of at most {MAX_SUBJECT} characters")]
    BadSubject,
    #[error("attachments of {0} bytes are over the limit of {MAX_ATTACHMENTS_BYTES}")]
    TooLarge(usize),
    #[error("attachment `{0}` needs {1}")]
    BadAttachment(String, String),
    #[error("{0}")]
    BadUrl(String),
}

impl MailError {
    /// A stable code, for the API.
    pub fn code(&self) -> &'static str {
        match self {
            MailError::BadAddress(..) => "bad_address",
            MailError::BadSubject => "bad_subject",
            MailError::TooLarge(_) => "too_large",
            MailError::BadAttachment(..) => "bad_attachment",
            MailError::BadUrl(_) => "bad_mail_url",
        }
    }
}

impl From<MailError> for ApiError {
    fn from(e: MailError) -> Self {
        ApiError::new(axum::http::StatusCode::BAD_REQUEST, e.code(), e.to_string())
    }
}

/// What handlers hold to send mail: enqueue, then wake this process's worker.
#[derive(Clone)]
pub struct Mailer {
    storage: Arc<dyn SyncService>,
    wake: Arc<Notify>,
}

impl Mailer {
    pub fn new(storage: Arc<dyn SyncService>) -> Mailer {
        Mailer { storage, wake: Arc::new(Notify::new()) }
    }

    /// What the worker waits on.
    pub fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Put a message in the outbox (blocking: call from `spawn_blocking`):
    /// its id, and whether it is new (false: its dedupe key was there).
    pub fn enqueue(&self, email: &Email) -> Result<(String, bool), ApiError> {
        let mail = email.to_new_mail()?;
        let queued = self.storage.enqueue_mail(&mail)?;
        self.wake.notify_one();
        Ok(queued)
    }
}
