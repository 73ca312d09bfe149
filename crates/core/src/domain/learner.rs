//! Learners: people signed up to a circle (or walked in on the night).

use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::domain::validate;
use crate::error::{CoreError, Result, Rule};
use crate::schema::{check_field, ERASED_LEARNER_FIELDS, LEARNERS};
use crate::store::rows::{flag, new_id, text, Column};
use crate::store::Store;

const ENTITY: &str = "learner";

/// What a facilitator (or a signup) records about a learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LearnerInput {
    pub name: String,
    pub email: String,
    /// E.164 ("+13125550143"); separators typed by people are removed.
    pub mobile: String,
    pub goals: String,
    pub support_needs: String,
    /// The answer to the circle's signup question.
    pub question_answer: String,
    /// Agreed to be contacted about the circle.
    pub consent: bool,
    pub email_opt_out: bool,
    pub sms_opt_out: bool,
    /// Joined on the night rather than through signup.
    pub walk_in: bool,
    pub withdrawn: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Learner {
    pub id: String,
    pub circle_id: String,
    #[serde(flatten)]
    pub fields: LearnerInput,
    /// Erased at someone's request: the personal fields are blank for good.
    pub erased: bool,
    pub created_at: String,
}

impl LearnerInput {
    pub fn new(name: impl Into<String>) -> Self {
        LearnerInput { name: name.into(), ..Default::default() }
    }

    pub fn validate(&self) -> Result<()> {
        check_field(&LEARNERS, "name", self.name.as_str())?;
        check_field(&LEARNERS, "email", self.email.trim())?;
        check_field(&LEARNERS, "mobile", validate::normalize_mobile(&self.mobile))?;
        for (field, value) in
            [("goals", &self.goals), ("support_needs", &self.support_needs), ("question_answer", &self.question_answer)]
        {
            check_field(&LEARNERS, field, value.as_str())?;
        }
        Ok(())
    }

    /// The fields a new learner's row is written with, as synced values:
    /// what a server that signs a learner up on a circle's public page
    /// writes, so the laptops get the same row a local add would make.
    pub fn synced_values(&self) -> Vec<(&'static str, serde_json::Value)> {
        self.columns().iter().map(|(field, value)| (*field, crate::store::rows::value_to_json(value))).collect()
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            ("name", text(self.name.trim())),
            ("email", text(&self.email.trim().to_lowercase())),
            ("mobile", text(&validate::normalize_mobile(&self.mobile))),
            ("goals", text(&self.goals)),
            ("support_needs", text(&self.support_needs)),
            ("question_answer", text(&self.question_answer)),
            ("consent", flag(self.consent)),
            ("email_opt_out", flag(self.email_opt_out)),
            ("sms_opt_out", flag(self.sms_opt_out)),
            ("walk_in", flag(self.walk_in)),
            ("withdrawn", flag(self.withdrawn)),
        ]
    }
}

const SELECT: &str = "SELECT id, circle_id, name, email, mobile, goals, support_needs, question_answer, consent,
        email_opt_out, sms_opt_out, walk_in, withdrawn, erased, created_at
    FROM learners";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Learner> {
    Ok(Learner {
        id: r.get("id")?,
        circle_id: r.get("circle_id")?,
        fields: LearnerInput {
            name: r.get("name")?,
            email: r.get("email")?,
            mobile: r.get("mobile")?,
            goals: r.get("goals")?,
            support_needs: r.get("support_needs")?,
            question_answer: r.get("question_answer")?,
            consent: r.get("consent")?,
            email_opt_out: r.get("email_opt_out")?,
            sms_opt_out: r.get("sms_opt_out")?,
            walk_in: r.get("walk_in")?,
            withdrawn: r.get("withdrawn")?,
        },
        erased: r.get("erased")?,
        created_at: r.get("created_at")?,
    })
}

impl Store {
    /// Sign a learner up to a circle. The signup limit counts learners who
    /// have not withdrawn; a walk-in is always let in (they are in the room).
    pub fn add_learner(&mut self, circle_id: &str, input: &LearnerInput) -> Result<String> {
        input.validate()?;
        let circle = self.circle(circle_id)?;
        if let (Some(limit), false) = (circle.fields.signup_limit, input.walk_in) {
            if self.active_learner_count(circle_id)? >= i64::from(limit) {
                return Err(CoreError::invalid(
                    ENTITY,
                    "circle_id",
                    Rule::State,
                    format!("the circle is full ({limit} learners); raise its signup limit or add them as a walk-in"),
                ));
            }
        }
        let id = new_id();
        let mut columns = vec![("circle_id", text(circle_id))];
        columns.extend(input.columns());
        self.write(|w| w.insert(&LEARNERS, &id, &columns))?;
        Ok(id)
    }

    pub fn update_learner(&mut self, id: &str, input: &LearnerInput) -> Result<()> {
        input.validate()?;
        if self.learner(id)?.erased {
            return Err(CoreError::LearnerErased { id: id.to_string() });
        }
        self.write(|w| w.update(&LEARNERS, id, &input.columns()))?;
        Ok(())
    }

    /// Withdrawn learners keep their attendance history but leave the roster.
    pub fn set_learner_withdrawn(&mut self, id: &str, withdrawn: bool) -> Result<()> {
        self.learner(id)?;
        self.write(|w| w.update(&LEARNERS, id, &[("withdrawn", flag(withdrawn))]))?;
        Ok(())
    }

    pub fn delete_learner(&mut self, id: &str) -> Result<()> {
        self.learner(id)?;
        self.write(|w| w.tombstone(&LEARNERS, id))
    }

    /// Erase a learner at their request: their personal fields are blanked
    /// through the write path (so every replica gets the blanking by sync)
    /// and marked `erased`, which tells the server and every other laptop to
    /// purge the old values from their history; this laptop purges its own
    /// at once (`store::erase`). The row stays, anonymized, so attendance
    /// counts stay right. A deleted learner can be erased too. Erasing twice
    /// is refused (`learner_erased`) and changes nothing.
    pub fn erase_learner(&mut self, id: &str) -> Result<crate::store::erase::Purged> {
        if self.learner_or_deleted(id)?.erased {
            return Err(CoreError::LearnerErased { id: id.to_string() });
        }
        let mut columns: Vec<Column> =
            ERASED_LEARNER_FIELDS.iter().map(|(field, blank)| (*field, text(blank))).collect();
        columns.push(("erased", flag(true)));
        self.write(|w| w.update(&LEARNERS, id, &columns))?;
        self.purge_erased_learners()
    }

    pub fn learner(&self, id: &str) -> Result<Learner> {
        self.conn
            .query_row(&format!("{SELECT} WHERE id = ?1 AND deleted = 0"), [id], from_row)
            .optional()?
            .ok_or_else(|| CoreError::not_found(ENTITY, id))
    }

    /// A learner as stored, deleted or not (an export or an erase concerns
    /// whatever is held about them).
    pub fn learner_or_deleted(&self, id: &str) -> Result<Learner> {
        self.conn
            .query_row(&format!("{SELECT} WHERE id = ?1"), [id], from_row)
            .optional()?
            .ok_or_else(|| CoreError::not_found(ENTITY, id))
    }

    /// A circle's learners by name, withdrawn ones included.
    pub fn learners(&self, circle_id: &str) -> Result<Vec<Learner>> {
        self.circle(circle_id)?;
        let mut stmt = self
            .conn
            .prepare(&format!("{SELECT} WHERE circle_id = ?1 AND deleted = 0 ORDER BY name COLLATE NOCASE, id"))?;
        let rows = stmt.query_map([circle_id], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}
