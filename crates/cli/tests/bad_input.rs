//! Bad input through the real binary: each is refused with a clear message
//! on stderr and a non-zero exit, and the saved data stays exactly as it was
//! (`Folder::refuses` compares the database bytes and the full export).

mod common;

use common::{circle_with_learners, Folder};

#[test]
fn an_unknown_time_zone_is_refused() {
    let f = Folder::new();
    let (circle, _, _) = circle_with_learners(&f);
    f.refuses(
        &[
            "circle",
            "create",
            "--name",
            "Mars",
            "--time-zone",
            "Mars/Olympus_Mons",
            "--start-time",
            "18:00",
            "--duration",
            "90",
        ],
        "circle time_zone: unknown time zone \"Mars/Olympus_Mons\": use an IANA name such as America/Chicago",
    );
    f.refuses(&["circle", "edit", &circle, "--time-zone", "Chicago"], "unknown time zone \"Chicago\"");
    // Other circle settings core checks.
    f.refuses(
        &[
            "circle",
            "create",
            "--name",
            "Late",
            "--time-zone",
            "Europe/Lisbon",
            "--start-time",
            "25:00",
            "--duration",
            "90",
        ],
        "invalid time \"25:00\"",
    );
    f.refuses(&["circle", "edit", &circle, "--online"], "circle meeting_link: is required for an online circle");
    f.refuses(
        &["circle", "edit", &circle, "--duration", "5000"],
        "circle duration_minutes: must be between 15 and 720",
    );
}

#[test]
fn a_malformed_email_or_mobile_is_refused() {
    let f = Folder::new();
    let (circle, _, [ana, _]) = circle_with_learners(&f);
    f.refuses(
        &["learner", "add", "--circle", &circle, "--name", "Lena", "--email", "lena@example"],
        "learner email: \"lena@example\" is not a valid email address (the domain must look like example.org)",
    );
    f.refuses(&["learner", "edit", &ana, "--email", "ana at example.org"], "is not a valid email address");
    f.refuses(&["learner", "add", "--circle", &circle, "--name", "Lena", "--mobile", "3125550143"], "learner mobile:");
    f.refuses(&["learner", "add", "--circle", &circle, "--name", "  "], "learner name: is required");
}

#[test]
fn a_meeting_date_outside_the_circle_is_refused() {
    let f = Folder::new();
    // Meetings on the six Tuesdays from 2026-03-03 to 2026-04-07.
    let (circle, meetings, _) = circle_with_learners(&f);
    f.refuses(
        &["meeting", "add", "--circle", &circle, "--date", "2027-04-01"],
        "meeting local_date: is outside the circle: its meetings must fall within 364 days of each other",
    );
    f.refuses(&["meeting", "move", &meetings[0], "--date", "2027-06-01"], "is outside the circle");
    f.refuses(
        &["meeting", "add", "--circle", &circle, "--date", "2026-03-10"],
        "meeting local_date: the circle already meets on 2026-03-10",
    );
    f.refuses(&["meeting", "move", &meetings[0], "--date", "2026-03-17"], "the circle already meets on 2026-03-17");
    f.refuses(
        &["meeting", "add", "--circle", &circle, "--date", "1999-12-31"],
        "date 1999-12-31 is outside the supported years 2000 to 2100",
    );
    f.refuses(&["meeting", "add", "--circle", &circle, "--date", "2026-02-30"], "invalid date \"2026-02-30\"");
    f.refuses(
        &["meeting", "add", "--circle", &circle, "--date", "2026-04-14", "--time", "6pm"],
        "invalid time \"6pm\"",
    );
    f.refuses(
        &["schedule", "generate", "--circle", &circle, "--first-date", "2026-05-01", "--meetings", "3"],
        "the circle already has 6 meetings",
    );
    f.refuses(
        &["schedule", "generate", "--circle", &circle, "--first-date", "2026-05-01", "--meetings", "53", "--replace"],
        "a schedule has 1 to 52 meetings, not 53",
    );
    f.refuses(
        &[
            "circle",
            "create",
            "--name",
            "Far",
            "--time-zone",
            "UTC",
            "--start-time",
            "18:00",
            "--duration",
            "60",
            "--first-date",
            "2100-12-01",
            "--meetings",
            "10",
        ],
        "outside the supported years",
    );
}

#[test]
fn attendance_for_a_learner_of_another_circle_is_refused() {
    let f = Folder::new();
    let (_, meetings, _) = circle_with_learners(&f);
    let other = f.id(&[
        "circle",
        "create",
        "--name",
        "Other",
        "--time-zone",
        "UTC",
        "--start-time",
        "10:00",
        "--duration",
        "60",
    ]);
    let stranger = f.id(&["learner", "add", "--circle", &other, "--name", "Stranger Danger"]);
    f.refuses(
        &["attendance", "mark", "--meeting", &meetings[0], "--learner", &stranger, "--mark", "present"],
        "attendance mark learner_id: Stranger Danger is a learner of another circle, not of the circle meeting on 2026-03-03",
    );
}

#[test]
fn attendance_on_a_cancelled_meeting_is_refused() {
    let f = Folder::new();
    let (_, meetings, [ana, _]) = circle_with_learners(&f);
    f.ok(&["meeting", "cancel", &meetings[1]]);
    f.refuses(
        &["attendance", "mark", "--meeting", &meetings[1], "--learner", &ana, "--mark", "present"],
        "the meeting on 2026-03-10 is cancelled; restore it before taking attendance",
    );
    f.refuses(&["meeting", "head-count", &meetings[1], "7"], "cannot be recorded for a cancelled meeting");
    // Restored, it takes attendance again.
    f.ok(&["meeting", "restore", &meetings[1]]);
    f.ok(&["attendance", "mark", "--meeting", &meetings[1], "--learner", &ana, "--mark", "present"]);
    // A meeting with attendance cannot be removed, and a mark must be a mark.
    f.refuses(&["meeting", "remove", &meetings[1]], "has 1 attendance marks; cancel it instead");
    f.refuses(
        &["attendance", "mark", "--meeting", &meetings[1], "--learner", &ana, "--mark", "here"],
        "\"here\" is not a mark; use present, late, excused or absent",
    );
    f.refuses(&["attendance", "clear", "--meeting", &meetings[2], "--learner", &ana], "no attendance mark with id");
}

#[test]
fn a_withdrawn_learner_cannot_be_marked() {
    let f = Folder::new();
    let (_, meetings, [_, ben]) = circle_with_learners(&f);
    f.ok(&["learner", "withdraw", &ben]);
    f.refuses(
        &["attendance", "mark", "--meeting", &meetings[0], "--learner", &ben, "--mark", "late"],
        "Ben Okafor has withdrawn from the circle",
    );
}

#[test]
fn unknown_and_ambiguous_ids_are_refused() {
    let f = Folder::new();
    let (circle, meetings, [ana, _]) = circle_with_learners(&f);
    f.refuses(&["circle", "show", "0000dead"], "no circle with id 0000dead");
    f.refuses(&["export", "circle", "ffffffff-0000-7000-8000-000000000000"], "no circle with id");
    f.refuses(&["learner", "show", &circle], "no learner with id");
    f.refuses(&["meeting", "cancel", "nope"], "no meeting with id nope");
    f.refuses(
        &["attendance", "mark", "--meeting", &meetings[0], "--learner", "a%b_", "--mark", "present"],
        "no learner with id a%b_",
    );
    f.refuses(&["learner", "add", "--circle", "missing", "--name", "X"], "no circle with id missing");
    f.refuses(&["circle", "edit", &circle, "--course", "nonexistent"], "no course with id nonexistent");
    f.refuses(&["learner", "show", &ana[..3]], "type at least 4 characters of the id");
    // Meetings made together share the time part of their ids.
    f.refuses(
        &["meeting", "held", &meetings[0][..4]],
        "is ambiguous: 6 meeting ids start with it; type more of the id",
    );
}

#[test]
fn a_corrupt_database_is_left_byte_for_byte_unchanged() {
    let f = Folder::new();
    // Deterministic garbage that is not a SQLite file.
    let mut x: u32 = 0x2545_f491;
    let garbage: Vec<u8> = (0..8192)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    std::fs::write(f.db(), &garbage).unwrap();
    let files_before = files(&f);
    for args in [vec!["circle", "list"], vec!["info"], vec!["demo"], vec!["course", "create", "--title", "X"]] {
        let failure = f.fails(&args);
        assert_eq!(failure.code, 1, "{args:?}");
        assert!(failure.stderr.starts_with("error: "), "{}", failure.stderr);
        // Garbage reads like an encrypted store whose key is gone: both are said.
        assert!(failure.stderr.contains("not a Circles store"), "{}", failure.stderr);
        assert!(failure.stderr.contains("The file was left untouched"), "{}", failure.stderr);
        assert_eq!(std::fs::read(f.db()).unwrap(), garbage, "{args:?} changed the file");
        assert_eq!(files(&f), files_before, "{args:?} left files behind");
    }
}

#[test]
fn a_database_from_a_newer_version_is_refused_unchanged() {
    let f = Folder::new();
    let (_, _, _) = circle_with_learners(&f);
    {
        let conn = circles_core::open_store_file_for_tests(f.db().parent().unwrap()).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let bytes = std::fs::read(f.db()).unwrap();
    for args in [vec!["circle", "list"], vec!["learner", "add", "--circle", "x", "--name", "Y"], vec!["info"]] {
        let failure = f.fails(&args);
        assert_eq!(failure.code, 1, "{args:?}");
        assert!(
            failure.stderr.contains("was written by a newer version of Circles (schema version 99"),
            "{}",
            failure.stderr
        );
        assert!(failure.stderr.contains("update Circles to open it. The file was not changed."), "{}", failure.stderr);
        assert_eq!(std::fs::read(f.db()).unwrap(), bytes, "{args:?} changed the file");
    }
}

#[test]
fn a_malformed_command_line_is_a_usage_error() {
    let f = Folder::new();
    let (circle, meetings, _) = circle_with_learners(&f);
    let before = f.state();
    for args in [
        vec!["circle", "create", "--name", "No zone"],
        vec!["circle", "create", "--name", "N", "--time-zone", "UTC", "--start-time", "18:00", "--duration", "ninety"],
        vec![
            "circle",
            "create",
            "--name",
            "N",
            "--time-zone",
            "UTC",
            "--start-time",
            "18:00",
            "--duration",
            "90",
            "--meetings",
            "3",
        ],
        vec!["meeting", "head-count", &meetings[0]],
        vec!["circle", "frobnicate"],
        vec!["learner", "add", "--circle", &circle],
    ] {
        let failure = f.fails(&args);
        assert_eq!(failure.code, 2, "{args:?}: {}", failure.stderr);
        assert!(failure.stderr.starts_with("error: "), "{}", failure.stderr);
    }
    assert!(f.state() == before);
    let failure = f.fails(&["today", "--at", "tomorrow"]);
    assert_eq!(failure.code, 1);
    assert!(failure.stderr.contains("expected RFC 3339"), "{}", failure.stderr);
}

#[test]
fn a_refused_edit_leaves_every_field_as_it_was() {
    let f = Folder::new();
    let (circle, _, _) = circle_with_learners(&f);
    // A good change and a bad one in the same command: neither lands.
    f.refuses(
        &["circle", "edit", &circle, "--name", "Renamed", "--language", "English"],
        "\"English\" is not a language code",
    );
    assert_eq!(f.json(&["circle", "show", &circle])["name"], "Speak Up");
    f.refuses(&["circle", "edit", &circle, "--signup-limit", "1"], "is 1 but 2 learners are already signed up");
}

fn files(f: &Folder) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn plain_http_to_another_computer_is_refused_before_the_password() {
    let f = Folder::new();
    circle_with_learners(&f);
    // Refused before anything is read or sent (stdin holds no password here).
    let failure = f.refuses(
        &["login", "--server", "http://sync.example.org", "--email", "ana@example.org"],
        "http://sync.example.org is plain HTTP: your password, and then learners' details, would cross the network unencrypted",
    );
    assert!(
        failure.stderr.contains("add --allow-plain-http to sign in anyway; nothing was sent"),
        "{}",
        failure.stderr
    );
    // With the flag it goes on (to the password, which is missing here).
    f.refuses(
        &["login", "--server", "http://sync.example.org", "--email", "ana@example.org", "--allow-plain-http"],
        "no password given",
    );
    // This computer needs no flag.
    f.refuses(&["login", "--server", "http://127.0.0.1:9", "--email", "ana@example.org"], "no password given");
}

#[test]
fn a_sign_in_sheet_of_an_unknown_circle_or_another_circles_meeting_is_refused() {
    let f = Folder::new();
    let (circle, meetings, _) = circle_with_learners(&f);
    let other = f.id(&[
        "circle",
        "create",
        "--name",
        "Other Circle",
        "--time-zone",
        "Europe/Lisbon",
        "--start-time",
        "10:00",
        "--duration",
        "60",
        "--first-date",
        "2026-03-04",
        "--meetings",
        "2",
    ]);
    let theirs = common::meeting_ids(&f, &other);
    let out = f.dir.path().join("sheet.pdf");
    let out = out.to_str().unwrap();
    f.refuses(&["report", "sign-in-sheet", "0000dead", "--out", out], "no circle with id 0000dead");
    f.refuses(
        &["report", "sign-in-sheet", &circle, "--meeting", &theirs[0], "--out", out],
        "belongs to another circle, not to \"Speak Up\"",
    );
    f.refuses(&["report", "sign-in-sheet", &circle, "--meeting", "0000dead", "--out", out], "no meeting with id");
    f.refuses(&["report", "sign-in-sheet", &circle, "--paper", "a5", "--out", out], "unknown paper size");
    f.ok(&["meeting", "cancel", &meetings[0]]);
    f.refuses(&["report", "sign-in-sheet", &circle, "--meeting", &meetings[0], "--out", out], "is cancelled");
    assert!(!std::path::Path::new(out).exists(), "a refused sheet writes no file");
}
