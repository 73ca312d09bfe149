//! One circle's figures, for its facilitator.

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CircleReport {
    pub format_version: u32,
    pub circle: CircleInfo,
    pub counting: Counting,
    pub summary: CircleFigures,
    /// Meetings that are not cancelled, in date order: attendance per
    /// meeting and ratings over time.
    pub meetings: Vec<MeetingFigures>,
    /// Cancelled meetings, in date order (left out of every figure).
    pub cancelled: Vec<CancelledMeeting>,
    pub wrap_up: WrapUpFigures,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CircleInfo {
    pub id: String,
    pub name: String,
    pub course_title: Option<String>,
    pub team_name: Option<String>,
    /// "Online", the venue name, or "No venue".
    pub venue: String,
    pub city: String,
    pub online: bool,
    pub language: String,
    pub time_zone: String,
    pub start_time: String,
    pub duration_minutes: u32,
    /// Names, alphabetically.
    pub facilitators: Vec<String>,
    /// Local dates of the first and last meetings that are not cancelled.
    pub first_date: Option<NaiveDate>,
    pub last_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CircleFigures {
    /// Meetings that are not cancelled.
    pub meetings_scheduled: u32,
    pub meetings_held: u32,
    pub meetings_cancelled: u32,
    /// Everyone who signed up or walked in, withdrawn learners included.
    pub learners: u32,
    pub learners_withdrawn: u32,
    pub walk_ins: u32,
    /// Learners with at least one attended mark.
    pub learners_attended: u32,
    /// Learners who attended at least half the held meetings (None for a
    /// circle that only counts heads, or before any meeting was held).
    pub learners_at_least_half: Option<u32>,
    pub attendances: u32,
    pub head_count_attendances: u32,
    pub marks: MarkCounts,
    pub attendance_rate: Option<f64>,
    pub average_attendance: Option<f64>,
    pub first_meeting_attendance: Option<u32>,
    pub last_meeting_attendance: Option<u32>,
    /// Last held meeting's attendance ÷ first held meeting's.
    pub retention: Option<f64>,
    /// Learners who attended both the first and the last held meeting.
    pub learners_retained: Option<u32>,
    pub ratings: u32,
    pub average_rating: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MeetingFigures {
    pub meeting_id: String,
    /// 1-based among meetings that are not cancelled.
    pub number: u32,
    pub local_date: NaiveDate,
    pub local_time: String,
    pub status: MeetingStatus,
    pub held: bool,
    pub marks: MarkCounts,
    pub head_count: Option<u32>,
    /// Attended marks, else the head count; None when not held.
    pub attendance: Option<u32>,
    /// The after-meeting rating, 1-5.
    pub rating: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CancelledMeeting {
    pub meeting_id: String,
    pub local_date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WrapUpFigures {
    pub outcome: Option<CircleOutcome>,
    pub facilitator_goal: String,
    pub goal_rating: Option<u8>,
    pub course_rating: Option<u8>,
    pub course_rating_reason: String,
}
