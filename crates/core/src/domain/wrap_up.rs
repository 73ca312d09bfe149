//! The wrap-up, when a circle is over: the facilitator's goal and course
//! ratings, and whether the circle was completed or did not happen (what a
//! team's report counts as an outcome).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result, Rule};
use crate::schema::{check_field, CIRCLES};
use crate::store::rows::{flag, opt_int, text};
use crate::store::Store;

/// How a circle ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum CircleOutcome {
    Completed,
    DidNotHappen,
}

impl CircleOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CircleOutcome::Completed => "completed",
            CircleOutcome::DidNotHappen => "did_not_happen",
        }
    }
}

/// What the facilitator says when the circle is over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WrapUpInput {
    pub outcome: CircleOutcome,
    /// What the facilitator wanted to achieve with this circle.
    #[serde(default)]
    pub facilitator_goal: String,
    /// How well they achieved it, 1 (not at all) to 5 (fully); required for
    /// a completed circle.
    #[serde(default)]
    pub goal_rating: Option<u8>,
    /// How good the course was for a learning circle, 1-5; required for a
    /// completed circle.
    #[serde(default)]
    pub course_rating: Option<u8>,
    #[serde(default)]
    pub course_rating_reason: String,
}

/// A circle's wrap-up as stored, and whether it can be given now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WrapUp {
    pub circle_id: String,
    /// None until the circle is wrapped up.
    pub outcome: Option<CircleOutcome>,
    pub facilitator_goal: String,
    pub goal_rating: Option<u8>,
    pub course_rating: Option<u8>,
    pub course_rating_reason: String,
    /// When the circle's last meeting that is not cancelled ends.
    pub last_meeting_ends_at: Option<DateTime<Utc>>,
    /// The last meeting has ended: the circle can be marked completed.
    pub can_complete: bool,
}

const WRAP_UP: &str = "wrap-up";

impl Store {
    /// A circle's wrap-up as of `now`.
    pub fn circle_wrap_up(&self, circle_id: &str, now: DateTime<Utc>) -> Result<WrapUp> {
        let circle = self.circle(circle_id)?;
        let last = self.meetings(circle_id)?.into_iter().rfind(|m| !m.is_cancelled());
        let (completed, goal, goal_rating, course_rating, reason): (bool, String, Option<u8>, Option<u8>, String) =
            self.conn.query_row(
                "SELECT completed, facilitator_goal, goal_rating, course_rating, course_rating_reason
                 FROM circles WHERE id = ?1",
                [circle_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )?;
        let outcome = if circle.fields.did_not_happen {
            Some(CircleOutcome::DidNotHappen)
        } else if completed {
            Some(CircleOutcome::Completed)
        } else {
            None
        };
        Ok(WrapUp {
            circle_id: circle.id,
            outcome,
            facilitator_goal: goal,
            goal_rating,
            course_rating,
            course_rating_reason: reason,
            can_complete: last.as_ref().is_some_and(|m| m.ends_at <= now),
            last_meeting_ends_at: last.map(|m| m.ends_at),
        })
    }

    /// Wrap a circle up now; see [`Store::wrap_up_at`].
    pub fn wrap_up(&mut self, circle_id: &str, input: &WrapUpInput) -> Result<WrapUp> {
        self.wrap_up_at(circle_id, input, Utc::now())
    }

    /// Record how a circle ended. "Completed" is refused until the circle's
    /// last meeting (that is not cancelled) has ended at `now`, and needs the
    /// goal and course ratings; "did not happen" can be said at any time
    /// and needs no ratings. Saying it again replaces the earlier answer.
    pub fn wrap_up_at(&mut self, circle_id: &str, input: &WrapUpInput, now: DateTime<Utc>) -> Result<WrapUp> {
        check_field(&CIRCLES, "facilitator_goal", input.facilitator_goal.as_str())?;
        check_field(&CIRCLES, "course_rating_reason", input.course_rating_reason.as_str())?;
        check_field(&CIRCLES, "goal_rating", input.goal_rating)?;
        check_field(&CIRCLES, "course_rating", input.course_rating)?;
        let circle = self.circle(circle_id)?;
        let current = self.circle_wrap_up(circle_id, now)?;
        if input.outcome == CircleOutcome::Completed {
            let Some(ends_at) = current.last_meeting_ends_at else {
                return Err(CoreError::invalid(
                    WRAP_UP,
                    "outcome",
                    Rule::State,
                    format!(
                        "\"{}\" has no meetings, so it cannot be completed; mark it as did not happen instead",
                        circle.fields.name
                    ),
                ));
            };
            if ends_at > now {
                let tz = crate::domain::schedule::parse_time_zone(&circle.fields.time_zone)?;
                let local = ends_at.with_timezone(&tz);
                return Err(CoreError::invalid(
                    WRAP_UP,
                    "outcome",
                    Rule::State,
                    format!(
                        "the last meeting of \"{}\" has not ended yet (it ends {} {}); wrap the circle up after it",
                        circle.fields.name,
                        local.format("%a %Y-%m-%d at %H:%M"),
                        circle.fields.time_zone
                    ),
                ));
            }
            if input.goal_rating.is_none() {
                return Err(CoreError::invalid(
                    WRAP_UP,
                    "goal_rating",
                    Rule::Required,
                    "is required to complete a circle (1 to 5)",
                ));
            }
            if input.course_rating.is_none() {
                return Err(CoreError::invalid(
                    WRAP_UP,
                    "course_rating",
                    Rule::Required,
                    "is required to complete a circle (1 to 5)",
                ));
            }
        }
        let completed = input.outcome == CircleOutcome::Completed;
        let columns = [
            ("completed", flag(completed)),
            ("did_not_happen", flag(!completed)),
            ("facilitator_goal", text(input.facilitator_goal.trim())),
            ("goal_rating", opt_int(input.goal_rating)),
            ("course_rating", opt_int(input.course_rating)),
            ("course_rating_reason", text(input.course_rating_reason.trim())),
        ];
        self.write(|w| w.update(&CIRCLES, circle_id, &columns))?;
        self.circle_wrap_up(circle_id, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::feedback::tests::{setup, utc};
    use crate::CircleInput;

    #[test]
    fn wrap_up_waits_for_the_last_meeting_to_end() {
        let (_d, mut store, circle, _m) = setup();
        let done = WrapUpInput {
            outcome: CircleOutcome::Completed,
            facilitator_goal: "Get everyone through unit 3".into(),
            goal_rating: Some(4),
            course_rating: Some(5),
            course_rating_reason: "Short videos, good exercises".into(),
        };
        // The last meeting (2026-03-15 18:00 CDT) ends at 00:30 UTC on the 16th.
        let err = store.wrap_up_at(&circle, &done, utc(2026, 3, 16, 0, 29)).unwrap_err();
        assert_eq!(err.field(), Some("outcome"));
        assert!(
            err.to_string().contains("has not ended yet (it ends Sun 2026-03-15 at 19:30 America/Chicago)"),
            "{err}"
        );
        let before = store.circle_wrap_up(&circle, utc(2026, 3, 16, 0, 29)).unwrap();
        assert_eq!((before.outcome, before.can_complete), (None, false));

        let after = utc(2026, 3, 16, 0, 30);
        let no_rating = WrapUpInput { goal_rating: None, ..done.clone() };
        assert_eq!(store.wrap_up_at(&circle, &no_rating, after).unwrap_err().field(), Some("goal_rating"));
        let bad = WrapUpInput { course_rating: Some(6), ..done.clone() };
        assert_eq!(store.wrap_up_at(&circle, &bad, after).unwrap_err().field(), Some("course_rating"));
        let wrap = store.wrap_up_at(&circle, &done, after).unwrap();
        assert_eq!(
            (wrap.outcome, wrap.goal_rating, wrap.course_rating),
            (Some(CircleOutcome::Completed), Some(4), Some(5))
        );
        assert_eq!(wrap.course_rating_reason, "Short videos, good exercises");
        assert!(!store.circle(&circle).unwrap().fields.did_not_happen);

        // "Did not happen" can be said any time and replaces the answer.
        let dnh = WrapUpInput {
            outcome: CircleOutcome::DidNotHappen,
            facilitator_goal: String::new(),
            goal_rating: None,
            course_rating: None,
            course_rating_reason: String::new(),
        };
        let wrap = store.wrap_up_at(&circle, &dnh, utc(2026, 3, 1, 0, 0)).unwrap();
        assert_eq!(wrap.outcome, Some(CircleOutcome::DidNotHappen));
        assert!(store.circle(&circle).unwrap().fields.did_not_happen);
        assert!(
            store.meetings_awaiting_feedback(after).unwrap().is_empty(),
            "nothing asked of a circle that did not happen"
        );

        let empty = store.create_circle(&CircleInput::new("Empty", "UTC", "10:00", 60), None).unwrap();
        assert!(store.wrap_up_at(&empty, &done, after).unwrap_err().to_string().contains("has no meetings"));
        assert_eq!(store.verify_change_log().unwrap(), []);
    }
}
