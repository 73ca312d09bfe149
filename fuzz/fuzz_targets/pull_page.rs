//! Page application on a replica: a pulled page is whatever a server (or
//! whoever answers in its place) sends. Decoding it and `Store::apply_pull`
//! must end in Ok or a `CoreError`, never a panic; and what was applied must
//! read back through the same calls the app and CLI make.
//!
//! One store per process, made once with a circle, its meetings and learners
//! (so pulled changes can name rows that exist) and reused: opening a store
//! runs the migrations, far too slow to do per input. Set
//! CIRCLES_FUZZ_SHOW_ERRORS=1 to print the errors (not failures) it meets.
#![no_main]

use std::cell::RefCell;

use chrono::NaiveDate;
use circles_core::sync::wire::PullResponse;
use circles_core::{CircleInput, CoreError, LearnerInput, Store, WeeklyRule};
use libfuzzer_sys::fuzz_target;

struct Replica {
    store: Store,
    show_errors: bool,
    _dir: tempfile::TempDir,
}

fn replica() -> Replica {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open_in_with(dir.path(), &circles_core::KeySource::Raw(circles_core::StoreKey::from_bytes([1; 32]))).expect("open store");
    let rule = WeeklyRule { first_date: NaiveDate::from_ymd_opt(2026, 1, 5).expect("date"), count: 4 };
    let circle = store
        .create_circle(&CircleInput::new("Python", "America/Chicago", "18:00", 90), Some(&rule))
        .expect("create circle");
    for name in ["Ana", "Ben"] {
        store.add_learner(&circle, &LearnerInput::new(name)).expect("add learner");
    }
    let show_errors = std::env::var_os("CIRCLES_FUZZ_SHOW_ERRORS").is_some();
    Replica { store, show_errors, _dir: dir }
}

thread_local! {
    static REPLICA: RefCell<Option<Replica>> = const { RefCell::new(None) };
}

fn seen<T>(show: bool, what: &str, result: Result<T, CoreError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(e) => {
            if show {
                eprintln!("{what}: {e}");
            }
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(page) = serde_json::from_slice::<PullResponse>(data) else { return };
    REPLICA.with(|cell| {
        let mut cell = cell.borrow_mut();
        let Replica { store, show_errors, .. } = cell.get_or_insert_with(replica);
        let show = *show_errors;
        seen(show, "apply_pull", store.apply_pull(&page));
        // What the app shows after a sync.
        seen(show, "sync_status", store.sync_status());
        seen(show, "kept_aside", store.kept_aside());
        seen(show, "conflicts", store.conflicts(true));
        seen(show, "overview", store.overview());
        seen(show, "list_circles", store.list_circles());
        for circle in seen(show, "circles", store.circles()).unwrap_or_default() {
            seen(show, "learners", store.learners(&circle.id));
            seen(show, "meetings", store.meetings(&circle.id));
            seen(show, "circle_guides", store.circle_guides(&circle.id));
        }
        for change in &page.changes {
            seen(show, "row_label", store.row_label(&change.change.table, &change.change.row_id));
        }
    });
});
