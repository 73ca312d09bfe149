//! How long one local write takes through the store, beside its floor: plain
//! SQLite writing the same row (same columns, same values) into a table of
//! the same shape, in its own transaction, on a file with the store's pragmas
//! (WAL, `synchronous=NORMAL`, foreign keys on). Prints figures; asserts
//! nothing about time.
//!
//! ```sh
//! cargo run --release -p circles-core --example write_bench
//! ```
//!
//! Two writes, each measured two ways:
//!
//! - **an attendance mark** (`Store::mark_attendance`, a new mark: the row,
//!   one change record and one field version per field, the clock in `meta`);
//! - **a learner added** (`Store::add_learner`: the same for 14 fields);
//! - **per write**: 1,000 single writes, each timed on its own, Circles and
//!   the floor alternating (median and 95th percentile);
//! - **10,000 in a row**: back to back, each still its own transaction, the
//!   way an import or the demo data writes (total, and total / 10,000).
//!
//! Circles' figure is the public API call, so it includes the checks the
//! call makes before writing (the meeting and the learner are read, the
//! input validated). The floor's statement is prepared once and cached.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use circles_core::{CircleInput, LearnerInput, Mark, Store, WeeklyRule};
use rusqlite::{params, Connection, TransactionBehavior};

/// Meetings per circle and learners per circle: 1,000 marks per circle.
const MEETINGS: u32 = 20;
const LEARNERS: usize = 50;
const SINGLES: usize = 1_000;
const WARM_UP: usize = 50;
const IN_A_ROW: usize = 10_000;

fn main() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store =
        Store::open_in_with(&dir.path().join("circles"), &circles_core::benchmark_key_source()).expect("store");
    let mut floor = Floor::open(&dir.path().join("floor"));

    // Setup: circles whose (meeting, learner) pairs are the marks to write.
    let setup = Instant::now();
    let per_circle = MEETINGS as usize * LEARNERS;
    let circles: Vec<Pairs> = (0..(WARM_UP + SINGLES + IN_A_ROW).div_ceil(per_circle))
        .map(|c| Pairs::make(&mut store, &mut floor, c))
        .collect();
    let learner_circle = circles[0].circle.clone();
    println!(
        "setup: {} circles, {} learners, {} meetings in {:.1} s",
        circles.len(),
        circles.len() * LEARNERS,
        circles.len() * MEETINGS as usize,
        setup.elapsed().as_secs_f64()
    );
    let mut pairs = circles.iter().flat_map(Pairs::pairs);

    // Attendance marks.
    let changes_before = store.pending_count().expect("pending");
    for (meeting, learner) in pairs.by_ref().take(WARM_UP) {
        store.mark_attendance(&meeting, &learner, Mark::Present).expect("mark");
        floor.mark(&meeting, &learner, Mark::Present);
    }
    let changes_per_mark = (store.pending_count().expect("pending") - changes_before) / WARM_UP as u64;
    let (mut circles_mark, mut floor_mark) = (Vec::with_capacity(SINGLES), Vec::with_capacity(SINGLES));
    for (i, (meeting, learner)) in pairs.by_ref().take(SINGLES).enumerate() {
        let mark = mark_of(i);
        circles_mark.push(timed(|| store.mark_attendance(&meeting, &learner, mark).expect("mark")));
        floor_mark.push(timed(|| floor.mark(&meeting, &learner, mark)));
    }
    let run: Vec<(String, String)> = pairs.take(IN_A_ROW).collect();
    assert_eq!(run.len(), IN_A_ROW);
    let circles_marks_run = timed(|| {
        for (i, (meeting, learner)) in run.iter().enumerate() {
            store.mark_attendance(meeting, learner, mark_of(i)).expect("mark");
        }
    });
    let floor_marks_run = timed(|| {
        for (i, (meeting, learner)) in run.iter().enumerate() {
            floor.mark(meeting, learner, mark_of(i));
        }
    });

    // Learners added.
    let changes_before = store.pending_count().expect("pending");
    for i in 0..WARM_UP {
        let input = learner_input(i);
        store.add_learner(&learner_circle, &input).expect("learner");
        floor.add_learner(&learner_circle, &input);
    }
    let changes_per_learner = (store.pending_count().expect("pending") - changes_before) / WARM_UP as u64;
    let (mut circles_learner, mut floor_learner) = (Vec::with_capacity(SINGLES), Vec::with_capacity(SINGLES));
    for i in WARM_UP..WARM_UP + SINGLES {
        let input = learner_input(i);
        circles_learner.push(timed(|| {
            store.add_learner(&learner_circle, &input).expect("learner");
        }));
        floor_learner.push(timed(|| floor.add_learner(&learner_circle, &input)));
    }
    let inputs: Vec<LearnerInput> = (0..IN_A_ROW).map(|i| learner_input(WARM_UP + SINGLES + i)).collect();
    let circles_learners_run = timed(|| {
        for input in &inputs {
            store.add_learner(&learner_circle, input).expect("learner");
        }
    });
    let floor_learners_run = timed(|| {
        for input in &inputs {
            floor.add_learner(&learner_circle, input);
        }
    });

    println!(
        "one mark writes {changes_per_mark} change records, one learner {changes_per_learner} \
         (each with its field version)"
    );
    println!(
        "single writes: {} marks, {} learners, Circles and the floor alternating",
        circles_mark.len(),
        circles_learner.len()
    );
    println!();
    println!("| what | Circles | plain SQLite floor | ratio |");
    println!("|---|---|---|---|");
    let singles = |what: &str, circles: &mut Vec<Duration>, floor: &mut Vec<Duration>| {
        circles.sort();
        floor.sort();
        for (stat, p) in [("median", 0.5), ("p95", 0.95)] {
            let (c, f) = (percentile(circles, p), percentile(floor, p));
            println!("| {what}, per write ({stat}) | {} | {} | {:.1}x |", us(c), us(f), ratio(c, f));
        }
    };
    let in_a_row = |what: &str, circles: Duration, floor: Duration| {
        println!(
            "| {what}, {IN_A_ROW} in a row | {:.2} s | {:.2} s | {:.1}x |",
            circles.as_secs_f64(),
            floor.as_secs_f64(),
            ratio(circles, floor)
        );
        let n = IN_A_ROW as u32;
        println!("| {what}, {IN_A_ROW} in a row, per write | {} | {} | |", us(circles / n), us(floor / n));
    };
    singles("attendance mark", &mut circles_mark, &mut floor_mark);
    in_a_row("attendance mark", circles_marks_run, floor_marks_run);
    singles("learner added", &mut circles_learner, &mut floor_learner);
    in_a_row("learner added", circles_learners_run, floor_learners_run);
    println!();
    println!(
        "files at the end (database + WAL): Circles {:.1} MB, floor {:.1} MB",
        files_mb(store.path()),
        files_mb(&floor.path)
    );
    println!("whole run: {:.1} s (figures vary with the machine's load)", started.elapsed().as_secs_f64());
}

/// A circle of the store, its meetings and learners (also known to the floor).
struct Pairs {
    circle: String,
    meetings: Vec<String>,
    learners: Vec<String>,
}

impl Pairs {
    fn make(store: &mut Store, floor: &mut Floor, c: usize) -> Pairs {
        let input = CircleInput::new(format!("Bench circle {c:02}"), "America/Chicago", "18:00", 90);
        let first = NaiveDate::from_ymd_opt(2026, 1, 6).unwrap();
        let circle =
            store.create_circle(&input, Some(&WeeklyRule { first_date: first, count: MEETINGS })).expect("circle");
        let learners: Vec<String> = (0..LEARNERS)
            .map(|l| store.add_learner(&circle, &LearnerInput::new(format!("Learner {c}-{l}"))).expect("learner"))
            .collect();
        let meetings: Vec<String> = store.meetings(&circle).expect("meetings").into_iter().map(|m| m.id).collect();
        floor.parents(&circle, &meetings, &learners);
        Pairs { circle, meetings, learners }
    }

    /// Every (meeting, learner) pair, meeting by meeting.
    fn pairs(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.meetings.iter().flat_map(move |m| self.learners.iter().map(move |l| (m.clone(), l.clone())))
    }
}

/// Plain SQLite: the store's pragmas, tables of the same shape (columns,
/// defaults, checks, references and indexes), one statement per write.
struct Floor {
    conn: Connection,
    path: std::path::PathBuf,
}

impl Floor {
    fn open(dir: &Path) -> Floor {
        std::fs::create_dir_all(dir).expect("floor dir");
        let path = dir.join("floor.sqlite");
        let conn = Connection::open(&path).expect("floor");
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        conn.execute_batch(
            "CREATE TABLE circles (id TEXT PRIMARY KEY);
             CREATE TABLE meetings (id TEXT PRIMARY KEY);
             CREATE TABLE learners (
                 id              TEXT PRIMARY KEY,
                 circle_id       TEXT REFERENCES circles(id),
                 name            TEXT NOT NULL DEFAULT '',
                 email           TEXT NOT NULL DEFAULT '',
                 mobile          TEXT NOT NULL DEFAULT '',
                 goals           TEXT NOT NULL DEFAULT '',
                 support_needs   TEXT NOT NULL DEFAULT '',
                 question_answer TEXT NOT NULL DEFAULT '',
                 consent         INTEGER NOT NULL DEFAULT 0,
                 email_opt_out   INTEGER NOT NULL DEFAULT 0,
                 sms_opt_out     INTEGER NOT NULL DEFAULT 0,
                 walk_in         INTEGER NOT NULL DEFAULT 0,
                 withdrawn       INTEGER NOT NULL DEFAULT 0,
                 deleted         INTEGER NOT NULL DEFAULT 0,
                 created_at      TEXT NOT NULL DEFAULT ''
             );
             CREATE TABLE attendance (
                 id         TEXT PRIMARY KEY,
                 meeting_id TEXT REFERENCES meetings(id),
                 learner_id TEXT REFERENCES learners(id),
                 mark       TEXT NOT NULL DEFAULT 'present' CHECK (mark IN ('present', 'late', 'excused', 'absent')),
                 deleted    INTEGER NOT NULL DEFAULT 0,
                 created_at TEXT NOT NULL DEFAULT ''
             );
             CREATE INDEX attendance_meeting ON attendance(meeting_id);
             CREATE INDEX attendance_learner ON attendance(learner_id);",
        )
        .expect("floor tables");
        Floor { conn, path }
    }

    /// The rows a mark refers to (setup, not measured).
    fn parents(&mut self, circle: &str, meetings: &[String], learners: &[String]) {
        let tx = self.conn.transaction().unwrap();
        tx.execute("INSERT INTO circles (id) VALUES (?1)", [circle]).unwrap();
        for m in meetings {
            tx.execute("INSERT INTO meetings (id) VALUES (?1)", [m]).unwrap();
        }
        for l in learners {
            tx.execute("INSERT INTO learners (id, circle_id) VALUES (?1, ?2)", [l, circle]).unwrap();
        }
        tx.commit().unwrap();
    }

    fn mark(&mut self, meeting: &str, learner: &str, mark: Mark) {
        // An id of the same form as the store's (a UUID v5 of both parents).
        let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("attendance:{meeting}:{learner}").as_bytes());
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
        tx.prepare_cached(
            "INSERT INTO attendance (id, meeting_id, learner_id, mark, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .unwrap()
        .execute(params![id.to_string(), meeting, learner, mark.as_str(), now()])
        .unwrap();
        tx.commit().unwrap();
    }

    fn add_learner(&mut self, circle: &str, input: &LearnerInput) {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
        tx.prepare_cached(
            "INSERT INTO learners (id, circle_id, name, email, mobile, goals, support_needs, question_answer,
                 consent, email_opt_out, sms_opt_out, walk_in, withdrawn, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )
        .unwrap()
        .execute(params![
            uuid::Uuid::now_v7().to_string(),
            circle,
            input.name,
            input.email,
            input.mobile,
            input.goals,
            input.support_needs,
            input.question_answer,
            input.consent,
            input.email_opt_out,
            input.sms_opt_out,
            input.walk_in,
            input.withdrawn,
            now()
        ])
        .unwrap();
        tx.commit().unwrap();
    }
}

/// The store's `created_at` form.
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A learner as a signup would bring them, already in the form the store
/// keeps (trimmed, lower-case email, mobile without separators), so both
/// sides write the same values.
fn learner_input(i: usize) -> LearnerInput {
    LearnerInput {
        name: format!("Learner {i}"),
        email: format!("person{i}@example.org"),
        mobile: format!("+1312555{:04}", i % 10_000),
        goals: "Build a small website for my sister's bakery".into(),
        consent: true,
        ..LearnerInput::default()
    }
}

fn mark_of(i: usize) -> Mark {
    Mark::ALL[i % 4]
}

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ratio(circles: Duration, floor: Duration) -> f64 {
    circles.as_secs_f64() / floor.as_secs_f64()
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn files_mb(db: &Path) -> f64 {
    let wal = db.with_file_name(format!("{}-wal", db.file_name().unwrap().to_string_lossy()));
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    (size(db) + size(&wal)) as f64 / 1e6
}
