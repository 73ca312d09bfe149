//! How long a team report takes on a team the size of a large library
//! system's year: 50 circles, 600 meetings, 20,000 attendance marks.
//!
//! ```sh
//! cargo run --release -p circles-core --example report_bench
//! ```
//!
//! Prints the setup time, then the time of `Store::team_report` (the
//! figure BENCHMARKS.md records; the target is under 100 ms), and of the
//! CSV and PDF made from it, as the best and median of several runs. With
//! `REPORT_BENCH_PDF=FILE` it also writes the team report's PDF there.

use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use circles_core::write_team_csv;
use circles_core::Mark;
use circles_core::{team_report_pdf, PdfOptions};
use circles_core::{CircleInput, FeedbackInput, LearnerInput, MeetingStatus, Store, Venue, WeeklyRule};

const CIRCLES: usize = 50;
const MEETINGS_PER_CIRCLE: u32 = 12;
const LEARNERS_PER_CIRCLE: usize = 34;
const MARKS: usize = 20_000;
const RUNS: usize = 15;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open_in_with(dir.path(), &circles_core::benchmark_key_source()).expect("store");
    let setup = Instant::now();
    let team = store.create_team("Riverbend Public Library").expect("team");
    let venues = ["Central Library", "Harbor Street Branch", "Eastside Branch", "Online", "Northgate Branch"];
    let zones = ["America/Chicago", "America/New_York", "America/Los_Angeles", "Europe/Lisbon", "America/Mexico_City"];
    let first = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
    let mut marks = 0;
    let mut meetings = 0;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for c in 0..CIRCLES {
        let mut input = CircleInput::new(format!("Circle {c:02}"), zones[c % zones.len()], "18:00", 90);
        let venue = venues[c % venues.len()];
        if venue == "Online" {
            input.online = true;
            input.meeting_link = "https://meet.example.org/circle".into();
        } else {
            input.venue = Venue { name: venue.into(), city: "Riverbend".into(), ..Venue::default() };
        }
        input.team_id = Some(team.clone());
        let start = first.checked_add_days(Days::new((c as u64 % 20) * 7)).unwrap();
        let circle = store
            .create_circle(&input, Some(&WeeklyRule { first_date: start, count: MEETINGS_PER_CIRCLE }))
            .expect("circle");
        let learners: Vec<String> = (0..LEARNERS_PER_CIRCLE)
            .map(|l| {
                let mut learner = LearnerInput::new(format!("Learner {c}-{l}"));
                if l % 3 != 0 {
                    // Some people join two circles with the same address.
                    learner.email = format!("person{}@example.org", (c * LEARNERS_PER_CIRCLE + l) % 1500);
                }
                store.add_learner(&circle, &learner).expect("learner")
            })
            .collect();
        for meeting in store.meetings(&circle).expect("meetings") {
            meetings += 1;
            let want = (MARKS - marks) / (CIRCLES * MEETINGS_PER_CIRCLE as usize - meetings + 1);
            for learner in learners.iter().take(want) {
                let mark = match next() % 10 {
                    0..=6 => Mark::Present,
                    7 => Mark::Late,
                    8 => Mark::Excused,
                    _ => Mark::Absent,
                };
                store.mark_attendance(&meeting.id, learner, mark).expect("mark");
                marks += 1;
            }
            store.set_meeting_status(&meeting.id, MeetingStatus::Held).expect("held");
            let rating = FeedbackInput { rating: Some((next() % 5 + 1) as u8), ..Default::default() };
            store.set_meeting_feedback(&meeting.id, &rating).expect("feedback");
        }
    }
    println!(
        "setup: {CIRCLES} circles, {meetings} meetings, {marks} attendance marks in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    let from = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let to = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
    let report = store.team_report(&team, from, to).expect("report");
    assert_eq!(report.totals.marks.marked() as usize, marks);
    assert_eq!(report.totals.meetings_held as usize, meetings);
    println!(
        "report: {} circles run, {} meetings held, {} unique learners, {} attendances",
        report.totals.circles_run,
        report.totals.meetings_held,
        report.totals.unique_learners,
        report.totals.attendances
    );
    let team_report = time(|| {
        store.team_report(&team, from, to).expect("report");
    });
    print_times("team_report (50 circles, 600 meetings, 20,000 marks)", &team_report);
    print_times(
        "team report CSV",
        &time(|| {
            write_team_csv(&report, Vec::new()).expect("csv");
        }),
    );
    print_times(
        "team report PDF",
        &time(|| {
            team_report_pdf(&report, &PdfOptions::default());
        }),
    );
    let circle = store.circles().expect("circles")[0].id.clone();
    print_times(
        "circle_report (12 meetings, 400 marks)",
        &time(|| {
            store.circle_report(&circle).expect("circle report");
        }),
    );
    if let Ok(path) = std::env::var("REPORT_BENCH_PDF") {
        // To look at a report of this size: REPORT_BENCH_PDF=team.pdf
        std::fs::write(&path, team_report_pdf(&report, &PdfOptions::default())).expect("write the PDF");
        println!("wrote {path}");
    }
    let best = team_report[0];
    println!(
        "{}",
        if best < Duration::from_millis(100) { "team report: under 100 ms" } else { "team report: OVER 100 ms" }
    );
}

fn time(mut f: impl FnMut()) -> Vec<Duration> {
    f(); // warm the caches, as a report opened twice would be
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn print_times(what: &str, times: &[Duration]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what}: best {:.1} ms, median {:.1} ms, worst {:.1} ms",
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    );
}
