//! A guide's sections: a title, minutes and notes each, and the limits a
//! guide's sections must keep (shared by guides, facilitator templates and
//! the template files).

use serde::{Deserialize, Serialize};

use crate::domain::validate::{self, MAX_NAME, MAX_TEXT};
use crate::error::{CoreError, Result, Rule};

const ENTITY: &str = "meeting guide";
pub const MAX_SECTIONS: usize = 30;
/// The longest a guide's sections may be as stored JSON: the most a text
/// field may hold on the sync wire.
pub const MAX_SECTIONS_JSON: usize = 20_000;
/// How far under the meeting's length a plan may be before it is flagged.
pub const UNDER_TOLERANCE_MINUTES: u32 = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GuideSection {
    pub title: String,
    pub minutes: u32,
    #[serde(default)]
    pub notes: String,
}

pub(crate) fn validate_sections(sections: &[GuideSection]) -> Result<String> {
    if sections.len() > MAX_SECTIONS {
        return Err(CoreError::invalid(
            ENTITY,
            "sections",
            Rule::OutOfRange { min: 0, max: MAX_SECTIONS as i64 },
            format!("has {} sections; the limit is {MAX_SECTIONS}", sections.len()),
        ));
    }
    for s in sections {
        validate::required(ENTITY, "title", &s.title, MAX_NAME)?;
        validate::in_range(ENTITY, "minutes", s.minutes.into(), 1, 720)?;
        validate::optional(ENTITY, "notes", &s.notes, MAX_TEXT)?;
    }
    let json = serde_json::to_string(sections).expect("sections serialize");
    let len = json.chars().count();
    if len > MAX_SECTIONS_JSON {
        return Err(CoreError::invalid(
            ENTITY,
            "notes", Rule::TooLong { length: len as u32, max: MAX_SECTIONS_JSON as u32 },
            format!("the guide's text is {len} characters long in all; the limit is {MAX_SECTIONS_JSON}: shorten some notes"),
        ));
    }
    Ok(json)
}

pub(crate) fn parse_sections(json: &str) -> Result<Vec<GuideSection>> {
    serde_json::from_str(json).map_err(|e| CoreError::Corrupt(format!("stored guide is unreadable: {e}")))
}

/// The timing warning for a plan of `total` minutes in a meeting of
/// `duration` minutes.
pub fn timing_warning(total: u32, duration: u32) -> Option<String> {
    if total > duration {
        Some(format!(
            "The sections add up to {total} minutes, {} more than the {duration}-minute meeting.",
            total - duration
        ))
    } else if total + UNDER_TOLERANCE_MINUTES < duration {
        Some(format!(
            "The sections add up to {total} minutes; {} minutes of the {duration}-minute meeting are unplanned.",
            duration - total
        ))
    } else {
        None
    }
}
