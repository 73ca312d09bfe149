//! The server's sync rules, written once for every backend: what a push may
//! carry (`precheck`), which circle a row belongs to and who may write it
//! (`scope`), how a push is decided and merged (`push`), what a pull page
//! holds and when a stream resets (`pull`), accounts and teams as synced rows
//! (`accounts`), team membership with the server as its authority (`teams`),
//! access that can be taken away (`access`), group commit and batch
//! records. It runs over the narrow data access of `storage/` and holds no
//! SQL; its errors are `ApiError`s.

mod access;
mod accounts;
pub mod audit_log;
mod batch_record;
pub(crate) mod directory;
mod erase;
mod group_commit;
pub mod invitations;
pub mod learner_links;
pub mod learner_mail;
pub mod links;
mod ownership;
mod precheck;
pub mod public;
mod pull;
mod pull_page;
mod push;
mod references;
pub mod resets;
pub mod retention;
mod scope;
pub mod sms_replies;
pub(crate) mod teams;
pub mod waitlist;

use chrono::{DateTime, Utc};
use circles_core::sync::wire::{PullResponse, PushRequest, PushResponse};
use circles_core::{LearnerInput, TeamRole};

use crate::error::ApiError;
use crate::mail::outbox;
use crate::storage::{
    AuditQuery, AuditRecord, Backend, Channel, ClaimedMail, MailOutcome, MailState, MailSummary, NewMail, Session,
    TeamMemberInfo, TokenInfo, UserInfo, UserRecord,
};
use group_commit::GroupCommit;
pub(crate) use group_commit::PushJob;
use learner_mail::LearnerMail;
use std::sync::OnceLock;
use waitlist::ComposePlace;

pub(crate) use accounts::{account_disabled, new_user_problem, normal_email};
pub use accounts::{DEFAULT_TOKEN_IDLE_DAYS, TOKEN_IDLE_DAYS};
use invitations::{
    ComposeInvitation, DomainFacts, Invitation, InvitationFacts, InvitationRequest, JoinDomain, Joiner, TeamMembers,
};
use learner_links::LinkFacts;
use links::Purpose;
pub use precheck::precheck;
use public::{ComposeSignup, PublicCircle, PublicListing, SignupOutcome};
use resets::ComposeReset;
use retention::TeamRetention;
pub use sms_replies::{SmsCommand, SmsReply};
pub use teams::MemberChange;

pub type ApiResult<T> = Result<T, ApiError>;

/// What the handlers (and the admin commands) ask of the server, whatever
/// its database. Methods are blocking; handlers call them from
/// `spawn_blocking`.
pub trait SyncService: Send + Sync + 'static {
    fn health(&self) -> ApiResult<()>;

    fn add_user(&self, email: &str, name: &str, password_hash: &str) -> ApiResult<String>;
    fn users(&self) -> ApiResult<Vec<UserInfo>>;
    fn user_by_email(&self, email: &str) -> ApiResult<Option<UserRecord>>;
    fn add_team(&self, name: &str) -> ApiResult<String>;
    /// Make a user an organizer of a team: they see the team's circles.
    fn add_organizer(&self, team_id: &str, email: &str) -> ApiResult<()> {
        self.add_team_member(team_id, email, TeamRole::Organizer)
    }
    fn user_by_id(&self, id: &str) -> ApiResult<Option<UserRecord>>;
    /// The first account (organizer of the first team) and that team:
    /// (user id, team id). Refused (409 `already_initialized`) once any account exists.
    fn init(&self, email: &str, name: &str, password_hash: &str, team: &str) -> ApiResult<(String, String)>;
    /// Disable an account (no sign-in, its tokens refused and revoked) or enable it again.
    fn set_user_disabled(&self, email: &str, disabled: bool) -> ApiResult<()>;
    /// A new password hash for a user; revokes their tokens but `keep`. How many were revoked.
    fn set_password(&self, user_id: &str, password_hash: &str, keep: Option<&str>) -> ApiResult<usize>;
    /// A team's id, from its id or its exact name.
    fn find_team(&self, key: &str) -> ApiResult<String>;
    /// Put a user (by email) in a team, or change their role.
    fn add_team_member(&self, team_id: &str, email: &str, role: TeamRole) -> ApiResult<()>;
    /// Take a user (by email) out of a team.
    fn remove_team_member(&self, team_id: &str, email: &str) -> ApiResult<()>;
    fn team_member_list(&self, team_id: &str) -> ApiResult<Vec<TeamMemberInfo>>;
    /// An organizer's change to a member of their team (the API's).
    fn change_member(&self, session: &Session, team_id: &str, user_id: &str, change: MemberChange) -> ApiResult<()>;

    /// A token for a user on a device, signing in from `address`; `409
    /// device_taken` if the device id is bound to another account.
    fn create_token(
        &self,
        user_id: &str,
        device_id: &str,
        device_name: &str,
        token_hash: &str,
        address: &str,
    ) -> ApiResult<String>;
    /// Note a refused sign-in in the audit log: the email typed, where from, why.
    fn record_failed_sign_in(&self, email: &str, address: &str, why: &str) -> ApiResult<()>;
    /// A fresh device id for the session's user, with a new token (by its
    /// hash) bound to it: (device id, token id).
    fn renew_device(&self, session: &Session, token_hash: &str) -> ApiResult<(String, String)>;
    /// The live session a token hash belongs to (None: unknown or revoked;
    /// 401 `account_disabled` for a disabled account's, 401 `token_expired`
    /// for one unused longer than the idle time, which is then revoked).
    fn session(&self, token_hash: &str) -> ApiResult<Option<Session>>;
    /// How many days a token may go unused (once, at start; else
    /// `DEFAULT_TOKEN_IDLE_DAYS`).
    fn set_token_idle_days(&self, days: u32);
    /// The audit log, newest first.
    fn audit_entries(&self, query: &AuditQuery) -> ApiResult<Vec<AuditRecord>>;
    /// Delete audit entries before a time (noted in the log): how many.
    fn prune_audit(&self, before: &str) -> ApiResult<u64>;
    /// Tokens of a user (by id), or of everyone.
    fn tokens(&self, user_id: Option<&str>) -> ApiResult<Vec<TokenInfo>>;
    /// Revoke a token; with `owner`, only one of that user's. False if none matched.
    fn revoke_token(&self, token_id: &str, owner: Option<&str>) -> ApiResult<bool>;

    /// Accept a batch: all of it with its record, or nothing.
    fn push(&self, session: &Session, batch: PushRequest, now_ms: u64) -> ApiResult<PushResponse>;
    /// A page of the changes the session's user may see.
    fn pull(
        &self,
        session: &Session,
        cursor: i64,
        conflict_cursor: i64,
        limit: usize,
        now_ms: u64,
    ) -> ApiResult<PullResponse>;

    // The mail outbox (its rules: `mail/`). Times are `common::now_text` text.
    /// Put a message in the outbox: the id holding it, and whether it is
    /// new (false: a message with its dedupe key was there).
    fn enqueue_mail(&self, mail: &NewMail) -> ApiResult<(String, bool)>;
    /// Claim due messages of one channel for a worker until `lease_until`.
    fn claim_mail(
        &self,
        channel: Channel,
        owner: &str,
        now: &str,
        lease_until: &str,
        limit: usize,
    ) -> ApiResult<Vec<ClaimedMail>>;
    /// Record what became of a claimed message.
    fn finish_mail(&self, id: &str, owner: &str, outcome: &MailOutcome) -> ApiResult<bool>;
    /// Messages, newest first.
    fn mail_summaries(&self, state: Option<MailState>, limit: usize) -> ApiResult<Vec<MailSummary>>;
    /// A failed message pending again (404 if unknown, 409 if not failed).
    fn retry_mail(&self, id: &str, now: &str) -> ApiResult<()>;
    /// Whether SMS is configured (`serve` says so once, at start): rules
    /// that send texts inside a transaction enqueue them only then.
    fn set_sms_enabled(&self, on: bool);
    fn sms_enabled(&self) -> bool;
    /// A reply to a text, from a mobile (`sms_replies.rs`): STOP opts every
    /// learner with that mobile out of texts, START back in (400 `bad_mobile`).
    fn sms_reply(&self, from: &str, body: &str) -> ApiResult<SmsReply>;

    // Invitations (`invitations.rs`) and password resets (`resets.rs`).
    /// Invite to a team (by the user `inviter`), with the link's token hash;
    /// `compose` makes the message of an invitation with an email.
    fn invite(
        &self,
        inviter: &str,
        team: &str,
        request: &InvitationRequest,
        token_hash: &str,
        compose: ComposeInvitation<'_>,
    ) -> ApiResult<Invitation>;
    /// A team's members and pending invitations (its organizers only).
    fn team_members(&self, caller: &str, team: &str) -> ApiResult<TeamMembers>;
    /// A new token and expiry for a pending invitation, sent again if it has an email.
    fn resend_invitation(
        &self,
        caller: &str,
        team: &str,
        id: &str,
        token_hash: &str,
        compose: ComposeInvitation<'_>,
    ) -> ApiResult<Invitation>;
    fn cancel_invitation(&self, caller: &str, team: &str, id: &str) -> ApiResult<()>;
    /// What a join link shows (404 `invitation_unknown`, 410 expired, used, cancelled).
    fn open_invitation(&self, token_hash: &str) -> ApiResult<InvitationFacts>;
    /// Accept an invitation in one write: the user's id.
    fn accept_invitation(&self, token_hash: &str, joiner: &Joiner) -> ApiResult<String>;
    /// Set (with a new join link's hash) or remove (None) a team's email domain.
    fn set_join_domain(
        &self,
        caller: &str,
        team: &str,
        domain: Option<&str>,
        token_hash: &str,
    ) -> ApiResult<JoinDomain>;
    /// What a team's join link shows (404 `join_link_unknown`).
    fn open_domain(&self, token_hash: &str) -> ApiResult<DomainFacts>;
    /// Someone at a team's domain asks to join: true if an invitation was mailed.
    fn request_domain_join(
        &self,
        link_hash: &str,
        email: &str,
        invitation_hash: &str,
        compose: ComposeInvitation<'_>,
    ) -> ApiResult<bool>;
    /// Ask for a password reset; true if a message was enqueued.
    fn request_reset(&self, email: &str, token_hash: &str, compose: ComposeReset<'_>) -> ApiResult<bool>;
    /// The email a reset link is for (404 `reset_unknown`, 410 expired or used).
    fn open_reset(&self, token_hash: &str) -> ApiResult<String>;
    /// Set the password a reset link is for, and revoke the account's tokens.
    fn complete_reset(&self, token_hash: &str, password_hash: &str) -> ApiResult<()>;

    // The public pages (`public.rs`).
    /// The slug of a team's public listing, made the first time.
    fn public_team_slug(&self, team: &str) -> ApiResult<String>;
    /// A team's upcoming published circles (404 `public_page_unknown`).
    fn public_listing(&self, team_slug: &str, now: DateTime<Utc>) -> ApiResult<PublicListing>;
    /// A published circle that has not ended (404 unknown or not published, 410 ended).
    fn public_circle(&self, slug: &str, now: DateTime<Utc>) -> ApiResult<PublicCircle>;
    /// Sign someone up on a circle's public page, with their confirmation mail.
    fn sign_up(
        &self,
        slug: &str,
        input: &LearnerInput,
        now: DateTime<Utc>,
        compose: ComposeSignup<'_>,
    ) -> ApiResult<SignupOutcome>;
    /// How to tell a waiting learner they got a place (once, at start).
    fn set_place_mail(&self, compose: ComposePlace);
    /// How to mail learners reminders, notices and circle messages (once,
    /// at start): without it none is sent.
    fn set_learner_mail(&self, mail: LearnerMail);
    /// Queue the meeting reminders due at `now` (`learner_mail.rs`); how
    /// many messages. Refused when no learner mail is set.
    fn send_due_reminders(&self, now: DateTime<Utc>) -> ApiResult<usize>;
    /// Write the `deliveries` rows of learners' messages the outbox
    /// finished, at most `limit`; how many.
    fn record_deliveries(&self, limit: usize) -> ApiResult<usize>;

    // Learners' signed links (`links.rs`, `learner_links.rs`).
    /// Where a learner's link stands (a read), or with `act` do what it
    /// says in one write (404 `link_invalid` for a forged or damaged one).
    fn follow_learner_link(&self, token: &str, now: DateTime<Utc>, act: bool) -> ApiResult<LinkFacts>;
    /// One learner link, for an operator (`circles-server link make`).
    fn make_learner_link(
        &self,
        base_url: &str,
        purpose: Purpose,
        learner_id: &str,
        meeting_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> ApiResult<String>;

    /// Apply the teams' retention periods at `now` (`retention.rs`): erase
    /// the learners of circles that ended longer ago than their team's
    /// period. One line per team that has a period.
    fn apply_retention(&self, now: DateTime<Utc>) -> ApiResult<Vec<TeamRetention>>;
}

/// The sync rules over one backend.
pub struct Protocol<B: Backend> {
    backend: B,
    group: GroupCommit,
    /// The mail telling a waiting learner they have a place (set by `serve`,
    /// which knows the public address; without it places are still filled).
    place_mail: OnceLock<ComposePlace>,
    /// How to mail learners reminders, notices and messages (set by `serve`).
    learner_mail: OnceLock<LearnerMail>,
    /// `set_token_idle_days`, else the default.
    token_idle_days: OnceLock<u32>,
    /// `set_sms_enabled`, else off.
    sms_enabled: OnceLock<bool>,
}

impl<B: Backend> Protocol<B> {
    pub fn new(backend: B) -> Protocol<B> {
        Protocol {
            backend,
            group: GroupCommit::default(),
            place_mail: OnceLock::new(),
            learner_mail: OnceLock::new(),
            token_idle_days: OnceLock::new(),
            sms_enabled: OnceLock::new(),
        }
    }

    /// The sync rules over a database just opened: memberships the
    /// laptops do not see as the server holds them get their synced rows
    /// (`teams::sync_membership_rows`; nothing is written when all agree).
    pub fn opened(backend: B) -> ApiResult<Protocol<B>> {
        let protocol = Protocol::new(backend);
        let written = protocol.backend.write(teams::sync_membership_rows)?;
        if written > 0 {
            tracing::info!(written, "wrote the synced rows of team memberships");
        }
        Ok(protocol)
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Write a group of pushes in one transaction: a refused push is
    /// answered alone; a database error fails the group.
    pub(crate) fn write_group(&self, jobs: &[(u64, PushJob)]) -> Vec<ApiResult<PushResponse>> {
        let tokens: Vec<&str> = jobs.iter().map(|(_, j)| j.session.token_id.as_str()).collect();
        let mut purged = false;
        let pushed = self.backend.push_group(&tokens, jobs.len(), |tx, i| {
            let (response, purged_here) =
                push::push_one(tx, &jobs[i].1, self.place_mail.get(), self.learner_mail.get())?;
            purged |= purged_here;
            Ok(response)
        });
        if purged {
            // An erased learner's old values were overwritten: the bytes
            // must leave the files too, not only the tables.
            if let Err(e) = self.backend.scrub_freed_pages() {
                tracing::warn!(error = %e, "could not clear freed pages after an erase; the next erase tries again");
            }
        }
        match pushed {
            Ok(results) => results,
            Err(e) => jobs.iter().map(|_| Err(e.clone())).collect(),
        }
    }
}

impl<B: Backend> SyncService for Protocol<B> {
    fn health(&self) -> ApiResult<()> {
        Ok(self.backend.health()?)
    }

    fn add_user(&self, email: &str, name: &str, password_hash: &str) -> ApiResult<String> {
        accounts::add_user(&self.backend, email, name, password_hash)
    }

    fn users(&self) -> ApiResult<Vec<UserInfo>> {
        self.backend.read(|tx| Ok(tx.users()?))
    }

    fn user_by_email(&self, email: &str) -> ApiResult<Option<UserRecord>> {
        let email = accounts::normal_email(email);
        self.backend.read(|tx| Ok(tx.user_by_email(&email)?))
    }

    fn add_team(&self, name: &str) -> ApiResult<String> {
        accounts::add_team(&self.backend, name)
    }

    fn user_by_id(&self, id: &str) -> ApiResult<Option<UserRecord>> {
        self.backend.read(|tx| Ok(tx.user_by_id(id)?))
    }

    fn init(&self, email: &str, name: &str, password_hash: &str, team: &str) -> ApiResult<(String, String)> {
        accounts::init(&self.backend, email, name, password_hash, team)
    }

    fn set_user_disabled(&self, email: &str, disabled: bool) -> ApiResult<()> {
        accounts::set_disabled(&self.backend, email, disabled)
    }

    fn set_password(&self, user_id: &str, password_hash: &str, keep: Option<&str>) -> ApiResult<usize> {
        accounts::set_password(&self.backend, user_id, password_hash, keep)
    }

    fn find_team(&self, key: &str) -> ApiResult<String> {
        self.backend.read(|tx| teams::find_team(tx, key))
    }

    fn add_team_member(&self, team_id: &str, email: &str, role: TeamRole) -> ApiResult<()> {
        self.backend.write(|tx| {
            let user = accounts::user_with_email(tx, email)?;
            teams::add_member(tx, None, team_id, &user.id, role.as_str())
        })
    }

    fn remove_team_member(&self, team_id: &str, email: &str) -> ApiResult<()> {
        self.backend.write(|tx| {
            let user = accounts::user_with_email(tx, email)?;
            teams::remove_member(tx, None, team_id, &user.id)
        })
    }

    fn team_member_list(&self, team_id: &str) -> ApiResult<Vec<TeamMemberInfo>> {
        self.backend.read(|tx| teams::member_list(tx, team_id))
    }

    fn change_member(&self, session: &Session, team_id: &str, user_id: &str, change: MemberChange) -> ApiResult<()> {
        self.backend.write(|tx| teams::organizer_change(tx, &session.user_id, team_id, user_id, change))
    }

    fn create_token(
        &self,
        user_id: &str,
        device_id: &str,
        device_name: &str,
        token_hash: &str,
        address: &str,
    ) -> ApiResult<String> {
        accounts::create_token(&self.backend, user_id, device_id, device_name, token_hash, address)
    }

    fn record_failed_sign_in(&self, email: &str, address: &str, why: &str) -> ApiResult<()> {
        accounts::record_failed_sign_in(&self.backend, email, address, why)
    }

    fn renew_device(&self, session: &Session, token_hash: &str) -> ApiResult<(String, String)> {
        accounts::renew_device(&self.backend, session, token_hash)
    }

    fn session(&self, token_hash: &str) -> ApiResult<Option<Session>> {
        let idle_days = *self.token_idle_days.get().unwrap_or(&DEFAULT_TOKEN_IDLE_DAYS);
        accounts::live_session(&self.backend, self.backend.session(token_hash)?, idle_days)
    }

    fn set_token_idle_days(&self, days: u32) {
        let _ = self.token_idle_days.set(days);
    }

    fn audit_entries(&self, query: &AuditQuery) -> ApiResult<Vec<AuditRecord>> {
        self.backend.read(|tx| audit_log::entries(tx, query))
    }

    fn prune_audit(&self, before: &str) -> ApiResult<u64> {
        self.backend.write_unordered(|tx| audit_log::prune(tx, before))
    }

    fn tokens(&self, user_id: Option<&str>) -> ApiResult<Vec<TokenInfo>> {
        self.backend.read(|tx| Ok(tx.tokens(user_id)?))
    }

    fn revoke_token(&self, token_id: &str, owner: Option<&str>) -> ApiResult<bool> {
        accounts::revoke_token(&self.backend, token_id, owner)
    }

    fn push(&self, session: &Session, batch: PushRequest, now_ms: u64) -> ApiResult<PushResponse> {
        self.group.push(PushJob::checked(session, batch, now_ms)?, |jobs| self.write_group(jobs))
    }

    fn pull(
        &self,
        session: &Session,
        cursor: i64,
        conflict_cursor: i64,
        limit: usize,
        now_ms: u64,
    ) -> ApiResult<PullResponse> {
        pull::pull(&self.backend, session, cursor, conflict_cursor, limit, now_ms)
    }

    fn enqueue_mail(&self, mail: &NewMail) -> ApiResult<(String, bool)> {
        outbox::enqueue(&self.backend, mail)
    }

    fn claim_mail(
        &self,
        channel: Channel,
        owner: &str,
        now: &str,
        lease_until: &str,
        limit: usize,
    ) -> ApiResult<Vec<ClaimedMail>> {
        outbox::claim(&self.backend, channel, owner, now, lease_until, limit)
    }

    fn finish_mail(&self, id: &str, owner: &str, outcome: &MailOutcome) -> ApiResult<bool> {
        outbox::finish(&self.backend, id, owner, outcome)
    }

    fn mail_summaries(&self, state: Option<MailState>, limit: usize) -> ApiResult<Vec<MailSummary>> {
        outbox::list(&self.backend, state, limit)
    }

    fn retry_mail(&self, id: &str, now: &str) -> ApiResult<()> {
        outbox::retry(&self.backend, id, now)
    }

    fn set_sms_enabled(&self, on: bool) {
        let _ = self.sms_enabled.set(on);
    }

    fn sms_enabled(&self) -> bool {
        *self.sms_enabled.get().unwrap_or(&false)
    }

    fn sms_reply(&self, from: &str, body: &str) -> ApiResult<SmsReply> {
        let number = sms_replies::sender(from)?;
        self.backend.write(|tx| sms_replies::apply(tx, &number, body))
    }

    fn invite(
        &self,
        inviter: &str,
        team: &str,
        request: &InvitationRequest,
        token_hash: &str,
        compose: ComposeInvitation<'_>,
    ) -> ApiResult<Invitation> {
        invitations::invite(&self.backend, inviter, team, request, token_hash, compose)
    }

    fn team_members(&self, caller: &str, team: &str) -> ApiResult<TeamMembers> {
        invitations::members(&self.backend, caller, team)
    }

    fn resend_invitation(
        &self,
        caller: &str,
        team: &str,
        id: &str,
        token_hash: &str,
        compose: ComposeInvitation<'_>,
    ) -> ApiResult<Invitation> {
        invitations::resend(&self.backend, caller, team, id, token_hash, compose)
    }

    fn cancel_invitation(&self, caller: &str, team: &str, id: &str) -> ApiResult<()> {
        invitations::cancel(&self.backend, caller, team, id)
    }

    fn open_invitation(&self, token_hash: &str) -> ApiResult<InvitationFacts> {
        invitations::open(&self.backend, token_hash)
    }

    fn accept_invitation(&self, token_hash: &str, joiner: &Joiner) -> ApiResult<String> {
        invitations::accept(&self.backend, token_hash, joiner)
    }

    fn set_join_domain(
        &self,
        caller: &str,
        team: &str,
        domain: Option<&str>,
        token_hash: &str,
    ) -> ApiResult<JoinDomain> {
        invitations::set_join_domain(&self.backend, caller, team, domain, token_hash)
    }

    fn open_domain(&self, token_hash: &str) -> ApiResult<DomainFacts> {
        invitations::open_domain(&self.backend, token_hash)
    }

    fn request_domain_join(
        &self,
        link_hash: &str,
        email: &str,
        invitation_hash: &str,
        compose: ComposeInvitation<'_>,
    ) -> ApiResult<bool> {
        invitations::request_domain_join(&self.backend, link_hash, email, invitation_hash, compose)
    }

    fn request_reset(&self, email: &str, token_hash: &str, compose: ComposeReset<'_>) -> ApiResult<bool> {
        resets::request(&self.backend, email, token_hash, compose)
    }

    fn open_reset(&self, token_hash: &str) -> ApiResult<String> {
        resets::open(&self.backend, token_hash)
    }

    fn complete_reset(&self, token_hash: &str, password_hash: &str) -> ApiResult<()> {
        resets::complete(&self.backend, token_hash, password_hash)
    }

    fn public_team_slug(&self, team: &str) -> ApiResult<String> {
        public::team_slug(&self.backend, team)
    }

    fn public_listing(&self, team_slug: &str, now: DateTime<Utc>) -> ApiResult<PublicListing> {
        public::listing(&self.backend, team_slug, now)
    }

    fn public_circle(&self, slug: &str, now: DateTime<Utc>) -> ApiResult<PublicCircle> {
        public::circle(&self.backend, slug, now)
    }

    fn sign_up(
        &self,
        slug: &str,
        input: &LearnerInput,
        now: DateTime<Utc>,
        compose: ComposeSignup<'_>,
    ) -> ApiResult<SignupOutcome> {
        public::sign_up(&self.backend, slug, input, now, compose)
    }

    fn set_place_mail(&self, compose: ComposePlace) {
        if self.place_mail.set(compose).is_err() {
            tracing::warn!("the waitlist's mail was set already; kept the first");
        }
    }

    fn apply_retention(&self, now: DateTime<Utc>) -> ApiResult<Vec<TeamRetention>> {
        retention::apply_retention(&self.backend, now)
    }

    fn follow_learner_link(&self, token: &str, now: DateTime<Utc>, act: bool) -> ApiResult<LinkFacts> {
        if act {
            self.backend.write(|tx| learner_links::follow(tx, token, now, true, self.place_mail.get()))
        } else {
            self.backend.read(|tx| learner_links::follow(tx, token, now, false, None))
        }
    }

    fn make_learner_link(
        &self,
        base_url: &str,
        purpose: Purpose,
        learner_id: &str,
        meeting_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> ApiResult<String> {
        self.backend.write(|tx| learner_links::make_link(tx, base_url, purpose, learner_id, meeting_id, now))
    }

    fn set_learner_mail(&self, mail: LearnerMail) {
        if self.learner_mail.set(mail).is_err() {
            tracing::warn!("the learners' mail was set already; kept the first");
        }
    }

    fn send_due_reminders(&self, now: DateTime<Utc>) -> ApiResult<usize> {
        let sender = self.learner_mail.get().ok_or_else(|| {
            ApiError::internal("this process has no public address to put in reminders' links (--public-url)")
        })?;
        learner_mail::send_due_reminders(&self.backend, sender, now)
    }

    fn record_deliveries(&self, limit: usize) -> ApiResult<usize> {
        learner_mail::record_deliveries(&self.backend, limit)
    }
}

/// A course title change with the given id, for tests of what the server
/// does with changes regardless of their content.
#[cfg(test)]
pub(crate) fn title_change(change_id: &str) -> circles_core::sync::wire::WireChange {
    circles_core::sync::wire::WireChange {
        change_id: change_id.into(),
        table: "courses".into(),
        row_id: "r1".into(),
        field: "title".into(),
        value: serde_json::json!("T"),
        hlc: circles_core::hlc::Hlc { millis: 1, counter: 0 },
        device_id: "d".into(),
        base_seq: None,
    }
}
