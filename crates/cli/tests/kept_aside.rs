//! `circles status` shows the pulled changes a laptop could not apply: a
//! hostile or broken page never stops the sync, and never hides either.

mod common;

use circles_core::hlc::Hlc;
use circles_core::sync::wire::{PullResponse, ServerChange, WireChange};
use circles_core::Store;
use common::Folder;
use serde_json::json;

fn change(seq: i64, table: &str, field: &str, value: serde_json::Value) -> ServerChange {
    ServerChange {
        seq,
        change: WireChange {
            change_id: format!("c{seq}"),
            table: table.into(),
            row_id: "row-1".into(),
            field: field.into(),
            value,
            hlc: Hlc { millis: 1_000 + seq as u64, counter: 0 },
            device_id: "another-laptop".into(),
            base_seq: None,
        },
    }
}

#[test]
fn status_lists_the_changes_kept_aside_with_their_reasons() {
    let f = Folder::new();
    {
        let mut store = Store::open_in(f.dir.path()).unwrap();
        let changes = vec![
            change(1, "team_members", "team_id", json!("a-team-nobody-has")),
            change(2, "courses", "title", json!("Applies")),
            change(3, "courses", "deleted", json!(0)),
            change(4, "courses", "\u{1b}[31mred", json!("x")),
        ];
        let page = PullResponse {
            changes,
            cursor: 4,
            has_more: false,
            remaining: 0,
            reset: false,
            conflicts: vec![],
            server_time_ms: 0,
            app_release: None,
            revoked: vec![],
        };
        let stats = store.apply_pull(&page).unwrap();
        assert_eq!(stats.kept_aside, 2);
    }
    let text = f.ok(&["status"]);
    assert!(text.contains("kept aside") && text.contains(" 2\n"), "{text}");
    assert!(text.contains("team_members row-1 team_id"), "{text}");
    assert!(text.contains("names a row this computer does not have"), "{text}");
    assert!(!text.contains('\u{1b}'), "escape sequences from the server are never printed raw: {text:?}");
    assert!(text.contains("\\u{1b}[31mred"), "{text}");
    let status = f.json(&["status"]);
    assert_eq!(status["kept_aside"], 2);
    assert_eq!(status["kept_aside_changes"][0]["kind"], "missing_reference");
    assert_eq!(status["kept_aside_changes"][1]["kind"], "invalid");
    assert_eq!(status["last_error"], serde_json::Value::Null);
}
