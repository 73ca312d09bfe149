//! The waitlist's rules, once for the laptop and the server: who holds a
//! place (enrolled), who waits and in which order, how many places a circle
//! has free, and what a laptop may write about it.

use crate::error::Rule;
use crate::schema::SIGNUP_ONLINE;

/// The waitlist state of one learner, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing<'a> {
    pub id: &'a str,
    pub withdrawn: bool,
    /// '' = enrolled; otherwise when they were put on the waitlist.
    pub waitlisted_at: &'a str,
}

impl Standing<'_> {
    /// Holds a place: not withdrawn and not waiting. Counts, attendance and
    /// reports count these learners only.
    pub fn enrolled(&self) -> bool {
        !self.withdrawn && self.waitlisted_at.is_empty()
    }

    /// Waits for a place (a withdrawn learner waits for nothing).
    pub fn waiting(&self) -> bool {
        !self.withdrawn && !self.waitlisted_at.is_empty()
    }
}

/// A circle's waitlist, longest waiting first (ties by id, so every replica
/// agrees): the ids of the learners who wait.
pub fn waitlist<'a>(learners: &[Standing<'a>]) -> Vec<&'a str> {
    let mut waiting: Vec<&Standing<'a>> = learners.iter().filter(|l| l.waiting()).collect();
    waiting.sort_by(|a, b| (a.waitlisted_at, a.id).cmp(&(b.waitlisted_at, b.id)));
    waiting.into_iter().map(|l| l.id).collect()
}

/// Whether a circle with `limit` and `enrolled` learners has no place left
/// (a new signup then waits).
pub fn is_full(limit: Option<i64>, enrolled: usize) -> bool {
    limit.is_some_and(|limit| enrolled as i64 >= limit)
}

/// How many waiting learners get a place now: every one when the circle
/// has no limit, else as many as places are free.
pub fn places_to_fill(limit: Option<i64>, enrolled: usize, waiting: usize) -> usize {
    match limit {
        None => waiting,
        Some(limit) => (limit - enrolled as i64).clamp(0, waiting as i64) as usize,
    }
}

/// What a laptop may write to a learner's waitlist fields (the server
/// checks every pushed change with it; the server itself writes the
/// rest): it may admit a waiting learner (`waitlisted_at` = ''), never put
/// one on the waitlist nor mark a learner as signed up online. None when
/// allowed, else the refusal's rule and message.
pub fn client_may_write(table: &str, field: &str, value: &serde_json::Value) -> Option<(Rule, String)> {
    match (table, field) {
        ("learners", "waitlisted_at") if value.as_str() != Some("") => Some((
            Rule::State,
            "only the server puts a learner on the waitlist; a laptop may only admit one (waitlisted_at = \"\")"
                .to_string(),
        )),
        ("learners", "signup_source") if value.as_str() != Some("") => {
            Some((Rule::State, format!("only the server marks a learner as signed up {SIGNUP_ONLINE}")))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn standing<'a>(id: &'a str, withdrawn: bool, waitlisted_at: &'a str) -> Standing<'a> {
        Standing { id, withdrawn, waitlisted_at }
    }

    #[test]
    fn the_longest_waiting_comes_first_and_withdrawn_learners_wait_for_nothing() {
        let learners = [
            standing("c", false, "2026-12-02T10:00:00.000Z"),
            standing("a", false, ""),
            standing("b", false, "2026-12-01T10:00:00.000Z"),
            standing("d", true, "2026-11-01T10:00:00.000Z"),
        ];
        assert_eq!(waitlist(&learners), ["b", "c"]);
        assert!(learners[1].enrolled() && !learners[0].enrolled() && !learners[3].enrolled());
    }

    #[test]
    fn places_follow_the_limit() {
        assert!(is_full(Some(2), 2) && !is_full(Some(3), 2) && !is_full(None, 500));
        assert_eq!(places_to_fill(Some(3), 2, 5), 1);
        assert_eq!(places_to_fill(Some(3), 4, 5), 0, "over the limit: nobody");
        assert_eq!(places_to_fill(None, 9, 5), 5, "no limit: everyone");
    }

    #[test]
    fn a_laptop_may_admit_but_not_waitlist_nor_mark_online() {
        assert!(client_may_write("learners", "waitlisted_at", &json!("")).is_none());
        assert!(client_may_write("learners", "waitlisted_at", &json!("2026-12-02T10:00:00.000Z")).is_some());
        assert!(client_may_write("learners", "signup_source", &json!("online")).is_some());
        assert!(client_may_write("learners", "signup_source", &json!("")).is_none());
        assert!(client_may_write("learners", "name", &json!("Ana")).is_none());
    }
}
