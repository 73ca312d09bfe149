//! A facilitator's whole journey through the real binary: catalogue, circle
//! and schedule, learners, check-in, the Today view and the exports.

mod common;

use common::{circle_with_learners, meeting_ids, Folder};
use serde_json::Value;

#[test]
fn plan_run_and_export_a_circle() {
    let f = Folder::new();

    // Catalogue.
    let course = f.id(&[
        "course",
        "create",
        "--title",
        "Programming with Python",
        "--provider",
        "MIT OpenCourseWare via P2PU",
        "--link",
        "http://python.p2pu.org/",
        "--language",
        "en",
        "--topics",
        "python, programming",
    ]);
    let courses = f.json(&["course", "list", "--search", "python"]);
    assert_eq!(courses[0]["id"], course.as_str());
    assert_eq!(courses[0]["topics"], serde_json::json!(["python", "programming"]));

    // A circle on Tuesdays from the first Tuesday on or after March 1st,
    // naming its course by a prefix of the id.
    let circle = f.id(&[
        "circle",
        "create",
        "--name",
        "Python Programming Basics",
        "--time-zone",
        "America/Chicago",
        "--start-time",
        "18:00",
        "--duration",
        "90",
        "--first-date",
        "2026-03-01",
        "--weekday",
        "tuesday",
        "--meetings",
        "6",
        "--course",
        &course[..13],
        "--venue-name",
        "Riverbend Central Library",
        "--city",
        "Riverbend",
        "--signup-limit",
        "12",
        "--publish",
    ]);
    let meetings = f.json(&["schedule", "list", "--circle", &circle]);
    let dates: Vec<&str> = meetings.as_array().unwrap().iter().map(|m| m["local_date"].as_str().unwrap()).collect();
    assert_eq!(dates, ["2026-03-03", "2026-03-10", "2026-03-17", "2026-03-24", "2026-03-31", "2026-04-07"]);
    let meeting: Vec<String> = meeting_ids(&f, &circle);

    let listed = f.json(&["circle", "list"]);
    assert_eq!(listed[0]["name"], "Python Programming Basics");
    assert_eq!(listed[0]["course_title"], "Programming with Python");
    assert_eq!(listed[0]["status"], "published");
    assert_eq!(listed[0]["meeting_count"], 6);
    let table = f.ok(&["circle", "list"]);
    assert!(table.starts_with("ID "), "{table}");
    assert!(table.contains("Tue 18:00–19:30"), "{table}");

    // Learners, one of them a walk-in; contact details are shown.
    let ana = f.id(&[
        "learner",
        "add",
        "--circle",
        &circle,
        "--name",
        "Aaliyah Johnson",
        "--email",
        "Aaliyah@Example.org",
        "--mobile",
        "+1 (312) 555-0101",
        "--goals",
        "Automate my spreadsheets",
        "--consent",
    ]);
    let carlos =
        f.id(&["learner", "add", "--circle", &circle, "--name", "Carlos Mendoza", "--email", "carlos@example.net"]);
    let tomasz = f.id(&["learner", "add", "--circle", &circle, "--name", "Tomasz Kowalski", "--walk-in"]);
    let learners = f.json(&["learner", "list", "--circle", &circle]);
    assert_eq!(learners.as_array().unwrap().len(), 3);
    assert_eq!(learners[0]["email"], "aaliyah@example.org", "stored lower-case");
    assert_eq!(learners[0]["mobile"], "+13125550101", "stored in E.164");
    assert_eq!(learners[0]["consent"], true);
    assert_eq!(learners[2]["walk_in"], true);
    let table = f.ok(&["learner", "list", "--circle", &circle]);
    assert!(table.contains("aaliyah@example.org") && table.contains("+13125550101"), "{table}");

    // First meeting: check everyone in (ids by prefix), and record it as held.
    f.ok(&["attendance", "mark", "--meeting", &meeting[0], "--learner", &ana, "--mark", "present"]);
    f.ok(&["attendance", "mark", "--meeting", &meeting[0], "--learner", &carlos, "--mark", "late"]);
    f.ok(&["attendance", "mark", "--meeting", &meeting[0], "--learner", &tomasz, "--mark", "a"]);
    f.ok(&["meeting", "held", &meeting[0]]);
    f.ok(&["meeting", "notes", &meeting[0], "Everyone installed Python."]);
    let roster = f.json(&["attendance", "roster", "--meeting", &meeting[0]]);
    let marks: Vec<&str> = roster.as_array().unwrap().iter().map(|e| e["mark"].as_str().unwrap()).collect();
    assert_eq!(marks, ["present", "late", "absent"]);
    let roster = f.ok(&["attendance", "roster", "--meeting", &meeting[0]]);
    assert!(roster.contains("1 present, 1 late, 1 absent"), "{roster}");

    // A changed mark, a cleared one, a cancelled and a moved meeting, a head count.
    f.ok(&["attendance", "mark", "--meeting", &meeting[0], "--learner", &tomasz, "--mark", "excused"]);
    f.ok(&["attendance", "mark", "--meeting", &meeting[1], "--learner", &ana, "--mark", "present"]);
    f.ok(&["attendance", "clear", "--meeting", &meeting[1], "--learner", &ana]);
    f.ok(&["meeting", "cancel", &meeting[2]]);
    f.ok(&["meeting", "move", &meeting[3], "--date", "2026-03-26", "--time", "17:30"]);
    f.ok(&["meeting", "head-count", &meeting[1], "4"]);

    // The Today view, at noon in Chicago on the second meeting's day.
    let today = f.json(&["today", "--at", "2026-03-10T17:00:00Z"]);
    assert_eq!(today[0]["circle_name"], "Python Programming Basics");
    assert_eq!(today[0]["is_today"], true);
    assert_eq!(today[0]["meeting"]["local_date"], "2026-03-10");
    let text = f.ok(&["today", "--at", "2026-03-10T17:00:00Z"]);
    assert!(text.contains("TODAY") && text.contains("18:00–19:30") && text.contains("America/Chicago"), "{text}");
    // The day after, the next meeting is the moved one (the cancelled one is skipped).
    let next = f.json(&["today", "--at", "2026-03-11T17:00:00Z"]);
    assert_eq!(next[0]["is_today"], false);
    assert_eq!(next[0]["meeting"]["local_date"], "2026-03-26");
    assert_eq!(next[0]["meeting"]["local_time"], "17:30");

    // JSON export: everything, in a fixed order, the same bytes every time.
    let export = f.json(&["export", "circle", &circle[..13]]);
    assert_eq!(export["circle"]["name"], "Python Programming Basics");
    assert_eq!(export["course"]["title"], "Programming with Python");
    assert_eq!(export["meetings"].as_array().unwrap().len(), 6);
    assert_eq!(export["meetings"][2]["status"], "cancelled");
    assert_eq!(export["learners"].as_array().unwrap().len(), 3);
    let marks: Vec<(&str, &str)> = export["attendance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["learner_id"].as_str().unwrap(), a["mark"].as_str().unwrap()))
        .collect();
    assert_eq!(marks, [(ana.as_str(), "present"), (carlos.as_str(), "late"), (tomasz.as_str(), "excused")]);
    assert_eq!(export["head_counts"][0]["count"], 4);
    assert_eq!(f.ok(&["export", "circle", &circle]), f.ok(&["export", "circle", &circle]));

    // CSV export to a file.
    let csv_path = f.dir.path().join("attendance.csv");
    let said = f.ok(&["export", "attendance", &circle, "--out", csv_path.to_str().unwrap()]);
    assert!(said.contains("attendance.csv"), "{said}");
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "circle,meeting_number,meeting_date,weekday,local_time,time_zone,meeting_status,row_type,learner,learner_status,mark,attended,head_count"
    );
    assert_eq!(
        &lines[1..8],
        [
            "Python Programming Basics,1,2026-03-03,Tuesday,18:00,America/Chicago,held,learner,Aaliyah Johnson,signed up,present,1,",
            "Python Programming Basics,1,2026-03-03,Tuesday,18:00,America/Chicago,held,learner,Carlos Mendoza,signed up,late,1,",
            "Python Programming Basics,1,2026-03-03,Tuesday,18:00,America/Chicago,held,learner,Tomasz Kowalski,walk-in,excused,0,",
            "Python Programming Basics,2,2026-03-10,Tuesday,18:00,America/Chicago,scheduled,learner,Aaliyah Johnson,signed up,,,",
            "Python Programming Basics,2,2026-03-10,Tuesday,18:00,America/Chicago,scheduled,learner,Carlos Mendoza,signed up,,,",
            "Python Programming Basics,2,2026-03-10,Tuesday,18:00,America/Chicago,scheduled,learner,Tomasz Kowalski,walk-in,,,",
            "Python Programming Basics,2,2026-03-10,Tuesday,18:00,America/Chicago,scheduled,head count,,,,,4",
        ]
    );
    assert!(!csv.contains("2026-03-17"), "the cancelled meeting is left out");
    assert!(
        csv.contains("Python Programming Basics,3,2026-03-26,Thursday,17:30,"),
        "the moved meeting keeps its place"
    );
    // 5 meetings x 3 learners + 1 head count + the header.
    assert_eq!(lines.len(), 17);

    // Export everything, and the store's figures.
    let all = f.json(&["export", "all"]);
    assert_eq!(all["circles"].as_array().unwrap().len(), 1);
    let info = f.json(&["info"]);
    assert_eq!(info["row_counts"]["circles"], 1);
    assert_eq!(info["row_counts"]["learners"], 3);
    assert_eq!(info["row_counts"]["attendance"], 3);
    assert!(info["database_path"].as_str().unwrap().ends_with("circles.sqlite"));
    assert!(f.ok(&["info"]).contains("schema version"));
}

#[test]
fn edits_change_only_what_is_given() {
    let f = Folder::new();
    let (circle, meetings, [ana, _]) = circle_with_learners(&f);

    f.ok(&[
        "circle",
        "edit",
        &circle,
        "--name",
        "Speak Up!",
        "--online",
        "--meeting-link",
        "https://meet.example.org/speak",
    ]);
    let shown = f.json(&["circle", "show", &circle]);
    assert_eq!(shown["name"], "Speak Up!");
    assert_eq!(shown["online"], true);
    assert_eq!(shown["time_zone"], "America/New_York", "untouched");
    assert_eq!(shown["venue"]["name"], "Harbor Street Library", "untouched");
    assert!(shown["course_id"].is_string());
    f.ok(&["circle", "edit", "--publish", &circle, "--no-course"]);
    let shown = f.json(&["circle", "show", &circle]);
    assert_eq!(shown["status"], "published");
    assert_eq!(shown["course_id"], Value::Null);
    f.ok(&["circle", "edit", &circle, "--publish=no", "--signup-limit", "5"]);
    let shown = f.json(&["circle", "show", &circle]);
    assert_eq!(shown["status"], "draft");
    assert_eq!(shown["signup_limit"], 5);
    let text = f.ok(&["circle", "show", &circle]);
    assert!(text.contains("Speak Up!") && text.contains("Meetings (6)"), "{text}");

    f.ok(&["learner", "edit", &ana, "--mobile", "+351 912 345 678", "--consent=yes", "--support-needs", "Large print"]);
    let learner = f.json(&["learner", "show", &ana]);
    assert_eq!(learner["name"], "Ana Souza", "untouched");
    assert_eq!(learner["email"], "ana@example.org", "untouched");
    assert_eq!(learner["mobile"], "+351912345678");
    assert_eq!(learner["consent"], true);
    f.ok(&["learner", "withdraw", &ana]);
    assert_eq!(f.json(&["learner", "show", &ana])["withdrawn"], true);
    f.ok(&["learner", "withdraw", &ana, "--undo"]);
    assert_eq!(f.json(&["learner", "show", &ana])["withdrawn"], false);

    let course = f.id(&["course", "create", "--title", "Old course"]);
    f.ok(&["course", "edit", &course, "--archived", "--caption", "Superseded"]);
    let visible: Vec<Value> = f.json(&["course", "list"]).as_array().unwrap().clone();
    assert!(visible.iter().all(|c| c["id"] != course.as_str()), "archived courses are hidden");
    let all = f.json(&["course", "list", "--archived"]);
    assert!(all.as_array().unwrap().iter().any(|c| c["id"] == course.as_str() && c["caption"] == "Superseded"));
    f.ok(&["course", "delete", &course]);
    assert_eq!(f.json(&["course", "list", "--archived"]).as_array().unwrap().len(), 1);

    // Schedule: replace it, add and remove single meetings.
    f.ok(&["meeting", "remove", &meetings[5]]);
    let added = f.id(&["meeting", "add", "--circle", &circle, "--date", "2026-04-09", "--time", "19:00"]);
    let listed = f.json(&["schedule", "list", "--circle", &circle]);
    assert_eq!(listed[5]["id"], added.as_str());
    assert_eq!(listed[5]["local_time"], "19:00");
    let replaced = f.json(&[
        "schedule",
        "generate",
        "--circle",
        &circle,
        "--first-date",
        "2026-05-01",
        "--weekday",
        "mon",
        "--meetings",
        "3",
        "--replace",
    ]);
    let dates: Vec<&str> = replaced.as_array().unwrap().iter().map(|m| m["local_date"].as_str().unwrap()).collect();
    assert_eq!(dates, ["2026-05-04", "2026-05-11", "2026-05-18"]);

    f.ok(&["learner", "delete", &ana]);
    assert_eq!(f.json(&["learner", "list", "--circle", &circle]).as_array().unwrap().len(), 1);
    f.ok(&["circle", "delete", &circle]);
    assert_eq!(f.json(&["circle", "list"]), serde_json::json!([]));
    assert!(f.ok(&["circle", "list"]).contains("No circles yet"));
}

#[test]
fn every_listing_prints_json() {
    let f = Folder::new();
    let summary = f.json(&["demo", "--today", "2026-03-10"]);
    assert_eq!(summary["circles"].as_array().unwrap().len(), 5);
    let circle = summary["circles"][0]["id"].as_str().unwrap().to_string();
    let meeting = f.json(&["schedule", "list", "--circle", &circle])[0]["id"].as_str().unwrap().to_string();
    let learner = f.json(&["learner", "list", "--circle", &circle])[0]["id"].as_str().unwrap().to_string();
    let course = f.json(&["course", "list"])[0]["id"].as_str().unwrap().to_string();
    for args in [
        vec!["course", "list"],
        vec!["course", "list", "--archived", "--language", "es"],
        vec!["course", "show", &course],
        vec!["circle", "list"],
        vec!["circle", "show", &circle],
        vec!["schedule", "list", "--circle", &circle],
        vec!["learner", "list", "--circle", &circle],
        vec!["learner", "show", &learner],
        vec!["attendance", "roster", "--meeting", &meeting],
        vec!["today"],
        vec!["info"],
    ] {
        let value = f.json(&args);
        assert!(value.is_array() || value.is_object(), "{args:?}: {value}");
    }
    // The global flag works before the command too.
    let out = f.ok(&["--json", "circle", "list"]);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap().as_array().unwrap().len(), 5);
    let spanish = f.json(&["course", "list", "--language", "es"]);
    assert!(spanish.as_array().unwrap().iter().all(|c| c["language"] == "es"));
}

#[test]
fn demo_reads_well_and_is_not_loaded_twice_by_accident() {
    let f = Folder::new();
    let out = f.ok(&["demo", "--today", "2026-03-10"]);
    assert!(out.contains("Riverbend Public Library"), "{out}");
    assert!(out.contains("Meeting today: \"Python Programming Basics\""), "{out}");
    let today = f.ok(&["today", "--at", "2026-03-10T17:00:00Z"]);
    let first = today.lines().nth(1).unwrap();
    assert!(first.starts_with("TODAY") && first.contains("Python Programming Basics"), "{today}");
    let circles = f.ok(&["circle", "list"]);
    for zone in ["America/Chicago", "America/New_York", "America/Los_Angeles", "Europe/Lisbon", "America/Mexico_City"] {
        assert!(circles.contains(zone), "{circles}");
    }

    let refused = f.refuses(&["demo"], "already has 5 circle(s)");
    assert!(refused.stderr.contains("hint: run `circles demo --force`"), "{}", refused.stderr);
    f.ok(&["demo", "--force", "--today", "2026-03-10"]);
    assert_eq!(f.json(&["circle", "list"]).as_array().unwrap().len(), 10);
}

#[test]
fn the_data_folder_can_come_from_the_environment() {
    let f = Folder::new();
    let mut cmd = assert_cmd::Command::cargo_bin("circles").unwrap();
    let out =
        cmd.env("CIRCLES_DATA_DIR", f.dir.path()).env_remove("RUST_LOG").args(["info", "--json"]).output().unwrap();
    assert!(out.status.success());
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["data_dir"], f.dir.path().to_str().unwrap());
    assert!(f.db().exists());
}
