//! Reports computed from the local data, so they work offline: one circle's
//! figures (for its facilitator) and a team's figures over a period (for an
//! organizer's grant report), as JSON, CSV and PDF (`pdf`).
//!
//! # What counts
//!
//! * **Meetings.** Deleted meetings do not exist. **Cancelled** meetings are
//!   left out of every figure (their marks too, if any were taken before
//!   the cancellation) and only counted as `meetings_cancelled`.
//! * A meeting was **held** when it is not cancelled and either its status
//!   is `held`, or it has at least one attendance mark, or it has a head
//!   count. A past meeting nobody recorded anything for is not counted as
//!   held (nothing is known about it); a facilitator who ran it marks it held.
//! * **Attended** = a mark of `present` or `late`. `excused` and `absent`
//!   are marks of people who did not come. Learners with no mark at a
//!   meeting are not counted either way.
//! * A meeting's **attendance** is its number of attended marks if it has
//!   any mark; otherwise its head count (circles that only count heads);
//!   otherwise 0. `attendances` sums that over held meetings, and
//!   `head_count_attendances` is the part that came from head counts.
//! * **Attendance rate** = attended marks ÷ all marks (present, late,
//!   excused, absent) at held meetings. Head counts have no denominator and
//!   are not in the rate. None when there are no marks.
//! * **Average attendance** = attendances ÷ meetings held.
//! * **Learners.** Every learner who signed up or walked in, withdrawn ones
//!   included: a withdrawn learner's past marks still count. Deleted learners
//!   (and their marks) do not exist, nor do learners still on the waitlist
//!   (they never had a place; `waitlist::Standing::enrolled`).
//! * **Unique learners** (team report) = distinct people with at least one
//!   attended mark in the group: a person is their e-mail address (case
//!   ignored) when they have one, else their learner record, so someone in
//!   two circles with the same address counts once. Head counts identify
//!   nobody and add no unique learners. Unique learners are counted per
//!   group: the months' figures need not add up to the period's.
//! * **Retention** (circle report) = attendance at the last held meeting ÷
//!   attendance at the first held meeting (needs two held meetings and a
//!   first attendance above 0); `learners_retained` = learners who attended
//!   both (circles with marks only).
//! * **At least half** = learners whose attended meetings are at least half
//!   the circle's held meetings (`2 × attended ≥ held`). Not given for a
//!   circle that only counts heads. A held meeting with only a head count
//!   credits nobody.
//! * **Ratings** are the after-meeting "how did it go" ratings (1-5) of
//!   meetings that are not cancelled; the average is over meetings that
//!   have one.
//! * **Dates and months** are local dates in each circle's own time zone,
//!   as facilitators see them: a meeting at 23:30 on 31 March in Chicago is
//!   a March meeting, although it is April in UTC; daylight-saving changes
//!   never move a meeting to another day.
//! * **Team report.** The team's circles (not deleted) and their meetings
//!   whose local date is within `from..=to` (both included). Circles marked
//!   "did not happen" are left out of the figures and counted in
//!   `circles_did_not_happen` (if they had a meeting date in the period). A
//!   circle was **run** in a group when it held at least one meeting in it.
//!   Venues: an online circle's venue is "Online"; an in-person circle's is
//!   its venue name ("No venue" when empty).

pub mod attendance_grid;
pub mod export;
pub mod learner_export;
pub mod pdf;

use std::collections::{HashMap, HashSet};
use std::io::Write;

use chrono::{Datelike, NaiveDate};
use rusqlite::params;
use serde::Serialize;

use crate::domain::attendance::{Mark, MarkCounts};
use crate::domain::circle::Circle;
use crate::domain::meeting::{Meeting, MeetingStatus};
use crate::domain::team::Team;
use crate::domain::wrap_up::CircleOutcome;
use crate::error::{CoreError, Result, Rule};
use crate::store::Store;

mod circle;
mod csv_export;
mod loading;
mod team;
pub use circle::*;
pub use csv_export::*;
pub use team::*;

/// The version of the report layout; raised when a field changes meaning.
pub const REPORT_FORMAT_VERSION: u32 = 1;
/// The longest period a team report covers, in months.
pub const MAX_REPORT_MONTHS: usize = 120;

pub(crate) fn ratio(a: u32, b: u32) -> Option<f64> {
    (b > 0).then(|| f64::from(a) / f64::from(b))
}

/// How a circle took attendance at its held meetings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Counting {
    /// One mark per learner.
    PerLearner,
    /// Head counts only.
    HeadCount,
    /// Some meetings with marks, some with only a head count.
    Mixed,
    /// Nothing recorded yet.
    None,
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::domain::feedback::FeedbackInput;
    use crate::domain::wrap_up::WrapUpInput;
    use crate::{CircleInput, LearnerInput, Venue, WeeklyRule};

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        store: Store,
        team: String,
        /// Python Basics, Escrita Criativa, Quiet Circle, Finanzas en línea.
        a: String,
        b: String,
        c: String,
        d: String,
    }

    /// A circle meeting weekly at `when` = (zone, time) for `weeks` = (first date, count).
    fn circle(
        store: &mut Store,
        name: &str,
        when: (&str, &str),
        venue: &str,
        team: Option<&str>,
        weeks: (&str, u32),
    ) -> String {
        let ((zone, time), (first, count)) = (when, weeks);
        let mut input = CircleInput::new(name, zone, time, 90);
        if venue == "Online" {
            input.online = true;
            input.meeting_link = "https://meet.example.org/x".into();
        } else {
            input.venue = Venue { name: venue.into(), city: "Riverbend".into(), ..Venue::default() };
        }
        input.team_id = team.map(str::to_string);
        store.create_circle(&input, Some(&WeeklyRule { first_date: date(first), count })).unwrap()
    }

    fn learner(store: &mut Store, circle: &str, name: &str, email: &str) -> String {
        let mut input = LearnerInput::new(name);
        input.email = email.into();
        store.add_learner(circle, &input).unwrap()
    }

    fn rate(store: &mut Store, meeting: &str, rating: u8) {
        store.set_meeting_feedback(meeting, &FeedbackInput { rating: Some(rating), ..Default::default() }).unwrap();
    }

    /// The hand-computed fixture: see the figures in the tests below.
    fn fixture() -> Fixture {
        use Mark::*;
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        let team = store.create_team("Riverbend Public Library").unwrap();
        let t = Some(team.as_str());

        // A: Tuesdays 18:00 in Chicago across the DST change of 2026-03-08.
        let a =
            circle(&mut store, "Python Basics", ("America/Chicago", "18:00"), "Central Library", t, ("2026-03-03", 5));
        let am: Vec<String> = store.meetings(&a).unwrap().into_iter().map(|m| m.id).collect();
        let ana = learner(&mut store, &a, "Ana Souza", "ana@example.org");
        let ben = learner(&mut store, &a, "Ben Okafor", "ben@example.org");
        let cleo = learner(&mut store, &a, "Cleo", "");
        let dev = learner(&mut store, &a, "Dev", "");
        let zed = learner(&mut store, &a, "Zed (deleted)", "");
        for (l, m) in [(&ana, Present), (&ben, Present), (&cleo, Late), (&dev, Absent), (&zed, Present)] {
            store.mark_attendance(&am[0], l, m).unwrap();
        }
        for (l, m) in [(&ana, Present), (&ben, Excused), (&cleo, Present), (&dev, Present)] {
            store.mark_attendance(&am[1], l, m).unwrap();
        }
        store.delete_learner(&zed).unwrap();
        store.set_learner_withdrawn(&dev, true).unwrap();
        // Marked, then cancelled: left out with its marks.
        store.mark_attendance(&am[2], &ana, Present).unwrap();
        store.set_meeting_status(&am[2], MeetingStatus::Cancelled).unwrap();
        let mut walk_in = LearnerInput::new("Eve");
        walk_in.email = "eve@example.org".into();
        walk_in.walk_in = true;
        let eve = store.add_learner(&a, &walk_in).unwrap();
        for (l, m) in [(&ana, Late), (&ben, Present), (&cleo, Absent), (&eve, Present)] {
            store.mark_attendance(&am[3], l, m).unwrap();
        }
        for (l, m) in [(&ana, Present), (&ben, Present), (&eve, Late)] {
            store.mark_attendance(&am[4], l, m).unwrap();
        }
        store.set_meeting_status(&am[4], MeetingStatus::Held).unwrap();
        rate(&mut store, &am[0], 4);
        rate(&mut store, &am[1], 3);
        rate(&mut store, &am[3], 5);
        let wrap = WrapUpInput {
            outcome: CircleOutcome::Completed,
            facilitator_goal: "Everyone writes a script".into(),
            goal_rating: Some(4),
            course_rating: Some(5),
            course_rating_reason: "Clear exercises".into(),
        };
        store.wrap_up_at(&a, &wrap, Utc.with_ymd_and_hms(2026, 4, 2, 0, 0, 0).unwrap()).unwrap();

        // B: head counts only, 23:30 in Chicago: the 2026-03-31 meeting is
        // 04:30 UTC on April 1st but a March meeting.
        let b =
            circle(&mut store, "Escrita Criativa", ("America/Chicago", "23:30"), "Harbor Branch", t, ("2026-03-24", 3));
        let bm: Vec<String> = store.meetings(&b).unwrap().into_iter().map(|m| m.id).collect();
        learner(&mut store, &b, "Hana", "");
        learner(&mut store, &b, "Ivo", "");
        store.set_head_count(&bm[0], Some(6)).unwrap();
        store.set_head_count(&bm[1], Some(5)).unwrap();

        // C: no attendance at all.
        let c =
            circle(&mut store, "Quiet Circle", ("America/New_York", "10:00"), "Central Library", t, ("2026-04-06", 2));
        learner(&mut store, &c, "Kim", "kim@example.org");

        // D: online, Ana again (same address, other case), a meeting in May.
        let d =
            circle(&mut store, "Finanzas en línea", ("America/Mexico_City", "19:00"), "Online", t, ("2026-04-01", 2));
        let may = store.add_meeting(&d, date("2026-05-06"), None).unwrap();
        let dm: Vec<String> = store.meetings(&d).unwrap().into_iter().map(|m| m.id).collect();
        let ana2 = learner(&mut store, &d, "Ana Souza", "Ana@Example.org");
        let gil = learner(&mut store, &d, "Gil", "");
        store.mark_attendance(&dm[0], &ana2, Present).unwrap();
        store.mark_attendance(&dm[0], &gil, Present).unwrap();
        store.mark_attendance(&dm[1], &ana2, Absent).unwrap();
        store.mark_attendance(&dm[1], &gil, Present).unwrap();
        store.set_meeting_status(&dm[1], MeetingStatus::Held).unwrap();
        store.mark_attendance(&may, &gil, Present).unwrap();
        rate(&mut store, &dm[0], 2);

        // E: did not happen. F: not in the team.
        let e =
            circle(&mut store, "Cancelled Idea", ("America/Chicago", "18:00"), "Central Library", t, ("2026-03-05", 2));
        let dnh = WrapUpInput {
            outcome: CircleOutcome::DidNotHappen,
            facilitator_goal: String::new(),
            goal_rating: None,
            course_rating: None,
            course_rating_reason: String::new(),
        };
        store.wrap_up_at(&e, &dnh, Utc::now()).unwrap();
        let f = circle(&mut store, "Elsewhere", ("America/Chicago", "18:00"), "Other", None, ("2026-03-05", 1));
        let fm = store.meetings(&f).unwrap()[0].id.clone();
        let fl = learner(&mut store, &f, "Outsider", "");
        store.mark_attendance(&fm, &fl, Present).unwrap();

        Fixture { _dir: dir, store, team, a, b, c, d }
    }

    fn marks(present: u32, late: u32, excused: u32, absent: u32) -> MarkCounts {
        MarkCounts { present, late, excused, absent }
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn circle_report_figures_by_hand() {
        let f = fixture();
        let r = f.store.circle_report(&f.a).unwrap();
        assert_eq!(r.circle.venue, "Central Library");
        assert_eq!(r.circle.team_name.as_deref(), Some("Riverbend Public Library"));
        assert_eq!((r.circle.first_date, r.circle.last_date), (Some(date("2026-03-03")), Some(date("2026-03-31"))));
        assert_eq!(r.counting, Counting::PerLearner);
        let s = &r.summary;
        assert_eq!((s.meetings_scheduled, s.meetings_held, s.meetings_cancelled), (4, 4, 1));
        assert_eq!((s.learners, s.learners_withdrawn, s.walk_ins, s.learners_attended), (5, 1, 1, 5));
        assert_eq!(s.marks, marks(9, 3, 1, 2));
        assert_eq!((s.attendances, s.head_count_attendances), (12, 0));
        assert!(close(s.attendance_rate, 0.8));
        assert!(close(s.average_attendance, 3.0));
        assert_eq!(s.learners_at_least_half, Some(4), "Ana 4, Ben 3, Cleo 2, Eve 2 of 4; Dev 1");
        assert_eq!((s.first_meeting_attendance, s.last_meeting_attendance), (Some(3), Some(3)));
        assert!(close(s.retention, 1.0));
        assert_eq!(s.learners_retained, Some(2), "Ana and Ben");
        assert_eq!(s.ratings, 3);
        assert!(close(s.average_rating, 4.0));
        let per_meeting: Vec<(u32, &str, Option<u32>, Option<u8>)> =
            r.meetings.iter().map(|m| (m.number, m.local_time.as_str(), m.attendance, m.rating)).collect();
        assert_eq!(
            per_meeting,
            [
                (1, "18:00", Some(3), Some(4)),
                (2, "18:00", Some(3), Some(3)),
                (3, "18:00", Some(3), Some(5)),
                (4, "18:00", Some(3), None)
            ]
        );
        assert_eq!(r.meetings[1].local_date, date("2026-03-10"), "after the DST change, same wall-clock time");
        assert_eq!(r.cancelled.iter().map(|c| c.local_date).collect::<Vec<_>>(), [date("2026-03-17")]);
        assert_eq!(r.wrap_up.outcome, Some(CircleOutcome::Completed));
        assert_eq!((r.wrap_up.goal_rating, r.wrap_up.course_rating), (Some(4), Some(5)));

        let r = f.store.circle_report(&f.b).unwrap();
        assert_eq!(r.counting, Counting::HeadCount);
        let s = &r.summary;
        assert_eq!((s.meetings_scheduled, s.meetings_held, s.attendances, s.head_count_attendances), (3, 2, 11, 11));
        assert_eq!(
            (s.attendance_rate, s.learners_at_least_half, s.learners_retained, s.learners_attended),
            (None, None, None, 0)
        );
        assert!(close(s.average_attendance, 5.5));
        assert!(close(s.retention, 5.0 / 6.0));
        assert_eq!(r.meetings[2].attendance, None, "not held");

        let r = f.store.circle_report(&f.c).unwrap();
        assert_eq!(r.counting, Counting::None);
        let s = &r.summary;
        assert_eq!((s.meetings_held, s.attendances, s.learners, s.learners_attended), (0, 0, 1, 0));
        assert_eq!(
            (s.attendance_rate, s.average_attendance, s.retention, s.learners_at_least_half),
            (None, None, None, None)
        );
        assert_eq!((s.first_meeting_attendance, s.average_rating), (None, None));

        let r = f.store.circle_report(&f.d).unwrap();
        let s = &r.summary;
        assert_eq!(r.circle.venue, "Online");
        assert_eq!((s.meetings_held, s.attendances, s.marks), (3, 4, marks(4, 0, 0, 1)));
        assert_eq!(s.learners_at_least_half, Some(1), "Gil 3 of 3; Ana 1 of 3");
        assert!(close(s.retention, 0.5), "2 at the first, 1 at the last");
        assert_eq!(s.learners_retained, Some(1));
    }

    #[test]
    fn team_report_figures_by_hand() {
        let f = fixture();
        let r = f.store.team_report(&f.team, date("2026-03-01"), date("2026-04-30")).unwrap();
        let t = &r.totals;
        assert_eq!((t.circles_run, t.meetings_held, t.meetings_cancelled), (3, 8, 1));
        assert_eq!((t.attendances, t.head_count_attendances), (26, 11));
        assert_eq!(t.marks, marks(12, 3, 1, 3));
        assert!(close(t.attendance_rate, 15.0 / 19.0));
        assert!(close(t.average_attendance, 26.0 / 8.0));
        assert_eq!(t.unique_learners, 6, "Ana counted once across two circles; Zed deleted; B counts heads");
        assert_eq!(t.ratings, 4);
        assert!(close(t.average_rating, 3.5));
        assert_eq!((r.circles_did_not_happen, r.learners_signed_up), (1, 9));

        let months: Vec<&str> = r.by_month.iter().map(|m| m.month.as_str()).collect();
        assert_eq!(months, ["2026-03", "2026-04"]);
        let march = &r.by_month[0].figures;
        assert_eq!((march.circles_run, march.meetings_held, march.meetings_cancelled), (2, 6, 1));
        assert_eq!((march.attendances, march.head_count_attendances, march.unique_learners), (23, 11, 5));
        assert!(close(march.attendance_rate, 0.8));
        assert!(close(march.average_attendance, 23.0 / 6.0));
        assert!(close(march.average_rating, 4.0));
        let april = &r.by_month[1].figures;
        assert_eq!((april.circles_run, april.meetings_held, april.attendances, april.unique_learners), (1, 2, 3, 2));
        assert_eq!(april.marks, marks(3, 0, 0, 1));
        assert!(close(april.average_rating, 2.0));

        let venues: Vec<(&str, u32, u32, u32, u32)> = r
            .by_venue
            .iter()
            .map(|v| {
                (
                    v.venue.as_str(),
                    v.figures.circles_run,
                    v.figures.meetings_held,
                    v.figures.attendances,
                    v.figures.unique_learners,
                )
            })
            .collect();
        assert_eq!(venues, [("Central Library", 1, 4, 12, 5), ("Harbor Branch", 1, 2, 11, 0), ("Online", 1, 2, 3, 2)]);
        assert_eq!(r.by_venue[0].city, "Riverbend");

        let lines: Vec<(&str, Option<CircleOutcome>, u32)> =
            r.circles.iter().map(|c| (c.name.as_str(), c.outcome, c.figures.meetings_held)).collect();
        assert_eq!(
            lines,
            [
                ("Cancelled Idea", Some(CircleOutcome::DidNotHappen), 0),
                ("Escrita Criativa", None, 2),
                ("Finanzas en línea", None, 2),
                ("Python Basics", Some(CircleOutcome::Completed), 4),
                ("Quiet Circle", None, 0),
            ]
        );

        // A period of one day: the late-night March 31st meeting is March's.
        let r = f.store.team_report(&f.team, date("2026-03-31"), date("2026-03-31")).unwrap();
        assert_eq!((r.totals.meetings_held, r.totals.attendances), (2, 3 + 5));
        assert!(f.store.team_report(&f.team, date("2026-04-01"), date("2026-03-01")).is_err());
        assert!(f.store.team_report(&f.team, date("2000-01-01"), date("2026-03-01")).is_err());
        assert!(f.store.team_report("nope", date("2026-03-01"), date("2026-03-02")).is_err());
    }

    #[test]
    fn csv_exports() {
        let f = fixture();
        let mut out = Vec::new();
        write_circle_csv(&f.store.circle_report(&f.b).unwrap(), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\
row,meeting_number,meeting_date,weekday,local_time,status,held,present,late,excused,absent,attended,head_count,attendance,attendance_rate,rating
meeting,1,2026-03-24,Tuesday,23:30,scheduled,1,0,0,0,0,0,6,6,,
meeting,2,2026-03-31,Tuesday,23:30,scheduled,1,0,0,0,0,0,5,5,,
meeting,3,2026-04-07,Tuesday,23:30,scheduled,0,0,0,0,0,0,,,,
total,3,,,,,2,0,0,0,0,0,11,11,,
"
        );
        let mut out = Vec::new();
        write_circle_csv(&f.store.circle_report(&f.a).unwrap(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\ncancelled,,2026-03-17,Tuesday,,cancelled,0,,,,,,,,,\n"), "{text}");
        assert!(text.ends_with("\ntotal,4,,,,,4,9,3,1,2,12,0,12,0.8000,4.00\n"), "{text}");

        let mut out = Vec::new();
        let report = f.store.team_report(&f.team, date("2026-03-01"), date("2026-04-30")).unwrap();
        write_team_csv(&report, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], TEAM_CSV_HEADER.join(","));
        assert_eq!(lines[1], "total,2026-03-01 to 2026-04-30,3,8,1,26,11,12,3,1,3,0.7895,3.25,6,4,3.50");
        assert_eq!(lines[2], "month,2026-03,2,6,1,23,11,9,3,1,2,0.8000,3.83,5,3,4.00");
        assert_eq!(lines[4], "venue,Central Library,1,4,1,12,0,9,3,1,2,0.8000,3.00,5,3,4.00");
        assert_eq!(lines.len(), 1 + 1 + 2 + 3 + 5 + 2);
        // Last, how fresh the figures are: this store never synced, and
        // nobody asked the server whose laptops are behind.
        let rest = |n: usize| ",".repeat(TEAM_CSV_HEADER.len() - n);
        assert_eq!(lines[lines.len() - 2], format!("synced_up_to,never{}", rest(2)));
        assert_eq!(
            lines[lines.len() - 1],
            format!("laptops_not_synced_7_days,not checked,made from this computer's data only{}", rest(3))
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["totals"]["unique_learners"], 6);
        assert_eq!(json["by_month"][0]["month"], "2026-03");
    }

    /// Venue and circle names in a team CSV are people's text: a formula in
    /// one is shown, not run; the figures beside it stay numbers.
    #[test]
    fn team_csv_names_that_look_like_formulas_are_text() {
        let f = fixture();
        let mut report = f.store.team_report(&f.team, date("2026-03-01"), date("2026-04-30")).unwrap();
        report.by_venue[0].venue = "=HYPERLINK(\"http://evil.example\")".into();
        report.circles[0].name = "-1+2".into();
        let mut out = Vec::new();
        write_team_csv(&report, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\nvenue,\"'=HYPERLINK(\"\"http://evil.example\"\")\",1,4,1,12,"), "{text}");
        assert!(text.contains("\ncircle,'-1+2,"), "{text}");
    }
}
