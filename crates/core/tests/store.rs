//! The local store through its public API: opening files, migrations,
//! validation with named fields, and schedules in their zones.

use chrono::{NaiveDate, TimeZone, Utc};
use circles_core::schedule::LocalTimeResolution;
use circles_core::{
    CircleInput, CoreError, CourseInput, FeedbackInput, GuideSection, LearnerInput, Mark, MeetingStatus, Store,
    TeamRole, WeeklyRule,
};

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).unwrap();
    (dir, store)
}

fn chicago_circle(store: &mut Store, first: &str, count: u32) -> String {
    let input = CircleInput::new("Public Speaking", "America/Chicago", "18:30", 90);
    store.create_circle(&input, Some(&WeeklyRule { first_date: date(first), count })).unwrap()
}

fn field_of(err: CoreError) -> &'static str {
    err.field().unwrap_or_else(|| panic!("expected a field error, got: {err}"))
}

#[test]
fn reopening_keeps_data_and_device_id() {
    let dir = tempfile::tempdir().unwrap();
    let (id, device) = {
        let mut store = Store::open_in(dir.path()).unwrap();
        (store.create_course(&CourseInput::new("Intro to Python")).unwrap(), store.device_id().to_string())
    };
    let store = Store::open_in(dir.path()).unwrap();
    assert_eq!(store.course(&id).unwrap().fields.title, "Intro to Python");
    assert_eq!(store.device_id(), device);
}

#[test]
fn garbage_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("circles.sqlite");
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let err = Store::open_in(dir.path()).err().expect("garbage must be refused");
    // Garbage looks like an encrypted store whose key is not in the keyring:
    // the error says both, and how to recover.
    assert_eq!(err.code(), Some("store_key_lost"), "{err}");
    assert!(err.to_string().contains("not a Circles store"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[test]
fn newer_schema_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open_in(dir.path()).unwrap());
    let path = dir.path().join("circles.sqlite");
    {
        let conn = circles_core::open_store_file_for_tests(dir.path()).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = Store::open_in(dir.path()).err().expect("a newer schema must be refused");
    assert!(matches!(err, CoreError::NewerDatabase { found: 99, .. }), "{err}");
    assert!(err.to_string().contains("newer version of Circles"));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn another_applications_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("circles.sqlite");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE recipes (name TEXT); INSERT INTO recipes VALUES ('soup');")
        .unwrap();
    let err = Store::open_in(dir.path()).err().unwrap();
    assert!(matches!(err, CoreError::NotADatabase { .. }), "{err}");
}

#[test]
fn migrations_upgrade_an_empty_store_to_the_current_version() {
    let (dir, _store) = store();
    let conn = circles_core::open_store_file_for_tests(dir.path()).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, circles_core::schema_version());
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
}

type Case = (Box<dyn Fn(&mut CircleInput)>, &'static str);

#[test]
fn circle_validation_names_the_field() {
    let (_dir, mut store) = store();
    let ok = CircleInput::new("Reading", "America/Chicago", "18:30", 90);
    let cases: Vec<Case> = vec![
        (Box::new(|c| c.name = "  ".into()), "name"),
        (Box::new(|c| c.time_zone = "Mars/Olympus".into()), "time_zone"),
        (Box::new(|c| c.start_time = "25:00".into()), "start_time"),
        (Box::new(|c| c.duration_minutes = 5), "duration_minutes"),
        (Box::new(|c| c.signup_limit = Some(0)), "signup_limit"),
        (Box::new(|c| c.online = true), "meeting_link"),
        (Box::new(|c| c.meeting_link = "zoom".into()), "meeting_link"),
        (Box::new(|c| c.language = "English".into()), "language"),
        (Box::new(|c| c.course_id = Some("no-such-course".into())), "course_id"),
        (Box::new(|c| c.venue.latitude = Some(123.0)), "latitude"),
        (Box::new(|c| c.status = circles_core::CircleStatus::Published), "venue_name"),
    ];
    for (change, field) in cases {
        let mut input = ok.clone();
        change(&mut input);
        let err = store.create_circle(&input, None).unwrap_err();
        assert_eq!(field_of(err), field);
    }
    assert!(store.circles().unwrap().is_empty(), "nothing partial was written");
    let count_err =
        store.create_circle(&ok, Some(&WeeklyRule { first_date: date("2026-12-07"), count: 53 })).unwrap_err();
    assert!(count_err.to_string().contains("1 to 52"), "{count_err}");
    assert!(store.circles().unwrap().is_empty());
}

#[test]
fn canonical_forms_are_stored() {
    let (_dir, mut store) = store();
    let id = store.create_circle(&CircleInput::new("Reading", "america/chicago", "6:30", 60), None).unwrap();
    let circle = store.circle(&id).unwrap();
    assert_eq!(circle.fields.time_zone, "America/Chicago");
    assert_eq!(circle.fields.start_time, "06:30");
}

#[test]
fn dst_never_moves_the_local_meeting_time() {
    let (_dir, mut store) = store();
    // Weekly Sundays around both 2026 US changes (Mar 8, Nov 1).
    let id = chicago_circle(&mut store, "2026-02-22", 4);
    let autumn = chicago_circle(&mut store, "2026-10-18", 4);
    for circle in [id, autumn] {
        let meetings = store.meetings(&circle).unwrap();
        let offsets: Vec<i64> = meetings
            .iter()
            .map(|m| {
                assert_eq!(m.local_time, "18:30");
                assert_eq!(m.time_resolution, LocalTimeResolution::Exact);
                let local = m.local_date.and_hms_opt(18, 30, 0).unwrap();
                (local - m.starts_at.naive_utc()).num_hours()
            })
            .collect();
        assert!(offsets.contains(&-6) && offsets.contains(&-5), "both offsets seen: {offsets:?}");
    }
}

#[test]
fn nonexistent_local_time_has_a_defined_answer() {
    let (_dir, mut store) = store();
    let input = CircleInput::new("Night owls", "America/New_York", "02:30", 60);
    let id = store.create_circle(&input, Some(&WeeklyRule { first_date: date("2026-03-08"), count: 1 })).unwrap();
    let m = &store.meetings(&id).unwrap()[0];
    assert_eq!(m.time_resolution, LocalTimeResolution::ShiftedForwardOverGap);
    assert_eq!(m.starts_at, Utc.with_ymd_and_hms(2026, 3, 8, 7, 30, 0).unwrap());
    // 03:30 EDT
}

#[test]
fn editing_single_meetings_keeps_their_identity() {
    let (_dir, mut store) = store();
    let circle = chicago_circle(&mut store, "2026-12-07", 6);
    let meetings = store.meetings(&circle).unwrap();
    assert_eq!(meetings.len(), 6);
    let second = meetings[1].id.clone();
    store.reschedule_meeting(&second, date("2026-12-15"), Some("19:00")).unwrap();
    let moved = store.meeting(&second).unwrap();
    assert_eq!((moved.local_date, moved.local_time.as_str()), (date("2026-12-15"), "19:00"));

    store.set_meeting_status(&meetings[2].id, MeetingStatus::Cancelled).unwrap();
    let numbers: Vec<u32> = store.meetings(&circle).unwrap().iter().map(|m| m.number).collect();
    assert_eq!(numbers, [1, 2, 0, 3, 4, 5]);

    let added = store.add_meeting(&circle, date("2027-01-18"), None).unwrap();
    assert_eq!(store.meeting(&added).unwrap().local_time, "18:30");
    store.remove_meeting(&added).unwrap();
    assert_eq!(store.meetings(&circle).unwrap().len(), 6);
}

#[test]
fn meeting_dates_outside_the_circle_are_refused() {
    let (_dir, mut store) = store();
    let circle = chicago_circle(&mut store, "2026-12-07", 4);
    let before = store.meetings(&circle).unwrap();
    let far = store.add_meeting(&circle, date("2028-01-03"), None).unwrap_err();
    assert!(far.to_string().contains("outside the circle"), "{far}");
    let duplicate = store.add_meeting(&circle, date("2026-12-14"), None).unwrap_err();
    assert!(duplicate.to_string().contains("already meets on 2026-12-14"), "{duplicate}");
    let ancient = store.add_meeting(&circle, date("1999-12-27"), None).unwrap_err();
    assert_eq!(field_of(ancient), "local_date");
    let moved = store.reschedule_meeting(&before[0].id, date("2028-06-05"), None).unwrap_err();
    assert!(moved.to_string().contains("outside the circle"), "{moved}");
    assert_eq!(store.meetings(&circle).unwrap(), before);
    let generated =
        store.generate_schedule(&circle, &WeeklyRule { first_date: date("2027-01-04"), count: 3 }, false).unwrap_err();
    assert!(generated.to_string().contains("already has 4 meetings"), "{generated}");
}

#[test]
fn attendance_rules() {
    let (_dir, mut store) = store();
    let circle = chicago_circle(&mut store, "2026-12-07", 3);
    let other = chicago_circle(&mut store, "2026-12-08", 3);
    let meetings = store.meetings(&circle).unwrap();
    let ana = store.add_learner(&circle, &LearnerInput::new("Ana")).unwrap();
    let outsider = store.add_learner(&other, &LearnerInput::new("Bo")).unwrap();

    store.mark_attendance(&meetings[0].id, &ana, Mark::Late).unwrap();
    store.mark_attendance(&meetings[0].id, &ana, Mark::Present).unwrap();
    assert_eq!(store.meeting_marks(&meetings[0].id).unwrap().len(), 1, "one row per (meeting, learner)");

    let err = store.mark_attendance(&meetings[0].id, &outsider, Mark::Present).unwrap_err();
    assert!(err.to_string().contains("another circle"), "{err}");

    store.set_meeting_status(&meetings[1].id, MeetingStatus::Cancelled).unwrap();
    let err = store.mark_attendance(&meetings[1].id, &ana, Mark::Present).unwrap_err();
    assert!(err.to_string().contains("cancelled"), "{err}");

    store.clear_attendance(&meetings[0].id, &ana).unwrap();
    assert!(store.meeting_marks(&meetings[0].id).unwrap().is_empty());
    store.mark_attendance(&meetings[0].id, &ana, Mark::Excused).unwrap();
    assert_eq!(store.meeting_marks(&meetings[0].id).unwrap()[0].mark, Mark::Excused);

    let err = store.remove_meeting(&meetings[0].id).unwrap_err();
    assert!(err.to_string().contains("cancel it instead"), "{err}");

    store.set_learner_withdrawn(&ana, true).unwrap();
    let roster = store.roster(&meetings[2].id).unwrap();
    assert!(roster.is_empty(), "withdrawn learners leave the roster of meetings they did not attend");
    assert_eq!(store.roster(&meetings[0].id).unwrap().len(), 1, "but stay where they have a mark");
    assert_eq!(store.verify_change_log().unwrap(), []);
}

#[test]
fn learner_validation_and_signup_limit() {
    let (_dir, mut store) = store();
    let mut input = CircleInput::new("Small", "Europe/Lisbon", "18:00", 60);
    input.signup_limit = Some(1);
    let circle = store.create_circle(&input, None).unwrap();

    let mut bad = LearnerInput::new("Lena");
    bad.email = "lena@".into();
    assert_eq!(field_of(store.add_learner(&circle, &bad).unwrap_err()), "email");
    bad.email = "lena@example.org".into();
    bad.mobile = "555-0143".into();
    assert_eq!(field_of(store.add_learner(&circle, &bad).unwrap_err()), "mobile");
    bad.mobile = "+351 912 345 678".into();
    let lena = store.add_learner(&circle, &bad).unwrap();
    assert_eq!(store.learner(&lena).unwrap().fields.mobile, "+351912345678");

    let full = store.add_learner(&circle, &LearnerInput::new("Rui")).unwrap_err();
    assert!(full.to_string().contains("full"), "{full}");
    let mut walk_in = LearnerInput::new("Rui");
    walk_in.walk_in = true;
    store.add_learner(&circle, &walk_in).unwrap();

    input.signup_limit = Some(1);
    let err = store.update_circle(&circle, &input).unwrap_err();
    assert_eq!(field_of(err), "signup_limit");
}

#[test]
fn upcoming_uses_each_circles_own_today() {
    let (_dir, mut store) = store();
    let la = store
        .create_circle(
            &CircleInput::new("LA", "America/Los_Angeles", "18:00", 90),
            Some(&WeeklyRule { first_date: date("2026-12-07"), count: 2 }),
        )
        .unwrap();
    // 03:00 UTC on Dec 8 is 19:00 on Dec 7 in Los Angeles: the meeting is on now.
    let now = Utc.with_ymd_and_hms(2026, 12, 8, 3, 0, 0).unwrap();
    let upcoming = store.upcoming(now).unwrap();
    assert_eq!(upcoming.len(), 1);
    assert_eq!(upcoming[0].circle_id, la);
    assert!(upcoming[0].is_today);
    assert_eq!(upcoming[0].meeting.local_date, date("2026-12-07"));
    let summary = &store.list_circles().unwrap()[0];
    assert_eq!(summary.weekday.as_deref(), Some("Monday"));
}

#[test]
fn guides_feedback_and_teams() {
    let (_dir, mut store) = store();
    let circle = chicago_circle(&mut store, "2026-12-07", 2);
    let meeting = store.meetings(&circle).unwrap()[0].id.clone();
    let sections = vec![
        GuideSection { title: "Check-in".into(), minutes: 10, notes: "Go around the room".into() },
        GuideSection { title: "Course work".into(), minutes: 60, notes: String::new() },
    ];
    store.set_meeting_guide(&meeting, &sections, true).unwrap();
    let guide = store.meeting_guide(&meeting).unwrap().unwrap();
    assert_eq!((guide.total_minutes, guide.customized), (70, true));
    let bad = vec![GuideSection { title: "".into(), minutes: 10, notes: String::new() }];
    assert_eq!(field_of(store.set_meeting_guide(&meeting, &bad, true).unwrap_err()), "title");

    let feedback = FeedbackInput { rating: Some(6), ..Default::default() };
    assert_eq!(field_of(store.set_meeting_feedback(&meeting, &feedback).unwrap_err()), "rating");
    let feedback = FeedbackInput { rating: Some(4), reflection: "Lively".into(), ..Default::default() };
    store.set_meeting_feedback(&meeting, &feedback).unwrap();
    assert_eq!(store.meeting_feedback(&meeting).unwrap().unwrap().fields, feedback);

    let team = store.create_team("Riverbend Public Library").unwrap();
    let fatima = store.create_facilitator("Fatima", "fatima@example.org").unwrap();
    let carlos = store.create_facilitator("Carlos", "carlos@example.org").unwrap();
    assert_eq!(field_of(store.create_facilitator("Again", "FATIMA@example.org").unwrap_err()), "email");
    store.set_team_role(&team, &fatima, TeamRole::Member).unwrap();
    store.set_team_role(&team, &fatima, TeamRole::Organizer).unwrap();
    let members = store.team_members(&team).unwrap();
    assert_eq!((members.len(), members[0].role), (1, TeamRole::Organizer));
    store.add_circle_facilitator(&circle, &fatima).unwrap();
    assert!(store.remove_circle_facilitator(&circle, &fatima).is_err(), "the only facilitator stays");
    store.add_circle_facilitator(&circle, &carlos).unwrap();
    store.remove_circle_facilitator(&circle, &fatima).unwrap();
    assert_eq!(store.circle_facilitators(&circle).unwrap()[0].name, "Carlos");
    assert_eq!(store.verify_change_log().unwrap(), []);
}
