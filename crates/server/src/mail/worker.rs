//! The sending worker, a tokio task inside `serve`, one per channel (mail;
//! SMS, `sms/`), each claiming only its channel's messages: it claims a small batch
//! of due messages with a lease, sends them one by one and records each
//! outcome at once (sent; retry later with exponential backoff and jitter;
//! failed after `max_attempts` or a permanent refusal). It wakes when this
//! process enqueues a message and on a timer (for messages enqueued by
//! another process or a `mail` command, and for retries coming due). On
//! shutdown it finishes the message in flight and gives the rest of its
//! batch back, so another process takes them without waiting for the lease.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng;
use tokio::sync::{watch, Notify};

use super::transport::{SendError, Transport};
use crate::storage::{Channel, ClaimedMail, MailOutcome};
use crate::SyncService;

/// What sending one message may come to: accepted (with the provider's id
/// for it, if it gives one), or a failure worth retrying or not.
pub type SendResult = Result<Option<String>, SendError>;

/// Where one channel's messages go: the SMTP transport (`Transport`) or an
/// SMS provider (`sms::SmsOutlet`). The worker is the same for both.
pub trait Outlet: Send + Sync + 'static {
    /// The channel whose messages this outlet sends.
    fn channel(&self) -> Channel;
    /// For the log: where messages go, never a secret.
    fn describe(&self) -> String;
    /// Send one claimed message.
    fn send<'a>(&'a self, mail: &'a ClaimedMail) -> Pin<Box<dyn Future<Output = SendResult> + Send + 'a>>;
}

impl Outlet for Transport {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn describe(&self) -> String {
        Transport::describe(self).to_string()
    }

    fn send<'a>(&'a self, mail: &'a ClaimedMail) -> Pin<Box<dyn Future<Output = SendResult> + Send + 'a>> {
        Box::pin(async move { Transport::send(self, mail).await.map(|()| None) })
    }
}

/// Waits between attempts: `first`, then doubling, at most `cap`, each
/// stretched or shrunk by up to a fifth at random so that messages that
/// failed together do not all come back together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub first: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { first: Duration::from_secs(30), cap: Duration::from_secs(3600) }
    }
}

impl Backoff {
    /// The wait after the `attempts`-th failed attempt (1 = the first),
    /// `jitter` in [0, 1) (0.5: none).
    pub fn delay(&self, attempts: u32, jitter: f64) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        let base = self.first.saturating_mul(1 << doublings).min(self.cap);
        base.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0)).min(self.cap)
    }
}

/// How the worker goes about it.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerConfig {
    /// Messages claimed at once.
    pub batch: usize,
    /// How long a claim holds. A worker that dies mid-batch holds its
    /// messages this long; one that lives never sends past it.
    pub lease: Duration,
    /// The longest one message may take to send (whole SMTP exchange).
    pub send_timeout: Duration,
    pub backoff: Backoff,
    /// Given up after this many attempts.
    pub max_attempts: u32,
    /// How often to look for due messages when nothing wakes the worker.
    pub poll: Duration,
}

impl Default for WorkerConfig {
    fn default() -> WorkerConfig {
        WorkerConfig {
            batch: 10,
            lease: Duration::from_secs(300),
            send_timeout: Duration::from_secs(60),
            backoff: Backoff::default(),
            max_attempts: 10,
            poll: Duration::from_secs(15),
        }
    }
}

/// Now, as the outbox stores times.
fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d).ok().and_then(|d| t.checked_add_signed(d)).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// What to record after an attempt.
pub fn outcome(
    result: SendResult,
    mail: &ClaimedMail,
    config: &WorkerConfig,
    now: DateTime<Utc>,
    jitter: f64,
) -> MailOutcome {
    match result {
        Ok(provider_id) => MailOutcome::Sent { at: text(now), provider_id },
        Err(SendError::Permanent(error)) => MailOutcome::Failed { error },
        Err(SendError::Transient(error)) if mail.attempts >= config.max_attempts => {
            MailOutcome::Failed { error: format!("gave up after {} attempts; the last: {error}", mail.attempts) }
        }
        Err(SendError::Transient(error)) => {
            MailOutcome::Retry { next_attempt_at: text(after(now, config.backoff.delay(mail.attempts, jitter))), error }
        }
    }
}

/// Start the worker; it ends when `stop` turns true (after the message in flight).
pub fn spawn(
    storage: Arc<dyn SyncService>,
    transport: Arc<dyn Outlet>,
    config: WorkerConfig,
    wake: Arc<Notify>,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(storage, transport, config, wake, stop))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

async fn run(
    storage: Arc<dyn SyncService>,
    transport: Arc<dyn Outlet>,
    config: WorkerConfig,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let owner = format!("pid{}-{}", std::process::id(), uuid::Uuid::now_v7());
    let channel = transport.channel();
    tracing::info!(transport = transport.describe(), %owner, channel = channel.as_str(), "outbox worker started");
    loop {
        if *stop.borrow() {
            break;
        }
        let now = Utc::now();
        let lease_until = after(now, config.lease);
        let claimed = {
            let (storage, owner) = (storage.clone(), owner.clone());
            let (now, until, batch) = (text(now), text(lease_until), config.batch);
            blocking(move || storage.claim_mail(channel, &owner, &now, &until, batch)).await
        };
        let batch = match claimed {
            Some(Ok(batch)) => batch,
            Some(Err(e)) => {
                tracing::warn!(error = %e, channel = channel.as_str(), "cannot claim messages; trying again later");
                Vec::new()
            }
            None => Vec::new(),
        };
        if batch.is_empty() {
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(config.poll) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let mut batch = batch.into_iter();
        while let Some(mail) = batch.next() {
            // Stopping, or the lease could run out during this send: give
            // this message and the rest back instead.
            if *stop.borrow() || after(Utc::now(), config.send_timeout) >= lease_until {
                for mail in std::iter::once(mail).chain(batch.by_ref()) {
                    record(&storage, &owner, &mail, MailOutcome::Released).await;
                }
                break;
            }
            let result = match tokio::time::timeout(config.send_timeout, transport.send(&mail)).await {
                Ok(result) => result,
                Err(_) => Err(SendError::Transient(format!("no answer within {:?}", config.send_timeout))),
            };
            let jitter = rand::thread_rng().gen::<f64>();
            let outcome = outcome(result, &mail, &config, Utc::now(), jitter);
            match &outcome {
                MailOutcome::Sent { .. } => {
                    tracing::info!(id = %mail.id, kind = %mail.kind, channel = channel.as_str(), "message sent")
                }
                MailOutcome::Retry { next_attempt_at, error } => tracing::warn!(
                    id = %mail.id,
                    channel = channel.as_str(),
                    attempts = mail.attempts,
                    %next_attempt_at,
                    %error,
                    "message not sent; will retry"
                ),
                MailOutcome::Failed { error } => {
                    tracing::error!(
                        id = %mail.id,
                        channel = channel.as_str(),
                        attempts = mail.attempts,
                        %error,
                        "message failed; given up"
                    )
                }
                MailOutcome::Released => {}
            }
            record(&storage, &owner, &mail, outcome).await;
        }
        record_deliveries(&storage).await;
    }
    tracing::info!(channel = channel.as_str(), "outbox worker stopped");
}

/// Tell laptops what became of learners' messages: the `deliveries` rows
/// of the ones this batch finished (and any left from before).
async fn record_deliveries(storage: &Arc<dyn SyncService>) {
    const AT_ONCE: usize = 500;
    loop {
        let run = storage.clone();
        match blocking(move || run.record_deliveries(AT_ONCE)).await {
            Some(Ok(n)) if n == AT_ONCE => continue,
            Some(Ok(_)) | None => return,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "cannot write delivery rows; trying after the next batch");
                return;
            }
        }
    }
}

/// Record an outcome, trying a few times: a `sent` not recorded would be
/// sent again once the lease runs out.
async fn record(storage: &Arc<dyn SyncService>, owner: &str, mail: &ClaimedMail, outcome: MailOutcome) {
    for attempt in 1..=5 {
        let (storage, owner, id, outcome) = (storage.clone(), owner.to_string(), mail.id.clone(), outcome.clone());
        match blocking(move || storage.finish_mail(&id, &owner, &outcome)).await {
            Some(Ok(_)) => return,
            Some(Err(e)) => tracing::warn!(id = %mail.id, attempt, error = %e, "cannot record a mail outcome"),
            None => return,
        }
        tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
    }
    tracing::error!(id = %mail.id, "mail outcome not recorded; the message goes out again after its lease");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_with_jitter() {
        let b = Backoff::default();
        let secs = |n, j| b.delay(n, j).as_secs_f64();
        assert_eq!(secs(1, 0.5), 30.0);
        assert_eq!(secs(2, 0.5), 60.0);
        assert_eq!(secs(3, 0.5), 120.0);
        assert_eq!(secs(20, 0.5), 3600.0);
        assert_eq!(secs(u32::MAX, 0.99), 3600.0);
        assert!((24.0..=36.0).contains(&secs(1, 0.0)) && (24.0..=36.0).contains(&secs(1, 0.999)));
    }

    fn claimed(attempts: u32) -> ClaimedMail {
        ClaimedMail {
            id: "m".into(),
            kind: "test".into(),
            to: "a@example.org".into(),
            subject: "s".into(),
            text: "t".into(),
            html: None,
            attachments: Vec::new(),
            attempts,
        }
    }

    #[test]
    fn transient_failures_retry_until_the_last_attempt_and_permanent_ones_fail_at_once() {
        let config = WorkerConfig::default();
        let now = Utc::now();
        let transient = || Err(SendError::Transient("connection refused".into()));
        match outcome(transient(), &claimed(1), &config, now, 0.5) {
            MailOutcome::Retry { next_attempt_at, error } => {
                assert_eq!(next_attempt_at, text(now + chrono::Duration::seconds(30)));
                assert_eq!(error, "connection refused");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            outcome(transient(), &claimed(config.max_attempts), &config, now, 0.5),
            MailOutcome::Failed { error } if error.starts_with("gave up after 10 attempts")
        ));
        assert!(matches!(
            outcome(Err(SendError::Permanent("550 no such user".into())), &claimed(1), &config, now, 0.5),
            MailOutcome::Failed { error } if error == "550 no such user"
        ));
        assert!(matches!(
            outcome(Ok(Some("SM1".into())), &claimed(3), &config, now, 0.5),
            MailOutcome::Sent { provider_id: Some(id), .. } if id == "SM1"
        ));
    }
}
