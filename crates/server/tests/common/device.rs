//! A device speaking the protocol by hand: it pushes and pulls exactly the
//! batches a test builds, including ones the sync client would never send.

use circles_core::hlc::{wall_clock_millis, Hlc};
use circles_core::sync::wire::{PushRequest, WireChange};
use serde_json::{json, Value};

use super::{RawClient, TestServer};

pub struct Device {
    pub id: String,
    pub token: String,
    pub batch_seq: i64,
}

impl Device {
    pub fn new(server: &TestServer, email: &str, id: &str) -> Device {
        Device { id: id.into(), token: server.token(email, id), batch_seq: 0 }
    }

    pub fn change(&self, table: &str, row_id: &str, field: &str, value: Value) -> WireChange {
        change_by(&self.id, table, row_id, field, value)
    }

    /// Push a batch; on success the batch number moves on.
    pub fn push(&mut self, raw: &RawClient, changes: Vec<WireChange>) -> (u16, Value) {
        let batch = PushRequest { batch_id: uuid::Uuid::now_v7().to_string(), batch_seq: self.batch_seq + 1, changes };
        let body = serde_json::to_string(&batch).unwrap();
        let (status, answer) = raw.send("POST", "/v1/push", Some(&self.token), Some("1"), Some(&body));
        if status == 200 {
            self.batch_seq += 1;
        }
        (status, answer)
    }

    pub fn pull(&self, raw: &RawClient, cursor: i64, limit: usize) -> Value {
        let (status, page) =
            raw.send("GET", &format!("/v1/pull?cursor={cursor}&limit={limit}"), Some(&self.token), Some("1"), None);
        assert_eq!(status, 200, "{page}");
        page
    }

    /// Pull like the client engine does: pages until done; a reset starts
    /// over from 0 (at most twice). Returns the change ids received since
    /// the last reset, and the final cursor.
    pub fn pull_all(&self, raw: &RawClient, mut cursor: i64, limit: usize) -> (Vec<String>, i64) {
        let mut resets = 0;
        let mut ids = Vec::new();
        loop {
            let page = self.pull(raw, cursor, limit);
            if page["reset"] == json!(true) {
                resets += 1;
                assert!(resets <= 1, "a second reset while resyncing from 0: the client would give up (reset_loop)");
                ids.clear();
                cursor = 0;
                continue;
            }
            ids.extend(
                page["changes"].as_array().unwrap().iter().map(|c| c["change_id"].as_str().unwrap().to_string()),
            );
            cursor = page["cursor"].as_i64().unwrap();
            if page["has_more"] == json!(false) {
                return (ids, cursor);
            }
        }
    }
}

/// A change stamped now by `device_id`, with a fresh change id.
pub fn change_by(device_id: &str, table: &str, row_id: &str, field: &str, value: Value) -> WireChange {
    WireChange {
        change_id: uuid::Uuid::now_v7().to_string(),
        table: table.into(),
        row_id: row_id.into(),
        field: field.into(),
        value,
        hlc: Hlc { millis: wall_clock_millis(), counter: 0 },
        device_id: device_id.into(),
        base_seq: None,
    }
}
