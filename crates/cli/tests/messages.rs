//! `circles message ...` and `circles meeting reminder-message`: what a
//! circle's learners receive, written offline. Bad input is refused with a
//! clear message on stderr, exit code 1, and the saved data unchanged.

mod common;

use common::{meeting_ids, Folder};

/// A published circle in Chicago with three Tuesday meetings in January
/// 2030 and two learners, one who agreed to be contacted by email.
fn published_circle(f: &Folder) -> (String, Vec<String>) {
    let circle = f.id(&[
        "circle",
        "create",
        "--name",
        "Spreadsheets",
        "--time-zone",
        "America/Chicago",
        "--start-time",
        "18:30",
        "--duration",
        "90",
        "--first-date",
        "2030-01-08",
        "--meetings",
        "3",
        "--venue-name",
        "Harbor Street Library",
    ]);
    f.ok(&["circle", "edit", &circle, "--publish"]);
    f.id(&["learner", "add", "--circle", &circle, "--name", "Ana Souza", "--email", "ana@example.org", "--consent"]);
    f.id(&["learner", "add", "--circle", &circle, "--name", "Ben Okafor"]);
    let meetings = meeting_ids(f, &circle);
    (circle, meetings)
}

#[test]
fn a_message_and_a_reminders_words_are_written_offline_and_listed() {
    let f = Folder::new();
    let (circle, meetings) = published_circle(&f);
    let out = f.ok(&["meeting", "reminder-message", &meetings[0], "We meet in room 2 this week"]);
    assert!(out.contains("Saved the reminder's message"), "{out}");
    let id = f.id(&["message", "send", &circle, "--subject", "Bring a laptop", "--body", "If you have one."]);

    let list = f.json(&["message", "list", &circle]);
    assert_eq!(list["reminder_hours"], 48);
    let planned = list["planned"].as_array().expect("planned reminders");
    assert_eq!(planned.len(), 3);
    // Tuesday 8 January 2030 at 18:30, reminded 48 hours before: Sunday 6 January at 18:30.
    assert_eq!(planned[0]["meeting_date"], "2030-01-08");
    assert_eq!(planned[0]["send_date"], "2030-01-06");
    assert_eq!(planned[0]["send_time"], "18:30");
    assert_eq!(planned[0]["message"], "We meet in room 2 this week");
    assert_eq!((planned[0]["emails"].as_u64(), planned[0]["texts"].as_u64()), (Some(1), Some(0)));
    let messages = list["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["id"], id.as_str());
    assert_eq!(messages[0]["subject"], "Bring a laptop");
    assert_eq!(messages[0]["waiting_for_sync"], true);
    assert_eq!(list["deliveries"].as_array().map(Vec::len), Some(0));

    let table = f.ok(&["message", "list", &circle]);
    assert!(table.contains("2030-01-06 18:30"), "{table}");
    assert!(table.contains("goes out at the next sync"), "{table}");
    assert!(table.contains("Nothing sent yet."), "{table}");

    // '' removes the reminder's words.
    f.ok(&["meeting", "reminder-message", &meetings[0], ""]);
    assert_eq!(f.json(&["message", "list", &circle])["planned"][0]["message"], "");

    // Reminders a day ahead, or none.
    f.ok(&["circle", "edit", &circle, "--reminder-hours", "24"]);
    assert_eq!(f.json(&["message", "list", &circle])["planned"][0]["send_date"], "2030-01-07");
    f.ok(&["circle", "edit", &circle, "--reminder-hours", "0"]);
    let list = f.json(&["message", "list", &circle]);
    assert_eq!((list["reminder_hours"].as_u64(), list["planned"].as_array().map(Vec::len)), (Some(0), Some(0)));
    assert!(f.ok(&["message", "list", &circle]).contains("Reminders are off"));
}

#[test]
fn a_bad_message_is_refused_and_changes_nothing() {
    let f = Folder::new();
    let (circle, meetings) = published_circle(&f);
    f.refuses(&["message", "send", &circle, "--subject", "  ", "--body", "Hello"], "message subject: is required");
    f.refuses(&["message", "send", &circle, "--subject", "Hello", "--body", ""], "message body: is required");
    f.refuses(&["message", "send", "nope-nope", "--subject", "Hello", "--body", "Hi"], "nope-nope");

    // Reminders at most two weeks ahead.
    f.refuses(&["circle", "edit", &circle, "--reminder-hours", "400"], "circle reminder_hours:");

    // A draft circle has no learners to write to yet.
    f.ok(&["circle", "edit", &circle, "--publish=no"]);
    f.refuses(
        &["message", "send", &circle, "--subject", "Hello", "--body", "Hi"],
        "message circle_id: can only be sent to a published circle's learners",
    );

    // A cancelled meeting sends no reminder: no words for it.
    f.ok(&["meeting", "cancel", &meetings[1]]);
    f.refuses(
        &["meeting", "reminder-message", &meetings[1], "See you"],
        "meeting reminder_message: cannot be written for a cancelled meeting",
    );
}
