//! Meeting guides: the plan for one meeting as timed sections. One guide
//! per meeting (its id derived from the meeting's), so co-facilitators
//! editing offline converge on one guide.

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::rows::{derived_id, flag, text};
use crate::schema::MEETING_GUIDES;
use crate::store::Store;
use crate::validate::{self, MAX_NAME, MAX_TEXT};

const ENTITY: &str = "meeting guide";
pub const MAX_SECTIONS: usize = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuideSection {
    pub title: String,
    pub minutes: u32,
    #[serde(default)]
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeetingGuide {
    pub meeting_id: String,
    pub sections: Vec<GuideSection>,
    /// Edited by a person (templates never overwrite it).
    pub customized: bool,
    pub total_minutes: u32,
}

pub fn guide_id(meeting_id: &str) -> String {
    derived_id("meeting_guide", &[meeting_id])
}

fn validate_sections(sections: &[GuideSection]) -> Result<()> {
    if sections.len() > MAX_SECTIONS {
        return Err(CoreError::invalid(
            ENTITY,
            "sections",
            format!("has {} sections; the limit is {MAX_SECTIONS}", sections.len()),
        ));
    }
    for s in sections {
        validate::required(ENTITY, "title", &s.title, MAX_NAME)?;
        validate::in_range(ENTITY, "minutes", s.minutes.into(), 1, 720)?;
        validate::optional(ENTITY, "notes", &s.notes, MAX_TEXT)?;
    }
    Ok(())
}

impl Store {
    /// A meeting's guide, if one was written.
    pub fn meeting_guide(&self, meeting_id: &str) -> Result<Option<MeetingGuide>> {
        self.meeting(meeting_id)?;
        let row: Option<(String, bool)> = self
            .conn
            .query_row(
                "SELECT sections, customized FROM meeting_guides WHERE id = ?1 AND deleted = 0",
                [guide_id(meeting_id)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(json, customized)| {
            let sections: Vec<GuideSection> = serde_json::from_str(&json)
                .map_err(|e| CoreError::invalid(ENTITY, "sections", format!("stored guide is unreadable: {e}")))?;
            Ok(MeetingGuide {
                meeting_id: meeting_id.to_string(),
                total_minutes: sections.iter().map(|s| s.minutes).sum(),
                sections,
                customized,
            })
        })
        .transpose()
    }

    /// Replace a meeting's guide sections. `customized` records whether a
    /// person wrote them (true) or a template did (false).
    pub fn set_meeting_guide(&mut self, meeting_id: &str, sections: &[GuideSection], customized: bool) -> Result<()> {
        validate_sections(sections)?;
        self.meeting(meeting_id)?;
        let id = guide_id(meeting_id);
        let json = serde_json::to_string(sections).expect("sections serialize");
        self.write(|w| {
            w.upsert(
                &MEETING_GUIDES,
                &id,
                &[("meeting_id", text(meeting_id))],
                &[("sections", text(&json)), ("customized", flag(customized))],
            )
        })
    }
}
