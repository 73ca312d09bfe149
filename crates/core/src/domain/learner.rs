//! Learners: people signed up to a circle (or walked in on the night).

use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::domain::validate;
use crate::domain::waitlist::{waitlist, Standing};
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
    /// "online": signed up on the circle's public page; "": typed in by a facilitator.
    pub signup_source: String,
    /// "" when they hold a place; else when the server put them on the waitlist.
    pub waitlisted_at: String,
    /// Their number on the waitlist (1 = next to get a place), if they wait.
    pub waitlist_position: Option<u32>,
}

impl Learner {
    fn standing(&self) -> Standing<'_> {
        Standing { id: &self.id, withdrawn: self.fields.withdrawn, waitlisted_at: &self.waitlisted_at }
    }

    /// Holds a place: counted in attendance, counts and reports.
    pub fn enrolled(&self) -> bool {
        self.standing().enrolled()
    }

    pub fn waiting(&self) -> bool {
        self.standing().waiting()
    }
}

/// Number the waiting learners of one circle's list (`waitlist_position`).
fn number_waitlist(learners: &mut [Learner]) {
    let order: Vec<String> = {
        let standings: Vec<Standing<'_>> = learners.iter().map(Learner::standing).collect();
        waitlist(&standings).into_iter().map(str::to_string).collect()
    };
    for learner in learners.iter_mut() {
        learner.waitlist_position = order.iter().position(|id| *id == learner.id).map(|n| n as u32 + 1);
    }
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
        email_opt_out, sms_opt_out, walk_in, withdrawn, erased, created_at, signup_source, waitlisted_at
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
        signup_source: r.get("signup_source")?,
        waitlisted_at: r.get("waitlisted_at")?,
        waitlist_position: None,
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

    /// Give a waiting learner a place by hand (over the signup limit if the
    /// facilitator wants: they know the room). Refused for a learner who is
    /// not on the waitlist, changing nothing.
    pub fn admit_learner(&mut self, id: &str) -> Result<()> {
        let learner = self.learner(id)?;
        if !learner.waiting() {
            return Err(CoreError::invalid(
                ENTITY,
                "waitlisted_at",
                Rule::State,
                format!("{} is not on the waitlist", learner.fields.name),
            ));
        }
        self.write(|w| w.update(&LEARNERS, id, &[("waitlisted_at", text(""))]))?;
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
        let learner = self
            .conn
            .query_row(&format!("{SELECT} WHERE id = ?1 AND deleted = 0"), [id], from_row)
            .optional()?
            .ok_or_else(|| CoreError::not_found(ENTITY, id))?;
        if !learner.waiting() {
            return Ok(learner);
        }
        // Its number comes from its circle's whole waitlist (none if the circle is gone).
        let listed = self.learners(&learner.circle_id).unwrap_or_default();
        Ok(listed.into_iter().find(|l| l.id == id).unwrap_or(learner))
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
        let mut rows = stmt.query_map([circle_id], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        number_waitlist(&mut rows);
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CircleInput, Mark, WeeklyRule};

    /// A learner the server signed up online and put on the waitlist, as a
    /// pull would leave them (the laptop's own API never waitlists anyone).
    fn waiting_online(store: &mut Store, circle: &str, name: &str, since: &str) -> String {
        let id = new_id();
        let mut columns = vec![("circle_id", text(circle))];
        columns.extend(LearnerInput::new(name).columns());
        columns.push(("signup_source", text(crate::schema::SIGNUP_ONLINE)));
        columns.push(("waitlisted_at", text(since)));
        store.write(|w| w.insert(&LEARNERS, &id, &columns)).unwrap();
        id
    }

    #[test]
    fn waiting_learners_are_numbered_not_counted_and_admitted_by_hand() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        let mut input = CircleInput::new("Python Basics", "America/Chicago", "18:30", 90);
        input.signup_limit = Some(2);
        let first = "2030-01-07".parse().unwrap();
        let circle = store.create_circle(&input, Some(&WeeklyRule { first_date: first, count: 3 })).unwrap();
        let ana = store.add_learner(&circle, &LearnerInput::new("Ana")).unwrap();
        store.add_learner(&circle, &LearnerInput::new("Ben")).unwrap();
        let later = waiting_online(&mut store, &circle, "Cleo", "2029-12-02T10:00:00.000Z");
        let sooner = waiting_online(&mut store, &circle, "Dev", "2029-12-01T10:00:00.000Z");

        let learners = store.learners(&circle).unwrap();
        let shown = |id: &str| learners.iter().find(|l| l.id == id).unwrap().clone();
        assert_eq!((shown(&sooner).waitlist_position, shown(&later).waitlist_position), (Some(1), Some(2)));
        assert_eq!(shown(&sooner).signup_source, "online");
        assert_eq!((shown(&ana).waitlist_position, shown(&ana).signup_source.as_str()), (None, ""));
        assert_eq!(store.learner(&later).unwrap().waitlist_position, Some(2), "one learner read alone");

        // Counts, the roster and attendance know only enrolled learners.
        assert_eq!(store.active_learner_count(&circle).unwrap(), 2);
        let meeting = store.meetings(&circle).unwrap()[0].id.clone();
        let roster: Vec<String> = store.roster(&meeting).unwrap().into_iter().map(|r| r.learner.id).collect();
        assert!(!roster.contains(&sooner) && !roster.contains(&later), "{roster:?}");
        let refused = store.mark_attendance(&meeting, &sooner, Mark::Present).unwrap_err();
        assert!(refused.to_string().contains("on the waitlist"), "{refused}");
        assert_eq!(store.circle_report(&circle).unwrap().summary.learners, 2);

        // Admitting by hand: a place, the next one moves up; twice is refused.
        store.admit_learner(&sooner).unwrap();
        assert!(store.learner(&sooner).unwrap().enrolled());
        assert_eq!(store.learner(&later).unwrap().waitlist_position, Some(1));
        assert_eq!(store.active_learner_count(&circle).unwrap(), 3);
        store.mark_attendance(&meeting, &sooner, Mark::Present).unwrap();
        let waiting = store.pending_changes(10_000).unwrap().len();
        let again = store.admit_learner(&ana).unwrap_err();
        assert!(again.to_string().contains("is not on the waitlist"), "{again}");
        assert_eq!(store.pending_changes(10_000).unwrap().len(), waiting, "a refused admit writes nothing");
    }
}
