//! Guides follow a schedule merged from two laptops: each laptop adds a
//! meeting after the last one offline; after syncing, both agree on which
//! meeting is the last (and which are middle), with the guides re-derived by
//! the sync itself (stored, not only shown), and an edited guide is left alone.

mod common;

use chrono::NaiveDate;
use circles_core::{CircleInput, GuideEdit, GuideKind, WeeklyRule};
use common::{Backend, Client, TestServer};

fn kinds(client: &Client, circle: &str) -> Vec<(String, Option<GuideKind>, bool)> {
    client.store.circle_guides(circle).unwrap().into_iter().map(|g| (g.meeting_id, g.kind, g.customized)).collect()
}

fn merged_schedules_rederive_guides(backend: Backend) {
    let server = TestServer::start(backend);
    server.add_user("lena@example.org", "Lena");
    let mut a = Client::new(&server, "lena@example.org");
    let mut b = Client::new(&server, "lena@example.org");
    let rule = WeeklyRule { first_date: NaiveDate::from_ymd_opt(2027, 2, 1).unwrap(), count: 3 };
    let circle =
        a.store.create_circle(&CircleInput::new("Guides", "America/Chicago", "18:00", 90), Some(&rule)).unwrap();
    a.sync();
    b.sync();
    let meetings = b.store.meetings(&circle).unwrap();
    // An edited guide is never re-derived.
    b.store
        .edit_meeting_guide(
            &meetings[1].id,
            &GuideEdit::Edit { index: 0, title: Some("Our own start".into()), minutes: None, notes: None },
        )
        .unwrap();

    // Offline, both add a meeting after the last one (different weeks).
    a.store.add_meeting(&circle, NaiveDate::from_ymd_opt(2027, 2, 22).unwrap(), None).unwrap();
    b.store.add_meeting(&circle, NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(), None).unwrap();

    for _ in 0..2 {
        a.sync();
        b.sync();
    }
    let on_a = kinds(&a, &circle);
    let on_b = kinds(&b, &circle);
    assert_eq!(on_a, on_b, "both laptops show the same guides");
    let kinds_only: Vec<_> = on_a.iter().map(|(_, k, _)| *k).collect();
    assert_eq!(
        kinds_only,
        vec![
            Some(GuideKind::First),
            Some(GuideKind::Middle),
            Some(GuideKind::Middle),
            Some(GuideKind::Middle),
            Some(GuideKind::Last)
        ],
        "one first, middles, one last after the merge"
    );
    assert!(on_a[1].2, "the edited guide stays edited");
    // The meeting a laptop added as the last one is a middle meeting now: its
    // plan is the middle template's, like the other middle meeting's.
    let guides = a.store.circle_guides(&circle).unwrap();
    assert_eq!(guides[3].sections, guides[2].sections, "the 22 February meeting has the middle plan");
    assert_ne!(guides[4].sections, guides[2].sections, "the last meeting has the last plan");
    // And that is what is stored, not only what is shown: a meeting marked
    // held keeps its stored guide, so a stale one would be frozen wrong.
    for client in [&a, &b] {
        let stale: Vec<_> =
            client.store.circle_guides(&circle).unwrap().into_iter().filter(|g| !g.stored).map(|g| g.number).collect();
        assert!(stale.is_empty(), "guides stored as their positions call for; stale: {stale:?}");
    }
    assert_eq!(a.store.guide(&meetings[1].id).unwrap().sections[0].title, "Our own start");
    assert_eq!(a.store.pending_count().unwrap(), 0, "the re-derived guides were sent in the same sync");
    assert_eq!(
        a.store.export_circle(&circle).unwrap().guides,
        b.store.export_circle(&circle).unwrap().guides,
        "exports agree on the guides"
    );
}

both_backends!(merged_schedules_rederive_guides);
