//! After-meeting feedback: how it went (1-5), a reflection, and a note for
//! next week. One per meeting (id derived from the meeting's).

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::rows::{derived_id, opt_int, text};
use crate::schema::MEETING_FEEDBACK;
use crate::store::Store;
use crate::validate::{self, MAX_NAME, MAX_TEXT};

const ENTITY: &str = "meeting feedback";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct FeedbackInput {
    /// "How did it go?", 1 (badly) to 5 (very well).
    pub rating: Option<u8>,
    pub reflection: String,
    /// The prompt the reflection answers.
    pub reflection_prompt: String,
    /// Shown in the next meeting's guide.
    pub next_week_note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeetingFeedback {
    pub meeting_id: String,
    #[serde(flatten)]
    pub fields: FeedbackInput,
}

pub fn feedback_id(meeting_id: &str) -> String {
    derived_id("meeting_feedback", &[meeting_id])
}

impl FeedbackInput {
    pub fn validate(&self) -> Result<()> {
        if let Some(rating) = self.rating {
            validate::in_range(ENTITY, "rating", rating.into(), 1, 5)?;
        }
        validate::optional(ENTITY, "reflection", &self.reflection, MAX_TEXT)?;
        validate::optional(ENTITY, "reflection_prompt", &self.reflection_prompt, MAX_NAME)?;
        validate::optional(ENTITY, "next_week_note", &self.next_week_note, MAX_TEXT)?;
        Ok(())
    }
}

impl Store {
    pub fn meeting_feedback(&self, meeting_id: &str) -> Result<Option<MeetingFeedback>> {
        self.meeting(meeting_id)?;
        Ok(self
            .conn
            .query_row(
                "SELECT rating, reflection, reflection_prompt, next_week_note FROM meeting_feedback
                 WHERE id = ?1 AND deleted = 0",
                [feedback_id(meeting_id)],
                |r| {
                    Ok(MeetingFeedback {
                        meeting_id: meeting_id.to_string(),
                        fields: FeedbackInput {
                            rating: r.get(0)?,
                            reflection: r.get(1)?,
                            reflection_prompt: r.get(2)?,
                            next_week_note: r.get(3)?,
                        },
                    })
                },
            )
            .optional()?)
    }

    /// Write a meeting's feedback. Feedback is about a meeting that took
    /// place, so a cancelled meeting is refused.
    pub fn set_meeting_feedback(&mut self, meeting_id: &str, input: &FeedbackInput) -> Result<()> {
        input.validate()?;
        let meeting = self.meeting(meeting_id)?;
        if meeting.is_cancelled() {
            return Err(CoreError::invalid(
                ENTITY,
                "meeting_id",
                format!("the meeting on {} was cancelled; there is nothing to give feedback on", meeting.local_date),
            ));
        }
        let id = feedback_id(meeting_id);
        let values = [
            ("rating", opt_int(input.rating)),
            ("reflection", text(&input.reflection)),
            ("reflection_prompt", text(input.reflection_prompt.trim())),
            ("next_week_note", text(&input.next_week_note)),
        ];
        self.write(|w| w.upsert(&MEETING_FEEDBACK, &id, &[("meeting_id", text(meeting_id))], &values))
    }
}
