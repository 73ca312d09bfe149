//! The sync protocol's messages (JSON over HTTP). See docs/sync-protocol.md.

use serde::{Deserialize, Serialize};

use crate::store::hlc::Hlc;

/// The protocol this build speaks. A server lists the versions it accepts;
/// a client whose version is not among them is told to update.
pub const PROTOCOL_VERSION: u32 = 1;
/// The request header carrying the client's protocol version.
pub const PROTOCOL_HEADER: &str = "circles-protocol";
/// The most changes one push may carry.
pub const MAX_PUSH_CHANGES: usize = 5_000;
/// The most changes one pull page returns.
pub const MAX_PULL_LIMIT: usize = 5_000;
/// How far ahead of the server's clock a change's timestamp may be. Beyond
/// it the push is refused with `clock_skew`, so that a laptop whose clock is
/// hours fast cannot win every conflict for hours.
pub const MAX_CLOCK_SKEW_MS: u64 = 60_000;

/// One field-level change, as pushed by a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireChange {
    /// Unique per change (UUID v7, made by the client).
    pub change_id: String,
    pub table: String,
    pub row_id: String,
    pub field: String,
    pub value: serde_json::Value,
    pub hlc: Hlc,
    pub device_id: String,
    /// The server sequence of the field version this edit replaced, as the
    /// client knew it (None: the client had never seen a server version of
    /// this field). Used only to detect concurrent edits.
    #[serde(default)]
    pub base_seq: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// Client-chosen id of this batch (UUID v7).
    pub batch_id: String,
    /// Per device, 1, 2, 3... A repeat of the last accepted number with the
    /// same batch id is answered from the record; a gap is refused.
    pub batch_seq: i64,
    pub changes: Vec<WireChange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushOutcome {
    /// The change is now the field's value on the server.
    Applied,
    /// A later edit (by HLC, then device id) already holds the field.
    Superseded,
    /// Already received before (same change id).
    Duplicate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResult {
    pub change_id: String,
    pub outcome: PushOutcome,
    /// The server sequence the change was logged at (Applied only).
    pub seq: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    pub batch_id: String,
    pub batch_seq: i64,
    pub results: Vec<PushResult>,
    pub server_time_ms: u64,
}

/// A change as the server logged it: on the wire, one object with `seq`
/// beside the change's own fields (`{"seq": 7, "change_id": ..., ...}`).
/// Written out by hand rather than with `#[serde(flatten)]`, which buffers
/// every field of every change; the JSON is the same.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerChange {
    pub seq: i64,
    pub change: WireChange,
}

impl Serialize for ServerChange {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let c = &self.change;
        let mut out = serializer.serialize_struct("ServerChange", 9)?;
        out.serialize_field("seq", &self.seq)?;
        out.serialize_field("change_id", &c.change_id)?;
        out.serialize_field("table", &c.table)?;
        out.serialize_field("row_id", &c.row_id)?;
        out.serialize_field("field", &c.field)?;
        out.serialize_field("value", &c.value)?;
        out.serialize_field("hlc", &c.hlc)?;
        out.serialize_field("device_id", &c.device_id)?;
        out.serialize_field("base_seq", &c.base_seq)?;
        out.end()
    }
}

impl<'de> Deserialize<'de> for ServerChange {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// The same fields in one level. Unknown fields are ignored, as
        /// they were with `flatten`.
        #[derive(Deserialize)]
        #[serde(rename = "ServerChange")]
        struct Flat {
            seq: i64,
            change_id: String,
            table: String,
            row_id: String,
            field: String,
            value: serde_json::Value,
            hlc: Hlc,
            device_id: String,
            #[serde(default)]
            base_seq: Option<i64>,
        }
        let f = Flat::deserialize(deserializer)?;
        Ok(ServerChange {
            seq: f.seq,
            change: WireChange {
                change_id: f.change_id,
                table: f.table,
                row_id: f.row_id,
                field: f.field,
                value: f.value,
                hlc: f.hlc,
                device_id: f.device_id,
                base_seq: f.base_seq,
            },
        })
    }
}

/// A concurrent edit this device lost: both values, for a person to choose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireConflict {
    /// Server id of the conflict (increasing per server).
    pub id: i64,
    pub table: String,
    pub row_id: String,
    pub field: String,
    /// This device's value, which lost.
    pub lost_value: serde_json::Value,
    pub lost_hlc: Hlc,
    /// The value that won, and who wrote it.
    pub won_value: serde_json::Value,
    pub won_hlc: Hlc,
    pub won_device: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    /// The page's changes the user may see, in seq order, except the
    /// puller's own (its device already holds them).
    pub changes: Vec<ServerChange>,
    /// Pass as `cursor` to get the next page.
    pub cursor: i64,
    pub has_more: bool,
    /// Changes still to come after this page, the puller's own included
    /// (for progress).
    pub remaining: u64,
    /// The client's view is no longer a prefix of the server's (its cursor
    /// predates a compaction, or its scope grew): drop the cursor and pull
    /// from 0. Applying is idempotent, so nothing is lost.
    pub reset: bool,
    /// Conflicts this device lost, newer than `conflict_cursor`.
    pub conflicts: Vec<WireConflict>,
    pub server_time_ms: u64,
    /// The newest app version and where to download it, when the server
    /// was told (`circles-server serve --latest-app-version`). Absent
    /// otherwise; older apps ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_release: Option<AppRelease>,
    /// Circles the caller no longer sees (removed as co-facilitator, left the team, lost the organizer
    /// role), revoked after the request's cursor: the replica removes their learners and attendance.
    /// Absent or empty: nothing was revoked. Old replicas ignore it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revoked: Vec<String>,
}

/// A released version of the app a server announces to its clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRelease {
    /// A semantic version, e.g. 1.2.0.
    pub latest_version: String,
    /// An http(s) address to download it from.
    pub download_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// A name the person will recognise in their device list ("Library laptop 3").
    pub device_name: String,
    /// The local store's device id.
    pub device_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub token_id: String,
    pub user_id: String,
    pub name: String,
    /// The device the token is bound to (absent from servers older than
    /// device binding). A client uses this id for its changes from now on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
}

/// `POST /v1/device/renew`: a new device id for the caller's account, and a
/// new token bound to it (the caller's token keeps the old id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceRenewal {
    pub device_id: String,
    pub token: String,
    pub token_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub protocols: Vec<u32>,
    pub server_time_ms: u64,
    pub max_push_changes: usize,
    pub max_clock_skew_ms: u64,
}

/// Every error the server returns, with a non-2xx status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `unauthorized`, `forbidden`,
    /// `protocol_unsupported`, `clock_skew`, `batch_gap`, `invalid_change`.
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
    /// For `invalid_change`: the change refused, and the field and rule it broke.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<RefusedChange>,
}

/// Which change of a push was refused, and why, in terms a program can use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefusedChange {
    pub change_id: String,
    pub table: String,
    pub field: String,
    pub rule: crate::error::Rule,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What `#[serde(flatten)]` made of a `ServerChange`, byte for byte.
    #[test]
    fn a_server_change_is_one_flat_object() {
        let change = ServerChange {
            seq: 7,
            change: WireChange {
                change_id: "c1".into(),
                table: "courses".into(),
                row_id: "r1".into(),
                field: "title".into(),
                value: json!("Python \"101\""),
                hlc: Hlc { millis: 1_700_000_000_000, counter: 3 },
                device_id: "d1".into(),
                base_seq: None,
            },
        };
        let text = serde_json::to_string(&change).unwrap();
        assert_eq!(
            text,
            r#"{"seq":7,"change_id":"c1","table":"courses","row_id":"r1","field":"title","value":"Python \"101\"","hlc":"001700000000000-0000000003","device_id":"d1","base_seq":null}"#
        );
        assert_eq!(serde_json::from_str::<ServerChange>(&text).unwrap(), change);
        #[derive(Serialize, Deserialize)]
        struct Flattened {
            seq: i64,
            #[serde(flatten)]
            change: WireChange,
        }
        let flattened = Flattened { seq: change.seq, change: change.change.clone() };
        assert_eq!(serde_json::to_string(&flattened).unwrap(), text);
        let back: Flattened = serde_json::from_str(&text).unwrap();
        assert_eq!(back.change, change.change);
        // `base_seq` may be left out; unknown fields are ignored; the rest is required.
        let short = json!({"seq": 7, "change_id": "c1", "table": "courses", "row_id": "r1", "field": "title",
                           "value": "Python \"101\"", "hlc": "001700000000000-0000000003", "device_id": "d1", "extra": 1});
        assert_eq!(serde_json::from_value::<ServerChange>(short).unwrap(), change);
        let missing = json!({"seq": 7, "change_id": "c1", "table": "courses", "row_id": "r1", "field": "title",
                             "hlc": "001700000000000-0000000003", "device_id": "d1"});
        assert!(serde_json::from_value::<ServerChange>(missing).is_err());
    }
}
