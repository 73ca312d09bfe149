//! Exports: a circle's whole record as JSON (for backups, reports and
//! support) and its attendance as CSV (for the spreadsheets funders ask for).
//!
//! Both are deterministic: the same data always gives the same bytes (every
//! list has a fixed order and no export records when it was made), so two
//! exports can be compared with `diff` and a test can compare before/after.

use std::io::Write;

use serde::Serialize;

use crate::domain::attendance::{AttendanceMark, Mark};
use crate::domain::circle::Circle;
use crate::domain::course::{Course, CourseFilter};
use crate::domain::feedback::MeetingFeedback;
use crate::domain::learner::Learner;
use crate::domain::meeting::Meeting;
use crate::domain::team::{Facilitator, Team};
use crate::error::{CoreError, Result};
use crate::reports::csv_text;
use crate::store::Store;

/// The version of the export layout; raised when a field changes meaning or
/// disappears (adding a field does not raise it).
pub const EXPORT_FORMAT_VERSION: u32 = 1;

/// Everything recorded about one circle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CircleExport {
    pub format_version: u32,
    pub circle: Circle,
    pub course: Option<Course>,
    pub team: Option<Team>,
    /// By name.
    pub facilitators: Vec<Facilitator>,
    /// In date order, cancelled meetings included (their status says so).
    pub meetings: Vec<Meeting>,
    /// By name, withdrawn learners included (their history stays true).
    pub learners: Vec<Learner>,
    /// In meeting order, then learner order.
    pub attendance: Vec<AttendanceMark>,
    /// The meetings that have a head count, in meeting order.
    pub head_counts: Vec<HeadCount>,
    /// After-meeting feedback, in meeting order.
    pub feedback: Vec<MeetingFeedback>,
    /// Each meeting's guide as the app shows it (edited, or from the
    /// templates by position), in meeting order; cancelled meetings have none.
    pub guides: Vec<crate::domain::guide::MeetingGuide>,
    /// The facilitator's wrap-up (no outcome until it is given).
    pub wrap_up: crate::reports::WrapUpFigures,
}

/// A meeting's head count, for circles that count rather than mark.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadCount {
    pub meeting_id: String,
    pub local_date: chrono::NaiveDate,
    pub count: u32,
}

/// Everything in the store: the whole catalogue and every circle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreExport {
    pub format_version: u32,
    /// By title, archived courses included.
    pub courses: Vec<Course>,
    /// By name.
    pub teams: Vec<Team>,
    /// By circle name.
    pub circles: Vec<CircleExport>,
}

/// The header of the attendance CSV; see [`Store::attendance_csv`].
pub const ATTENDANCE_CSV_HEADER: [&str; 13] = [
    "circle",
    "meeting_number",
    "meeting_date",
    "weekday",
    "local_time",
    "time_zone",
    "meeting_status",
    "row_type",
    "learner",
    "learner_status",
    "mark",
    "attended",
    "head_count",
];

/// `row_type` of a row about one learner at one meeting.
pub const ROW_LEARNER: &str = "learner";
/// `row_type` of a row giving a meeting's head count.
pub const ROW_HEAD_COUNT: &str = "head count";

impl Store {
    /// A circle's whole record; see [`CircleExport`].
    pub fn export_circle(&self, circle_id: &str) -> Result<CircleExport> {
        let circle = self.circle(circle_id)?;
        let course = circle.fields.course_id.as_deref().map(|id| self.course(id)).transpose()?;
        let team = circle.fields.team_id.as_deref().map(|id| self.team(id)).transpose()?;
        let facilitators = self.circle_facilitators(circle_id)?;
        let meetings = self.meetings(circle_id)?;
        let learners = self.learners(circle_id)?;

        // Order marks by the meeting's and learner's position, so that the
        // export does not depend on how the database happens to sort ties.
        let meeting_pos = |id: &str| meetings.iter().position(|m| m.id == id).unwrap_or(usize::MAX);
        let learner_pos = |id: &str| learners.iter().position(|l| l.id == id).unwrap_or(usize::MAX);
        let mut attendance = self.circle_marks(circle_id)?;
        attendance.sort_by_key(|a| (meeting_pos(&a.meeting_id), learner_pos(&a.learner_id)));

        let head_counts = meetings
            .iter()
            .filter_map(|m| {
                m.head_count.map(|count| HeadCount { meeting_id: m.id.clone(), local_date: m.local_date, count })
            })
            .collect();
        let mut feedback = Vec::new();
        for meeting in &meetings {
            feedback.extend(self.meeting_feedback(&meeting.id)?);
        }
        let guides = self.circle_guides(circle_id)?;
        let given = self.circle_wrap_up(circle_id, chrono::Utc::now())?;
        let wrap_up = crate::reports::WrapUpFigures {
            outcome: given.outcome,
            facilitator_goal: given.facilitator_goal,
            goal_rating: given.goal_rating,
            course_rating: given.course_rating,
            course_rating_reason: given.course_rating_reason,
        };
        Ok(CircleExport {
            format_version: EXPORT_FORMAT_VERSION,
            circle,
            course,
            team,
            facilitators,
            meetings,
            learners,
            attendance,
            head_counts,
            feedback,
            guides,
            wrap_up,
        })
    }

    /// The catalogue, the teams and every circle's record.
    pub fn export_all(&self) -> Result<StoreExport> {
        let courses = self.list_courses(&CourseFilter { include_archived: true, ..CourseFilter::default() })?;
        let circles = self.circles()?.iter().map(|c| self.export_circle(&c.id)).collect::<Result<Vec<_>>>()?;
        Ok(StoreExport { format_version: EXPORT_FORMAT_VERSION, courses, teams: self.teams()?, circles })
    }

    /// Write everything into a new folder inside `parent`: `circles.json`
    /// (the whole store, as `export_all`) and one attendance CSV per circle.
    /// Returns the folder. Files are written to a temporary folder first and
    /// renamed into place, so a failure never leaves a half-written export.
    pub fn export_to_folder(&self, parent: &std::path::Path, stamp: &str) -> Result<std::path::PathBuf> {
        let io = |what: &str, e: std::io::Error| CoreError::Export(format!("{what}: {e}"));
        std::fs::create_dir_all(parent).map_err(|e| io(&parent.display().to_string(), e))?;
        let target = parent.join(format!("circles-export-{stamp}"));
        let staging = parent.join(format!(".circles-export-{stamp}.partial"));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).map_err(|e| io(&staging.display().to_string(), e))?;
        let all = self.export_all()?;
        let json = serde_json::to_vec_pretty(&all).map_err(|e| CoreError::Export(e.to_string()))?;
        std::fs::write(staging.join("circles.json"), json).map_err(|e| io("circles.json", e))?;
        for circle in &all.circles {
            let mut csv = Vec::new();
            self.attendance_csv(&circle.circle.id, &mut csv)?;
            let name = format!(
                "attendance-{}-{}.csv",
                file_safe(&circle.circle.fields.name, 40),
                file_safe(&circle.circle.id, 8)
            );
            std::fs::write(staging.join(&name), csv).map_err(|e| io(&name, e))?;
        }
        std::fs::rename(&staging, &target).map_err(|e| io(&target.display().to_string(), e))?;
        Ok(target)
    }

    /// Write a circle's attendance as CSV (UTF-8, comma-separated, a header
    /// row, then one row per line below), ready to open in a spreadsheet.
    ///
    /// Cancelled meetings are left out. For every other meeting, in date order:
    ///
    /// * one `learner` row per learner on that meeting's roster (everyone who
    ///   has not withdrawn, plus a withdrawn learner who has a mark there),
    ///   by name;
    /// * one `head count` row when the meeting has a head count, or when it
    ///   has no learner rows at all, so every meeting appears at least once
    ///   (its `head_count` is then empty: nobody was counted).
    ///
    /// Columns:
    ///
    /// | column           | meaning                                                        |
    /// |------------------|----------------------------------------------------------------|
    /// | `circle`         | the circle's name                                              |
    /// | `meeting_number` | 1, 2, 3... among the meetings that were not cancelled          |
    /// | `meeting_date`   | local date in the circle's time zone, `YYYY-MM-DD`             |
    /// | `weekday`        | that date's weekday in English, e.g. `Tuesday`                 |
    /// | `local_time`     | start time in the circle's time zone, `HH:MM` (24-hour)        |
    /// | `time_zone`      | the circle's IANA time zone, e.g. `America/Chicago`            |
    /// | `meeting_status` | `scheduled` or `held`                                          |
    /// | `row_type`       | `learner` or `head count` (filter on it before summing)        |
    /// | `learner`        | the learner's name (empty on a head-count row)                 |
    /// | `learner_status` | `signed up`, `walk-in` or `withdrawn` (empty on head counts)   |
    /// | `mark`           | `present`, `late`, `excused`, `absent`, or empty if not marked |
    /// | `attended`       | `1` for present or late, `0` for excused or absent, else empty |
    /// | `head_count`     | the number of people counted (head-count rows only)            |
    ///
    /// `attended` is a number so that a spreadsheet can sum it per meeting or
    /// per learner directly.
    pub fn attendance_csv(&self, circle_id: &str, out: impl Write) -> Result<()> {
        let circle = self.circle(circle_id)?;
        let mut csv = csv::Writer::from_writer(out);
        csv.write_record(ATTENDANCE_CSV_HEADER).map_err(csv_error)?;
        for meeting in self.meetings(circle_id)?.iter().filter(|m| !m.is_cancelled()) {
            let number = meeting.number.to_string();
            let date = meeting.local_date.to_string();
            let weekday = meeting.weekday_name();
            let meeting_columns = [
                csv_text(&circle.fields.name),
                number.as_str().into(),
                date.as_str().into(),
                weekday.as_str().into(),
                csv_text(&meeting.local_time),
                csv_text(&circle.fields.time_zone),
                meeting.status.as_str().into(),
            ];
            let roster = self.roster(&meeting.id)?;
            for entry in &roster {
                let learner = &entry.learner.fields;
                let learner_status = if learner.withdrawn {
                    "withdrawn"
                } else if learner.walk_in {
                    "walk-in"
                } else {
                    "signed up"
                };
                let attended = entry.mark.map(|m| if m.attended() { "1" } else { "0" }).unwrap_or_default();
                let learner_name = csv_text(&learner.name);
                let row = meeting_columns.iter().map(|c| c.as_ref()).chain([
                    ROW_LEARNER,
                    learner_name.as_ref(),
                    learner_status,
                    entry.mark.map(Mark::as_str).unwrap_or_default(),
                    attended,
                    "",
                ]);
                csv.write_record(row).map_err(csv_error)?;
            }
            if meeting.head_count.is_some() || roster.is_empty() {
                let count = meeting.head_count.map(|n| n.to_string()).unwrap_or_default();
                let row =
                    meeting_columns.iter().map(|c| c.as_ref()).chain([ROW_HEAD_COUNT, "", "", "", "", count.as_str()]);
                csv.write_record(row).map_err(csv_error)?;
            }
        }
        csv.flush().map_err(|e| CoreError::Export(e.to_string()))?;
        Ok(())
    }
}

fn csv_error(e: csv::Error) -> CoreError {
    CoreError::Export(e.to_string())
}

/// At most `max_chars` of a name or id, usable in a file name on every
/// system: letters, digits and dashes (so an id sent by another laptop can
/// neither cut a character in half nor name another folder).
pub fn file_safe(name: &str, max_chars: usize) -> String {
    let cleaned: String =
        name.chars().map(|c| if c.is_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let trimmed: Vec<&str> = cleaned.split('-').filter(|s| !s.is_empty()).collect();
    let joined = trimmed.join("-");
    joined.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::{CircleInput, CourseInput, LearnerInput, MeetingStatus, WeeklyRule};

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        store: Store,
        circle: String,
        meetings: Vec<String>,
        ana: String,
        ben: String,
    }

    /// A circle of three meetings and two learners: Ana present then late,
    /// Ben absent, the second meeting cancelled, a head count on the third.
    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        let course = store.create_course(&CourseInput::new("Public Speaking")).unwrap();
        let mut input = CircleInput::new("Speaking, \"with\" confidence", "America/New_York", "18:30", 90);
        input.course_id = Some(course);
        let rule = WeeklyRule { first_date: date("2026-03-03"), count: 4 };
        let circle = store.create_circle(&input, Some(&rule)).unwrap();
        let meetings: Vec<String> = store.meetings(&circle).unwrap().into_iter().map(|m| m.id).collect();
        let ben = store.add_learner(&circle, &LearnerInput::new("Ben Okafor")).unwrap();
        let ana = store.add_learner(&circle, &LearnerInput::new("Ana Souza")).unwrap();
        store.mark_attendance(&meetings[0], &ana, Mark::Present).unwrap();
        store.mark_attendance(&meetings[0], &ben, Mark::Absent).unwrap();
        store.set_meeting_status(&meetings[0], MeetingStatus::Held).unwrap();
        store.set_meeting_status(&meetings[1], MeetingStatus::Cancelled).unwrap();
        store.mark_attendance(&meetings[2], &ana, Mark::Late).unwrap();
        store.set_head_count(&meetings[2], Some(5)).unwrap();
        Fixture { _dir: dir, store, circle, meetings, ana, ben }
    }

    #[test]
    fn circle_export_holds_everything_in_a_fixed_order() {
        let f = fixture();
        let export = f.store.export_circle(&f.circle).unwrap();
        assert_eq!(export.course.as_ref().unwrap().fields.title, "Public Speaking");
        assert_eq!(export.meetings.len(), 4);
        assert_eq!(export.meetings[1].status, MeetingStatus::Cancelled);
        let names: Vec<&str> = export.learners.iter().map(|l| l.fields.name.as_str()).collect();
        assert_eq!(names, ["Ana Souza", "Ben Okafor"]);
        let marks: Vec<(&str, &str, Mark)> =
            export.attendance.iter().map(|a| (a.meeting_id.as_str(), a.learner_id.as_str(), a.mark)).collect();
        assert_eq!(
            marks,
            [
                (f.meetings[0].as_str(), f.ana.as_str(), Mark::Present),
                (f.meetings[0].as_str(), f.ben.as_str(), Mark::Absent),
                (f.meetings[2].as_str(), f.ana.as_str(), Mark::Late),
            ]
        );
        assert_eq!(
            export.head_counts,
            [HeadCount { meeting_id: f.meetings[2].clone(), local_date: date("2026-03-17"), count: 5 }]
        );
        let first = serde_json::to_string(&export).unwrap();
        let again = serde_json::to_string(&f.store.export_circle(&f.circle).unwrap()).unwrap();
        assert_eq!(first, again, "the same data exports to the same bytes");
    }

    #[test]
    fn unknown_circle_is_not_found() {
        let f = fixture();
        assert!(matches!(f.store.export_circle("nope"), Err(CoreError::NotFound { .. })));
        assert!(matches!(f.store.attendance_csv("nope", Vec::new()), Err(CoreError::NotFound { .. })));
    }

    #[test]
    fn attendance_csv_has_a_row_per_learner_per_meeting_and_head_counts() {
        let f = fixture();
        let mut out = Vec::new();
        f.store.attendance_csv(&f.circle, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let expected = "\
circle,meeting_number,meeting_date,weekday,local_time,time_zone,meeting_status,row_type,learner,learner_status,mark,attended,head_count
\"Speaking, \"\"with\"\" confidence\",1,2026-03-03,Tuesday,18:30,America/New_York,held,learner,Ana Souza,signed up,present,1,
\"Speaking, \"\"with\"\" confidence\",1,2026-03-03,Tuesday,18:30,America/New_York,held,learner,Ben Okafor,signed up,absent,0,
\"Speaking, \"\"with\"\" confidence\",2,2026-03-17,Tuesday,18:30,America/New_York,scheduled,learner,Ana Souza,signed up,late,1,
\"Speaking, \"\"with\"\" confidence\",2,2026-03-17,Tuesday,18:30,America/New_York,scheduled,learner,Ben Okafor,signed up,,,
\"Speaking, \"\"with\"\" confidence\",2,2026-03-17,Tuesday,18:30,America/New_York,scheduled,head count,,,,,5
\"Speaking, \"\"with\"\" confidence\",3,2026-03-24,Tuesday,18:30,America/New_York,scheduled,learner,Ana Souza,signed up,,,
\"Speaking, \"\"with\"\" confidence\",3,2026-03-24,Tuesday,18:30,America/New_York,scheduled,learner,Ben Okafor,signed up,,,
";
        assert_eq!(text, expected);
    }

    /// Names arrive from every laptop through the server; a spreadsheet must
    /// show them, never run them.
    #[test]
    fn formula_like_names_are_text_in_the_attendance_csv() {
        let mut f = fixture();
        let hostile = ["=HYPERLINK(\"http://evil.example\",\"Ana\")", "+1+cmd", "-2+3", "@SUM(A1:A9)"];
        for name in hostile {
            f.store.add_learner(&f.circle, &LearnerInput::new(name)).unwrap();
        }
        let mut out = Vec::new();
        f.store.attendance_csv(&f.circle, &mut out).unwrap();
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let learners: Vec<String> = reader.records().map(|r| r.unwrap()[8].to_string()).collect();
        for name in hostile {
            assert!(learners.contains(&format!("'{name}")), "{name} neutralized in {learners:?}");
        }
        assert!(learners.iter().all(|l| !l.starts_with(['=', '+', '-', '@'])), "{learners:?}");
        assert!(learners.contains(&"Ana Souza".to_string()), "ordinary names unchanged");
    }

    /// Ids come from other laptops too: one that is not ASCII, or that looks
    /// like a path, names neither half a character nor another folder.
    #[test]
    fn export_to_folder_takes_any_circle_id_into_a_safe_file_name() {
        let f = fixture();
        let odd = "../é🙂/x-circle";
        f.store
            .conn
            .execute_batch(&format!(
                "PRAGMA foreign_keys = OFF;
                 UPDATE circles SET id = '{odd}' WHERE id = '{0}';
                 UPDATE meetings SET circle_id = '{odd}' WHERE circle_id = '{0}';
                 UPDATE learners SET circle_id = '{odd}' WHERE circle_id = '{0}';
                 PRAGMA foreign_keys = ON;",
                f.circle
            ))
            .unwrap();
        let out = tempfile::tempdir().unwrap();
        let folder = f.store.export_to_folder(out.path(), "test").unwrap();
        let names: Vec<String> =
            std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert!(names.contains(&"attendance-speaking-with-confidence-é-x-circ.csv".to_string()), "{names:?}");
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 1, "nothing written beside the export");
    }

    #[test]
    fn withdrawn_learners_keep_only_their_marked_meetings_and_empty_meetings_still_appear() {
        let mut f = fixture();
        f.store.set_learner_withdrawn(&f.ben, true).unwrap();
        let counting = f
            .store
            .create_circle(
                &CircleInput::new("Counting only", "Europe/Lisbon", "10:00", 60),
                Some(&WeeklyRule { first_date: date("2026-03-07"), count: 2 }),
            )
            .unwrap();
        let first = f.store.meetings(&counting).unwrap()[0].id.clone();
        f.store.set_head_count(&first, Some(9)).unwrap();

        let mut out = Vec::new();
        f.store.attendance_csv(&f.circle, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let ben_rows: Vec<&str> = text.lines().filter(|l| l.contains("Ben Okafor")).collect();
        assert_eq!(ben_rows.len(), 1, "{text}");
        assert!(ben_rows[0].contains(",withdrawn,absent,0,"), "{text}");

        let mut out = Vec::new();
        f.store.attendance_csv(&counting, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let rows: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(
            rows,
            [
                "Counting only,1,2026-03-07,Saturday,10:00,Europe/Lisbon,scheduled,head count,,,,,9",
                "Counting only,2,2026-03-14,Saturday,10:00,Europe/Lisbon,scheduled,head count,,,,,",
            ]
        );
    }

    #[test]
    fn export_all_lists_every_circle_and_the_whole_catalogue() {
        let mut f = fixture();
        let mut archived = CourseInput::new("Old course");
        archived.archived = true;
        f.store.create_course(&archived).unwrap();
        f.store.create_circle(&CircleInput::new("Another circle", "America/Chicago", "18:00", 90), None).unwrap();
        let all = f.store.export_all().unwrap();
        assert_eq!(all.courses.len(), 2);
        let names: Vec<&str> = all.circles.iter().map(|c| c.circle.fields.name.as_str()).collect();
        assert_eq!(names, ["Another circle", "Speaking, \"with\" confidence"]);
    }

    #[test]
    fn export_to_folder_writes_json_and_one_csv_per_circle() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(&dir.path().join("data")).unwrap();
        store
            .create_circle(&crate::CircleInput::new("Python / Tuesdays", "America/Chicago", "18:00", 90), None)
            .unwrap();
        let out = store.export_to_folder(&dir.path().join("exports"), "20261129-1400").unwrap();
        assert!(out.ends_with("circles-export-20261129-1400"));
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("circles.json")).unwrap()).unwrap();
        assert_eq!(json["circles"].as_array().unwrap().len(), 1);
        let csvs: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".csv"))
            .collect();
        assert_eq!(csvs.len(), 1);
        assert!(csvs[0].starts_with("attendance-python-tuesdays-"), "{csvs:?}");
    }
}
