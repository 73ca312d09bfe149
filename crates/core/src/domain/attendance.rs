//! Attendance: one mark per (meeting, learner). The row id is derived from
//! both, so two co-facilitators marking the same learner offline meet on
//! one row when they sync.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::domain::learner::Learner;
use crate::domain::meeting::Meeting;
use crate::error::{CoreError, Result, Rule};
use crate::schema::ATTENDANCE;
use crate::store::rows::{derived_id, text};
use crate::store::Store;

const ENTITY: &str = "attendance mark";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Mark {
    Present,
    Late,
    Excused,
    Absent,
}

impl Mark {
    pub const ALL: [Mark; 4] = [Mark::Present, Mark::Late, Mark::Excused, Mark::Absent];

    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Present => "present",
            Mark::Late => "late",
            Mark::Excused => "excused",
            Mark::Absent => "absent",
        }
    }

    pub fn parse(s: &str) -> Result<Mark> {
        match s.to_ascii_lowercase().as_str() {
            "present" | "p" => Ok(Mark::Present),
            "late" | "l" => Ok(Mark::Late),
            "excused" | "e" => Ok(Mark::Excused),
            "absent" | "a" => Ok(Mark::Absent),
            other => Err(CoreError::invalid(
                ENTITY,
                "mark",
                Rule::Choice,
                format!("\"{other}\" is not a mark; use present, late, excused or absent"),
            )),
        }
    }

    /// Present and late both count as attending.
    pub fn attended(self) -> bool {
        matches!(self, Mark::Present | Mark::Late)
    }
}

/// One learner's mark at one meeting.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AttendanceMark {
    pub meeting_id: String,
    pub learner_id: String,
    pub mark: Mark,
}

/// The roster of one meeting: every learner of the circle with their mark,
/// and their answer to the meeting's reminder, if they gave one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RosterEntry {
    pub learner: Learner,
    pub mark: Option<Mark>,
    /// "yes" (said they're coming) or "no" (said they can't come), from the
    /// learner's link (`meeting_rsvps`, written by the server, pulled here).
    pub rsvp: Option<String>,
}

pub fn attendance_id(meeting_id: &str, learner_id: &str) -> String {
    derived_id("attendance", &[meeting_id, learner_id])
}

/// Marks by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MarkCounts {
    pub present: u32,
    pub late: u32,
    pub excused: u32,
    pub absent: u32,
}

impl MarkCounts {
    pub fn add(&mut self, mark: Mark) {
        match mark {
            Mark::Present => self.present += 1,
            Mark::Late => self.late += 1,
            Mark::Excused => self.excused += 1,
            Mark::Absent => self.absent += 1,
        }
    }

    pub(crate) fn add_all(&mut self, other: &MarkCounts) {
        self.present += other.present;
        self.late += other.late;
        self.excused += other.excused;
        self.absent += other.absent;
    }

    /// Present + late.
    pub fn attended(&self) -> u32 {
        self.present + self.late
    }

    /// Every mark.
    pub fn marked(&self) -> u32 {
        self.present + self.late + self.excused + self.absent
    }

    /// Attended ÷ marked, None without marks.
    pub fn rate(&self) -> Option<f64> {
        let (attended, marked) = (self.attended(), self.marked());
        (marked > 0).then(|| f64::from(attended) / f64::from(marked))
    }
}

impl Store {
    /// Set a learner's mark at a meeting (creating or changing it).
    pub fn mark_attendance(&mut self, meeting_id: &str, learner_id: &str, mark: Mark) -> Result<()> {
        let (meeting, learner) = self.check_markable(meeting_id, learner_id)?;
        let id = attendance_id(&meeting.id, &learner.id);
        self.write(|w| {
            w.upsert(
                &ATTENDANCE,
                &id,
                &[("meeting_id", text(meeting_id)), ("learner_id", text(learner_id))],
                &[("mark", text(mark.as_str()))],
            )
        })
    }

    /// Someone who came without signing up: added to the meeting's circle
    /// as a walk-in and marked present, both or neither.
    pub fn add_walk_in(&mut self, meeting_id: &str, input: &crate::domain::learner::LearnerInput) -> Result<String> {
        let meeting = self.meeting(meeting_id)?;
        let input = crate::domain::learner::LearnerInput { walk_in: true, ..input.clone() };
        self.atomically(|store| {
            let learner_id = store.add_learner(&meeting.circle_id, &input)?;
            store.mark_attendance(meeting_id, &learner_id, Mark::Present)?;
            Ok(learner_id)
        })
    }

    /// Remove a learner's mark at a meeting (the "undo" of a first mark).
    pub fn clear_attendance(&mut self, meeting_id: &str, learner_id: &str) -> Result<()> {
        let id = attendance_id(meeting_id, learner_id);
        let live: bool = self.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM attendance WHERE id = ?1 AND deleted = 0)",
            [&id],
            |r| r.get(0),
        )?;
        if !live {
            return Err(CoreError::not_found(ENTITY, format!("{meeting_id}/{learner_id}")));
        }
        self.write(|w| w.tombstone(&ATTENDANCE, &id))
    }

    /// The roster of a meeting: enrolled learners (not withdrawn, not on the
    /// waitlist), plus any other learner who has a mark at this meeting
    /// (history stays true).
    pub fn roster(&self, meeting_id: &str) -> Result<Vec<RosterEntry>> {
        let meeting = self.meeting(meeting_id)?;
        let marks = self.meeting_marks(meeting_id)?;
        let rsvps = self.meeting_rsvps(meeting_id)?;
        Ok(self
            .learners(&meeting.circle_id)?
            .into_iter()
            .filter_map(|learner| {
                let mark = marks.iter().find(|m| m.learner_id == learner.id).map(|m| m.mark);
                let rsvp = rsvps.iter().find(|r| r.learner_id == learner.id).map(|r| r.answer.clone());
                (learner.enrolled() || mark.is_some()).then_some(RosterEntry { learner, mark, rsvp })
            })
            .collect())
    }

    pub fn meeting_marks(&self, meeting_id: &str) -> Result<Vec<AttendanceMark>> {
        let mut stmt = self.conn.prepare(
            "SELECT a.meeting_id, a.learner_id, a.mark FROM attendance a
             JOIN learners l ON l.id = a.learner_id AND l.deleted = 0
             WHERE a.meeting_id = ?1 AND a.deleted = 0",
        )?;
        let marks = collect_marks(stmt.query_map(params![meeting_id], mark_row)?)?;
        Ok(marks)
    }

    /// Every live mark of a circle's live meetings.
    pub fn circle_marks(&self, circle_id: &str) -> Result<Vec<AttendanceMark>> {
        self.circle(circle_id)?;
        let mut stmt = self.conn.prepare(
            "SELECT a.meeting_id, a.learner_id, a.mark FROM attendance a
             JOIN meetings m ON m.id = a.meeting_id AND m.deleted = 0
             JOIN learners l ON l.id = a.learner_id AND l.deleted = 0
             WHERE m.circle_id = ?1 AND a.deleted = 0
             ORDER BY m.local_date, m.local_time, l.name COLLATE NOCASE",
        )?;
        let marks = collect_marks(stmt.query_map(params![circle_id], mark_row)?)?;
        Ok(marks)
    }

    fn check_markable(&self, meeting_id: &str, learner_id: &str) -> Result<(Meeting, Learner)> {
        let meeting = self.meeting(meeting_id)?;
        let learner = self.learner(learner_id)?;
        if learner.circle_id != meeting.circle_id {
            return Err(CoreError::invalid(
                ENTITY,
                "learner_id",
                Rule::Reference,
                format!(
                    "{} is a learner of another circle, not of the circle meeting on {}",
                    learner.fields.name, meeting.local_date
                ),
            ));
        }
        if meeting.is_cancelled() {
            return Err(CoreError::invalid(
                ENTITY,
                "meeting_id",
                Rule::State,
                format!("the meeting on {} is cancelled; restore it before taking attendance", meeting.local_date),
            ));
        }
        if learner.fields.withdrawn {
            return Err(CoreError::invalid(
                ENTITY,
                "learner_id",
                Rule::State,
                format!("{} has withdrawn from the circle; re-enrol them first", learner.fields.name),
            ));
        }
        if learner.waiting() {
            return Err(CoreError::invalid(
                ENTITY,
                "learner_id",
                Rule::State,
                format!("{} is on the waitlist; admit them first", learner.fields.name),
            ));
        }
        Ok((meeting, learner))
    }
}

fn mark_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

fn collect_marks(
    rows: impl Iterator<Item = rusqlite::Result<(String, String, String)>>,
) -> Result<Vec<AttendanceMark>> {
    rows.map(|row| {
        let (meeting_id, learner_id, mark) = row?;
        Ok(AttendanceMark { meeting_id, learner_id, mark: Mark::parse(&mark)? })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use crate::domain::messages::rsvp_id;
    use crate::schema::MEETING_RSVPS;
    use crate::store::rows::text;
    use crate::{CircleInput, LearnerInput, Store, WeeklyRule};

    #[test]
    fn the_roster_shows_who_said_they_are_coming() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        let input = CircleInput::new("Reading group", "America/Chicago", "18:30", 90);
        let first = "2030-01-07".parse().unwrap();
        let circle = store.create_circle(&input, Some(&WeeklyRule { first_date: first, count: 2 })).unwrap();
        let ana = store.add_learner(&circle, &LearnerInput::new("Ana")).unwrap();
        let ben = store.add_learner(&circle, &LearnerInput::new("Ben")).unwrap();
        store.add_learner(&circle, &LearnerInput::new("Cleo")).unwrap();
        let meetings = store.meetings(&circle).unwrap();
        let (first, second) = (meetings[0].id.clone(), meetings[1].id.clone());
        // As the server writes them (pulled): Ana yes, Ben no, to the first meeting.
        for (learner, answer) in [(&ana, "yes"), (&ben, "no")] {
            let columns = vec![
                ("meeting_id", text(&first)),
                ("learner_id", text(learner)),
                ("answer", text(answer)),
                ("answered_at", text("2030-01-05T10:00:00.000Z")),
            ];
            store.write(|w| w.insert(&MEETING_RSVPS, &rsvp_id(&first, learner), &columns)).unwrap();
        }
        let answers = |meeting: &str| -> Vec<(String, Option<String>)> {
            store.roster(meeting).unwrap().into_iter().map(|e| (e.learner.fields.name, e.rsvp)).collect()
        };
        assert_eq!(
            answers(&first),
            [("Ana".into(), Some("yes".into())), ("Ben".into(), Some("no".into())), ("Cleo".into(), None)]
        );
        assert!(answers(&second).iter().all(|(_, rsvp)| rsvp.is_none()), "an answer is for one meeting");
    }
}
