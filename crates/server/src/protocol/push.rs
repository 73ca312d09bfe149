//! How a push is decided and merged, over state the backend reads in bulk
//! or once per row: duplicates, authorization (`scope`), last writer wins
//! (`circles_core::sync::merge`), conflicts worth telling the loser about,
//! access that follows from data, and seqs handed out in log order. All of
//! a push's effects are gathered and handed to the backend in one write;
//! then the users whose access the push may have ended are checked again
//! (`access.rs`) and places the push freed go to waiting learners
//! (`waitlist.rs`), in the same transaction.

use std::collections::{HashMap, HashSet};

use circles_core::hlc::Hlc;
use circles_core::schema::{Scope, TableDef};
use circles_core::sync::merge::{self, Version};
use circles_core::sync::wire::{PushOutcome, PushResponse, PushResult, WireChange};

use super::access;
use super::batch_record::{batch_record, check_batch_record};
use super::directory;
use super::erase;
use super::group_commit::PushJob;
use super::learner_mail::{self, LearnerMail};
use super::ownership::{authorize_global, check_circle_team};
use super::references::check_reference;
use super::scope::authorize;
use super::waitlist::{self, ComposePlace};
use super::ApiResult;
use crate::common::now_text;
use crate::storage::{Conflict, Logged, PushStart, PushWrites, Session, StoredField, Tx};

/// One push of a group, in the group's transaction: its effects and its
/// recorded answer, or an error (having written nothing). Also true when the
/// push purged an erased learner's history (`erase.rs`).
pub(super) fn push_one(
    tx: &mut dyn Tx,
    job: &PushJob,
    place_mail: Option<&ComposePlace>,
    learner_mail: Option<&LearnerMail>,
) -> ApiResult<(PushResponse, bool)> {
    let (session, batch) = (&job.session, &job.batch);
    let mut start = tx.begin_push(session, batch)?;
    if let Some(previous) = check_batch_record(batch, start.recorded.take(), start.last_batch_seq)? {
        return Ok((previous, false));
    }
    let received_at = now_text();
    let mut push = Push::new(session, start);
    let results = batch
        .changes
        .iter()
        .zip(job.tables.iter().copied())
        .map(|(change, table)| push.change(tx, table, change))
        .collect::<ApiResult<Vec<_>>>()?;
    let response = PushResponse {
        batch_id: batch.batch_id.clone(),
        batch_seq: batch.batch_seq,
        results,
        server_time_ms: job.now_ms,
    };
    let recheck = std::mem::take(&mut push.recheck);
    let writes = PushWrites {
        session,
        batch,
        received_at: &received_at,
        seen: push.lost,
        logged: push.logged,
        scopes: push.new_scopes,
        grants: push.grants,
        creators: push.created.into_iter().collect(),
        conflicts: push.conflicts,
        record: batch_record(&response),
    };
    tx.write_push(&writes)?;
    let purged = erase::purge_erased(tx, Some(&session.user_id), &writes.logged)?;
    if !recheck.is_empty() {
        access::recheck(tx, &recheck)?;
    }
    waitlist::fill_freed_places(tx, &writes.logged, place_mail)?;
    match learner_mail {
        Some(sender) => {
            learner_mail::after_push(tx, &writes.logged, sender, chrono::Utc::now())?;
        }
        None => tracing::debug!("this process mails no learner: notices and messages are left to `serve`"),
    }
    Ok((response, purged))
}

/// One push's decisions so far: every decision is taken change by change,
/// in order, exactly as if each were written at once; what the storage held
/// before the push is read through `Tx`, what the push itself changed is
/// kept here and takes precedence.
pub(super) struct Push<'a> {
    pub session: &'a Session,
    next_seq: i64,
    /// Change ids of the batch seen by an earlier push.
    seen_before: HashSet<String>,
    /// Change ids first seen now (also those earlier in this batch).
    seen_now: HashSet<&'a str>,
    /// Those that lost: recorded as seen (the others are logged).
    lost: Vec<&'a str>,
    logged: Vec<Logged<'a>>,
    /// Field states this push moved.
    fields: HashMap<(&'static str, &'a str, &'a str), StoredField>,
    /// Rows this push scoped, and the new scope rows in order.
    scoped: HashMap<(&'static str, &'a str), String>,
    new_scopes: Vec<(&'static str, String, String)>,
    /// Access this push granted, and the new access rows in order.
    granted: HashSet<(String, String)>,
    granted_self: HashSet<String>,
    grants: Vec<(String, String, i64)>,
    conflicts: Vec<Conflict>,
    /// Global rows this push makes (its user is their creator).
    created: HashSet<(&'static str, &'a str)>,
    /// (circle, user) pairs whose access this push may have ended.
    recheck: Vec<(String, String)>,
    /// Creators of global rows read so far.
    /// By table, then row (looked up by `&str`, with no key built per change).
    creators: HashMap<&'static str, HashMap<String, Option<String>>>,
}

impl<'a> Push<'a> {
    fn new(session: &'a Session, start: PushStart) -> Push<'a> {
        Push {
            session,
            next_seq: start.next_seq,
            seen_before: start.seen,
            seen_now: HashSet::new(),
            lost: Vec::new(),
            logged: Vec::new(),
            fields: HashMap::new(),
            scoped: HashMap::new(),
            new_scopes: Vec::new(),
            granted: HashSet::new(),
            granted_self: HashSet::new(),
            grants: Vec::new(),
            conflicts: Vec::new(),
            created: HashSet::new(),
            recheck: Vec::new(),
            creators: HashMap::new(),
        }
    }

    /// The circle a row is scoped to, this push's own scoping included.
    pub fn row_scope(&mut self, tx: &mut dyn Tx, table: &'static str, row_id: &'a str) -> ApiResult<Option<String>> {
        if let Some(circle) = self.scoped.get(&(table, row_id)) {
            return Ok(Some(circle.clone()));
        }
        Ok(tx.row_scope(table, row_id)?)
    }

    /// Scope a row that had no circle yet (a second time is a no-op).
    pub fn set_scope(&mut self, table: &'static str, row_id: &'a str, circle: &str) {
        if let std::collections::hash_map::Entry::Vacant(entry) = self.scoped.entry((table, row_id)) {
            entry.insert(circle.to_string());
            self.new_scopes.push((table, row_id.to_string(), circle.to_string()));
        }
    }

    /// Let a user see a circle (from `seq` on).
    pub fn grant(&mut self, circle: &str, user: &str, seq: i64) {
        if self.granted.insert((circle.to_string(), user.to_string())) {
            if user == self.session.user_id {
                self.granted_self.insert(circle.to_string());
            }
            self.grants.push((circle.to_string(), user.to_string(), seq));
        }
    }

    /// Whether the pushing user facilitates or organizes `circle`.
    pub fn may_write(&mut self, tx: &mut dyn Tx, circle: &str) -> ApiResult<bool> {
        Ok(self.granted_self.contains(circle) || tx.may_see(circle)?)
    }

    /// Who made a global row, this push's own rows included.
    pub fn row_creator(&mut self, tx: &mut dyn Tx, table: &'static str, row_id: &str) -> ApiResult<Option<String>> {
        if self.created.contains(&(table, row_id)) {
            return Ok(Some(self.session.user_id.clone()));
        }
        if let Some(known) = self.creators.get(table).and_then(|rows| rows.get(row_id)) {
            return Ok(known.clone());
        }
        let creator = tx.row_creator(table, row_id)?;
        self.creators.entry(table).or_default().insert(row_id.to_string(), creator.clone());
        Ok(creator)
    }

    /// Note that this push makes a global row.
    pub fn note_created(&mut self, table: &'static str, row_id: &'a str) {
        self.created.insert((table, row_id));
    }

    /// A field's text as stored before this push.
    pub fn stored_text(
        &mut self,
        tx: &mut dyn Tx,
        table: &'static str,
        row_id: &str,
        field: &str,
    ) -> ApiResult<Option<String>> {
        Ok(tx.field(table, row_id, field)?.and_then(|f| text_of(&f)))
    }

    pub fn field(
        &mut self,
        tx: &mut dyn Tx,
        table: &'static str,
        row_id: &'a str,
        field: &'a str,
    ) -> ApiResult<Option<StoredField>> {
        if let Some(state) = self.fields.get(&(table, row_id, field)) {
            return Ok(Some(state.clone()));
        }
        Ok(tx.field(table, row_id, field)?)
    }

    /// A field's value, if it holds a text.
    pub fn field_text(
        &mut self,
        tx: &mut dyn Tx,
        table: &'static str,
        row_id: &'a str,
        field: &'a str,
    ) -> ApiResult<Option<String>> {
        Ok(self.field(tx, table, row_id, field)?.and_then(|f| text_of(&f)))
    }

    /// Merge one change into the field state and log it if it wins.
    fn change(&mut self, tx: &mut dyn Tx, table: &'static TableDef, change: &'a WireChange) -> ApiResult<PushResult> {
        let first_time = !self.seen_before.contains(&change.change_id) && self.seen_now.insert(&change.change_id);
        if !first_time {
            return Ok(PushResult { change_id: change.change_id.clone(), outcome: PushOutcome::Duplicate, seq: None });
        }
        let scope = authorize(self, tx, table, change)?;
        // A circle's row is authorized first, so that naming rows of a
        // circle one may not see tells nothing about them; a global row's
        // reference first, so that a membership of no team says so.
        check_reference(self, tx, table, change, scope.as_deref())?;
        if table.scope == Scope::Global {
            authorize_global(self, tx, table, change)?;
        }
        check_circle_team(self, tx, table, change)?;
        // The seq this change gets if it wins.
        let seq = self.next_seq;
        let current = self.field(tx, table.name, &change.row_id, &change.field)?;
        let wins = match &current {
            None => true,
            Some(stored) => merge::supersedes(
                Version { hlc: change.hlc, device_id: &change.device_id },
                Version { hlc: stored.hlc.parse().unwrap_or(Hlc::ZERO), device_id: &stored.device_id },
            ),
        };
        let hlc = change.hlc.to_string();
        let previous = current.as_ref().and_then(text_of);
        if let Some(stored) = current {
            // `concurrent` needs another device first: only then is the
            // stored value worth parsing.
            if merge::conflict_matters(&change.field) && change.device_id != stored.device_id {
                let current_value: serde_json::Value = serde_json::from_str(&stored.value).unwrap_or_default();
                if merge::concurrent(
                    change.base_seq,
                    &change.device_id,
                    &change.value,
                    stored.seq,
                    &stored.device_id,
                    &current_value,
                ) {
                    let incoming = (change.value.to_string(), hlc.clone(), change.device_id.clone());
                    let kept = (stored.value, stored.hlc, stored.device_id);
                    let (lost, won) = if wins { (kept, incoming) } else { (incoming, kept) };
                    self.conflicts.push(Conflict {
                        table: table.name,
                        row_id: change.row_id.clone(),
                        field: change.field.clone(),
                        lost,
                        won,
                    });
                }
            }
        }
        if !wins {
            // A logged change's id is found in the log; only those never
            // logged are recorded as seen.
            self.lost.push(&change.change_id);
            return Ok(PushResult { change_id: change.change_id.clone(), outcome: PushOutcome::Superseded, seq: None });
        }
        let value = change.value.to_string();
        self.fields.insert(
            (table.name, &change.row_id, &change.field),
            StoredField { value: value.clone(), hlc: hlc.clone(), device_id: change.device_id.clone(), seq },
        );
        self.next_seq += 1;
        let person = directory::pushed_person(table.name, &change.row_id);
        self.logged.push(Logged { seq, table: table.name, change, value, hlc, scope, person });
        self.access_from_membership(tx, table, change, seq, previous)?;
        Ok(PushResult { change_id: change.change_id.clone(), outcome: PushOutcome::Applied, seq: Some(seq) })
    }

    /// Access that follows from data: a facilitator added to a circle (or
    /// added again), or a circle put in a team, whose organizers then see
    /// it. And access it may end, checked after the push's writes: a
    /// facilitator row deleted or naming someone else, a circle leaving a
    /// team (`previous`: the changed field's text before this change).
    fn access_from_membership(
        &mut self,
        tx: &mut dyn Tx,
        table: &'static TableDef,
        change: &'a WireChange,
        seq: i64,
        previous: Option<String>,
    ) -> ApiResult<()> {
        match (table.name, change.field.as_str()) {
            ("circle_facilitators", "circle_id" | "facilitator_id" | "deleted") => {
                let circle = self.field_text(tx, table.name, &change.row_id, "circle_id")?;
                let user = self.field_text(tx, table.name, &change.row_id, "facilitator_id")?;
                let Some(circle) = circle else { return Ok(()) };
                if change.field == "facilitator_id" {
                    if let Some(old) = previous.filter(|old| Some(old) != user.as_ref()) {
                        self.recheck.push((circle.clone(), old));
                    }
                }
                let Some(user) = user else { return Ok(()) };
                let deleted = change.field == "deleted" && change.value != serde_json::json!(0);
                if deleted {
                    self.recheck.push((circle, user));
                } else if tx.is_user(&user)? {
                    self.grant(&circle, &user, seq);
                }
            }
            ("circles", "team_id") => {
                if let Some(team) = change.value.as_str() {
                    for user in tx.team_organizers(team)? {
                        self.grant(&change.row_id, &user, seq);
                    }
                }
                if let Some(old) = previous.filter(|old| Some(old.as_str()) != change.value.as_str()) {
                    for user in tx.team_organizers(&old)? {
                        self.recheck.push((change.row_id.clone(), user));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// A stored value, if it is a text.
fn text_of(field: &StoredField) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(&field.value).ok().and_then(|v| v.as_str().map(str::to_string))
}
