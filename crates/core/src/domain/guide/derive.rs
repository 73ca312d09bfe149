//! Deriving guides from a meeting's position (first, middle, last among the
//! meetings not cancelled) and the circle's template: what the module docs
//! of `guide` describe, and what `scheduling::edit_schedule` calls in every
//! schedule write.

use std::collections::HashMap;

use chrono::NaiveDate;
use rusqlite::OptionalExtension;

use super::templates::{builtin_template, fit_sections, GuideKind};
use super::{guide_id, FacilitatorTemplate, GuideSection};
use crate::domain::circle::Circle;
use crate::domain::meeting::{Meeting, MeetingStatus};
use crate::error::Result;
use crate::schema::MEETING_GUIDES;
use crate::store::rows::{flag, text, WriteTx};
use crate::store::Store;

/// What a circle's guides are made from.
#[derive(Debug, Clone)]
pub(crate) struct GuideSource {
    pub(super) language: String,
    pub(super) duration: u32,
    pub(super) custom: Option<FacilitatorTemplate>,
}

impl GuideSource {
    pub(crate) fn builtin(language: &str, duration: u32) -> GuideSource {
        GuideSource { language: language.to_string(), duration, custom: None }
    }

    /// The sections a meeting of `kind` gets, and where they came from.
    pub(super) fn sections(&self, kind: GuideKind) -> (Vec<GuideSection>, String) {
        if let Some(t) = &self.custom {
            let sections = t.sections(kind);
            if !sections.is_empty() {
                let fitted = fit_sections(sections, None, t.duration_minutes, self.duration);
                return (fitted, format!("template/{}/{}", t.id, kind.as_str()));
            }
        }
        let t = builtin_template(kind, &self.language);
        (t.sections_for(self.duration), t.source())
    }
}

/// A stored guide, as derivation needs to know it.
#[derive(Debug, Clone)]
pub(super) struct StoredGuide {
    pub(super) sections: String,
    pub(super) customized: bool,
    pub(super) template: String,
}

/// Everything derivation needs, read before the write.
pub(crate) struct GuidePlan {
    pub(super) source: GuideSource,
    pub(super) existing: HashMap<String, StoredGuide>,
}

impl GuidePlan {
    /// For a circle that has no meetings yet.
    pub(crate) fn fresh(source: GuideSource) -> GuidePlan {
        GuidePlan { source, existing: HashMap::new() }
    }
}

/// A meeting as it will be once the write lands.
#[derive(Debug, Clone)]
pub(crate) struct PlannedMeeting {
    pub id: String,
    pub date: NaiveDate,
    pub time: String,
    pub cancelled: bool,
    pub held: bool,
}

impl PlannedMeeting {
    /// A new meeting, neither cancelled nor held.
    pub(crate) fn new(id: String, date: NaiveDate, time: &str) -> PlannedMeeting {
        PlannedMeeting { id, date, time: time.to_string(), cancelled: false, held: false }
    }
}

impl From<&Meeting> for PlannedMeeting {
    fn from(m: &Meeting) -> Self {
        PlannedMeeting {
            id: m.id.clone(),
            date: m.local_date,
            time: m.local_time.clone(),
            cancelled: m.status == MeetingStatus::Cancelled,
            held: m.status == MeetingStatus::Held,
        }
    }
}

/// Inside a write: give every meeting of `meetings` (the circle's whole
/// schedule after the change) the guide its position calls for, skipping
/// the ones the module docs list. Returns how many guides were written.
pub(crate) fn derive_guides(w: &mut WriteTx<'_>, plan: &GuidePlan, meetings: &[PlannedMeeting]) -> Result<usize> {
    write_due_guides(w, &guides_due(plan, meetings))
}

/// A guide a meeting's position calls for and its stored one differs from:
/// (meeting id, sections JSON, template).
type DueGuide = (String, String, String);

/// Write the guides `guides_due` found; returns how many.
fn write_due_guides(w: &mut WriteTx<'_>, due: &[DueGuide]) -> Result<usize> {
    for (meeting_id, json, template) in due {
        write_guide(w, meeting_id, json, false, Some(template))?;
    }
    Ok(due.len())
}

/// The guides `derive_guides` writes: those of meetings whose stored guide
/// differs from what their position calls for. Reads nothing, so callers
/// can skip the write entirely.
fn guides_due(plan: &GuidePlan, meetings: &[PlannedMeeting]) -> Vec<DueGuide> {
    let mut ordered: Vec<&PlannedMeeting> = meetings.iter().filter(|m| !m.cancelled).collect();
    ordered.sort_by(|a, b| (a.date, &a.time, &a.id).cmp(&(b.date, &b.time, &b.id)));
    let count = ordered.len();
    let mut due = Vec::new();
    for (i, m) in ordered.iter().enumerate() {
        let existing = plan.existing.get(&m.id);
        if existing.is_some_and(|g| g.customized) || (m.held && existing.is_some()) {
            continue;
        }
        let kind = GuideKind::for_position(i + 1, count);
        let (sections, template) = plan.source.sections(kind);
        let json = serde_json::to_string(&sections).expect("sections serialize");
        if existing.is_some_and(|g| g.sections == json && g.template == template) {
            continue;
        }
        due.push((m.id.clone(), json, template));
    }
    due
}

/// Write a meeting's guide row (one per meeting, derived id): its sections
/// as JSON, whether a person wrote them, and the template they came from
/// (None keeps the recorded one).
pub(crate) fn write_guide(
    w: &mut WriteTx<'_>,
    meeting_id: &str,
    sections_json: &str,
    customized: bool,
    template: Option<&str>,
) -> Result<()> {
    let mut values = vec![("sections", text(sections_json)), ("customized", flag(customized))];
    if let Some(template) = template {
        values.push(("template", text(template)));
    }
    w.upsert(&MEETING_GUIDES, &guide_id(meeting_id), &[("meeting_id", text(meeting_id))], &values)
}

impl Store {
    /// What `circle`'s guides are made from, with its language and meeting
    /// length as given (they may be about to change).
    pub(crate) fn guide_source(&self, circle_id: &str, language: &str, duration: u32) -> Result<GuideSource> {
        let template_id: Option<String> = self
            .conn
            .query_row("SELECT guide_template_id FROM circles WHERE id = ?1", [circle_id], |r| r.get(0))
            .optional()?
            .flatten();
        let custom = match template_id {
            Some(id) => self.guide_template_opt(&id)?,
            None => None,
        };
        Ok(GuideSource { language: language.to_string(), duration, custom })
    }

    /// The derivation inputs of a circle whose language and meeting length
    /// will be `language` and `duration`.
    pub(crate) fn guide_plan_with(&self, circle_id: &str, language: &str, duration: u32) -> Result<GuidePlan> {
        let source = self.guide_source(circle_id, language, duration)?;
        let mut stmt = self.conn.prepare(
            "SELECT g.meeting_id, g.sections, g.customized, g.template FROM meeting_guides g
             JOIN meetings m ON m.id = g.meeting_id
             WHERE m.circle_id = ?1 AND m.deleted = 0 AND g.deleted = 0",
        )?;
        let existing = stmt
            .query_map([circle_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    StoredGuide { sections: r.get(1)?, customized: r.get(2)?, template: r.get(3)? },
                ))
            })?
            .collect::<rusqlite::Result<HashMap<_, _>>>()?;
        Ok(GuidePlan { source, existing })
    }

    pub(crate) fn guide_plan(&self, circle: &Circle) -> Result<GuidePlan> {
        self.guide_plan_with(&circle.id, &circle.fields.language, circle.fields.duration_minutes)
    }

    /// Write the guides a circle's meetings are missing or whose position
    /// changed (see the module docs); returns how many were written (0 when
    /// all are as their positions call for). The schedule functions do this
    /// themselves; this is for meetings from before guides existed and for
    /// schedules changed by a sync (two offline edits that combine into a
    /// schedule neither replica derived guides for).
    pub fn derive_circle_guides(&mut self, circle_id: &str) -> Result<usize> {
        let circle = self.circle(circle_id)?;
        let plan = self.guide_plan(&circle)?;
        let planned: Vec<PlannedMeeting> = self.meetings(circle_id)?.iter().map(PlannedMeeting::from).collect();
        // Called for every circle after a sync: most have nothing to write,
        // and then no write transaction is opened at all.
        let due = guides_due(&plan, &planned);
        if due.is_empty() {
            return Ok(0);
        }
        self.write(|w| write_due_guides(w, &due))
    }

    /// Re-derive the guides of every circle that has meetings: after a sync
    /// merged schedule edits made on different laptops, positions (first,
    /// middle, last) may have moved in a way neither laptop derived. Edited
    /// guides stay as they are; returns how many guides were written.
    pub fn rederive_all_guides(&mut self) -> Result<usize> {
        let circle_ids: Vec<String> = {
            let mut stmt = self.conn.prepare(
                "SELECT DISTINCT m.circle_id FROM meetings m
                 JOIN circles c ON c.id = m.circle_id AND c.deleted = 0
                 WHERE m.deleted = 0 ORDER BY m.circle_id",
            )?;
            let ids = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            ids
        };
        let mut written = 0;
        for id in circle_ids {
            written += self.derive_circle_guides(&id)?;
        }
        Ok(written)
    }
}
