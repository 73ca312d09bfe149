//! Id lookup: the ids and id prefixes or suffixes a person types or pastes
//! into the CLI (`Store::resolve_id`) and the row labels shown for them
//! (`Store::row_label`). Any text must resolve, be refused as unknown, too
//! short or ambiguous, never panic; and a resolved id must name a row whose
//! id the text was the whole of, or the start or end of.
//!
//! One small store per process: three circles made together (so their ids
//! share a long time prefix and prefixes are ambiguous), meetings, learners.
//! Random ids are new in every process, so the first input byte may splice
//! part of a real id into the text: the fuzzer reaches the matching paths
//! without knowing the ids.
#![no_main]

use std::sync::OnceLock;

use chrono::NaiveDate;
use circles_core::schema::ALL_TABLES;
use circles_core::{CircleInput, LearnerInput, Store, WeeklyRule};
use libfuzzer_sys::fuzz_target;

struct Demo {
    store: std::sync::Mutex<Store>,
    ids: Vec<String>,
    _dir: tempfile::TempDir,
}

fn demo() -> Demo {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open_in_with(dir.path(), &circles_core::KeySource::Raw(circles_core::StoreKey::from_bytes([1; 32]))).expect("open store");
    let rule = WeeklyRule { first_date: NaiveDate::from_ymd_opt(2026, 1, 5).expect("date"), count: 3 };
    let mut ids = Vec::new();
    for name in ["Python", "Spanish", "Públic Speaking"] {
        let circle = store
            .create_circle(&CircleInput::new(name, "America/Chicago", "18:00", 90), Some(&rule))
            .expect("create circle");
        for learner in ["Ana", "Ben"] {
            ids.push(store.add_learner(&circle, &LearnerInput::new(learner)).expect("add learner"));
        }
        ids.extend(store.meetings(&circle).expect("meetings").into_iter().map(|m| m.id));
        ids.push(circle);
    }
    Demo { store: std::sync::Mutex::new(store), ids, _dir: dir }
}

static DEMO: OnceLock<Demo> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let [mode, pick, rest @ ..] = data else { return };
    let Ok(typed) = std::str::from_utf8(rest) else { return };
    let demo = DEMO.get_or_init(demo);
    let id = &demo.ids[usize::from(*pick) % demo.ids.len()];
    // Ids are ASCII, so any char count is a char boundary.
    let cut = usize::from(*mode >> 2) % (id.len() + 1);
    let text = match mode % 4 {
        0 => typed.to_string(),
        1 => format!("{}{typed}", &id[..cut]),
        2 => format!("{typed}{}", &id[id.len() - cut..]),
        _ => format!("{}{typed}{}", &id[..cut], &id[cut..]),
    };
    let store = demo.store.lock().expect("store lock");
    for table in ALL_TABLES {
        if let Ok(found) = store.resolve_id(table, &text) {
            let given = text.trim().to_lowercase();
            assert!(
                found == text.trim() || found.starts_with(&given) || found.ends_with(&given),
                "{text:?} resolved to {found:?} in {}",
                table.name
            );
        }
        let _ = store.row_label(table.name, &text);
    }
    let _ = store.row_label(typed, &text);
});
