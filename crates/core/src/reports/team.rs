//! A team's figures over a period, for an organizer's grant report.

use super::*;
use crate::domain::team::LaptopCheck;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TeamReport {
    pub format_version: u32,
    pub team: Team,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub totals: Figures,
    /// Team circles marked "did not happen" that had a meeting date in the
    /// period (left out of every other figure).
    pub circles_did_not_happen: u32,
    /// Learners (withdrawn included) of the circles run in the period.
    pub learners_signed_up: u32,
    /// Every month of the period, in order, empty ones included.
    pub by_month: Vec<MonthFigures>,
    /// Venues that had a meeting date in the period, by name.
    pub by_venue: Vec<VenueFigures>,
    /// The team's circles that had a meeting date in the period, by name;
    /// one that did not happen is listed with empty figures.
    pub circles: Vec<CircleLine>,
    /// When this computer last synced (RFC 3339): the report includes
    /// changes synced up to then, and what other laptops have not synced
    /// since is not in it. None: never synced, only this computer's data.
    pub synced_up_to: Option<String>,
    /// Whose laptops had not synced lately, as the server said when the
    /// report was made (`sync::team_admin::check_laptops`); computed from
    /// this computer's data alone, "not checked".
    pub laptops: LaptopCheck,
}

/// The figures of one group of meetings (the period, a month, a venue, a
/// circle).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Figures {
    pub circles_run: u32,
    pub meetings_held: u32,
    pub meetings_cancelled: u32,
    pub attendances: u32,
    pub head_count_attendances: u32,
    pub marks: MarkCounts,
    pub attendance_rate: Option<f64>,
    pub average_attendance: Option<f64>,
    pub unique_learners: u32,
    pub ratings: u32,
    pub average_rating: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MonthFigures {
    /// "2026-03"
    pub month: String,
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VenueFigures {
    pub venue: String,
    pub city: String,
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CircleLine {
    pub circle_id: String,
    pub name: String,
    pub venue: String,
    pub outcome: Option<CircleOutcome>,
    pub figures: Figures,
}

impl TeamReport {
    /// How fresh the figures are, in a sentence for the PDF and the CLI:
    /// what other laptops had not synced when this one last did is not in
    /// them.
    pub fn synced_line(&self) -> String {
        match &self.synced_up_to {
            Some(when) => format!(
                "Includes changes synced up to {}; what other laptops have not synced yet is not counted.",
                when.replace('T', " ").replace('Z', " UTC")
            ),
            None => "This computer has never synced: the report includes only what was entered on it.".to_string(),
        }
    }
}
