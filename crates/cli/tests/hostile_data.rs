//! What other laptops can put in the store, through the real binary. The
//! values are written straight into the tables, as a pull applies what the
//! server relays (the server kept text the CLI itself refuses): names with
//! escape sequences and bidi overrides never reach the terminal raw, ids
//! that are not ASCII go through every listing and export, and a damaged
//! store is called damaged, can be checked, and set aside.

mod common;

use common::{circle_with_learners, Folder};

/// A name that would retitle the terminal, turn it red, clear it and flip
/// the rest of the line, if printed as is.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[31mAna\u{1b}[2J\r\u{202e}gnp.exe\u{2066}\u{85}\u{7f}";
/// Ids of rows made elsewhere: nothing promises they are ASCII. The last
/// one's 8th byte from the end is inside the emoji (slicing it panicked).
const ODD_CIRCLE: &str = "é🙂-circle-ñandú";
const ODD_LEARNER: &str = "é🙂";
const ODD_ROW: &str = "é🙂-row-9";

fn shown_unsafe(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n' && c != '\t')
                || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

fn sql(f: &Folder) -> rusqlite::Connection {
    circles_core::open_store_file_for_tests(f.db().parent().unwrap()).expect("open the store file")
}

/// A circle (with a non-ASCII id) whose name and learner carry escape
/// sequences, a learner with a non-ASCII id marked present, a learner
/// named as a spreadsheet formula, and conflicts on non-ASCII row ids.
fn hostile_folder() -> (Folder, Vec<String>, String) {
    let f = Folder::new();
    let (circle, meetings, [ana, _ben]) = circle_with_learners(&f);
    f.id(&["learner", "add", "--circle", &circle, "--name", "=HYPERLINK(\"http://evil.example\",\"Ana\")"]);
    let db = sql(&f);
    db.pragma_update(None, "foreign_keys", false).unwrap();
    // The circle's id changes everywhere it is referenced.
    let with_circle: Vec<String> = db
        .prepare("SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'circle_id')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for table in with_circle {
        db.execute(&format!("UPDATE {table} SET circle_id = ?1 WHERE circle_id = ?2"), [ODD_CIRCLE, &circle]).unwrap();
    }
    db.execute(
        "UPDATE circles SET id = ?1, name = ?2 WHERE id = ?3",
        [ODD_CIRCLE, &format!("Speak {HOSTILE}"), &circle],
    )
    .unwrap();
    db.execute("UPDATE learners SET name = ?1, goals = ?1 WHERE id = ?2", [HOSTILE, &ana]).unwrap();
    db.execute(
        "INSERT INTO learners (id, circle_id, name, created_at) VALUES (?1, ?2, 'Zoë 🙂', '2026-03-01T00:00:00Z')",
        [ODD_LEARNER, ODD_CIRCLE],
    )
    .unwrap();
    for (id, row) in [("c-short", ODD_LEARNER), ("c-long", ODD_ROW)] {
        db.execute(
            "INSERT INTO conflicts (id, table_name, row_id, field, lost_value, lost_hlc, won_value, won_hlc, won_device, detected_at)
             VALUES (?1, 'learners', ?2, 'name', ?3, '0', '\"Ana\"', '0', 'other', '2026-03-01T00:00:00Z')",
            [id, row, &serde_json::to_string(HOSTILE).unwrap()],
        )
        .unwrap();
    }
    // Such ids can no longer be written (a local write and the server
    // refuse them), but a store may hold them from before: a mark on one.
    db.execute(
        "INSERT INTO attendance (id, meeting_id, learner_id, mark, created_at)
         VALUES ('odd-mark', ?1, ?2, 'present', '2026-03-01T00:00:00Z')",
        [&meetings[0], ODD_LEARNER],
    )
    .unwrap();
    drop(db);
    f.refuses(
        &["attendance", "mark", "--meeting", &meetings[0], "--learner", ODD_LEARNER, "--mark", "late"],
        "is not an id",
    );
    (f, meetings, ana)
}

#[test]
fn stored_escape_sequences_never_reach_the_terminal_and_odd_ids_go_through_every_listing() {
    let (f, meetings, ana) = hostile_folder();
    let listings: Vec<Vec<&str>> = vec![
        vec!["circle", "list"],
        vec!["circle", "show", ODD_CIRCLE],
        vec!["schedule", "list", "--circle", ODD_CIRCLE],
        vec!["learner", "list", "--circle", ODD_CIRCLE],
        vec!["learner", "show", &ana],
        vec!["learner", "show", ODD_LEARNER],
        vec!["attendance", "roster", "--meeting", &meetings[0]],
        vec!["today"],
        vec!["conflicts", "list"],
        vec!["conflicts", "list", "--all"],
        vec!["status"],
        vec!["info"],
        vec!["report", "circle", ODD_CIRCLE],
        vec!["guide", "show", &meetings[0]],
    ];
    for args in &listings {
        let out = f.ok(args);
        assert_eq!(shown_unsafe(&out), Vec::<char>::new(), "circles {args:?} printed:\n{out}");
    }
    let conflicts = f.ok(&["conflicts", "list"]);
    assert!(conflicts.contains("learners é🙂 name") && conflicts.contains("learners é🙂-row-9 name"), "{conflicts}");
    assert!(conflicts.contains("\\u001b[31m"), "escaped, still readable:\n{conflicts}");
    let roster = f.ok(&["attendance", "roster", "--meeting", &meetings[0]]);
    assert!(roster.contains("Zoë 🙂") && roster.contains("\\u202egnp.exe"), "{roster}");

    // JSON keeps every value exactly (JSON's own escapes), and is still safe to show.
    for args in &listings {
        let mut json_args = args.clone();
        json_args.push("--json");
        let out = f.ok(&json_args);
        assert_eq!(shown_unsafe(&out), Vec::<char>::new(), "circles {json_args:?} printed:\n{out}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap_or_else(|e| panic!("{json_args:?}: {e}\n{out}"));
    }
    let learner = f.json(&["learner", "show", &ana]);
    assert_eq!(learner["name"], HOSTILE, "{learner}");

    // An error quoting what was typed is made safe too.
    let failure = f.fails(&["learner", "show", "\u{1b}[2Jnobody"]);
    assert_eq!(shown_unsafe(&failure.stderr), Vec::<char>::new(), "{}", failure.stderr);
}

#[test]
fn exports_are_exact_and_formulas_are_text_in_csv() {
    let (f, _meetings, _ana) = hostile_folder();
    // JSON exports hold every value exactly (escaped the JSON way), and are
    // safe to show.
    for args in [vec!["export", "circle", ODD_CIRCLE], vec!["export", "all"]] {
        let out = f.ok(&args);
        assert_eq!(shown_unsafe(&out), Vec::<char>::new(), "{args:?}");
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(value.to_string().contains(ODD_LEARNER), "{args:?}");
    }
    let record = f.json(&["export", "circle", ODD_CIRCLE]);
    let names: Vec<&str> = record["learners"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert!(names.contains(&HOSTILE) && names.contains(&"Zoë 🙂"), "{names:?}");

    let csv = f.ok(&["export", "attendance", ODD_CIRCLE]);
    // The cell is quoted (it holds commas and quotes), its quotes doubled.
    assert!(csv.contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"Ana\"\")\","), "{csv}");
    assert!(!csv.contains(",\"=") && !csv.contains(",="), "no cell starts a formula:\n{csv}");
    // CSV written to a file or a pipe (as here) is the data exactly.
    assert!(csv.contains(HOSTILE), "exact when written to a file or pipe:\n{csv}");
    assert!(csv.contains(",Zoë 🙂,"), "{csv}");

    for format in ["csv", "json"] {
        f.ok(&["report", "circle", ODD_CIRCLE, "--format", format]);
    }
    let pdf = f.dir.path().join("report.pdf");
    f.ok(&["report", "circle", ODD_CIRCLE, "--format", "pdf", "--out", pdf.to_str().unwrap()]);
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));
}

/// Flip 64 bytes at the start of the page in the middle of the file.
fn damage(f: &Folder) {
    let mut bytes = std::fs::read(f.db()).unwrap();
    let at = bytes.len() / 2 / 4096 * 4096;
    for b in &mut bytes[at..at + 64] {
        *b ^= 0xff;
    }
    std::fs::write(f.db(), bytes).unwrap();
}

#[test]
fn a_damaged_store_is_called_damaged_checked_and_set_aside() {
    let f = Folder::new();
    f.ok(&["demo"]);
    assert!(f.ok(&["check"]).contains("ok (integrity_check found no problems)"));
    let refused = f.fails(&["rebuild"]);
    assert!(refused.stderr.contains("finds the database sound"), "{}", refused.stderr);

    damage(&f);
    let status = f.fails(&["status"]);
    assert_eq!(status.code, 1);
    assert!(status.stderr.contains("is damaged (quick_check: "), "{}", status.stderr);
    assert!(status.stderr.contains("circles rebuild"), "{}", status.stderr);

    let check = f.fails(&["check"]);
    assert_eq!(check.code, 1);
    assert!(check.stdout.contains("problems found by integrity_check"), "{}", check.stdout);
    assert!(check.stderr.starts_with("error: ") && check.stderr.contains("is damaged"), "{}", check.stderr);
    let json = f.command(&["check", "--json"]).output().unwrap();
    assert_eq!(json.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(!report["problems"].as_array().unwrap().is_empty(), "{report}");

    let rebuilt = f.ok(&["rebuild"]);
    assert!(rebuilt.contains("circles login") && rebuilt.contains("circles sync"), "{rebuilt}");
    let aside: Vec<_> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(f.ok(&["status"]).contains("not signed in"));
    assert!(f.ok(&["check"]).contains("ok"));
}
