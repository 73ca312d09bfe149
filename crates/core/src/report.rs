//! Reports computed from the local data, so they work offline: one circle's
//! figures (for its facilitator) and a team's figures over a period (for an
//! organizer's grant report), as JSON, CSV and PDF (`report_pdf`).
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
//!   (and their marks) do not exist.
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

use std::collections::{HashMap, HashSet};
use std::io::Write;

use chrono::{Datelike, NaiveDate};
use rusqlite::params;
use serde::Serialize;

use crate::attendance::Mark;
use crate::circle::Circle;
use crate::error::{CoreError, Result};
use crate::feedback::CircleOutcome;
use crate::meeting::{Meeting, MeetingStatus};
use crate::store::Store;
use crate::team::Team;

/// The version of the report layout; raised when a field changes meaning.
pub const REPORT_FORMAT_VERSION: u32 = 1;
/// The longest period a team report covers, in months.
pub const MAX_REPORT_MONTHS: usize = 120;

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

    fn add_all(&mut self, other: &MarkCounts) {
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
        ratio(self.attended(), self.marked())
    }
}

fn ratio(a: u32, b: u32) -> Option<f64> {
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

// ---------------------------------------------------------------------------
// Circle report
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Team report
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

struct LearnerInfo {
    /// Who this is across circles: "email:<address>" or "learner:<id>".
    person: String,
    withdrawn: bool,
    walk_in: bool,
}

/// One circle's data, loaded with a few queries for a whole team.
struct Loaded {
    circle: Circle,
    wrap_up: WrapUpFigures,
    meetings: Vec<Meeting>,
    learners: HashMap<String, LearnerInfo>,
    /// (meeting id, learner id, mark) of live marks of live learners.
    marks: Vec<(String, String, Mark)>,
    ratings: HashMap<String, u8>,
}

/// Which circles to load.
enum Scope<'a> {
    Circle(&'a str),
    Team(&'a str),
}

impl Scope<'_> {
    fn condition(&self) -> (&'static str, &str) {
        match self {
            Scope::Circle(id) => ("c.id = ?1", id),
            Scope::Team(id) => ("c.team_id = ?1", id),
        }
    }
}

impl Store {
    fn load(&self, scope: Scope<'_>) -> Result<Vec<Loaded>> {
        let (condition, key) = scope.condition();
        let ids: Vec<String> = {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT c.id FROM circles c WHERE c.deleted = 0 AND {condition} ORDER BY c.name COLLATE NOCASE, c.id"
            ))?;
            let ids = stmt.query_map([key], |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            ids
        };
        let mut loaded: Vec<Loaded> = Vec::with_capacity(ids.len());
        let mut index: HashMap<String, usize> = HashMap::new();
        for id in ids {
            let circle = self.circle(&id)?;
            let (completed, goal, goal_rating, course_rating, reason): (bool, String, Option<u8>, Option<u8>, String) =
                self.conn.query_row(
                    "SELECT completed, facilitator_goal, goal_rating, course_rating, course_rating_reason
                     FROM circles WHERE id = ?1",
                    [&id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )?;
            let outcome = if circle.fields.did_not_happen {
                Some(CircleOutcome::DidNotHappen)
            } else if completed {
                Some(CircleOutcome::Completed)
            } else {
                None
            };
            let meetings = self.meetings(&id)?;
            index.insert(id, loaded.len());
            loaded.push(Loaded {
                circle,
                wrap_up: WrapUpFigures {
                    outcome,
                    facilitator_goal: goal,
                    goal_rating,
                    course_rating,
                    course_rating_reason: reason,
                },
                meetings,
                learners: HashMap::new(),
                marks: Vec::new(),
                ratings: HashMap::new(),
            });
        }

        let mut stmt = self.conn.prepare(&format!(
            "SELECT l.circle_id, l.id, l.email, l.withdrawn, l.walk_in FROM learners l
             JOIN circles c ON c.id = l.circle_id AND c.deleted = 0
             WHERE l.deleted = 0 AND {condition}"
        ))?;
        let mut rows = stmt.query(params![key])?;
        while let Some(r) = rows.next()? {
            let circle: String = r.get(0)?;
            let id: String = r.get(1)?;
            let email: String = r.get(2)?;
            let email = email.trim().to_lowercase();
            let person = if email.is_empty() { format!("learner:{id}") } else { format!("email:{email}") };
            if let Some(&i) = index.get(&circle) {
                loaded[i].learners.insert(id, LearnerInfo { person, withdrawn: r.get(3)?, walk_in: r.get(4)? });
            }
        }

        let mut stmt = self.conn.prepare(&format!(
            "SELECT m.circle_id, a.meeting_id, a.learner_id, a.mark FROM attendance a
             JOIN meetings m ON m.id = a.meeting_id AND m.deleted = 0
             JOIN learners l ON l.id = a.learner_id AND l.deleted = 0
             JOIN circles c ON c.id = m.circle_id AND c.deleted = 0
             WHERE a.deleted = 0 AND {condition}"
        ))?;
        let mut rows = stmt.query(params![key])?;
        while let Some(r) = rows.next()? {
            let circle: String = r.get(0)?;
            let mark: String = r.get(3)?;
            if let Some(&i) = index.get(&circle) {
                loaded[i].marks.push((r.get(1)?, r.get(2)?, Mark::parse(&mark)?));
            }
        }

        let mut stmt = self.conn.prepare(&format!(
            "SELECT m.circle_id, f.meeting_id, f.rating FROM meeting_feedback f
             JOIN meetings m ON m.id = f.meeting_id AND m.deleted = 0
             JOIN circles c ON c.id = m.circle_id AND c.deleted = 0
             WHERE f.deleted = 0 AND f.rating IS NOT NULL AND {condition}"
        ))?;
        let mut rows = stmt.query(params![key])?;
        while let Some(r) = rows.next()? {
            let circle: String = r.get(0)?;
            if let Some(&i) = index.get(&circle) {
                loaded[i].ratings.insert(r.get(1)?, r.get(2)?);
            }
        }
        Ok(loaded)
    }
}

/// What one circle's meetings add up to, meeting by meeting.
struct Computed<'a> {
    /// Per meeting of `Loaded::meetings`, same order.
    meetings: Vec<MeetingCalc<'a>>,
}

struct MeetingCalc<'a> {
    meeting: &'a Meeting,
    held: bool,
    marks: MarkCounts,
    /// Learner ids with an attended mark.
    attendees: Vec<&'a str>,
    /// Attended marks, else the head count (held meetings).
    attendance: u32,
    from_head_count: bool,
    rating: Option<u8>,
}

fn compute(data: &Loaded) -> Computed<'_> {
    let position: HashMap<&str, usize> = data.meetings.iter().enumerate().map(|(i, m)| (m.id.as_str(), i)).collect();
    let mut marks = vec![MarkCounts::default(); data.meetings.len()];
    let mut attendees: Vec<Vec<&str>> = vec![Vec::new(); data.meetings.len()];
    for (meeting, learner, mark) in &data.marks {
        if let Some(&i) = position.get(meeting.as_str()) {
            marks[i].add(*mark);
            if mark.attended() {
                attendees[i].push(learner.as_str());
            }
        }
    }
    let meetings = data
        .meetings
        .iter()
        .zip(marks)
        .zip(attendees)
        .map(|((m, marks), attendees)| {
            let has_marks = marks.marked() > 0;
            let held = !m.is_cancelled() && (m.status == MeetingStatus::Held || has_marks || m.head_count.is_some());
            let (attendance, from_head_count) = match (has_marks, m.head_count) {
                (true, _) => (marks.attended(), false),
                (false, Some(n)) => (n, true),
                (false, None) => (0, false),
            };
            MeetingCalc {
                meeting: m,
                held,
                marks,
                attendees,
                attendance: if held { attendance } else { 0 },
                from_head_count: held && from_head_count,
                rating: data.ratings.get(&m.id).copied(),
            }
        })
        .collect();
    Computed { meetings }
}

fn venue_of(circle: &Circle) -> String {
    if circle.fields.online {
        "Online".to_string()
    } else if circle.fields.venue.name.trim().is_empty() {
        "No venue".to_string()
    } else {
        circle.fields.venue.name.clone()
    }
}

/// Adds meetings up into [`Figures`].
#[derive(Default)]
struct Tally<'a> {
    figures: Figures,
    circles: HashSet<&'a str>,
    people: HashSet<&'a str>,
    rating_sum: u32,
}

impl<'a> Tally<'a> {
    fn add(&mut self, data: &'a Loaded, m: &MeetingCalc<'a>) {
        let f = &mut self.figures;
        if m.meeting.is_cancelled() {
            f.meetings_cancelled += 1;
            return;
        }
        if let Some(r) = m.rating {
            f.ratings += 1;
            self.rating_sum += u32::from(r);
        }
        if !m.held {
            return;
        }
        f.meetings_held += 1;
        self.circles.insert(data.circle.id.as_str());
        f.attendances += m.attendance;
        if m.from_head_count {
            f.head_count_attendances += m.attendance;
        }
        f.marks.add_all(&m.marks);
        for learner in &m.attendees {
            if let Some(info) = data.learners.get(*learner) {
                self.people.insert(info.person.as_str());
            }
        }
    }

    fn finish(mut self) -> Figures {
        let f = &mut self.figures;
        f.circles_run = self.circles.len() as u32;
        f.unique_learners = self.people.len() as u32;
        f.attendance_rate = f.marks.rate();
        f.average_attendance = (f.meetings_held > 0).then(|| f64::from(f.attendances) / f64::from(f.meetings_held));
        f.average_rating = (f.ratings > 0).then(|| f64::from(self.rating_sum) / f64::from(f.ratings));
        self.figures
    }
}

impl Store {
    /// One circle's report; see the module docs for what counts.
    pub fn circle_report(&self, circle_id: &str) -> Result<CircleReport> {
        self.circle(circle_id)?;
        let loaded = self.load(Scope::Circle(circle_id))?;
        let data = loaded.first().ok_or_else(|| CoreError::not_found("circle", circle_id))?;
        let computed = compute(data);
        let circle = &data.circle;
        let course_title = match &circle.fields.course_id {
            Some(id) => Some(self.course(id)?.fields.title),
            None => None,
        };
        let team_name = match &circle.fields.team_id {
            Some(id) => Some(self.team(id)?.name),
            None => None,
        };
        let active: Vec<&MeetingCalc<'_>> = computed.meetings.iter().filter(|m| !m.meeting.is_cancelled()).collect();
        let held: Vec<&MeetingCalc<'_>> = active.iter().copied().filter(|m| m.held).collect();

        let mut tally = Tally::default();
        for m in &computed.meetings {
            tally.add(data, m);
        }
        let figures = tally.finish();

        let with_marks = held.iter().filter(|m| m.marks.marked() > 0).count();
        let with_head_count_only = held.iter().filter(|m| m.from_head_count).count();
        let counting = match (with_marks > 0, with_head_count_only > 0) {
            (true, false) => Counting::PerLearner,
            (false, true) => Counting::HeadCount,
            (true, true) => Counting::Mixed,
            (false, false) => Counting::None,
        };

        let mut attended_by: HashMap<&str, u32> = HashMap::new();
        for m in &held {
            for learner in &m.attendees {
                *attended_by.entry(learner).or_default() += 1;
            }
        }
        let held_count = held.len() as u32;
        let learners_at_least_half = (matches!(counting, Counting::PerLearner | Counting::Mixed) && held_count > 0)
            .then(|| data.learners.keys().filter(|id| attended_by.get(id.as_str()).is_some_and(|n| 2 * n >= held_count)).count() as u32);
        let (first, last) = (held.first(), held.last());
        let retention = match (first, last) {
            (Some(f), Some(l)) if held.len() >= 2 => ratio(l.attendance, f.attendance),
            _ => None,
        };
        let learners_retained = match (first, last) {
            (Some(f), Some(l)) if held.len() >= 2 && f.marks.marked() > 0 && l.marks.marked() > 0 => {
                let at_first: HashSet<&str> = f.attendees.iter().copied().collect();
                Some(l.attendees.iter().filter(|id| at_first.contains(*id)).count() as u32)
            }
            _ => None,
        };

        let summary = CircleFigures {
            meetings_scheduled: active.len() as u32,
            meetings_held: figures.meetings_held,
            meetings_cancelled: figures.meetings_cancelled,
            learners: data.learners.len() as u32,
            learners_withdrawn: data.learners.values().filter(|l| l.withdrawn).count() as u32,
            walk_ins: data.learners.values().filter(|l| l.walk_in).count() as u32,
            learners_attended: attended_by.len() as u32,
            learners_at_least_half,
            attendances: figures.attendances,
            head_count_attendances: figures.head_count_attendances,
            marks: figures.marks,
            attendance_rate: figures.attendance_rate,
            average_attendance: figures.average_attendance,
            first_meeting_attendance: first.map(|m| m.attendance),
            last_meeting_attendance: last.map(|m| m.attendance),
            retention,
            learners_retained,
            ratings: figures.ratings,
            average_rating: figures.average_rating,
        };
        let meetings = active
            .iter()
            .map(|m| MeetingFigures {
                meeting_id: m.meeting.id.clone(),
                number: m.meeting.number,
                local_date: m.meeting.local_date,
                local_time: m.meeting.local_time.clone(),
                status: m.meeting.status,
                held: m.held,
                marks: m.marks,
                head_count: m.meeting.head_count,
                attendance: m.held.then_some(m.attendance),
                rating: m.rating,
            })
            .collect();
        let cancelled = computed
            .meetings
            .iter()
            .filter(|m| m.meeting.is_cancelled())
            .map(|m| CancelledMeeting { meeting_id: m.meeting.id.clone(), local_date: m.meeting.local_date })
            .collect();
        let facilitators = self.circle_facilitators(circle_id)?.into_iter().map(|f| f.name).collect();
        Ok(CircleReport {
            format_version: REPORT_FORMAT_VERSION,
            circle: CircleInfo {
                id: circle.id.clone(),
                name: circle.fields.name.clone(),
                course_title,
                team_name,
                venue: venue_of(circle),
                city: circle.fields.venue.city.clone(),
                online: circle.fields.online,
                language: circle.fields.language.clone(),
                time_zone: circle.fields.time_zone.clone(),
                start_time: circle.fields.start_time.clone(),
                duration_minutes: circle.fields.duration_minutes,
                facilitators,
                first_date: active.first().map(|m| m.meeting.local_date),
                last_date: active.last().map(|m| m.meeting.local_date),
            },
            counting,
            summary,
            meetings,
            cancelled,
            wrap_up: data.wrap_up.clone(),
        })
    }

    /// A team's report over the local dates `from..=to`; see the module
    /// docs for what counts.
    pub fn team_report(&self, team_id: &str, from: NaiveDate, to: NaiveDate) -> Result<TeamReport> {
        let team = self.team(team_id)?;
        if from > to {
            return Err(CoreError::invalid("report", "from", format!("the period starts ({from}) after it ends ({to})")));
        }
        let months = months_between(from, to);
        if months.len() > MAX_REPORT_MONTHS {
            return Err(CoreError::invalid(
                "report",
                "to",
                format!("the period spans {} months; a report covers at most {MAX_REPORT_MONTHS}", months.len()),
            ));
        }
        let loaded = self.load(Scope::Team(team_id))?;
        let in_period = |m: &Meeting| m.local_date >= from && m.local_date <= to;

        let mut totals = Tally::default();
        let mut by_month: Vec<Tally<'_>> = months.iter().map(|_| Tally::default()).collect();
        let month_index: HashMap<&str, usize> = months.iter().enumerate().map(|(i, m)| (m.as_str(), i)).collect();
        let mut by_venue: HashMap<String, (String, Tally<'_>)> = HashMap::new();
        let mut circles = Vec::new();
        let mut did_not_happen = 0;
        let mut signed_up = 0;
        let computed: Vec<Computed<'_>> = loaded.iter().map(compute).collect();
        for (data, computed) in loaded.iter().zip(&computed) {
            let meetings: Vec<&MeetingCalc<'_>> = computed.meetings.iter().filter(|m| in_period(m.meeting)).collect();
            if meetings.is_empty() {
                continue;
            }
            let venue = venue_of(&data.circle);
            if data.circle.fields.did_not_happen {
                if meetings.iter().any(|m| !m.meeting.is_cancelled()) {
                    did_not_happen += 1;
                    circles.push(CircleLine {
                        circle_id: data.circle.id.clone(),
                        name: data.circle.fields.name.clone(),
                        venue,
                        outcome: data.wrap_up.outcome,
                        figures: Figures::default(),
                    });
                }
                continue;
            }
            let (_, venue_tally) = by_venue
                .entry(venue.clone())
                .or_insert_with(|| (if data.circle.fields.online { String::new() } else { data.circle.fields.venue.city.clone() }, Tally::default()));
            let mut circle_tally = Tally::default();
            for m in &meetings {
                totals.add(data, m);
                venue_tally.add(data, m);
                circle_tally.add(data, m);
                let month = format!("{:04}-{:02}", m.meeting.local_date.year(), m.meeting.local_date.month());
                if let Some(&i) = month_index.get(month.as_str()) {
                    by_month[i].add(data, m);
                }
            }
            let figures = circle_tally.finish();
            if figures.circles_run > 0 {
                signed_up += data.learners.len() as u32;
            }
            circles.push(CircleLine {
                circle_id: data.circle.id.clone(),
                name: data.circle.fields.name.clone(),
                venue,
                outcome: data.wrap_up.outcome,
                figures,
            });
        }
        let mut by_venue: Vec<VenueFigures> = by_venue
            .into_iter()
            .map(|(venue, (city, tally))| VenueFigures { venue, city, figures: tally.finish() })
            .collect();
        by_venue.sort_by(|a, b| a.venue.to_lowercase().cmp(&b.venue.to_lowercase()).then_with(|| a.venue.cmp(&b.venue)));
        Ok(TeamReport {
            format_version: REPORT_FORMAT_VERSION,
            team,
            from,
            to,
            totals: totals.finish(),
            circles_did_not_happen: did_not_happen,
            learners_signed_up: signed_up,
            by_month: months
                .into_iter()
                .zip(by_month)
                .map(|(month, tally)| MonthFigures { month, figures: tally.finish() })
                .collect(),
            by_venue,
            circles,
        })
    }
}

/// "2026-01", "2026-02", ... for every month that `from..=to` touches.
fn months_between(from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let mut out = Vec::new();
    let (mut y, mut m) = (from.year(), from.month());
    while (y, m) <= (to.year(), to.month()) {
        out.push(format!("{y:04}-{m:02}"));
        if out.len() > MAX_REPORT_MONTHS {
            break;
        }
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

// ---------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------

/// The header of a circle report's CSV; see [`write_circle_csv`].
pub const CIRCLE_CSV_HEADER: [&str; 16] = [
    "row", "meeting_number", "meeting_date", "weekday", "local_time", "status", "held", "present", "late", "excused",
    "absent", "attended", "head_count", "attendance", "attendance_rate", "rating",
];

/// The header of a team report's CSV; see [`write_team_csv`].
pub const TEAM_CSV_HEADER: [&str; 16] = [
    "group", "name", "circles_run", "meetings_held", "meetings_cancelled", "attendances", "head_count_attendances",
    "present", "late", "excused", "absent", "attendance_rate", "average_attendance", "unique_learners", "ratings",
    "average_rating",
];

fn rate_text(r: Option<f64>) -> String {
    r.map(|r| format!("{r:.4}")).unwrap_or_default()
}

fn average_text(r: Option<f64>) -> String {
    r.map(|r| format!("{r:.2}")).unwrap_or_default()
}

fn opt_text<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn csv_error(e: csv::Error) -> CoreError {
    CoreError::Export(e.to_string())
}

/// A circle report as CSV: one `meeting` row per meeting that is not
/// cancelled, one `cancelled` row per cancelled meeting (dates only), then a
/// `total` row. `held` is 1 or 0; `attendance` is attended marks, else the
/// head count, empty when the meeting was not held; `attendance_rate` is
/// attended ÷ marked (4 decimals); `rating` the after-meeting rating. The
/// summary figures (retention, at least half...) are in the JSON and PDF.
pub fn write_circle_csv(report: &CircleReport, out: impl Write) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CIRCLE_CSV_HEADER).map_err(csv_error)?;
    for m in &report.meetings {
        w.write_record([
            "meeting".to_string(),
            m.number.to_string(),
            m.local_date.to_string(),
            m.local_date.format("%A").to_string(),
            m.local_time.clone(),
            m.status.as_str().to_string(),
            u8::from(m.held).to_string(),
            m.marks.present.to_string(),
            m.marks.late.to_string(),
            m.marks.excused.to_string(),
            m.marks.absent.to_string(),
            m.marks.attended().to_string(),
            opt_text(m.head_count),
            opt_text(m.attendance),
            rate_text(m.marks.rate()),
            opt_text(m.rating),
        ])
        .map_err(csv_error)?;
    }
    for c in &report.cancelled {
        let date = c.local_date.to_string();
        let weekday = c.local_date.format("%A").to_string();
        let mut row = vec!["cancelled", "", &date, &weekday, "", "cancelled", "0"];
        row.resize(CIRCLE_CSV_HEADER.len(), "");
        w.write_record(row).map_err(csv_error)?;
    }
    let s = &report.summary;
    w.write_record([
        "total".to_string(),
        s.meetings_scheduled.to_string(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        s.meetings_held.to_string(),
        s.marks.present.to_string(),
        s.marks.late.to_string(),
        s.marks.excused.to_string(),
        s.marks.absent.to_string(),
        s.marks.attended().to_string(),
        s.head_count_attendances.to_string(),
        s.attendances.to_string(),
        rate_text(s.attendance_rate),
        average_text(s.average_rating),
    ])
    .map_err(csv_error)?;
    w.flush().map_err(|e| CoreError::Export(e.to_string()))?;
    Ok(())
}

/// A team report as CSV: a `total` row for the period, a `month` row per
/// month (name "2026-03"), a `venue` row per venue and a `circle` row per
/// circle. Rates have 4 decimals, averages 2; empty means "no data".
pub fn write_team_csv(report: &TeamReport, out: impl Write) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(TEAM_CSV_HEADER).map_err(csv_error)?;
    let mut row = |group: &str, name: &str, f: &Figures| {
        w.write_record([
            group.to_string(),
            name.to_string(),
            f.circles_run.to_string(),
            f.meetings_held.to_string(),
            f.meetings_cancelled.to_string(),
            f.attendances.to_string(),
            f.head_count_attendances.to_string(),
            f.marks.present.to_string(),
            f.marks.late.to_string(),
            f.marks.excused.to_string(),
            f.marks.absent.to_string(),
            rate_text(f.attendance_rate),
            average_text(f.average_attendance),
            f.unique_learners.to_string(),
            f.ratings.to_string(),
            average_text(f.average_rating),
        ])
        .map_err(csv_error)
    };
    row("total", &format!("{} to {}", report.from, report.to), &report.totals)?;
    for m in &report.by_month {
        row("month", &m.month, &m.figures)?;
    }
    for v in &report.by_venue {
        row("venue", &v.venue, &v.figures)?;
    }
    for c in &report.circles {
        row("circle", &c.name, &c.figures)?;
    }
    w.flush().map_err(|e| CoreError::Export(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::feedback::{FeedbackInput, WrapUpInput};
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
    fn circle(store: &mut Store, name: &str, when: (&str, &str), venue: &str, team: Option<&str>, weeks: (&str, u32)) -> String {
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
        let a = circle(&mut store, "Python Basics", ("America/Chicago", "18:00"), "Central Library", t, ("2026-03-03", 5));
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
        let b = circle(&mut store, "Escrita Criativa", ("America/Chicago", "23:30"), "Harbor Branch", t, ("2026-03-24", 3));
        let bm: Vec<String> = store.meetings(&b).unwrap().into_iter().map(|m| m.id).collect();
        learner(&mut store, &b, "Hana", "");
        learner(&mut store, &b, "Ivo", "");
        store.set_head_count(&bm[0], Some(6)).unwrap();
        store.set_head_count(&bm[1], Some(5)).unwrap();

        // C: no attendance at all.
        let c = circle(&mut store, "Quiet Circle", ("America/New_York", "10:00"), "Central Library", t, ("2026-04-06", 2));
        learner(&mut store, &c, "Kim", "kim@example.org");

        // D: online, Ana again (same address, other case), a meeting in May.
        let d = circle(&mut store, "Finanzas en línea", ("America/Mexico_City", "19:00"), "Online", t, ("2026-04-01", 2));
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
        let e = circle(&mut store, "Cancelled Idea", ("America/Chicago", "18:00"), "Central Library", t, ("2026-03-05", 2));
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
            [(1, "18:00", Some(3), Some(4)), (2, "18:00", Some(3), Some(3)), (3, "18:00", Some(3), Some(5)), (4, "18:00", Some(3), None)]
        );
        assert_eq!(r.meetings[1].local_date, date("2026-03-10"), "after the DST change, same wall-clock time");
        assert_eq!(r.cancelled.iter().map(|c| c.local_date).collect::<Vec<_>>(), [date("2026-03-17")]);
        assert_eq!(r.wrap_up.outcome, Some(CircleOutcome::Completed));
        assert_eq!((r.wrap_up.goal_rating, r.wrap_up.course_rating), (Some(4), Some(5)));

        let r = f.store.circle_report(&f.b).unwrap();
        assert_eq!(r.counting, Counting::HeadCount);
        let s = &r.summary;
        assert_eq!((s.meetings_scheduled, s.meetings_held, s.attendances, s.head_count_attendances), (3, 2, 11, 11));
        assert_eq!((s.attendance_rate, s.learners_at_least_half, s.learners_retained, s.learners_attended), (None, None, None, 0));
        assert!(close(s.average_attendance, 5.5));
        assert!(close(s.retention, 5.0 / 6.0));
        assert_eq!(r.meetings[2].attendance, None, "not held");

        let r = f.store.circle_report(&f.c).unwrap();
        assert_eq!(r.counting, Counting::None);
        let s = &r.summary;
        assert_eq!((s.meetings_held, s.attendances, s.learners, s.learners_attended), (0, 0, 1, 0));
        assert_eq!((s.attendance_rate, s.average_attendance, s.retention, s.learners_at_least_half), (None, None, None, None));
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
            .map(|v| (v.venue.as_str(), v.figures.circles_run, v.figures.meetings_held, v.figures.attendances, v.figures.unique_learners))
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
        assert_eq!(lines.len(), 1 + 1 + 2 + 3 + 5);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["totals"]["unique_learners"], 6);
        assert_eq!(json["by_month"][0]["month"], "2026-03");
    }
}
