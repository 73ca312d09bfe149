//! After-meeting feedback: how it went (1-5), a reflection answering one of
//! a few prompts, and a note for next week (shown in the next meeting's
//! guide). One per meeting (id derived from the meeting's). And the wrap-up
//! when a circle is over: the facilitator's goal and course ratings, and
//! whether the circle was completed or did not happen.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::meeting::Meeting;
use crate::report::MarkCounts;
use crate::rows::{derived_id, flag, opt_int, text};
use crate::schema::{CIRCLES, MEETING_FEEDBACK};
use crate::store::Store;
use crate::validate::{self, MAX_NAME, MAX_TEXT};

const ENTITY: &str = "meeting feedback";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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

// ---------------------------------------------------------------------------
// Reflection prompts
// ---------------------------------------------------------------------------

/// A question the after-meeting reflection can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReflectionPrompt {
    /// Stable across languages: "went-well", "change", ...
    pub id: &'static str,
    pub text: &'static str,
}

const PROMPT_IDS: [&str; 5] = ["went-well", "change", "helped", "surprised", "stuck"];

const PROMPTS: &[(&str, [&str; 5])] = &[
    (
        "en",
        [
            "What went well today?",
            "What would you change next time?",
            "How did learners help each other?",
            "What surprised you?",
            "Where did people get stuck, and what helped?",
        ],
    ),
    (
        "es",
        [
            "¿Qué salió bien hoy?",
            "¿Qué cambiaría la próxima vez?",
            "¿Cómo se ayudaron los participantes entre sí?",
            "¿Qué le sorprendió?",
            "¿Dónde se atascaron y qué les ayudó?",
        ],
    ),
    (
        "pt",
        [
            "O que correu bem hoje?",
            "O que mudaria na próxima vez?",
            "Como é que os participantes se ajudaram uns aos outros?",
            "O que o surpreendeu?",
            "Onde é que as pessoas tiveram dificuldades, e o que ajudou?",
        ],
    ),
];

/// The reflection prompts in `language` (its primary subtag, else English).
pub fn reflection_prompts(language: &str) -> Vec<ReflectionPrompt> {
    let primary = language.split('-').next().unwrap_or_default();
    let texts = PROMPTS
        .iter()
        .find(|(l, _)| *l == language)
        .or_else(|| PROMPTS.iter().find(|(l, _)| *l == primary))
        .unwrap_or(&PROMPTS[0])
        .1;
    PROMPT_IDS.iter().zip(texts).map(|(id, text)| ReflectionPrompt { id, text }).collect()
}

/// The prompt text to store for what a person chose: a prompt id
/// ("went-well") or number (1-5) gives that prompt in `language`; anything
/// else is taken as the person's own question.
pub fn resolve_reflection_prompt(language: &str, given: &str) -> String {
    let given = given.trim();
    let prompts = reflection_prompts(language);
    let by_number = given.parse::<usize>().ok().and_then(|n| n.checked_sub(1)).and_then(|i| prompts.get(i));
    by_number
        .or_else(|| prompts.iter().find(|p| p.id.eq_ignore_ascii_case(given)))
        .map_or_else(|| given.to_string(), |p| p.text.to_string())
}

// ---------------------------------------------------------------------------
// Meetings waiting for feedback, and the feedback form
// ---------------------------------------------------------------------------

/// A meeting that has ended and has no feedback yet.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AwaitingFeedback {
    pub circle_id: String,
    pub circle_name: String,
    pub time_zone: String,
    pub meeting: Meeting,
}

/// Everything the after-meeting form shows: the meeting, the feedback so
/// far, the prompts in the circle's language, and the attendance already
/// taken (never typed twice).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FeedbackForm {
    pub circle_id: String,
    pub circle_name: String,
    pub language: String,
    pub meeting: Meeting,
    /// The meeting's end has passed.
    pub ended: bool,
    pub feedback: Option<MeetingFeedback>,
    pub prompts: Vec<ReflectionPrompt>,
    pub attendance: MarkCounts,
    /// Learners on the roster with no mark yet.
    pub unmarked: u32,
    pub head_count: Option<u32>,
}

impl Store {
    /// Meetings whose end has passed at `now` and that have no feedback (no
    /// rating and no reflection), most recent first: what the app prompts
    /// for. Cancelled meetings and circles marked "did not happen" are left
    /// out; a meeting's end is its local start plus the circle's meeting
    /// length, in the circle's zone (daylight-saving changes included).
    pub fn meetings_awaiting_feedback(&self, now: DateTime<Utc>) -> Result<Vec<AwaitingFeedback>> {
        let answered: HashSet<String> = {
            let mut stmt = self.conn.prepare(
                "SELECT meeting_id FROM meeting_feedback
                 WHERE deleted = 0 AND (rating IS NOT NULL OR trim(reflection) != '')",
            )?;
            let ids = stmt.query_map([], |r| r.get::<_, Option<String>>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            ids.into_iter().flatten().collect()
        };
        let mut out = Vec::new();
        for circle in self.circles()? {
            if circle.fields.did_not_happen {
                continue;
            }
            for meeting in self.meetings(&circle.id)? {
                if meeting.is_cancelled() || meeting.ends_at > now || answered.contains(&meeting.id) {
                    continue;
                }
                out.push(AwaitingFeedback {
                    circle_id: circle.id.clone(),
                    circle_name: circle.fields.name.clone(),
                    time_zone: circle.fields.time_zone.clone(),
                    meeting,
                });
            }
        }
        out.sort_by(|a, b| b.meeting.ends_at.cmp(&a.meeting.ends_at).then_with(|| a.meeting.id.cmp(&b.meeting.id)));
        Ok(out)
    }

    /// The after-meeting form of a meeting, as of `now`.
    pub fn feedback_form(&self, meeting_id: &str, now: DateTime<Utc>) -> Result<FeedbackForm> {
        let meeting = self.meeting(meeting_id)?;
        let circle = self.circle(&meeting.circle_id)?;
        let mut attendance = MarkCounts::default();
        let mut unmarked = 0;
        for entry in self.roster(meeting_id)? {
            match entry.mark {
                Some(mark) => attendance.add(mark),
                None => unmarked += 1,
            }
        }
        Ok(FeedbackForm {
            circle_id: circle.id.clone(),
            circle_name: circle.fields.name.clone(),
            prompts: reflection_prompts(&circle.fields.language),
            language: circle.fields.language,
            ended: meeting.ends_at <= now,
            feedback: self.meeting_feedback(meeting_id)?,
            attendance,
            unmarked,
            head_count: meeting.head_count,
            meeting,
        })
    }
}

// ---------------------------------------------------------------------------
// The wrap-up
// ---------------------------------------------------------------------------

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
        validate::optional(WRAP_UP, "facilitator_goal", &input.facilitator_goal, MAX_TEXT)?;
        validate::optional(WRAP_UP, "course_rating_reason", &input.course_rating_reason, MAX_TEXT)?;
        for (field, rating) in [("goal_rating", input.goal_rating), ("course_rating", input.course_rating)] {
            if let Some(r) = rating {
                validate::in_range(WRAP_UP, field, r.into(), 1, 5)?;
            }
        }
        let circle = self.circle(circle_id)?;
        let current = self.circle_wrap_up(circle_id, now)?;
        if input.outcome == CircleOutcome::Completed {
            let Some(ends_at) = current.last_meeting_ends_at else {
                return Err(CoreError::invalid(
                    WRAP_UP,
                    "outcome",
                    format!("\"{}\" has no meetings, so it cannot be completed; mark it as did not happen instead", circle.fields.name),
                ));
            };
            if ends_at > now {
                let tz = crate::schedule::parse_time_zone(&circle.fields.time_zone)?;
                let local = ends_at.with_timezone(&tz);
                return Err(CoreError::invalid(
                    WRAP_UP,
                    "outcome",
                    format!(
                        "the last meeting of \"{}\" has not ended yet (it ends {} {}); wrap the circle up after it",
                        circle.fields.name,
                        local.format("%a %Y-%m-%d at %H:%M"),
                        circle.fields.time_zone
                    ),
                ));
            }
            if input.goal_rating.is_none() {
                return Err(CoreError::invalid(WRAP_UP, "goal_rating", "is required to complete a circle (1 to 5)"));
            }
            if input.course_rating.is_none() {
                return Err(CoreError::invalid(WRAP_UP, "course_rating", "is required to complete a circle (1 to 5)"));
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
    use chrono::{NaiveDate, TimeZone};

    use super::*;
    use crate::attendance::Mark;
    use crate::meeting::MeetingStatus;
    use crate::{CircleInput, LearnerInput, WeeklyRule};

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    /// Sundays at 18:00 in Chicago for 90 minutes, from 2026-03-01: the
    /// second meeting is on the day daylight saving starts (2026-03-08).
    fn setup() -> (tempfile::TempDir, Store, String, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        let circle = store
            .create_circle(
                &CircleInput::new("Sundays", "America/Chicago", "18:00", 90),
                Some(&WeeklyRule { first_date: date("2026-03-01"), count: 3 }),
            )
            .unwrap();
        let ids = store.meetings(&circle).unwrap().into_iter().map(|m| m.id).collect();
        (dir, store, circle, ids)
    }

    fn pending(store: &Store, now: DateTime<Utc>) -> Vec<NaiveDate> {
        store.meetings_awaiting_feedback(now).unwrap().iter().map(|a| a.meeting.local_date).collect()
    }

    #[test]
    fn prompts_come_in_three_languages_and_resolve_by_id_or_number() {
        assert_eq!(reflection_prompts("en")[0].text, "What went well today?");
        assert_eq!(reflection_prompts("es-MX")[1].text, "¿Qué cambiaría la próxima vez?");
        assert_eq!(reflection_prompts("pt")[0].text, "O que correu bem hoje?");
        assert_eq!(reflection_prompts("fr")[0].text, "What went well today?");
        assert!(["en", "es", "pt"].iter().all(|l| reflection_prompts(l).len() == 5));
        assert_eq!(resolve_reflection_prompt("es", "went-well"), "¿Qué salió bien hoy?");
        assert_eq!(resolve_reflection_prompt("pt", "2"), "O que mudaria na próxima vez?");
        assert_eq!(resolve_reflection_prompt("en", " What did we learn? "), "What did we learn?");
        assert_eq!(resolve_reflection_prompt("en", "9"), "9");
    }

    #[test]
    fn meetings_are_awaiting_feedback_once_they_end_across_a_dst_change() {
        let (_d, mut store, _circle, m) = setup();
        // 2026-03-08 18:00 CDT (UTC-5) + 90 min = 23:30 UTC... 00:30 UTC on the 9th.
        assert_eq!(pending(&store, utc(2026, 3, 9, 0, 29)), [date("2026-03-01")]);
        assert_eq!(pending(&store, utc(2026, 3, 9, 0, 30)), [date("2026-03-08"), date("2026-03-01")], "most recent first");
        // Feedback with a rating or a reflection answers it; an empty one does not.
        store.set_meeting_feedback(&m[0], &FeedbackInput { next_week_note: "x".into(), ..Default::default() }).unwrap();
        assert_eq!(pending(&store, utc(2026, 3, 9, 0, 30)).len(), 2);
        store.set_meeting_feedback(&m[0], &FeedbackInput { reflection: "Fine.".into(), ..Default::default() }).unwrap();
        assert_eq!(pending(&store, utc(2026, 3, 9, 0, 30)), [date("2026-03-08")]);
        store.set_meeting_status(&m[1], MeetingStatus::Cancelled).unwrap();
        assert!(pending(&store, utc(2026, 3, 9, 0, 30)).is_empty(), "cancelled meetings ask for nothing");
    }

    #[test]
    fn the_form_shows_the_attendance_already_taken() {
        let (_d, mut store, circle, m) = setup();
        let ana = store.add_learner(&circle, &LearnerInput::new("Ana")).unwrap();
        let ben = store.add_learner(&circle, &LearnerInput::new("Ben")).unwrap();
        store.add_learner(&circle, &LearnerInput::new("Caro")).unwrap();
        store.mark_attendance(&m[0], &ana, Mark::Present).unwrap();
        store.mark_attendance(&m[0], &ben, Mark::Late).unwrap();
        store.set_head_count(&m[0], Some(4)).unwrap();
        let form = store.feedback_form(&m[0], utc(2026, 3, 2, 12, 0)).unwrap();
        assert!(form.ended && form.feedback.is_none());
        assert_eq!((form.attendance.present, form.attendance.late, form.attendance.attended(), form.unmarked), (1, 1, 2, 1));
        assert_eq!(form.head_count, Some(4));
        assert_eq!(form.prompts.len(), 5);
        assert!(!store.feedback_form(&m[2], utc(2026, 3, 2, 12, 0)).unwrap().ended);
    }

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
        assert_eq!((wrap.outcome, wrap.goal_rating, wrap.course_rating), (Some(CircleOutcome::Completed), Some(4), Some(5)));
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
        assert!(store.meetings_awaiting_feedback(after).unwrap().is_empty(), "nothing asked of a circle that did not happen");

        let empty = store.create_circle(&CircleInput::new("Empty", "UTC", "10:00", 60), None).unwrap();
        assert!(store.wrap_up_at(&empty, &done, after).unwrap_err().to_string().contains("has no meetings"));
        assert_eq!(store.verify_change_log().unwrap(), []);
    }
}
