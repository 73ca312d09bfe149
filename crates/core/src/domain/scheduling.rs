//! Every change to a circle's schedule (creating it with its meetings,
//! generating, adding, moving, cancelling or removing meetings, a new
//! language or meeting length) goes through one write, `edit_schedule`,
//! which re-derives in the same transaction the guides whose meeting's
//! position changed. So guides follow the schedule everywhere, and circle,
//! meeting and guide modules need not know about each other's writes.

use chrono::NaiveDate;

use crate::domain::circle::CircleInput;
use crate::domain::guide::{derive_guides, GuidePlan, GuideSource, PlannedMeeting};
use crate::domain::meeting::{canonical_time, check_date, check_dates, insert_meeting, MeetingStatus};
use crate::domain::schedule::{self, WeeklyRule};
use crate::error::{CoreError, Result, Rule};
use crate::schema::{CIRCLES, MEETINGS};
use crate::store::rows::{new_id, text, WriteTx};
use crate::store::Store;

const CIRCLE: &str = "circle";
const MEETING: &str = "meeting";

impl Store {
    /// The one write that changes a schedule: `change` writes the rows and
    /// returns the circle's meetings as they will be after it; the guides
    /// that schedule calls for are written in the same transaction (which
    /// ones are kept as they are: see `guide`).
    fn edit_schedule<T>(
        &mut self,
        plan: &GuidePlan,
        change: impl FnOnce(&mut WriteTx<'_>) -> Result<(T, Vec<PlannedMeeting>)>,
    ) -> Result<T> {
        self.write(|w| {
            let (out, planned) = change(w)?;
            derive_guides(w, plan, &planned)?;
            Ok(out)
        })
    }

    /// Create a circle and, when a rule is given, its weekly meetings, in one
    /// transaction.
    pub fn create_circle(&mut self, input: &CircleInput, schedule: Option<&WeeklyRule>) -> Result<String> {
        input.validate()?;
        self.check_circle_references(input, None)?;
        let dates = schedule.map(schedule::weekly_dates).transpose()?.unwrap_or_default();
        let id = new_id();
        let start_time = input.canonical_start_time();
        let plan = GuidePlan::fresh(GuideSource::builtin(&input.language, input.duration_minutes));
        self.edit_schedule(&plan, |w| {
            w.insert(&CIRCLES, &id, &input.columns())?;
            Ok(((), insert_meetings(w, &id, &dates, &start_time)?))
        })?;
        Ok(id)
    }

    /// Copy a circle for its next season, as a draft named `name` with new
    /// weekly meetings from `schedule`. It keeps the course, description,
    /// venue or meeting link, language, zone, start time, length, signup
    /// settings, team, guide template and facilitators; it takes no learners,
    /// attendance, feedback, notes or outcome. One write: a copy is whole or
    /// not at all.
    pub fn copy_circle(&mut self, source_id: &str, name: &str, schedule: &WeeklyRule) -> Result<String> {
        let source = self.circle(source_id)?;
        let mut input = source.fields.clone();
        input.name = name.to_string();
        input.status = crate::domain::circle::CircleStatus::Draft;
        input.did_not_happen = false;
        input.validate()?;
        // A copy is a new circle: its team must be one of the person's.
        self.check_circle_references(&input, None)?;
        let dates = schedule::weekly_dates(schedule)?;
        let template_id = self.circle_guide_template(source_id)?.map(|t| t.id);
        let plan = GuidePlan::fresh(self.guide_source(source_id, &input.language, input.duration_minutes)?);
        let facilitators = self.circle_facilitators(source_id)?;
        let id = new_id();
        let start_time = input.canonical_start_time();
        self.edit_schedule(&plan, |w| {
            let mut columns = input.columns();
            columns.push(("guide_template_id", crate::store::rows::opt_text(template_id.as_deref())));
            w.insert(&CIRCLES, &id, &columns)?;
            for facilitator in &facilitators {
                crate::domain::team::link_circle_facilitator(w, &id, &facilitator.id)?;
            }
            Ok(((), insert_meetings(w, &id, &dates, &start_time)?))
        })?;
        Ok(id)
    }

    /// Change a circle. A new language or meeting length re-derives the
    /// guides of its meetings (those a person edited stay; see `guide`).
    pub fn update_circle(&mut self, id: &str, input: &CircleInput) -> Result<()> {
        input.validate()?;
        let before = self.circle(id)?;
        self.check_circle_references(input, before.fields.team_id.as_deref())?;
        if let Some(limit) = input.signup_limit {
            let learners = self.active_learner_count(id)?;
            if i64::from(limit) < learners {
                return Err(CoreError::invalid(
                    CIRCLE,
                    "signup_limit",
                    Rule::State,
                    format!("is {limit} but {learners} learners are already signed up"),
                ));
            }
        }
        let guides =
            if before.fields.language != input.language || before.fields.duration_minutes != input.duration_minutes {
                let plan = self.guide_plan_with(id, &input.language, input.duration_minutes)?;
                let planned: Vec<PlannedMeeting> = self.meetings(id)?.iter().map(PlannedMeeting::from).collect();
                Some((plan, planned))
            } else {
                None
            };
        match guides {
            Some((plan, planned)) => self.edit_schedule(&plan, |w| {
                w.update(&CIRCLES, id, &input.columns())?;
                Ok(((), planned))
            }),
            None => self.write(|w| w.update(&CIRCLES, id, &input.columns())).map(|_| ()),
        }
    }

    /// Make weekly meetings from a rule. With `replace`, the circle's
    /// existing meetings are removed first, which is refused if any of them
    /// has attendance; without it, a circle that has meetings is refused.
    pub fn generate_schedule(&mut self, circle_id: &str, rule: &WeeklyRule, replace: bool) -> Result<Vec<String>> {
        let circle = self.circle(circle_id)?;
        let dates = schedule::weekly_dates(rule)?;
        let existing = self.meetings(circle_id)?;
        if !existing.is_empty() && !replace {
            return Err(CoreError::invalid(
                MEETING,
                "local_date",
                Rule::State,
                format!(
                    "the circle already has {} meetings; add or remove single meetings, or replace the schedule",
                    existing.len()
                ),
            ));
        }
        for m in &existing {
            self.refuse_if_attended(&m.id, "replace the schedule")?;
        }
        check_dates(&dates)?;
        let time = circle.fields.start_time.clone();
        // The new meetings are new rows: nothing of the old guides carries over.
        let plan =
            GuidePlan::fresh(self.guide_source(circle_id, &circle.fields.language, circle.fields.duration_minutes)?);
        self.edit_schedule(&plan, |w| {
            for m in &existing {
                w.tombstone(&MEETINGS, &m.id)?;
            }
            let ids = dates.iter().map(|d| insert_meeting(w, circle_id, *d, &time)).collect::<Result<Vec<_>>>()?;
            let planned =
                ids.iter().zip(&dates).map(|(id, date)| PlannedMeeting::new(id.clone(), *date, &time)).collect();
            Ok((ids, planned))
        })
    }

    /// Add one meeting; the time defaults to the circle's meeting time.
    pub fn add_meeting(&mut self, circle_id: &str, date: NaiveDate, time: Option<&str>) -> Result<String> {
        let circle = self.circle(circle_id)?;
        check_date(date)?;
        let time = canonical_time(time.unwrap_or(&circle.fields.start_time))?;
        let existing = self.meetings(circle_id)?;
        let mut dates: Vec<NaiveDate> = existing.iter().map(|m| m.local_date).collect();
        dates.push(date);
        check_dates(&dates)?;
        let plan = self.guide_plan(&circle)?;
        let mut planned: Vec<PlannedMeeting> = existing.iter().map(PlannedMeeting::from).collect();
        self.edit_schedule(&plan, |w| {
            let id = insert_meeting(w, circle_id, date, &time)?;
            planned.push(PlannedMeeting::new(id.clone(), date, &time));
            Ok((id, planned))
        })
    }

    /// Move a meeting to another date and/or time; it keeps its id.
    pub fn reschedule_meeting(&mut self, id: &str, date: NaiveDate, time: Option<&str>) -> Result<()> {
        let meeting = self.meeting(id)?;
        check_date(date)?;
        let time = canonical_time(time.unwrap_or(&meeting.local_time))?;
        let meetings = self.meetings(&meeting.circle_id)?;
        let dates: Vec<NaiveDate> = meetings.iter().map(|m| if m.id == id { date } else { m.local_date }).collect();
        check_dates(&dates)?;
        // Moving a meeting may change the order, so the positions.
        let plan = self.guide_plan(&self.circle(&meeting.circle_id)?)?;
        let planned: Vec<PlannedMeeting> = meetings
            .iter()
            .map(|m| {
                let mut p = PlannedMeeting::from(m);
                if m.id == id {
                    (p.date, p.time) = (date, time.clone());
                }
                p
            })
            .collect();
        self.edit_schedule(&plan, |w| {
            w.update(&MEETINGS, id, &[("local_date", text(&date.to_string())), ("local_time", text(&time))])?;
            Ok(((), planned))
        })
    }

    /// Set a meeting's status. Cancelling or restoring a meeting changes the
    /// positions of the others, so their guides follow (see `guide`).
    pub fn set_meeting_status(&mut self, id: &str, status: MeetingStatus) -> Result<()> {
        let meeting = self.meeting(id)?;
        let plan = self.guide_plan(&self.circle(&meeting.circle_id)?)?;
        let planned: Vec<PlannedMeeting> = self
            .meetings(&meeting.circle_id)?
            .iter()
            .map(|m| {
                let mut p = PlannedMeeting::from(m);
                if m.id == id {
                    p.cancelled = status == MeetingStatus::Cancelled;
                    p.held = status == MeetingStatus::Held;
                }
                p
            })
            .collect();
        self.edit_schedule(&plan, |w| {
            w.update(&MEETINGS, id, &[("status", text(status.as_str()))])?;
            Ok(((), planned))
        })
    }

    /// Remove a meeting that never had attendance; one that did can be
    /// cancelled instead, which keeps its record.
    pub fn remove_meeting(&mut self, id: &str) -> Result<()> {
        let meeting = self.meeting(id)?;
        self.refuse_if_attended(id, "remove it")?;
        let plan = self.guide_plan(&self.circle(&meeting.circle_id)?)?;
        let planned: Vec<PlannedMeeting> =
            self.meetings(&meeting.circle_id)?.iter().filter(|m| m.id != id).map(PlannedMeeting::from).collect();
        self.edit_schedule(&plan, |w| {
            w.tombstone(&MEETINGS, id)?;
            Ok(((), planned))
        })
    }
}

/// A new circle's meetings on `dates` at `start_time`, as the guide
/// derivation plans them.
fn insert_meetings(
    w: &mut WriteTx<'_>,
    circle_id: &str,
    dates: &[NaiveDate],
    start_time: &str,
) -> Result<Vec<PlannedMeeting>> {
    let mut planned = Vec::with_capacity(dates.len());
    for date in dates {
        let meeting = insert_meeting(w, circle_id, *date, start_time)?;
        planned.push(PlannedMeeting::new(meeting, *date, start_time));
    }
    Ok(planned)
}
