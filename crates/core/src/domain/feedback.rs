//! After-meeting feedback: how it went (1-5), a reflection answering one of
//! a few prompts, and a note for next week (shown in the next meeting's
//! guide). One per meeting (id derived from the meeting's). The wrap-up at
//! a circle's end is `wrap_up`.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use crate::domain::attendance::MarkCounts;
use crate::domain::meeting::Meeting;
use crate::error::{CoreError, Result, Rule};
use crate::schema::{check_field, MEETING_FEEDBACK};
use crate::store::rows::{derived_id, opt_int, text};
use crate::store::Store;

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
        check_field(&MEETING_FEEDBACK, "rating", self.rating)?;
        for (field, value) in [
            ("reflection", &self.reflection),
            ("reflection_prompt", &self.reflection_prompt),
            ("next_week_note", &self.next_week_note),
        ] {
            check_field(&MEETING_FEEDBACK, field, value.as_str())?;
        }
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
                Rule::State,
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

#[cfg(test)]
pub(crate) mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::*;
    use crate::domain::attendance::Mark;
    use crate::domain::meeting::MeetingStatus;
    use crate::{CircleInput, LearnerInput, WeeklyRule};

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    pub(crate) fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    /// Sundays at 18:00 in Chicago for 90 minutes, from 2026-03-01: the
    /// second meeting is on the day daylight saving starts (2026-03-08).
    pub(crate) fn setup() -> (tempfile::TempDir, Store, String, Vec<String>) {
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
        assert_eq!(
            pending(&store, utc(2026, 3, 9, 0, 30)),
            [date("2026-03-08"), date("2026-03-01")],
            "most recent first"
        );
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
        assert_eq!(
            (form.attendance.present, form.attendance.late, form.attendance.attended(), form.unmarked),
            (1, 1, 2, 1)
        );
        assert_eq!(form.head_count, Some(4));
        assert_eq!(form.prompts.len(), 5);
        assert!(!store.feedback_form(&m[2], utc(2026, 3, 2, 12, 0)).unwrap().ended);
    }
}
