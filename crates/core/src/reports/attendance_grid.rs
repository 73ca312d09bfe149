//! The attendance grid of a circle: learners by meetings, with totals and a
//! rate per learner and per meeting. Rates use the same rule as the reports
//! (`MarkCounts::rate`: present and late over everyone marked).

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::attendance::Mark;
use crate::domain::attendance::MarkCounts;
use crate::domain::meeting::MeetingStatus;
use crate::error::Result;
use crate::store::Store;

/// One column: a meeting that is not cancelled.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GridMeeting {
    pub meeting_id: String,
    pub number: u32,
    pub local_date: NaiveDate,
    pub status: MeetingStatus,
    pub head_count: Option<u32>,
    pub counts: MarkCounts,
    pub rate: Option<f64>,
}

/// One row: a learner and their mark at each column's meeting.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GridRow {
    pub learner_id: String,
    pub name: String,
    pub withdrawn: bool,
    pub walk_in: bool,
    /// In the order of `AttendanceGrid::meetings`.
    pub marks: Vec<Option<Mark>>,
    pub counts: MarkCounts,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AttendanceGrid {
    pub meetings: Vec<GridMeeting>,
    pub rows: Vec<GridRow>,
    pub totals: MarkCounts,
    pub rate: Option<f64>,
}

impl Store {
    pub fn attendance_grid(&self, circle_id: &str) -> Result<AttendanceGrid> {
        let meetings: Vec<_> =
            self.meetings(circle_id)?.into_iter().filter(|m| m.status != MeetingStatus::Cancelled).collect();
        let learners = self.learners(circle_id)?;
        let marks = self.circle_marks(circle_id)?;
        let mark_of = |meeting_id: &str, learner_id: &str| {
            marks.iter().find(|m| m.meeting_id == meeting_id && m.learner_id == learner_id).map(|m| m.mark)
        };

        let mut columns: Vec<GridMeeting> = meetings
            .iter()
            .map(|m| GridMeeting {
                meeting_id: m.id.clone(),
                number: m.number,
                local_date: m.local_date,
                status: m.status,
                head_count: m.head_count,
                counts: MarkCounts::default(),
                rate: None,
            })
            .collect();
        let mut totals = MarkCounts::default();
        let mut rows = Vec::with_capacity(learners.len());
        for learner in &learners {
            let row_marks: Vec<Option<Mark>> = meetings.iter().map(|m| mark_of(&m.id, &learner.id)).collect();
            // A withdrawn or waiting learner with no marks has no history to show.
            if !learner.enrolled() && row_marks.iter().all(Option::is_none) {
                continue;
            }
            let mut counts = MarkCounts::default();
            for (column, mark) in columns.iter_mut().zip(&row_marks) {
                if let Some(mark) = mark {
                    counts.add(*mark);
                    column.counts.add(*mark);
                    totals.add(*mark);
                }
            }
            rows.push(GridRow {
                learner_id: learner.id.clone(),
                name: learner.fields.name.clone(),
                withdrawn: learner.fields.withdrawn,
                walk_in: learner.fields.walk_in,
                marks: row_marks,
                rate: counts.rate(),
                counts,
            });
        }
        for column in &mut columns {
            column.rate = column.counts.rate();
        }
        Ok(AttendanceGrid { meetings: columns, rows, rate: totals.rate(), totals })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CircleInput, LearnerInput, WeeklyRule};

    #[test]
    fn grid_counts_rates_per_learner_and_meeting_and_skips_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        let rule = WeeklyRule { first_date: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(), count: 3 };
        let circle =
            store.create_circle(&CircleInput::new("Grid", "America/Chicago", "18:00", 90), Some(&rule)).unwrap();
        let meetings = store.meetings(&circle).unwrap();
        store.set_meeting_status(&meetings[2].id, MeetingStatus::Cancelled).unwrap();
        let ana = store.add_learner(&circle, &LearnerInput::new("Ana")).unwrap();
        let ben = store.add_learner(&circle, &LearnerInput::new("Ben")).unwrap();
        let gone = store.add_learner(&circle, &LearnerInput::new("Gone")).unwrap();
        store.set_learner_withdrawn(&gone, true).unwrap();
        store.mark_attendance(&meetings[0].id, &ana, Mark::Present).unwrap();
        store.mark_attendance(&meetings[1].id, &ana, Mark::Late).unwrap();
        store.mark_attendance(&meetings[0].id, &ben, Mark::Absent).unwrap();

        let grid = store.attendance_grid(&circle).unwrap();
        assert_eq!(grid.meetings.len(), 2, "the cancelled meeting is not a column");
        assert_eq!(grid.rows.len(), 2, "a withdrawn learner without marks is left out");
        let ana_row = &grid.rows.iter().find(|r| r.name == "Ana").unwrap();
        assert_eq!(ana_row.marks, vec![Some(Mark::Present), Some(Mark::Late)]);
        assert_eq!(ana_row.rate, Some(1.0));
        let ben_row = &grid.rows.iter().find(|r| r.name == "Ben").unwrap();
        assert_eq!(ben_row.marks, vec![Some(Mark::Absent), None]);
        assert_eq!(ben_row.rate, Some(0.0));
        assert_eq!(grid.meetings[0].rate, Some(0.5));
        assert_eq!(grid.meetings[1].rate, Some(1.0));
        assert_eq!(grid.totals.marked(), 3);
        assert_eq!(grid.rate, Some(2.0 / 3.0));
    }
}
