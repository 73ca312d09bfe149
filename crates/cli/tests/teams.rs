//! Teams through the real binary: a circle on one of my teams (the default
//! when I am in one), co-facilitators from the circle's team, copying a
//! circle for its next season, and the refused-changes list; each bad input
//! refused with a clear message and the data unchanged.

mod common;

use circles_core::sync::status::Account;
use circles_core::{Store, TeamRole};
use common::Folder;

struct Setup {
    f: Folder,
    dana: String,
}

/// Signed in as Fatima, member of "Riverbend"; "Lakeside" exists too.
fn setup() -> Setup {
    let f = Folder::new();
    let mut store = Store::open_in(f.dir.path()).unwrap();
    let riverbend = store.create_team("Riverbend").unwrap();
    let lakeside = store.create_team("Lakeside").unwrap();
    let me = store.create_facilitator("Fatima", "fatima@example.org").unwrap();
    let dana = store.create_facilitator("Dana", "dana@example.org").unwrap();
    let carlos = store.create_facilitator("Carlos", "carlos@example.org").unwrap();
    store.set_team_role(&riverbend, &me, TeamRole::Member).unwrap();
    store.set_team_role(&riverbend, &dana, TeamRole::Member).unwrap();
    store.set_team_role(&lakeside, &carlos, TeamRole::Organizer).unwrap();
    store
        .save_account(&Account {
            server_url: "https://circles.example.org".into(),
            email: "fatima@example.org".into(),
            user_name: "Fatima".into(),
            user_id: me,
            token: "t".into(),
        })
        .unwrap();
    Setup { f, dana }
}

const NEW: [&str; 9] = [
    "circle",
    "create",
    "--name",
    "Public Speaking",
    "--time-zone",
    "America/Chicago",
    "--start-time",
    "18:30",
    "--duration",
];

fn create(f: &Folder, extra: &[&str]) -> String {
    let mut args = NEW.to_vec();
    args.push("90");
    args.extend_from_slice(extra);
    f.id(&args)
}

#[test]
fn a_circle_goes_on_my_team_and_never_on_another() {
    let Setup { f, .. } = setup();
    let teams = f.ok(&["team", "list"]);
    assert!(teams.contains("Riverbend") && !teams.contains("Lakeside"), "{teams}");

    // My only team is the default; --no-team opts out.
    let circle = create(&f, &[]);
    assert_eq!(f.json(&["circle", "show", &circle])["team_id"], f.json(&["team", "list"])[0]["id"]);
    let bare = create(&f, &["--no-team"]);
    assert!(f.json(&["circle", "show", &bare])["team_id"].is_null());

    let mut args = NEW.to_vec();
    args.extend_from_slice(&["90", "--team", "Lakeside"]);
    let refused =
        f.refuses(&args, "you are not a member of team \"Lakeside\"; choose one of your teams: \"Riverbend\"");
    assert!(refused.stderr.contains("circle team_id"), "{}", refused.stderr);
    f.refuses(&["circle", "edit", &bare, "--team", "Lakeside"], "not a member of team \"Lakeside\"");
    f.refuses(&["circle", "edit", &bare, "--team", "Nowhere"], "no team");
    f.ok(&["circle", "edit", &bare, "--team", "riverbend"]);
    assert!(f.ok(&["circle", "show", &bare]).contains("Riverbend"));
}

#[test]
fn co_facilitators_are_added_once_from_the_team_and_removed() {
    let Setup { f, dana } = setup();
    let circle = create(&f, &[]);
    f.refuses(&["circle", "facilitator", "add", &circle, "carlos@example.org"], "Carlos is not in the circle's team");
    f.refuses(&["circle", "facilitator", "add", &circle, "nobody@example.org"], "no facilitator");
    let added = f.ok(&["circle", "facilitator", "add", &circle, "DANA@example.org"]);
    assert!(added.contains("Dana now facilitates \"Public Speaking\""), "{added}");
    let list = f.json(&["circle", "facilitator", "list", &circle]);
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Dana", "Fatima"], "adding the first co-facilitator lists me too");
    f.refuses(&["circle", "facilitator", "add", &circle, &dana], "Dana already facilitates this circle");
    let removed = f.ok(&["circle", "facilitator", "remove", &circle, "dana@example.org"]);
    assert!(removed.contains("their computer removes it at their next sync"), "{removed}");
    f.refuses(&["circle", "facilitator", "remove", &circle, "fatima@example.org"], "only facilitator");
}

#[test]
fn a_copy_has_new_dates_and_no_learners() {
    let Setup { f, .. } = setup();
    let circle = create(&f, &["--first-date", "2026-09-01", "--meetings", "6", "--venue-name", "Main Library"]);
    f.id(&["learner", "add", "--circle", &circle, "--name", "Ana"]);
    let copy = f.id(&["circle", "copy", &circle, "--first-date", "2027-02-01", "--weekday", "tuesday"]);
    let shown = f.json(&["circle", "show", &copy]);
    assert_eq!(
        (shown["name"].as_str(), shown["venue"]["name"].as_str()),
        (Some("Public Speaking"), Some("Main Library"))
    );
    assert_eq!(shown["status"], "draft");
    let meetings = f.json(&["schedule", "list", "--circle", &copy]);
    let meetings = meetings.as_array().unwrap();
    assert_eq!(meetings.len(), 6, "as many meetings as the original by default");
    assert_eq!(meetings[0]["local_date"], "2027-02-02", "the first Tuesday on or after the date");
    assert_eq!(f.json(&["learner", "list", "--circle", &copy]).as_array().unwrap().len(), 0);
    f.refuses(&["circle", "copy", &circle, "--first-date", "2027-02-01", "--meetings", "0"], "meeting");
    f.refuses(&["circle", "copy", &circle, "--first-date", "someday"], "date");
}

#[test]
fn nothing_refused_says_so() {
    let Setup { f, .. } = setup();
    assert!(f.ok(&["refused"]).contains("no refused changes"));
    assert_eq!(f.json(&["refused"]), serde_json::json!([]));
}

#[test]
fn a_retention_period_is_shown_set_turned_off_and_refused_out_of_range() {
    let Setup { f, .. } = setup();
    let shown = f.ok(&["team", "retention", "Riverbend"]);
    assert!(shown.contains("\"Riverbend\" keeps its learners until someone erases them."), "{shown}");
    let set = f.ok(&["team", "retention", "Riverbend", "--days", "90"]);
    assert!(set.contains("anonymizes its learners 90 days after each circle ends"), "{set}");
    let json = f.json(&["team", "retention", "Riverbend"]);
    assert_eq!(json["anonymize_after_days"], 90);
    for days in ["5", "29", "3651", "0"] {
        f.refuses(&["team", "retention", "Riverbend", "--days", days], "must be between 30 and 3650");
    }
    // Not a whole number of days: refused before anything runs, nothing changed.
    let usage = [vec!["--days=abc"], vec!["--days=-1"], vec!["--days=90.5"], vec!["--days", "90", "--off"]];
    for extra in usage {
        let mut args = vec!["team", "retention", "Riverbend"];
        args.extend(extra.iter().copied());
        let before = f.state();
        let failure = f.fails(&args);
        assert!(failure.stderr.contains("--days"), "{extra:?}: {}", failure.stderr);
        assert!(f.state() == before, "{extra:?} changed the saved data");
    }
    f.refuses(&["team", "retention", "Nowhere", "--days", "90"], "no team");
    assert_eq!(f.json(&["team", "retention", "Riverbend"])["anonymize_after_days"], 90, "unchanged");
    let off = f.ok(&["team", "retention", "Riverbend", "--off"]);
    assert!(off.contains("keeps its learners until someone erases them"), "{off}");
    assert_eq!(f.json(&["team", "retention", "Riverbend"])["anonymize_after_days"], serde_json::Value::Null);
}
