//! Meeting guides, after-meeting feedback, the wrap-up and reports through
//! the real binary.

mod common;

use common::{circle_with_learners, Folder};
use serde_json::Value;

fn titles(guide: &Value) -> Vec<String> {
    guide["sections"].as_array().unwrap().iter().map(|s| s["title"].as_str().unwrap().to_string()).collect()
}

/// Page objects in a PDF (`/Type /Page`, not `/Type /Pages`).
fn pages(pdf: &[u8]) -> usize {
    let needle = b"/Type /Page";
    pdf.windows(needle.len() + 1).filter(|w| &w[..needle.len()] == needle && w[needle.len()] != b's').count()
}

#[test]
fn guides_follow_the_schedule_and_can_be_edited_and_printed() {
    let f = Folder::new();
    let (circle, meetings, _) = circle_with_learners(&f);

    let first = f.json(&["guide", "show", &meetings[0]]);
    assert_eq!(first["kind"], "first");
    assert_eq!(first["template"], "builtin/en/first@1");
    assert_eq!(first["total_minutes"], 90);
    let text = f.ok(&["guide", "show", &meetings[1]]);
    assert!(text.contains("Speak Up: meeting 2 of 6 (middle meeting)"), "{text}");
    assert!(text.contains("1  18:30  10   Check-in"), "{text}");
    assert!(text.contains("Total: 90 of 90 minutes."), "{text}");

    // Section edits, numbered from 1 as shown.
    f.ok(&["guide", "edit", &meetings[1], "--section", "1", "--title", "Tea and check-in", "--minutes", "15"]);
    let out = f.ok(&["guide", "add", &meetings[1], "--title", "Stretch", "--minutes", "5", "--at", "2"]);
    assert!(out.contains("add up to 100 of 90 minutes"), "{out}");
    assert!(out.contains("warning: The sections add up to 100 minutes, 10 more than the 90-minute meeting."), "{out}");
    f.ok(&["guide", "move", &meetings[1], "--section", "2", "--to", "7"]);
    let guide = f.json(&["guide", "remove", &meetings[1], "--section", "7"]);
    assert_eq!(titles(&guide)[..2], ["Tea and check-in", "Goals for today"]);
    assert_eq!((guide["customized"].as_bool(), guide["total_minutes"].as_u64()), (Some(true), Some(95)));
    f.refuses(&["guide", "remove", &meetings[1], "--section", "9"], "there is no section 9; the guide has 6 sections");
    f.refuses(&["guide", "edit", &meetings[1], "--section", "1", "--minutes", "0"], "minutes");
    f.refuses(&["guide", "remove", &meetings[1], "--section", "0"], "sections are numbered from 1");

    // Adding a meeting re-derives every guide a person did not edit.
    f.ok(&["meeting", "add", "--circle", &circle, "--date", "2026-04-14"]);
    assert_eq!(f.json(&["guide", "show", &meetings[5]])["template"], "builtin/en/middle@1");
    assert_eq!(titles(&f.json(&["guide", "show", &meetings[1]]))[0], "Tea and check-in");
    let reset = f.json(&["guide", "reset", &meetings[1]]);
    assert_eq!((reset["customized"].as_bool(), titles(&reset)[0].as_str()), (Some(false), "Check-in"));

    // The run sheet: one page of PDF, to a file or to a pipe.
    let pdf = f.dir.path().join("run.pdf");
    let out = f.ok(&["guide", "print", &meetings[0], "--out", pdf.to_str().unwrap(), "--paper", "a4"]);
    assert!(out.starts_with("Wrote the run sheet of meeting 1 to "), "{out}");
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    assert_eq!(pages(&bytes), 1);
    let piped = f.command(&["guide", "print", &meetings[0]]).output().unwrap();
    assert!(piped.status.success() && piped.stdout.starts_with(b"%PDF-"));
    f.refuses(&["guide", "print", &meetings[0], "--paper", "a5", "--out", "x.pdf"], "unknown paper size");
}

#[test]
fn a_circles_guides_become_a_template_for_the_next_circle() {
    let f = Folder::new();
    let (circle, meetings, _) = circle_with_learners(&f);
    f.ok(&["guide", "edit", &meetings[0], "--section", "1", "--title", "Coffee and welcome"]);
    let template = f.id(&["guide", "template", "save", "--circle", &circle, "--name", "Speak Up plan"]);
    let list = f.json(&["guide", "template", "list"]);
    assert_eq!(list[0]["name"], "Speak Up plan");
    let next = f.id(&[
        "circle",
        "create",
        "--name",
        "Speak Up again",
        "--time-zone",
        "America/New_York",
        "--start-time",
        "18:30",
        "--duration",
        "120",
        "--first-date",
        "2026-09-01",
        "--meetings",
        "4",
    ]);
    let out = f.ok(&["guide", "template", "use", &template[..8], "--circle", &next]);
    assert!(out.contains("now come from \"Speak Up plan\" (4 guides changed)"), "{out}");
    let first = common::meeting_ids(&f, &next)[0].clone();
    let guide = f.json(&["guide", "show", &first]);
    assert_eq!(titles(&guide)[0], "Coffee and welcome");
    assert_eq!(guide["total_minutes"], 120);
    f.ok(&["guide", "template", "clear", "--circle", &next]);
    assert_eq!(f.json(&["guide", "show", &first])["template"], "builtin/en/first@1");
    f.ok(&["guide", "template", "delete", &template]);
    assert_eq!(f.json(&["guide", "template", "list"]), serde_json::json!([]));
}

#[test]
fn feedback_after_the_meeting_and_its_note_in_next_weeks_guide() {
    let f = Folder::new();
    let (_circle, meetings, [ana, ben]) = circle_with_learners(&f);
    f.ok(&["attendance", "mark", "--meeting", &meetings[0], "--learner", &ana, "--mark", "present"]);
    f.ok(&["attendance", "mark", "--meeting", &meetings[0], "--learner", &ben, "--mark", "late"]);

    // 2026-03-03 18:30 in New York + 90 min = 20:00 EST = 01:00 UTC on the 4th.
    let pending = f.json(&["feedback", "pending", "--at", "2026-03-04T00:59:00Z"]);
    assert_eq!(pending, serde_json::json!([]));
    let pending = f.json(&["feedback", "pending", "--at", "2026-03-04T01:00:00Z"]);
    assert_eq!(pending[0]["meeting"]["id"], meetings[0].as_str());
    let out = f.ok(&["feedback", "pending", "--at", "2026-03-04T01:00:00Z"]);
    assert!(out.contains("Speak Up"), "{out}");

    let out = f.ok(&[
        "feedback",
        &meetings[0],
        "--rating",
        "4",
        "--prompt",
        "1",
        "--reflection",
        "Warm, talkative group.",
        "--next-week",
        "Start with the two-minute talks.",
    ]);
    assert!(out.contains("will show in the next meeting's guide"), "{out}");
    let shown = f.json(&["feedback", "show", &meetings[0]]);
    assert_eq!(shown["feedback"]["reflection_prompt"], "What went well today?");
    assert_eq!(shown["attendance"]["present"], 1);
    assert_eq!(shown["attendance"]["late"], 1);
    let text = f.ok(&["feedback", "show", &meetings[0]]);
    assert!(text.contains("2 attended (1 present, 1 late), 0 excused, 0 absent, 0 not marked"), "{text}");
    // Only the options given change.
    f.ok(&["feedback", &meetings[0], "--rating", "5"]);
    let shown = f.json(&["feedback", "show", &meetings[0]]);
    assert_eq!(
        (shown["feedback"]["rating"].as_u64(), shown["feedback"]["reflection"].as_str()),
        (Some(5), Some("Warm, talkative group."))
    );
    assert_eq!(f.json(&["feedback", "pending", "--at", "2026-03-04T01:00:00Z"]), serde_json::json!([]));

    let next = f.json(&["guide", "show", &meetings[1]]);
    assert_eq!(next["note_from_last_meeting"]["text"], "Start with the two-minute talks.");
    assert!(f
        .ok(&["guide", "show", &meetings[1]])
        .contains("Note from the last meeting (2026-03-03):\n  Start with the two-minute talks."));

    f.refuses(&["feedback", &meetings[1], "--rating", "6"], "rating: must be between 1 and 5");
    f.refuses(&["feedback", &meetings[1]], "nothing to record");
    assert!(f.ok(&["feedback", "prompts", "--language", "es"]).starts_with("1. ¿Qué salió bien hoy?  (went-well)"));
}

#[test]
fn wrap_up_only_after_the_last_meeting() {
    let f = Folder::new();
    let (circle, _, _) = circle_with_learners(&f);
    // The last meeting, 2026-04-07 18:30 EDT, ends at 20:00 EDT = 00:00 UTC on the 8th.
    f.refuses(
        &[
            "wrapup",
            &circle,
            "--completed",
            "--goal-rating",
            "4",
            "--course-rating",
            "5",
            "--at",
            "2026-04-07T23:59:00Z",
        ],
        "has not ended yet (it ends Tue 2026-04-07 at 20:00 America/New_York)",
    );
    f.refuses(
        &["wrapup", &circle, "--completed", "--course-rating", "5", "--at", "2026-04-08T00:00:00Z"],
        "goal_rating",
    );
    f.refuses(&["wrapup", &circle, "--goal-rating", "4"], "--completed or --did-not-happen");
    let wrap = f.json(&[
        "wrapup",
        &circle,
        "--completed",
        "--goal",
        "Everyone gives a talk",
        "--goal-rating",
        "4",
        "--course-rating",
        "5",
        "--reason",
        "Practical",
        "--at",
        "2026-04-08T00:00:00Z",
    ]);
    assert_eq!(wrap["outcome"], "completed");
    let shown = f.ok(&["wrapup", &circle]);
    assert!(
        shown.contains("outcome:") && shown.contains("completed") && shown.contains("Everyone gives a talk"),
        "{shown}"
    );
    let report = f.json(&["report", "circle", &circle, "--format", "json"]);
    assert_eq!(report["wrap_up"]["course_rating"], 5);
    let dnh = f.json(&["wrapup", &circle, "--did-not-happen"]);
    assert_eq!(dnh["outcome"], "did_not_happen");
}

#[test]
fn reports_as_csv_json_and_pdf() {
    let f = Folder::new();
    let (circle, meetings, [ana, ben]) = circle_with_learners(&f);
    for (m, l, mark) in [(0, &ana, "present"), (0, &ben, "absent"), (1, &ana, "late"), (1, &ben, "present")] {
        f.ok(&["attendance", "mark", "--meeting", &meetings[m], "--learner", l, "--mark", mark]);
    }
    f.ok(&["meeting", "cancel", &meetings[2]]);
    f.ok(&["meeting", "head-count", &meetings[3], "7"]);
    f.ok(&["feedback", &meetings[0], "--rating", "3"]);

    let csv = f.ok(&["report", "circle", &circle, "--format", "csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "row,meeting_number,meeting_date,weekday,local_time,status,held,present,late,excused,absent,attended,head_count,attendance,attendance_rate,rating");
    assert_eq!(lines[1], "meeting,1,2026-03-03,Tuesday,18:30,scheduled,1,1,0,0,1,1,,1,0.5000,3");
    assert_eq!(lines[3], "meeting,3,2026-03-24,Tuesday,18:30,scheduled,1,0,0,0,0,0,7,7,,");
    assert!(lines.contains(&"cancelled,,2026-03-17,Tuesday,,cancelled,0,,,,,,,,,"), "{csv}");
    assert_eq!(*lines.last().unwrap(), "total,5,,,,,3,2,1,0,1,3,7,10,0.7500,3.00");

    let json = f.json(&["report", "circle", &circle]);
    assert_eq!(json["summary"]["meetings_held"], 3);
    assert_eq!(json["summary"]["learners_at_least_half"], 1, "Ana 2 of 3 held; Ben 1 of 3");
    assert_eq!(json["counting"], "mixed");
    let text = f.ok(&["report", "circle", &circle]);
    assert!(text.contains("Meetings held: 3 of 5 (1 cancelled)"), "{text}");

    let pdf = f.dir.path().join("circle.pdf");
    f.ok(&["report", "circle", &circle, "--format", "pdf", "--out", pdf.to_str().unwrap()]);
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-") && pages(&bytes) == 1);

    // A team report over a chosen period.
    f.ok(&["demo", "--today", "2026-03-10", "--force"]);
    let export = f.json(&["export", "all"]);
    let team_id = export["teams"][0]["id"].as_str().unwrap().to_string();
    let csv = f.ok(&["report", "team", &team_id[..8], "--from", "2026-01-01", "--to", "2026-03-31", "--format", "csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[1].starts_with("total,2026-01-01 to 2026-03-31,2,"), "{csv}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("month,")).count(), 3);
    let team_pdf = f.dir.path().join("team.pdf");
    f.ok(&[
        "report",
        "team",
        &team_id,
        "--from",
        "2026-01-01",
        "--to",
        "2026-03-31",
        "--format",
        "pdf",
        "--out",
        team_pdf.to_str().unwrap(),
    ]);
    assert!(std::fs::read(&team_pdf).unwrap().starts_with(b"%PDF-"));
    f.refuses(
        &["report", "team", &team_id, "--from", "2026-04-01", "--to", "2026-03-01"],
        "the period starts (2026-04-01) after it ends",
    );
    f.refuses(&["report", "team", &team_id, "--from", "2026-13-01", "--to", "2026-03-01"], "invalid date");
}

#[test]
fn a_sign_in_sheet_prints_a_page_per_meeting_and_rides_with_the_run_sheet() {
    let f = Folder::new();
    let (circle, meetings, _) = circle_with_learners(&f);
    f.ok(&["meeting", "cancel", &meetings[5]]);
    let pdf = f.dir.path().join("sign-in.pdf");
    let out = f.ok(&["report", "sign-in-sheet", &circle, "--paper", "a4", "--out", pdf.to_str().unwrap()]);
    assert!(out.starts_with("Wrote the sign-in sheet of \"Speak Up\" (5 meetings) to "), "{out}");
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    assert_eq!(pages(&bytes), 5, "one page per meeting not cancelled");

    let out = f.ok(&["report", "sign-in-sheet", &circle, "--meeting", &meetings[1], "--out", pdf.to_str().unwrap()]);
    assert!(out.starts_with("Wrote the sign-in sheet of \"Speak Up\", meeting 2 to "), "{out}");
    assert_eq!(pages(&std::fs::read(&pdf).unwrap()), 1);

    let run = f.dir.path().join("run.pdf");
    f.ok(&["guide", "print", &meetings[0], "--include-sign-in", "--out", run.to_str().unwrap()]);
    assert_eq!(pages(&std::fs::read(&run).unwrap()), 2, "the run sheet, then its sign-in page");
}
