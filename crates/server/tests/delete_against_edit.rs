//! Delete against edit (issue 13 item 7): a learner deleted on one laptop
//! while marked present on another is a conflict for the person whose mark
//! became invisible, who can bring the learner back (with the mark) or let
//! the deletion stand. The laptop that deleted hears nothing.

mod common;

use chrono::NaiveDate;
use circles_core::sync::Resolution;
use circles_core::{CircleInput, LearnerInput, Mark, WeeklyRule};
use common::{Backend, Client, TestServer};

fn a_mark_hidden_by_a_deletion_elsewhere_is_a_conflict_for_its_author(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("lena@example.org", "Lena");
    let mut a = Client::new(&server, "lena@example.org");
    let mut b = Client::new(&server, "lena@example.org");
    let rule = WeeklyRule { first_date: NaiveDate::from_ymd_opt(2027, 2, 1).unwrap(), count: 1 };
    let circle = a.store.create_circle(&CircleInput::new("Marks", "Europe/Lisbon", "18:00", 90), Some(&rule)).unwrap();
    let learner = a.store.add_learner(&circle, &LearnerInput::new("Ana")).unwrap();
    a.sync();
    b.sync();
    let meeting = b.store.meetings(&circle).unwrap()[0].id.clone();

    // Offline: b marks Ana present while a deletes her.
    b.store.mark_attendance(&meeting, &learner, Mark::Present).unwrap();
    a.store.delete_learner(&learner).unwrap();
    a.sync();
    b.sync();
    a.sync();

    let on_b = b.store.conflicts(false).unwrap();
    assert_eq!(on_b.len(), 1, "{on_b:?}");
    assert_eq!(
        (on_b[0].table.as_str(), on_b[0].row_id.as_str(), on_b[0].field.as_str()),
        ("learners", learner.as_str(), "deleted")
    );
    assert!(a.store.conflicts(false).unwrap().is_empty(), "the laptop that deleted is not asked");
    assert!(b.store.learners(&circle).unwrap().is_empty(), "until b chooses, the deletion stands");

    // b brings Ana back; after a sync both laptops show her with the mark.
    b.store.resolve_conflict(&on_b[0].id, Resolution::RestoreLost).unwrap();
    b.sync();
    a.sync();
    for client in [&a, &b] {
        assert_eq!(client.store.learners(&circle).unwrap().len(), 1);
        let marks = client.store.meeting_marks(&meeting).unwrap();
        assert_eq!(marks.len(), 1, "the mark is visible again");
    }
}

both_backends!(a_mark_hidden_by_a_deletion_elsewhere_is_a_conflict_for_its_author);
