//! Sync: the wire types and merge rules shared by client and server (so the
//! two can never disagree on how edits combine), and the client engine.

pub mod engine;
#[cfg(feature = "http")]
pub mod http;
pub mod merge;
pub mod replica;
pub mod status;
pub mod wire;
