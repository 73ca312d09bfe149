//! Names and helpers every layer shares (the policy, the storage backends and
//! the handlers), kept here so that none of them depends on another for them.

/// The id the server's own changes carry as their device: accounts and teams
/// are written as synced rows by the server itself. No laptop may log in
/// under it.
pub const SERVER_DEVICE: &str = "server";

/// Longest batch id a push may carry.
pub const MAX_BATCH_ID_LEN: usize = 64;

/// Now, as the server stores times: RFC 3339 in UTC with milliseconds.
pub fn now_text() -> String {
    time_text(chrono::Utc::now())
}

/// A time as the server stores it (`now_text`'s format).
pub fn time_text(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
