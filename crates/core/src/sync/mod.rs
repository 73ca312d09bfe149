//! Sync: the wire types and merge rules shared by client and server (so the
//! two can never disagree on how edits combine), and the client engine.

#[cfg(feature = "http")]
pub mod account;
pub mod app_update;
pub mod engine;
#[cfg(feature = "http")]
pub mod http;
pub mod merge;
pub(crate) mod replica;
pub mod status;
#[cfg(feature = "http")]
pub mod team_admin;
pub mod wire;

pub use replica::Resolution;
