//! Meeting guides: the plan for one meeting as timed sections. One guide
//! per meeting (its id derived from the meeting's), so co-facilitators
//! editing offline converge on one guide.
//!
//! # Where guides come from
//!
//! Every meeting that is not cancelled gets a guide made from a template by
//! its position among the circle's meetings that are not cancelled: the
//! first meeting the `first` template, the last one `last`, the others
//! `middle` (a single meeting is a first meeting). The template is the
//! circle's facilitator template if it has one (`set_circle_guide_template`),
//! else the built-in one in the circle's language (English if there is
//! none), fitted to the circle's meeting length (see
//! [`crate::domain::guide::templates::fit_sections`]).
//!
//! Guides are derived again, in the same write as the change, whenever the
//! positions or the template inputs can change: a circle created with a
//! schedule, a schedule generated or replaced, a meeting added, removed,
//! moved (the order may change), cancelled or restored, a circle's language
//! or meeting length changed, a facilitator template chosen. A guide is
//! left alone when
//!
//! * a person edited it (`customized`): templates never overwrite a person;
//! * its meeting is `held`: the plan of a meeting that took place is its
//!   record, and adding a meeting after the old last one must not rewrite
//!   what the old last meeting was planned as;
//! * its meeting is cancelled: it keeps its guide, re-derived if restored;
//! * the derived sections are the same as the stored ones (nothing is
//!   written, nothing syncs).
//!
//! Guides are written by the replica that changed the schedule and sync like
//! any row; a replica that pulls a schedule change does not derive again. A
//! meeting that has no stored guide (a store made before guides existed, or
//! a meeting whose guide has not arrived yet) is shown the guide its
//! position would get, marked `stored: false`.
//!
//! The note for next week written in a meeting's feedback appears in the
//! next meeting's guide as `note_from_last_meeting`: read from the feedback
//! each time, never copied into the sections.

mod derive;
pub(crate) mod section;
pub mod templates;

pub(crate) use derive::{derive_guides, write_guide, GuidePlan, GuideSource, PlannedMeeting};
use section::{parse_sections, validate_sections};
pub use section::{timing_warning, GuideSection};

pub use templates::{GuideKind, GuideTemplate, TemplateError};

use chrono::NaiveDate;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::domain::meeting::{Meeting, MeetingStatus};
use crate::domain::validate::{self, MAX_NAME};
use crate::error::{CoreError, Result, Rule};
use crate::schema::{CIRCLES, GUIDE_TEMPLATES};
use crate::store::rows::{derived_id, int, new_id, text};
use crate::store::Store;

const ENTITY: &str = "meeting guide";
const TEMPLATE_ENTITY: &str = "guide template";
/// A meeting's guide as shown to a facilitator.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MeetingGuide {
    pub meeting_id: String,
    pub circle_id: String,
    /// 1-based position among the circle's meetings that are not cancelled
    /// (0 for a cancelled meeting).
    pub number: u32,
    /// The kind of meeting its position makes it now (None when cancelled).
    pub kind: Option<GuideKind>,
    pub sections: Vec<GuideSection>,
    /// Edited by a person (templates never overwrite it).
    pub customized: bool,
    /// What the sections were made from: "builtin/en/first@1",
    /// "template/<id>/middle", or "" (typed by a person, or older data).
    pub template: String,
    /// Whether the guide shown is the stored one; false when it is shown as
    /// its template makes it because none was written yet, or because the
    /// stored one (not edited by a person) was made for another position
    /// (see `Store::derive_circle_guides`).
    pub stored: bool,
    pub total_minutes: u32,
    /// The circle's meeting length.
    pub duration_minutes: u32,
    /// `total_minutes - duration_minutes`: positive when the plan runs over.
    pub over_by_minutes: i64,
    /// Set when the plan runs over the meeting, or leaves more than
    /// [`UNDER_TOLERANCE_MINUTES`] unplanned.
    pub timing_warning: Option<String>,
    /// The "note for next week" from the previous meeting's feedback.
    pub note_from_last_meeting: Option<CarriedNote>,
}

/// A note written after one meeting for the next.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CarriedNote {
    pub meeting_id: String,
    pub local_date: NaiveDate,
    pub text: String,
}

/// A change to one meeting's guide. Positions are 0-based.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum GuideEdit {
    /// Change parts of a section; a part left `None` stays as it is.
    Edit {
        index: usize,
        #[serde(default)]
        title: Option<String>,
        #[serde(default)]
        minutes: Option<u32>,
        #[serde(default)]
        notes: Option<String>,
    },
    /// Move the section at `from` so that it ends up at position `to`.
    Move {
        from: usize,
        to: usize,
    },
    /// Insert a section at position `at` (None: at the end).
    Add {
        #[serde(default)]
        at: Option<usize>,
        section: GuideSection,
    },
    Remove {
        index: usize,
    },
    /// Replace every section.
    Replace {
        sections: Vec<GuideSection>,
    },
}

/// A facilitator's own template, saved from a circle's guides.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FacilitatorTemplate {
    pub id: String,
    /// The circle it was saved from.
    pub circle_id: Option<String>,
    pub name: String,
    pub language: String,
    /// The meeting length the sections were planned for.
    pub duration_minutes: u32,
    pub first: Vec<GuideSection>,
    pub middle: Vec<GuideSection>,
    pub last: Vec<GuideSection>,
    pub created_at: String,
}

impl FacilitatorTemplate {
    pub fn sections(&self, kind: GuideKind) -> &[GuideSection] {
        match kind {
            GuideKind::First => &self.first,
            GuideKind::Middle => &self.middle,
            GuideKind::Last => &self.last,
        }
    }
}

pub fn guide_id(meeting_id: &str) -> String {
    derived_id("meeting_guide", &[meeting_id])
}

impl Store {
    /// A meeting's stored guide, if one was written.
    pub fn meeting_guide(&self, meeting_id: &str) -> Result<Option<MeetingGuide>> {
        let guide = self.guide(meeting_id)?;
        Ok(guide.stored.then_some(guide))
    }

    /// A meeting's guide as a facilitator sees it: the stored one, or the
    /// one its position calls for if none is stored yet, with the timing
    /// check and last meeting's note for next week.
    pub fn guide(&self, meeting_id: &str) -> Result<MeetingGuide> {
        let meeting = self.meeting(meeting_id)?;
        let circle = self.circle(&meeting.circle_id)?;
        let meetings = self.meetings(&circle.id)?;
        let count = meetings.iter().filter(|m| !m.is_cancelled()).count();
        let kind = (!meeting.is_cancelled()).then(|| GuideKind::for_position(meeting.number as usize, count));
        let stored: Option<(String, bool, String)> = self
            .conn
            .query_row(
                "SELECT sections, customized, template FROM meeting_guides WHERE id = ?1 AND deleted = 0",
                [guide_id(meeting_id)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let duration = circle.fields.duration_minutes;
        let derived = || -> Result<(Vec<GuideSection>, String)> {
            let source = self.guide_source(&circle.id, &circle.fields.language, duration)?;
            Ok(source.sections(kind.unwrap_or(GuideKind::Middle)))
        };
        let (sections, customized, template, is_stored) = match stored {
            Some((json, customized, template)) => {
                let sections = parse_sections(&json)?;
                // A template guide whose meeting's position changed through
                // a sync (derivation runs where the schedule was changed,
                // and two offline changes can combine into a schedule
                // neither derived for): show what its position calls for
                // until `derive_circle_guides` writes it.
                let follows_template = !customized && kind.is_some() && meeting.status != MeetingStatus::Held;
                match follows_template.then(derived).transpose()? {
                    Some((fresh, fresh_template)) if fresh != sections || fresh_template != template => {
                        (fresh, false, fresh_template, false)
                    }
                    _ => (sections, customized, template, true),
                }
            }
            None => {
                let (sections, template) = derived()?;
                (sections, false, template, false)
            }
        };
        let total: u32 = sections.iter().map(|s| s.minutes).sum();
        let previous = (meeting.number > 1).then(|| meetings.iter().find(|m| m.number == meeting.number - 1)).flatten();
        let note_from_last_meeting = match previous {
            Some(prev) => self.meeting_feedback(&prev.id)?.and_then(|f| {
                let note = f.fields.next_week_note.trim();
                (!note.is_empty()).then(|| CarriedNote {
                    meeting_id: prev.id.clone(),
                    local_date: prev.local_date,
                    text: note.to_string(),
                })
            }),
            None => None,
        };
        Ok(MeetingGuide {
            meeting_id: meeting.id,
            circle_id: circle.id,
            number: meeting.number,
            kind,
            sections,
            customized,
            template,
            stored: is_stored,
            total_minutes: total,
            duration_minutes: duration,
            over_by_minutes: i64::from(total) - i64::from(duration),
            timing_warning: timing_warning(total, duration),
            note_from_last_meeting,
        })
    }

    /// Replace a meeting's guide sections. `customized` records whether a
    /// person wrote them (true) or a template did (false).
    pub fn set_meeting_guide(&mut self, meeting_id: &str, sections: &[GuideSection], customized: bool) -> Result<()> {
        let json = validate_sections(sections)?;
        self.meeting(meeting_id)?;
        self.write(|w| write_guide(w, meeting_id, &json, customized, None))
    }

    /// Change one meeting's guide (edit, move, add or remove a section, or
    /// replace them all). The guide becomes `customized`: templates no
    /// longer change it. Returns the guide with its timing check.
    pub fn edit_meeting_guide(&mut self, meeting_id: &str, edit: &GuideEdit) -> Result<MeetingGuide> {
        let guide = self.guide(meeting_id)?;
        let mut sections = guide.sections;
        let n = sections.len();
        let no_section = |index: usize| {
            CoreError::invalid(
                ENTITY,
                "index",
                Rule::OutOfRange { min: 1, max: n as i64 },
                format!(
                    "there is no section {}; the guide has {n} section{}",
                    index + 1,
                    if n == 1 { "" } else { "s" }
                ),
            )
        };
        match edit {
            GuideEdit::Edit { index, title, minutes, notes } => {
                let s = sections.get_mut(*index).ok_or_else(|| no_section(*index))?;
                if let Some(title) = title {
                    s.title = title.trim().to_string();
                }
                if let Some(minutes) = minutes {
                    s.minutes = *minutes;
                }
                if let Some(notes) = notes {
                    s.notes = notes.clone();
                }
            }
            GuideEdit::Move { from, to } => {
                if *from >= n {
                    return Err(no_section(*from));
                }
                if *to >= n {
                    return Err(no_section(*to));
                }
                let s = sections.remove(*from);
                sections.insert(*to, s);
            }
            GuideEdit::Add { at, section } => {
                let at = at.unwrap_or(n);
                if at > n {
                    return Err(CoreError::invalid(
                        ENTITY,
                        "index",
                        Rule::OutOfRange { min: 1, max: n as i64 + 1 },
                        format!("cannot add a section at position {}; the guide has {n} sections", at + 1),
                    ));
                }
                let mut section = section.clone();
                section.title = section.title.trim().to_string();
                sections.insert(at, section);
            }
            GuideEdit::Remove { index } => {
                if *index >= n {
                    return Err(no_section(*index));
                }
                sections.remove(*index);
            }
            GuideEdit::Replace { sections: all } => sections = all.clone(),
        }
        let json = validate_sections(&sections)?;
        let template = guide.template;
        self.write(|w| write_guide(w, meeting_id, &json, true, Some(&template)))?;
        self.guide(meeting_id)
    }

    /// Throw away a person's edits: the meeting gets its template's guide
    /// again and follows schedule changes from now on.
    pub fn reset_meeting_guide(&mut self, meeting_id: &str) -> Result<MeetingGuide> {
        let guide = self.guide(meeting_id)?;
        let circle = self.circle(&guide.circle_id)?;
        let source = self.guide_source(&circle.id, &circle.fields.language, circle.fields.duration_minutes)?;
        let (sections, template) = source.sections(guide.kind.unwrap_or(GuideKind::Middle));
        let json = serde_json::to_string(&sections).expect("sections serialize");
        self.write(|w| write_guide(w, meeting_id, &json, false, Some(&template)))?;
        self.guide(meeting_id)
    }

    // -----------------------------------------------------------------------
    // Facilitator templates
    // -----------------------------------------------------------------------

    /// Save a circle's guides as a template for the facilitator's next
    /// circles: the first meeting's guide, the last one's, and a middle
    /// one's: `middle_from` if given (a middle meeting of this circle), else
    /// the latest middle meeting whose guide a person edited, else the first
    /// middle meeting. Kinds the circle has no meeting for stay empty (the
    /// built-in template is used for them). Returns the template's id.
    pub fn save_guide_as_template(&mut self, circle_id: &str, name: &str, middle_from: Option<&str>) -> Result<String> {
        validate::required(TEMPLATE_ENTITY, "name", name, MAX_NAME)?;
        let circle = self.circle(circle_id)?;
        let meetings: Vec<Meeting> = self.meetings(circle_id)?.into_iter().filter(|m| !m.is_cancelled()).collect();
        if meetings.is_empty() {
            return Err(CoreError::invalid(
                TEMPLATE_ENTITY,
                "circle_id",
                Rule::State,
                format!("\"{}\" has no meetings, so no guides to save", circle.fields.name),
            ));
        }
        let count = meetings.len();
        let mut guides = Vec::with_capacity(count);
        for m in &meetings {
            guides.push(self.guide(&m.id)?);
        }
        let middles: Vec<&MeetingGuide> = guides.iter().filter(|g| g.kind == Some(GuideKind::Middle)).collect();
        let middle: Option<&MeetingGuide> = match middle_from {
            Some(id) => Some(*middles.iter().find(|g| g.meeting_id == id).ok_or_else(|| {
                CoreError::invalid(
                    TEMPLATE_ENTITY,
                    "middle_from",
                    Rule::Choice,
                    format!("meeting {id} is not a middle meeting of \"{}\"", circle.fields.name),
                )
            })?),
            None => middles.iter().rev().find(|g| g.customized).or(middles.first()).copied(),
        };
        let first = &guides[0].sections;
        let last: &[GuideSection] = if count >= 2 { &guides[count - 1].sections } else { &[] };
        let middle: &[GuideSection] = middle.map(|g| g.sections.as_slice()).unwrap_or(&[]);
        let jsons = [validate_sections(first)?, validate_sections(middle)?, validate_sections(last)?];
        let id = new_id();
        self.write(|w| {
            w.insert(
                &GUIDE_TEMPLATES,
                &id,
                &[
                    ("circle_id", text(circle_id)),
                    ("name", text(name.trim())),
                    ("language", text(&circle.fields.language)),
                    ("duration_minutes", int(circle.fields.duration_minutes)),
                    ("first_sections", text(&jsons[0])),
                    ("middle_sections", text(&jsons[1])),
                    ("last_sections", text(&jsons[2])),
                ],
            )
        })?;
        Ok(id)
    }

    /// Every facilitator template in the store, by name.
    pub fn guide_templates(&self) -> Result<Vec<FacilitatorTemplate>> {
        let mut stmt =
            self.conn.prepare(&format!("{TEMPLATE_SELECT} WHERE deleted = 0 ORDER BY name COLLATE NOCASE, id"))?;
        let rows = stmt.query_map([], template_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(TemplateRow::into_template).collect()
    }

    pub fn guide_template(&self, id: &str) -> Result<FacilitatorTemplate> {
        self.guide_template_opt(id)?.ok_or_else(|| CoreError::not_found(TEMPLATE_ENTITY, id))
    }

    fn guide_template_opt(&self, id: &str) -> Result<Option<FacilitatorTemplate>> {
        self.conn
            .query_row(&format!("{TEMPLATE_SELECT} WHERE id = ?1 AND deleted = 0"), [id], template_row)
            .optional()?
            .map(TemplateRow::into_template)
            .transpose()
    }

    /// Delete a facilitator template. Circles that used it keep their
    /// guides; later schedule changes use the built-in templates.
    pub fn delete_guide_template(&mut self, id: &str) -> Result<()> {
        self.guide_template(id)?;
        self.write(|w| w.tombstone(&GUIDE_TEMPLATES, id))
    }

    /// The facilitator template a circle's guides are made from, if any.
    pub fn circle_guide_template(&self, circle_id: &str) -> Result<Option<FacilitatorTemplate>> {
        self.circle(circle_id)?;
        let id: Option<String> =
            self.conn.query_row("SELECT guide_template_id FROM circles WHERE id = ?1", [circle_id], |r| r.get(0))?;
        match id {
            Some(id) => self.guide_template_opt(&id),
            None => Ok(None),
        }
    }

    /// Make a circle's guides from a facilitator template (None: the
    /// built-in templates again). Guides a person edited, and those of held
    /// meetings, stay as they are. Returns how many guides changed.
    pub fn set_circle_guide_template(&mut self, circle_id: &str, template_id: Option<&str>) -> Result<usize> {
        let circle = self.circle(circle_id)?;
        let custom = template_id.map(|id| self.guide_template(id)).transpose()?;
        let mut plan = self.guide_plan(&circle)?;
        plan.source.custom = custom;
        let planned: Vec<PlannedMeeting> = self.meetings(circle_id)?.iter().map(PlannedMeeting::from).collect();
        self.write(|w| {
            w.update(&CIRCLES, circle_id, &[("guide_template_id", crate::store::rows::opt_text(template_id))])?;
            derive_guides(w, &plan, &planned)
        })
    }
}

const TEMPLATE_SELECT: &str = "SELECT id, circle_id, name, language, duration_minutes, first_sections, middle_sections,
        last_sections, created_at FROM guide_templates";

struct TemplateRow {
    id: String,
    circle_id: Option<String>,
    name: String,
    language: String,
    duration_minutes: u32,
    sections: [String; 3],
    created_at: String,
}

fn template_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TemplateRow> {
    Ok(TemplateRow {
        id: r.get(0)?,
        circle_id: r.get(1)?,
        name: r.get(2)?,
        language: r.get(3)?,
        duration_minutes: r.get(4)?,
        sections: [r.get(5)?, r.get(6)?, r.get(7)?],
        created_at: r.get(8)?,
    })
}

impl TemplateRow {
    fn into_template(self) -> Result<FacilitatorTemplate> {
        let [first, middle, last] = self.sections;
        Ok(FacilitatorTemplate {
            id: self.id,
            circle_id: self.circle_id,
            name: self.name,
            language: self.language,
            duration_minutes: self.duration_minutes,
            first: parse_sections(&first)?,
            middle: parse_sections(&middle)?,
            last: parse_sections(&last)?,
            created_at: self.created_at,
        })
    }
}

/// The guides of a circle's meetings in meeting order, for printing or a
/// whole-circle view; cancelled meetings are left out.
impl Store {
    pub fn circle_guides(&self, circle_id: &str) -> Result<Vec<MeetingGuide>> {
        let ids: Vec<String> = {
            let mut stmt = self.conn.prepare(
                "SELECT id FROM meetings WHERE circle_id = ?1 AND deleted = 0 AND status != 'cancelled'
                 ORDER BY local_date, local_time, id",
            )?;
            let ids = stmt.query_map(params![circle_id], |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            ids
        };
        self.circle(circle_id)?;
        ids.iter().map(|id| self.guide(id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Days, NaiveDate};

    use super::*;
    use crate::domain::feedback::FeedbackInput;
    use crate::{CircleInput, WeeklyRule};

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn setup(language: &str, duration: u32, count: u32) -> (tempfile::TempDir, Store, String) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        let mut input = CircleInput::new("Guides", "America/Chicago", "18:00", duration);
        input.language = language.into();
        let circle = store.create_circle(&input, Some(&WeeklyRule { first_date: date("2026-03-03"), count })).unwrap();
        (dir, store, circle)
    }

    /// (template, customized) of every meeting that is not cancelled, in order.
    fn sources(store: &Store, circle: &str) -> Vec<(String, bool)> {
        store.circle_guides(circle).unwrap().into_iter().map(|g| (g.template, g.customized)).collect()
    }

    fn builtin(kind: &str) -> (String, bool) {
        (format!("builtin/en/{kind}@1"), false)
    }

    fn ids(store: &Store, circle: &str) -> Vec<String> {
        store.meetings(circle).unwrap().into_iter().map(|m| m.id).collect()
    }

    #[test]
    fn a_new_schedule_gets_first_middle_and_last_guides() {
        let (_d, store, circle) = setup("en", 90, 4);
        assert_eq!(sources(&store, &circle), [builtin("first"), builtin("middle"), builtin("middle"), builtin("last")]);
        let first = store.guide(&ids(&store, &circle)[0]).unwrap();
        assert!(first.stored && !first.customized);
        assert_eq!(
            (first.number, first.kind, first.total_minutes, first.timing_warning.as_deref()),
            (1, Some(GuideKind::First), 90, None)
        );
        assert_eq!(first.sections[0].title, "Welcome");

        let (_d, store, circle) = setup("es", 120, 1);
        let only = store.circle_guides(&circle).unwrap();
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].template, "builtin/es/first@1", "a single meeting is a first meeting");
        assert_eq!(only[0].sections[0].title, "Bienvenida");
        assert_eq!(only[0].total_minutes, 120, "fitted to the circle's length");

        let (_d, store, circle) = setup("pt-BR", 60, 2);
        let guides = store.circle_guides(&circle).unwrap();
        assert_eq!(guides[1].template, "builtin/pt/last@1");
        assert_eq!(guides[1].total_minutes, 60);
    }

    #[test]
    fn adding_and_removing_meetings_re_derives_all_but_customized_guides() {
        let (_d, mut store, circle) = setup("en", 90, 4);
        let m = ids(&store, &circle);
        let edited = store
            .edit_meeting_guide(
                &m[1],
                &GuideEdit::Edit { index: 0, title: Some("Tea and check-in".into()), minutes: None, notes: None },
            )
            .unwrap();
        assert!(edited.customized);
        let customized_sections = edited.sections.clone();

        let fifth = store.add_meeting(&circle, date("2026-03-31"), None).unwrap();
        assert_eq!(
            sources(&store, &circle),
            [
                builtin("first"),
                ("builtin/en/middle@1".into(), true),
                builtin("middle"),
                builtin("middle"),
                builtin("last")
            ]
        );
        assert_eq!(
            store.guide(&m[3]).unwrap().sections[0].title,
            "Check-in",
            "the old last meeting is a middle one now"
        );
        assert_eq!(store.guide(&m[1]).unwrap().sections, customized_sections, "a person's guide is never overwritten");

        store.remove_meeting(&fifth).unwrap();
        assert_eq!(
            sources(&store, &circle),
            [builtin("first"), ("builtin/en/middle@1".into(), true), builtin("middle"), builtin("last")]
        );

        // Removing the customized meeting's neighbours never touches it either.
        store.remove_meeting(&m[0]).unwrap();
        assert_eq!(store.guide(&m[1]).unwrap().sections, customized_sections);
        assert_eq!(store.guide(&m[1]).unwrap().kind, Some(GuideKind::First));
        assert_eq!(store.guide(&m[2]).unwrap().template, "builtin/en/middle@1");
    }

    #[test]
    fn cancel_restore_and_moves_follow_positions() {
        let (_d, mut store, circle) = setup("en", 90, 4);
        let m = ids(&store, &circle);
        store.set_meeting_status(&m[3], MeetingStatus::Cancelled).unwrap();
        assert_eq!(sources(&store, &circle), [builtin("first"), builtin("middle"), builtin("last")]);
        let cancelled = store.guide(&m[3]).unwrap();
        assert_eq!((cancelled.number, cancelled.kind), (0, None), "a cancelled meeting keeps its guide");
        assert_eq!(cancelled.template, "builtin/en/last@1");

        store.set_meeting_status(&m[3], MeetingStatus::Scheduled).unwrap();
        assert_eq!(sources(&store, &circle), [builtin("first"), builtin("middle"), builtin("middle"), builtin("last")]);

        // Moving the first meeting after the others makes it the last one.
        store.reschedule_meeting(&m[0], date("2026-03-31"), None).unwrap();
        assert_eq!(store.guide(&m[0]).unwrap().template, "builtin/en/last@1");
        assert_eq!(store.guide(&m[1]).unwrap().template, "builtin/en/first@1");
        assert_eq!(store.guide(&m[3]).unwrap().template, "builtin/en/middle@1");
    }

    #[test]
    fn held_meetings_keep_the_plan_they_were_run_with() {
        let (_d, mut store, circle) = setup("en", 90, 3);
        let m = ids(&store, &circle);
        for id in &m {
            store.set_meeting_status(id, MeetingStatus::Held).unwrap();
        }
        store.add_meeting(&circle, date("2026-03-24"), None).unwrap();
        assert_eq!(store.guide(&m[2]).unwrap().template, "builtin/en/last@1", "held: not rewritten");
        assert_eq!(store.circle_guides(&circle).unwrap()[3].template, "builtin/en/last@1");
    }

    #[test]
    fn nothing_is_written_when_no_guide_changes() {
        let (_d, mut store, circle) = setup("en", 90, 4);
        let m = ids(&store, &circle);
        let before = store.pending_count().unwrap();
        store.set_meeting_status(&m[1], MeetingStatus::Held).unwrap();
        assert_eq!(store.pending_count().unwrap(), before + 1, "only the status changed");
        let before = store.derive_circle_guides(&circle).unwrap();
        assert_eq!(before, 0);
    }

    #[test]
    fn changing_the_circles_language_or_length_re_derives() {
        let (_d, mut store, circle) = setup("en", 90, 3);
        let m = ids(&store, &circle);
        store.edit_meeting_guide(&m[2], &GuideEdit::Remove { index: 5 }).unwrap();
        let mut input = store.circle(&circle).unwrap().fields;
        input.language = "pt".into();
        input.duration_minutes = 120;
        store.update_circle(&circle, &input).unwrap();
        let guides = store.circle_guides(&circle).unwrap();
        assert_eq!(guides[0].template, "builtin/pt/first@1");
        assert_eq!(guides[0].total_minutes, 120);
        assert_eq!(guides[2].template, "builtin/en/last@1", "customized: kept");
        assert_eq!(guides[2].sections.len(), 5);
        assert_eq!(guides[2].over_by_minutes, 80 - 120);
        assert!(guides[2]
            .timing_warning
            .as_deref()
            .unwrap()
            .contains("40 minutes of the 120-minute meeting are unplanned"));
    }

    #[test]
    fn replacing_the_schedule_gives_new_guides() {
        let (_d, mut store, circle) = setup("en", 90, 2);
        store.generate_schedule(&circle, &WeeklyRule { first_date: date("2026-04-07"), count: 3 }, true).unwrap();
        assert_eq!(sources(&store, &circle), [builtin("first"), builtin("middle"), builtin("last")]);
    }

    #[test]
    fn section_edits_and_their_errors() {
        let (_d, mut store, circle) = setup("en", 90, 3);
        let id = ids(&store, &circle)[1].clone();
        let titles = |g: &MeetingGuide| g.sections.iter().map(|s| s.title.clone()).collect::<Vec<_>>();
        let g = store.edit_meeting_guide(&id, &GuideEdit::Move { from: 4, to: 0 }).unwrap();
        assert_eq!(titles(&g)[..2], ["Plus/delta reflection", "Check-in"]);
        let g = store
            .edit_meeting_guide(
                &id,
                &GuideEdit::Add {
                    at: Some(1),
                    section: GuideSection { title: " Stretch ".into(), minutes: 5, notes: String::new() },
                },
            )
            .unwrap();
        assert_eq!(titles(&g)[1], "Stretch");
        assert_eq!((g.total_minutes, g.over_by_minutes), (95, 5));
        assert_eq!(
            g.timing_warning.as_deref(),
            Some("The sections add up to 95 minutes, 5 more than the 90-minute meeting.")
        );
        let g = store
            .edit_meeting_guide(
                &id,
                &GuideEdit::Edit { index: 4, title: None, minutes: Some(40), notes: Some("Pairs".into()) },
            )
            .unwrap();
        assert_eq!(
            (g.sections[4].title.as_str(), g.sections[4].minutes, g.sections[4].notes.as_str()),
            ("Course work", 40, "Pairs")
        );
        assert_eq!((g.total_minutes, g.timing_warning), (90, None));
        let g = store.edit_meeting_guide(&id, &GuideEdit::Remove { index: 1 }).unwrap();
        assert_eq!(g.sections.len(), 6);

        let field = |e: CoreError| e.field().unwrap();
        let err = store.edit_meeting_guide(&id, &GuideEdit::Remove { index: 6 }).unwrap_err();
        assert_eq!(err.to_string(), "meeting guide index: there is no section 7; the guide has 6 sections");
        assert_eq!(field(store.edit_meeting_guide(&id, &GuideEdit::Move { from: 0, to: 9 }).unwrap_err()), "index");
        let bad = GuideEdit::Edit { index: 0, title: Some(" ".into()), minutes: None, notes: None };
        assert_eq!(field(store.edit_meeting_guide(&id, &bad).unwrap_err()), "title");
        let bad = GuideEdit::Edit { index: 0, title: None, minutes: Some(0), notes: None };
        assert_eq!(field(store.edit_meeting_guide(&id, &bad).unwrap_err()), "minutes");
        let long = GuideEdit::Replace {
            sections: (0..3)
                .map(|i| GuideSection { title: format!("S{i}"), minutes: 5, notes: "n".repeat(9_000) })
                .collect(),
        };
        assert!(store.edit_meeting_guide(&id, &long).unwrap_err().to_string().contains("limit is 20000"));

        let reset = store.reset_meeting_guide(&id).unwrap();
        assert!(!reset.customized);
        assert_eq!(reset.template, "builtin/en/middle@1");
        assert_eq!(reset.sections[0].title, "Check-in");
    }

    #[test]
    fn last_weeks_note_appears_in_the_next_meetings_guide() {
        let (_d, mut store, circle) = setup("en", 90, 4);
        let m = ids(&store, &circle);
        let note = FeedbackInput {
            rating: Some(4),
            next_week_note: "Bring the laptops charged.".into(),
            ..Default::default()
        };
        store.set_meeting_feedback(&m[0], &note).unwrap();
        let carried = store.guide(&m[1]).unwrap().note_from_last_meeting.unwrap();
        assert_eq!((carried.meeting_id.as_str(), carried.text.as_str()), (m[0].as_str(), "Bring the laptops charged."));
        assert_eq!(carried.local_date, date("2026-03-03"));
        assert!(store.guide(&m[0]).unwrap().note_from_last_meeting.is_none());
        assert!(store.guide(&m[2]).unwrap().note_from_last_meeting.is_none());
        assert!(!store.guide(&m[1]).unwrap().sections.iter().any(|s| s.notes.contains("laptops")), "not copied in");

        // If the next meeting is cancelled, the note goes to the one after.
        store.set_meeting_status(&m[1], MeetingStatus::Cancelled).unwrap();
        assert_eq!(store.guide(&m[2]).unwrap().note_from_last_meeting.unwrap().meeting_id, m[0]);
    }

    #[test]
    fn a_circles_guide_saved_as_a_template_starts_the_next_circle() {
        let (_d, mut store, circle) = setup("en", 90, 4);
        let m = ids(&store, &circle);
        store
            .edit_meeting_guide(
                &m[0],
                &GuideEdit::Edit { index: 0, title: Some("Coffee and welcome".into()), minutes: None, notes: None },
            )
            .unwrap();
        store.edit_meeting_guide(&m[2], &GuideEdit::Remove { index: 3 }).unwrap();
        let template = store.save_guide_as_template(&circle, "My Python circle", None).unwrap();
        let t = store.guide_template(&template).unwrap();
        assert_eq!(
            (t.name.as_str(), t.language.as_str(), t.duration_minutes, t.circle_id.as_deref()),
            ("My Python circle", "en", 90, Some(circle.as_str()))
        );
        assert_eq!(t.first[0].title, "Coffee and welcome");
        assert_eq!(t.middle.len(), 5, "the latest edited middle meeting");
        assert_eq!(t.last[0].title, "Welcome back");
        assert_eq!(store.guide_templates().unwrap().len(), 1);
        let from_second = store.save_guide_as_template(&circle, "Second", Some(&m[1])).unwrap();
        assert_eq!(store.guide_template(&from_second).unwrap().middle.len(), 6);
        assert_eq!(
            store.save_guide_as_template(&circle, "Nope", Some(&m[0])).unwrap_err().field(),
            Some("middle_from")
        );

        // A new, longer circle made from it.
        let mut input = CircleInput::new("Next circle", "Europe/Lisbon", "10:00", 120);
        input.language = "pt".into();
        let next = store.create_circle(&input, Some(&WeeklyRule { first_date: date("2026-09-05"), count: 3 })).unwrap();
        assert_eq!(store.set_circle_guide_template(&next, Some(&template)).unwrap(), 3);
        let guides = store.circle_guides(&next).unwrap();
        assert_eq!(guides[0].template, format!("template/{template}/first"));
        assert_eq!(guides[0].sections[0].title, "Coffee and welcome");
        assert!(guides.iter().all(|g| g.total_minutes == 120), "fitted to 120 minutes");
        assert_eq!(store.circle_guide_template(&next).unwrap().unwrap().id, template);
        // Schedule changes keep using it.
        let last = store.meetings(&next).unwrap()[2].local_date;
        store.add_meeting(&next, last.checked_add_days(Days::new(7)).unwrap(), None).unwrap();
        assert_eq!(store.circle_guides(&next).unwrap()[2].template, format!("template/{template}/middle"));
        // Back to the built-in ones, then the template is deleted.
        store.set_circle_guide_template(&next, None).unwrap();
        assert_eq!(store.circle_guides(&next).unwrap()[0].template, "builtin/pt/first@1");
        store.delete_guide_template(&template).unwrap();
        assert!(store.guide_template(&template).is_err());

        let (_d, mut store, single) = setup("en", 90, 1);
        let t = store.save_guide_as_template(&single, "One-off", None).unwrap();
        let t = store.guide_template(&t).unwrap();
        assert!(t.middle.is_empty() && t.last.is_empty(), "kinds without a meeting stay empty");
        assert!(store.save_guide_as_template(&single, " ", None).is_err());
    }

    #[test]
    fn a_guide_made_for_another_position_is_shown_as_its_position_calls_for() {
        let (_d, mut store, circle) = setup("en", 90, 3);
        let m = ids(&store, &circle);
        // As if a sync brought a fourth meeting without its guides' update.
        store.conn.execute("UPDATE meetings SET local_date = '2026-03-31' WHERE id = ?1", [&m[0]]).unwrap();
        let g = store.guide(&m[0]).unwrap();
        assert_eq!((g.template.as_str(), g.stored), ("builtin/en/last@1", false));
        assert_eq!(store.guide(&m[1]).unwrap().template, "builtin/en/first@1");
        assert_eq!(store.derive_circle_guides(&circle).unwrap(), 3);
        assert!(store.guide(&m[0]).unwrap().stored);
        assert_eq!(store.derive_circle_guides(&circle).unwrap(), 0);
    }

    #[test]
    fn meetings_from_before_guides_are_shown_their_template_and_can_be_filled_in() {
        let (_d, mut store, circle) = setup("en", 90, 3);
        let m = ids(&store, &circle);
        store.conn.execute("DELETE FROM meeting_guides", []).unwrap();
        let g = store.guide(&m[2]).unwrap();
        assert!(!g.stored);
        assert_eq!(g.template, "builtin/en/last@1");
        assert!(store.meeting_guide(&m[2]).unwrap().is_none());
        assert_eq!(store.derive_circle_guides(&circle).unwrap(), 3);
        assert!(store.meeting_guide(&m[2]).unwrap().unwrap().stored);
        assert_eq!(store.verify_change_log().unwrap(), []);
    }
}
