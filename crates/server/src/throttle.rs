//! Sign-in under attack. Wrong passwords make an account and a client
//! address wait, longer after each failure (`Backoff`, in memory, bounded in
//! size); and at most a few password hashes run at once (`SignInGuard`),
//! because argon2 takes ~19 MiB per hash: a flood of sign-ins then queues
//! instead of growing the server's memory and taking every core from pulls;
//! each permit's argon2 memory is kept and used again.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::{self, HashMemory};
use crate::error::ApiError;

/// When one key (an account, an address) must wait before its next try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// Failures allowed before the first wait.
    pub free_failures: u32,
    /// The wait after the first failure past the free ones; each further failure doubles it...
    pub first_wait: Duration,
    /// ...up to this.
    pub max_wait: Duration,
    /// A key with no failure for this long starts from zero again.
    pub forget_after: Duration,
    /// At most this many keys are remembered; when full, the longest quiet
    /// are forgotten first (so spraying many emails cannot grow memory).
    pub max_entries: usize,
}

impl BackoffPolicy {
    /// The wait after `failures` failures in a row, if any.
    pub fn wait_after(&self, failures: u32) -> Option<Duration> {
        let past_free = failures.checked_sub(self.free_failures).filter(|&n| n > 0)?;
        let doublings = (past_free - 1).min(31);
        Some(self.first_wait.saturating_mul(1 << doublings).min(self.max_wait))
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Instant,
}

/// Failures per key under one policy. Time is passed in (`now`), so tests
/// drive it with any instants they like.
#[derive(Debug)]
pub struct Backoff<K> {
    policy: BackoffPolicy,
    entries: HashMap<K, Entry>,
}

impl<K: Hash + Eq> Backoff<K> {
    pub fn new(policy: BackoffPolicy) -> Backoff<K> {
        Backoff { policy, entries: HashMap::new() }
    }

    /// How long `key` must still wait (None: it may try now).
    pub fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        let entry = self.entries.get(key)?;
        if self.forgotten(entry, now) {
            return None;
        }
        let until = entry.last_failure + self.policy.wait_after(entry.failures)?;
        until.checked_duration_since(now).filter(|left| !left.is_zero())
    }

    pub fn record_failure(&mut self, key: K, now: Instant) {
        if self.entries.len() >= self.policy.max_entries.max(1) && !self.entries.contains_key(&key) {
            self.make_room(now);
        }
        let forget_after = self.policy.forget_after;
        let entry = self.entries.entry(key).or_insert(Entry { failures: 0, last_failure: now });
        if now.saturating_duration_since(entry.last_failure) >= forget_after {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = entry.last_failure.max(now);
    }

    /// A success: the key starts from zero.
    pub fn forget(&mut self, key: &K) {
        self.entries.remove(key);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn forgotten(&self, entry: &Entry, now: Instant) -> bool {
        now.saturating_duration_since(entry.last_failure) >= self.policy.forget_after
    }

    /// Drop the keys already forgotten; if that is not enough, the quietest
    /// quarter, so the next evictions are a quarter of the table away
    /// (one sort per many failures, not one scan per failure).
    fn make_room(&mut self, now: Instant) {
        let forget_after = self.policy.forget_after;
        self.entries.retain(|_, e| now.saturating_duration_since(e.last_failure) < forget_after);
        let max = self.policy.max_entries.max(1);
        if self.entries.len() < max {
            return;
        }
        let mut times: Vec<Instant> = self.entries.values().map(|e| e.last_failure).collect();
        let drop = (max / 4).max(1).min(times.len() - 1);
        let (_, &mut cutoff, _) = times.select_nth_unstable(drop);
        self.entries.retain(|_, e| e.last_failure >= cutoff);
        // Many keys failing at the same instant can all sit on the cutoff.
        if self.entries.len() >= max {
            let keep = max - 1;
            let mut kept = 0;
            self.entries.retain(|_, _| {
                kept += 1;
                kept <= keep
            });
        }
    }
}

/// How sign-in defends itself; `Default` is what `circles-server serve` uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInLimits {
    /// Per account (its email, trimmed and in lower case; known or not, so
    /// a 429 says nothing about whether an account exists).
    pub account: BackoffPolicy,
    /// Per client address (an IPv6 address by its /64: one machine usually
    /// has a whole /64). Freer than per account: a library's staff share one.
    pub address: BackoffPolicy,
    /// Device renewals per account (`POST /v1/device/renew`): each one makes a
    /// device and a token, so a signed-in client looping on it would grow
    /// the server's tables without end. A few in a row are free: a person
    /// restoring backups; a loop waits.
    pub renewals: BackoffPolicy,
    /// Password hashes computed at once.
    pub concurrent_hashes: usize,
    /// How long a sign-in waits for its turn to hash before a 503.
    pub hash_queue_wait: Duration,
    /// Take the client's address from the last `X-Forwarded-For` entry (set
    /// by a reverse proxy in front); otherwise it is the connection's peer,
    /// which behind a proxy is the proxy.
    pub trust_proxy: bool,
}

impl Default for SignInLimits {
    fn default() -> Self {
        SignInLimits {
            account: BackoffPolicy {
                free_failures: 5,
                first_wait: Duration::from_secs(1),
                max_wait: Duration::from_secs(15 * 60),
                forget_after: Duration::from_secs(24 * 3600),
                max_entries: 100_000,
            },
            address: BackoffPolicy {
                free_failures: 20,
                first_wait: Duration::from_secs(1),
                max_wait: Duration::from_secs(5 * 60),
                forget_after: Duration::from_secs(3600),
                max_entries: 100_000,
            },
            renewals: BackoffPolicy {
                free_failures: 5,
                first_wait: Duration::from_secs(60),
                max_wait: Duration::from_secs(3600),
                forget_after: Duration::from_secs(3600),
                max_entries: 100_000,
            },
            concurrent_hashes: default_concurrent_hashes(),
            hash_queue_wait: Duration::from_secs(10),
            trust_proxy: false,
        }
    }
}

/// One hash per core: more would only share the same cores, with more memory.
pub fn default_concurrent_hashes() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// What time it is; a test may move it by hand.
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// The server's sign-in state: both throttles and the hashing permits.
pub struct SignInGuard {
    limits: SignInLimits,
    clock: Clock,
    accounts: Mutex<Backoff<u64>>,
    addresses: Mutex<Backoff<IpAddr>>,
    /// Renewals by account id.
    renewals: Mutex<Backoff<String>>,
    hashes: Arc<Semaphore>,
    /// Argon2 memory of the checks not running now: at most one per permit.
    spare_memory: Mutex<Vec<HashMemory>>,
    /// Accounts are remembered by a keyed hash of the email: a fixed size
    /// per entry whatever was sent, and keys an attacker cannot collide.
    account_keys: RandomState,
}

impl std::fmt::Debug for SignInGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInGuard").field("limits", &self.limits).finish_non_exhaustive()
    }
}

/// A sign-in allowed to check its password: it holds a hashing permit and
/// its memory until `finish` says how the check went (or it is dropped).
pub struct Attempt {
    guard: Arc<SignInGuard>,
    account: u64,
    address: IpAddr,
    memory: HashMemory,
    _permit: OwnedSemaphorePermit,
}

impl SignInGuard {
    pub fn new(limits: SignInLimits) -> SignInGuard {
        SignInGuard::with_clock(limits, Arc::new(Instant::now))
    }

    pub fn with_clock(limits: SignInLimits, clock: Clock) -> SignInGuard {
        SignInGuard {
            clock,
            accounts: Mutex::new(Backoff::new(limits.account)),
            addresses: Mutex::new(Backoff::new(limits.address)),
            renewals: Mutex::new(Backoff::new(limits.renewals)),
            hashes: Arc::new(Semaphore::new(limits.concurrent_hashes.max(1))),
            spare_memory: Mutex::default(),
            account_keys: RandomState::new(),
            limits,
        }
    }

    pub fn limits(&self) -> &SignInLimits {
        &self.limits
    }

    /// Wait for a hashing turn, unless the account or the address must wait
    /// first (429 `too_many_attempts`) or the queue is too long (503
    /// `sign_in_busy`); both with Retry-After.
    pub async fn admit(self: &Arc<Self>, email: &str, address: IpAddr) -> Result<Attempt, ApiError> {
        let account = self.account_key(email);
        let address = address_key(address);
        self.refuse_if_waiting(account, address)?;
        let permit = tokio::time::timeout(self.limits.hash_queue_wait, self.hashes.clone().acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "sign_in_busy",
                    "too many sign-ins at once; try again in a few seconds",
                )
                .with_retry_after(Duration::from_secs(1))
            })?;
        // Failures may have been recorded while this one queued (a flood
        // on one account passes the first check all at once).
        self.refuse_if_waiting(account, address)?;
        let memory = lock(&self.spare_memory).pop().unwrap_or_default();
        Ok(Attempt { guard: self.clone(), account, address, memory, _permit: permit })
    }

    /// Count one device renewal of this account, unless it must wait first
    /// (429 `too_many_renewals`, with Retry-After).
    pub fn admit_renewal(&self, user_id: &str) -> Result<(), ApiError> {
        let now = (self.clock)();
        let mut renewals = lock(&self.renewals);
        if let Some(wait) = renewals.wait(&user_id.to_string(), now) {
            let seconds = whole_seconds(wait);
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_renewals",
                format!(
                    "this account renewed its device identity too often; try again in {seconds} second{}",
                    if seconds == 1 { "" } else { "s" }
                ),
            )
            .with_retry_after(wait));
        }
        renewals.record_failure(user_id.to_string(), now);
        Ok(())
    }

    fn refuse_if_waiting(&self, account: u64, address: IpAddr) -> Result<(), ApiError> {
        let now = (self.clock)();
        let account_wait = lock(&self.accounts).wait(&account, now);
        let address_wait = lock(&self.addresses).wait(&address, now);
        match account_wait.max(address_wait) {
            None => Ok(()),
            Some(wait) => {
                let seconds = whole_seconds(wait);
                Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    format!(
                        "too many failed sign-ins; try again in {seconds} second{}",
                        if seconds == 1 { "" } else { "s" }
                    ),
                )
                .with_retry_after(wait))
            }
        }
    }

    fn account_key(&self, email: &str) -> u64 {
        self.account_keys.hash_one(crate::protocol::normal_email(email))
    }
}

impl Attempt {
    /// Check a password (`auth::verify_password`) in this attempt's memory.
    pub fn verify_password(&mut self, password: &str, hash: &str) -> bool {
        auth::verify_password_in(password, hash, &mut self.memory)
    }

    /// Record how the password check went and give back the hashing permit.
    /// A success clears the account's failures; the address's stay (one
    /// valid account must not reset an address guessing at others).
    pub fn finish(self, succeeded: bool) {
        let now = (self.guard.clock)();
        if succeeded {
            lock(&self.guard.accounts).forget(&self.account);
        } else {
            lock(&self.guard.accounts).record_failure(self.account, now);
            lock(&self.guard.addresses).record_failure(self.address, now);
        }
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        lock(&self.guard.spare_memory).push(std::mem::take(&mut self.memory));
    }
}

/// The client's address: the connection's peer, or with `trust_proxy` the
/// last `X-Forwarded-For` entry (the one the proxy itself added). Without a
/// known peer every client shares the unspecified address.
pub fn client_address(headers: &HeaderMap, peer: Option<SocketAddr>, trust_proxy: bool) -> IpAddr {
    let forwarded = trust_proxy
        .then(|| {
            headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .and_then(|last| last.trim().parse::<IpAddr>().ok())
        })
        .flatten();
    forwarded.or(peer.map(|p| p.ip())).unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// An IPv4 address as itself (also when mapped into IPv6), an IPv6 one by its /64.
pub fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Retry-After counts whole seconds; round up so a client that waits as told is let in.
pub fn whole_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> BackoffPolicy {
        BackoffPolicy {
            free_failures: 3,
            first_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(60),
            forget_after: Duration::from_secs(3600),
            max_entries: 100,
        }
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn waits_start_after_the_free_failures_and_double_up_to_the_cap() {
        let p = policy();
        let waits: Vec<_> = (0..=12).map(|n| p.wait_after(n).map(|d| d.as_secs())).collect();
        assert_eq!(
            waits,
            [
                None,
                None,
                None,
                None,
                Some(1),
                Some(2),
                Some(4),
                Some(8),
                Some(16),
                Some(32),
                Some(60),
                Some(60),
                Some(60)
            ]
        );
        assert_eq!(p.wait_after(u32::MAX), Some(secs(60)), "no overflow however many failures");
    }

    #[test]
    fn a_key_waits_after_its_failures_then_may_try_again() {
        let t0 = Instant::now();
        let mut b = Backoff::new(policy());
        for i in 0..3 {
            b.record_failure("alice", t0 + secs(i));
            assert_eq!(b.wait(&"alice", t0 + secs(i)), None, "failure {} is free", i + 1);
        }
        b.record_failure("alice", t0 + secs(10));
        assert_eq!(b.wait(&"alice", t0 + secs(10)), Some(secs(1)));
        assert_eq!(b.wait(&"alice", t0 + Duration::from_millis(10_400)), Some(Duration::from_millis(600)));
        assert_eq!(b.wait(&"alice", t0 + secs(11)), None, "the wait is over");
        b.record_failure("alice", t0 + secs(11));
        assert_eq!(b.wait(&"alice", t0 + secs(11)), Some(secs(2)), "the next wait is longer");
        assert_eq!(b.wait(&"bob", t0 + secs(11)), None, "another key is not affected");
    }

    #[test]
    fn a_success_clears_and_a_quiet_key_is_forgotten() {
        let t0 = Instant::now();
        let mut b = Backoff::new(policy());
        for i in 0..5 {
            b.record_failure("alice", t0 + secs(i));
            b.record_failure("bob", t0 + secs(i));
        }
        assert!(b.wait(&"alice", t0 + secs(4)).is_some());
        b.forget(&"alice");
        assert_eq!(b.wait(&"alice", t0 + secs(4)), None);
        b.record_failure("alice", t0 + secs(5));
        assert_eq!(b.wait(&"alice", t0 + secs(5)), None, "counting starts from zero after a success");

        let later = t0 + secs(4) + policy().forget_after;
        assert_eq!(b.wait(&"bob", later), None);
        b.record_failure("bob", later);
        assert_eq!(b.wait(&"bob", later), None, "a failure after a quiet hour is the first again");
    }

    #[test]
    fn the_table_never_grows_past_its_bound_and_keeps_the_recent_keys() {
        let t0 = Instant::now();
        let mut b = Backoff::new(policy());
        for _ in 0..10 {
            b.record_failure(u64::MAX, t0 + secs(100_000));
        }
        for key in 0..10_000u64 {
            b.record_failure(key, t0 + Duration::from_millis(key));
            assert!(b.len() <= 100);
        }
        assert!(b.wait(&u64::MAX, t0 + secs(100_000)).is_some(), "the most recent key is kept");
        assert!(b.wait(&9_999, t0 + secs(10)).is_none());

        // Keys failing at one instant all sit on the cutoff: still bounded.
        let mut same = Backoff::new(policy());
        for key in 0..1_000u64 {
            same.record_failure(key, t0);
            assert!(same.len() <= 100);
        }
    }

    #[test]
    fn the_client_address_is_the_peer_unless_a_trusted_proxy_says_otherwise() {
        let peer: SocketAddr = "10.0.0.1:4000".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", "203.0.113.9, 198.51.100.7".parse().unwrap());
        assert_eq!(client_address(&headers, Some(peer), false), peer.ip());
        assert_eq!(client_address(&headers, Some(peer), true), "198.51.100.7".parse::<IpAddr>().unwrap());
        headers.insert("x-forwarded-for", "not an address".parse().unwrap());
        assert_eq!(client_address(&headers, Some(peer), true), peer.ip());
        assert_eq!(client_address(&HeaderMap::new(), None, false), IpAddr::from([0, 0, 0, 0]));
    }

    #[test]
    fn an_ipv6_client_is_its_64_and_a_mapped_ipv4_is_plain() {
        let key = |s: &str| address_key(s.parse().unwrap()).to_string();
        assert_eq!(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::");
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(key("192.0.2.7"), "192.0.2.7");
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(secs(2)), 2);
        assert_eq!(whole_seconds(Duration::from_millis(2_001)), 3);
    }

    #[tokio::test]
    async fn an_account_flooded_at_once_is_checked_only_up_to_its_limit() {
        let mut limits = SignInLimits { concurrent_hashes: 1, ..SignInLimits::default() };
        limits.account.free_failures = 2;
        // Long enough that no test machine is slow enough to see it end.
        limits.account.first_wait = Duration::from_secs(3600);
        let guard = Arc::new(SignInGuard::new(limits));
        let address = IpAddr::from([192, 0, 2, 1]);
        // All pass the first check before any failure is known...
        let mut waiting = Vec::new();
        for _ in 0..5 {
            let guard = guard.clone();
            waiting.push(tokio::spawn(async move { guard.admit("Ann@Example.org ", address).await }));
        }
        let mut admitted = 0;
        let mut refused = Vec::new();
        for task in waiting {
            // ...one hashes at a time and fails; a queued one is refused once the account must wait.
            match task.await.unwrap() {
                Ok(attempt) => {
                    admitted += 1;
                    attempt.finish(false);
                }
                Err(e) => refused.push(e),
            }
        }
        assert_eq!(admitted, 3, "two free failures and the one that starts the wait");
        assert!(refused.iter().all(|e| e.code == "too_many_attempts" && e.retry_after.is_some()));
        let e = guard.admit("ann@example.org", address).await.err().expect("the same account, normalized");
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(guard.admit("bob@example.org", IpAddr::from([192, 0, 2, 2])).await.is_ok());
    }

    #[tokio::test]
    async fn a_sign_in_waiting_too_long_for_a_hash_gets_503() {
        let limits = SignInLimits { concurrent_hashes: 1, hash_queue_wait: Duration::ZERO, ..SignInLimits::default() };
        let guard = Arc::new(SignInGuard::new(limits));
        let address = IpAddr::from([192, 0, 2, 1]);
        let hashing = guard.admit("ann@example.org", address).await.unwrap();
        let e = guard.admit("bob@example.org", address).await.err().expect("no permit left");
        assert_eq!((e.status, e.code), (StatusCode::SERVICE_UNAVAILABLE, "sign_in_busy"));
        assert_eq!(e.retry_after, Some(Duration::from_secs(1)));
        hashing.finish(true);
        assert!(guard.admit("bob@example.org", address).await.is_ok(), "the permit came back");
    }
}
