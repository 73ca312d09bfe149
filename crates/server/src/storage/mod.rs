//! The server's data access: a narrow interface (`Backend`, and `Tx` for
//! what is read and written inside one of its transactions) that the policy
//! in `protocol/` runs over, with an error that names no HTTP status. Each
//! backend (`sqlite.rs`, `postgres.rs`) holds only its SQL, its connections
//! and its tuned bulk queries; it decides nothing about who may see or
//! write what.

mod audit;
pub mod postgres;
pub mod sqlite;
pub mod sqlite_file;

use std::collections::HashSet;

use circles_core::sync::wire::{PushRequest, ServerChange, WireChange, WireConflict};
use serde::Serialize;

/// Why the storage failed, whatever the database.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StorageError {
    /// The database cannot be reached (try again later).
    #[error("cannot reach the database: {0}")]
    Unavailable(String),
    /// The database refused or failed a statement.
    #[error("database error: {0}")]
    Database(String),
}

pub type StorageResult<T> = Result<T, StorageError>;

/// An error raised above the storage inside one of a push group's
/// transactions: a refusal undoes only its own push; any other error fails
/// the whole group (the clients retry).
pub trait GroupError: From<StorageError> {
    fn is_refusal(&self) -> bool;
}

/// Who is calling: the user and the device their token is bound to.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user_id: String,
    pub device_id: String,
    pub token_id: String,
}

/// A token as the session lookup finds it, live or not: whether it is
/// revoked and whether its account is disabled are for the caller to judge.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub session: Session,
    pub revoked: bool,
    pub user_disabled: bool,
    /// When the token was last used (as far as the server noted), or made:
    /// `common::now_text` text. Idle tokens expire (`protocol/accounts.rs`).
    pub last_active: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    /// Disabled accounts cannot sign in and their tokens are refused.
    pub disabled: bool,
}

/// A member of a team as the server holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamMemberInfo {
    pub user_id: String,
    pub email: String,
    pub name: String,
    /// `organizer` or `member`.
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserInfo {
    pub id: String,
    pub email: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub user_email: String,
    pub device_id: String,
    pub device_name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

/// A token as stored.
pub struct NewToken<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub device_id: &'a str,
    pub device_name: &'a str,
    pub token_hash: &'a str,
    pub created_at: &'a str,
}

/// An audit log entry to write (what is written, and when: `protocol/audit_log.rs`).
pub struct NewAuditEntry<'a> {
    pub at: &'a str,
    pub event: &'a str,
    /// The account that acted; None: the server itself or an admin command.
    pub actor: Option<&'a str>,
    pub subject: &'a str,
    pub address: Option<&'a str>,
    pub detail: &'a str,
}

/// An audit log entry as read back, with the acting account's email.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub at: String,
    pub event: String,
    pub actor: Option<String>,
    pub actor_email: Option<String>,
    pub subject: String,
    pub address: Option<String>,
    pub detail: String,
}

/// Which entries to read: newest first, at most `limit`.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only entries at or after this time (`now_text` text or a prefix, e.g. a date).
    pub since: Option<String>,
    pub event: Option<String>,
    pub limit: i64,
}

/// The audit log, newest first, in the SQL both backends speak: $1 since
/// (or NULL), $2 the event (or NULL), $3 how many.
pub(super) const AUDIT_ENTRIES_SQL: &str =
    "SELECT a.id, a.at, a.event, a.actor, u.email, a.subject, a.address, a.detail
     FROM audit_log a LEFT JOIN users u ON u.id = a.actor
     WHERE (CAST($1 AS TEXT) IS NULL OR a.at >= CAST($1 AS TEXT))
       AND (CAST($2 AS TEXT) IS NULL OR a.event = CAST($2 AS TEXT))
     ORDER BY a.id DESC LIMIT $3";

/// A field's winning version as `field_state` holds it (value and clock as
/// their stored text).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredField {
    pub value: String,
    pub hlc: String,
    pub device_id: String,
    pub seq: i64,
}

/// A change the server makes itself, logged at the next seq and made its
/// field's state.
pub struct OwnChange<'a> {
    pub change_id: &'a str,
    pub table: &'a str,
    pub row_id: &'a str,
    pub field: &'a str,
    pub value: &'a str,
    pub hlc: &'a str,
    pub device_id: &'a str,
    pub received_at: &'a str,
    /// The circle a circle-scoped row belongs to (None: a global row, made
    /// by the server as far as `row_creator` is concerned).
    pub scope: Option<&'a str>,
    /// Whom the row is about (`protocol/directory.rs`): only their contacts see it.
    pub person: Option<&'a str>,
}

/// An invitation to a team as stored (the link's token only as its hash).
#[derive(Debug, Clone, PartialEq)]
pub struct InvitationRecord {
    pub id: String,
    pub team_id: String,
    /// None: a copyable join link, for whoever opens it.
    pub email: Option<String>,
    /// An invitation to co-facilitate this circle too.
    pub circle_id: Option<String>,
    pub role: String,
    pub invited_by: String,
    pub token_hash: String,
    pub created_at: String,
    pub expires_at: String,
    pub used_at: Option<String>,
    pub cancelled_at: Option<String>,
}

/// A team's email domain and its join link (the token only as its hash).
#[derive(Debug, Clone, PartialEq)]
pub struct JoinDomainRecord {
    pub team_id: String,
    pub domain: String,
    pub set_by: String,
}

/// A password reset link as stored (its token only as its hash).
#[derive(Debug, Clone, PartialEq)]
pub struct ResetRecord {
    pub id: String,
    pub user_id: String,
    pub token_hash: String,
    pub created_at: String,
    pub expires_at: String,
    pub used_at: Option<String>,
}

/// What a push reads before its first change, in bulk.
#[derive(Debug, Default)]
pub struct PushStart {
    /// The (batch id, recorded answer) under the batch's number, if any.
    pub recorded: Option<(String, String)>,
    /// The device's last recorded batch number (0: none).
    pub last_batch_seq: i64,
    /// The seq the push's first logged change gets.
    pub next_seq: i64,
    /// Which of the batch's change ids were logged or recorded as seen.
    pub seen: HashSet<String>,
}

/// A pushed change that won, logged at `seq`.
pub struct Logged<'a> {
    pub seq: i64,
    pub table: &'static str,
    pub change: &'a WireChange,
    /// The value and clock as stored text.
    pub value: String,
    pub hlc: String,
    pub scope: Option<String>,
    /// Whom the row is about (`protocol/directory.rs`).
    pub person: Option<String>,
}

/// A conflict as stored: (value, clock, device) of the version that lost
/// and of the one that won.
pub struct Conflict {
    pub table: &'static str,
    pub row_id: String,
    pub field: String,
    pub lost: (String, String, String),
    pub won: (String, String, String),
}

/// Everything one push writes, in one go at its end (the storage writes
/// nothing before, so a refused push has written nothing).
pub struct PushWrites<'a> {
    pub session: &'a Session,
    pub batch: &'a PushRequest,
    pub received_at: &'a str,
    /// Change ids that lost, recorded as seen (those that won are logged).
    pub seen: Vec<&'a str>,
    /// In seq order (consecutive seqs).
    pub logged: Vec<Logged<'a>>,
    /// New `row_scope` rows: (table, row, circle); existing ones are kept.
    pub scopes: Vec<(&'static str, String, String)>,
    /// New `circle_access` rows: (circle, user, granted seq); existing ones are kept.
    pub grants: Vec<(String, String, i64)>,
    /// Global rows this push made: (table, row); their creator is the session's user.
    pub creators: Vec<(&'static str, &'a str)>,
    /// In the order they were found.
    pub conflicts: Vec<Conflict>,
    /// The batch's record (`push_batches.response_json`).
    pub record: String,
}

impl PushWrites<'_> {
    /// The field states the push moved: the last logged change of each field.
    pub fn field_states(&self) -> Vec<&Logged<'_>> {
        let mut done = HashSet::new();
        let mut states: Vec<&Logged<'_>> = self
            .logged
            .iter()
            .rev()
            .filter(|l| done.insert((l.table, l.change.row_id.as_str(), l.change.field.as_str())))
            .collect();
        states.reverse();
        states
    }
}

/// One look at the log for a pull page: the changes after a cursor the user
/// may see, at most a given number of them.
pub struct LogSlice {
    /// The others' changes among them, in order.
    pub changes: Vec<ServerChange>,
    /// How many it looked at, the caller's own included.
    pub looked_at: usize,
    /// The last seq it looked at (None: nothing after the cursor).
    pub last_seq: Option<i64>,
}

/// A consistency check of what is stored (`circles-server check`); each
/// backend runs the same portable SQL (`audit.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audit {
    /// The log's seqs run 1, 2, 3... without a hole.
    SeqGaps,
    /// Every field's stored state is its last logged change, and no state
    /// lacks a change.
    FieldStates,
    /// Every global row in the log has its maker in `row_creator`.
    RowCreators,
    /// Tokens, devices and team members name users (and devices, teams) that exist.
    References,
}

/// What an audit found: how many problems, and the first few, described.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Findings {
    pub count: i64,
    pub first: Vec<String>,
}

/// Where a message of the mail outbox is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailState {
    /// Waiting for its next attempt (`next_attempt_at`).
    Pending,
    /// Claimed by a worker until its lease runs out.
    Sending,
    /// Accepted by the SMTP server (or written to the folder).
    Sent,
    /// Given up: too many attempts, or a permanent refusal.
    Failed,
}

impl MailState {
    pub const ALL: [MailState; 4] = [MailState::Pending, MailState::Sending, MailState::Sent, MailState::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            MailState::Pending => "pending",
            MailState::Sending => "sending",
            MailState::Sent => "sent",
            MailState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<MailState> {
        MailState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// How an outbox message goes out: each channel has its own worker, which
/// claims only that channel's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Over SMTP (`mail/`).
    Email,
    /// Through an SMS provider (`sms/`): `to` an E.164 mobile, no subject.
    Sms,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Email, Channel::Sms];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// A file sent with a message (an .ics, say).
#[derive(Debug, Clone, PartialEq)]
pub struct MailAttachment {
    pub name: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

/// A message to put in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMail {
    pub id: String,
    pub created_at: String,
    pub channel: Channel,
    pub kind: String,
    /// The same key enqueued twice is one message.
    pub dedupe_key: Option<String>,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<MailAttachment>,
    pub next_attempt_at: String,
    /// For a message to a learner: what its `deliveries` row needs (JSON of
    /// `protocol::learner_mail::DeliveryFacts`), written once it is sent or
    /// given up.
    pub delivery: Option<String>,
}

/// A learner's message the outbox finished (sent or given up) whose
/// `deliveries` row is not yet written.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedDelivery {
    pub mail_id: String,
    pub delivery: String,
    pub sent: bool,
    /// When it was sent, or when it was given up (its last attempt).
    pub at: String,
    pub last_error: Option<String>,
}

/// A message a worker claimed, with what sending it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedMail {
    pub id: String,
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<MailAttachment>,
    /// Attempts so far, this one included.
    pub attempts: u32,
}

/// A message as `mail list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MailSummary {
    pub id: String,
    pub created_at: String,
    pub channel: Channel,
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub state: MailState,
    pub attempts: u32,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub sent_at: Option<String>,
    /// What the provider called it once sent (an SMS's Twilio sid).
    pub provider_id: Option<String>,
}

/// What became of a claimed message.
#[derive(Debug, Clone, PartialEq)]
pub enum MailOutcome {
    /// Accepted: never sent again. `provider_id`: what the provider called
    /// it (an SMS provider's message id; none for SMTP).
    Sent { at: String, provider_id: Option<String> },
    /// Try again at `next_attempt_at`.
    Retry { next_attempt_at: String, error: String },
    /// Given up.
    Failed { error: String },
    /// Not tried (the worker is stopping): pending again at once, the attempt not counted.
    Released,
}

/// Attachments as the outbox stores them: a JSON array of
/// `{"name", "content_type", "base64"}` (text, so both backends and
/// `migrate-db` copy them as they copy everything else).
pub(crate) fn attachments_json(attachments: &[MailAttachment]) -> String {
    use base64::Engine;
    let items: Vec<serde_json::Value> = attachments
        .iter()
        .map(|a| {
            serde_json::json!({
                "name": a.name,
                "content_type": a.content_type,
                "base64": base64::engine::general_purpose::STANDARD.encode(&a.content),
            })
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

/// The attachments of a stored `attachments` column.
pub(crate) fn attachments_from_json(text: &str) -> StorageResult<Vec<MailAttachment>> {
    use base64::Engine;
    let bad = |why: &str| StorageError::Database(format!("mail_outbox.attachments is damaged: {why}"));
    let items: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    items
        .iter()
        .map(|item| {
            let field = |name: &str| item.get(name).and_then(|v| v.as_str()).ok_or_else(|| bad(name));
            Ok(MailAttachment {
                name: field("name")?.to_string(),
                content_type: field("content_type")?.to_string(),
                content: base64::engine::general_purpose::STANDARD
                    .decode(field("base64")?)
                    .map_err(|e| bad(&e.to_string()))?,
            })
        })
        .collect()
}

/// The facilitator ids (JSON text) of a circle's live `circle_facilitators`
/// rows: the circle's rows found through the log's scope index, their
/// states by key. The same SQL on both backends.
pub(crate) const LIVE_CIRCLE_FACILITATORS_SQL: &str = "SELECT f.value FROM field_state f
     JOIN field_state d ON d.table_name = f.table_name AND d.row_id = f.row_id AND d.field = 'deleted'
     WHERE f.table_name = 'circle_facilitators' AND f.field = 'facilitator_id' AND d.value = '0'
       AND f.row_id IN (SELECT row_id FROM changes WHERE scope_circle = $1 AND table_name = 'circle_facilitators')";

/// Circles revoked from a user (`$1`) after a seq (`$2`) that they do not
/// see again since (a later grant), by the revocations' key.
pub(crate) const REVOKED_CIRCLES_SQL: &str = "SELECT DISTINCT r.circle_id FROM access_revocations r
     WHERE r.user_id = $1 AND r.seq > $2
       AND NOT EXISTS (SELECT 1 FROM circle_access a WHERE a.circle_id = r.circle_id AND a.user_id = r.user_id)
     ORDER BY r.circle_id";

/// The people a user (`$1`) knows now, beside those stored as the contacts
/// of their token `$2` (one device's stream): `(person, 1)` for one not
/// stored yet, `(person, 0)` for one stored who is no longer known
/// (`protocol/directory.rs` says who). The same SQL on both backends.
pub(crate) const CONTACT_DRIFT_SQL: &str = "WITH known(id) AS (
         SELECT id FROM users WHERE id = $1
         UNION SELECT o.user_id FROM team_members m JOIN team_members o ON o.team_id = m.team_id WHERE m.user_id = $1
         UNION SELECT o.user_id FROM circle_access a JOIN circle_access o ON o.circle_id = a.circle_id
               WHERE a.user_id = $1
         UNION SELECT row_id FROM row_creator WHERE table_name = 'facilitators' AND user_id = $1),
     stored(id) AS (SELECT person_id FROM directory_contacts WHERE token_id = $2)
     SELECT id, 1 FROM known WHERE id NOT IN (SELECT id FROM stored)
     UNION ALL SELECT id, 0 FROM stored WHERE id NOT IN (SELECT id FROM known)";

/// The rows of a token's (`$1`) contacts found at or above the cursor (`$2`)
/// as they stand at or below it: the latest logged change of each of their
/// fields, but the puller's own device's (`$3`). The same SQL on both backends.
pub(crate) const CONTACT_CATCH_UP_SQL: &str =
    "SELECT c.seq, c.change_id, c.table_name, c.row_id, c.field, c.value, c.hlc, c.device_id, c.base_seq
     FROM directory_contacts d
     JOIN changes c ON c.scope_person = d.person_id
     JOIN field_state f ON f.table_name = c.table_name AND f.row_id = c.row_id AND f.field = c.field AND f.seq = c.seq
     WHERE d.token_id = $1 AND d.since_seq >= $2 AND c.seq <= $2 AND c.device_id <> $3
     ORDER BY c.seq";

/// The texts among stored JSON values (others, such as null, left out).
pub(crate) fn json_texts(values: &[String]) -> Vec<String> {
    values
        .iter()
        .filter_map(|v| serde_json::from_str::<serde_json::Value>(v).ok())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// What is read and written inside one transaction. Statements only: every
/// decision is the caller's.
pub trait Tx {
    /// The last seq of the log (0: empty).
    fn max_seq(&mut self) -> StorageResult<i64>;

    // Accounts, teams and tokens.
    fn email_taken(&mut self, email: &str) -> StorageResult<bool>;
    fn insert_user(&mut self, user: &UserRecord, created_at: &str) -> StorageResult<()>;
    fn users(&mut self) -> StorageResult<Vec<UserInfo>>;
    fn user_by_email(&mut self, email: &str) -> StorageResult<Option<UserRecord>>;
    fn user_by_id(&mut self, id: &str) -> StorageResult<Option<UserRecord>>;
    fn user_count(&mut self) -> StorageResult<i64>;
    /// Disable an account (`Some(time)`) or enable it (`None`). False if no such user.
    fn set_user_disabled(&mut self, user_id: &str, disabled_at: Option<&str>) -> StorageResult<bool>;
    fn set_password_hash(&mut self, user_id: &str, password_hash: &str) -> StorageResult<()>;
    /// Revoke every live token of a user but `keep` (a token id): how many.
    fn revoke_user_tokens(&mut self, user_id: &str, keep: Option<&str>, now: &str) -> StorageResult<usize>;
    fn insert_team(&mut self, id: &str, name: &str) -> StorageResult<()>;
    fn team_exists(&mut self, id: &str) -> StorageResult<bool>;
    /// Teams (id, name) whose id or name is exactly `key`.
    fn teams_named(&mut self, key: &str) -> StorageResult<Vec<(String, String)>>;
    /// Put a user in a team with a role, or change their role.
    fn set_team_member(&mut self, team_id: &str, user_id: &str, role: &str) -> StorageResult<()>;
    /// Take a user out of a team. False if they were not in it.
    fn remove_team_member(&mut self, team_id: &str, user_id: &str) -> StorageResult<bool>;
    /// A user's role in a team, if they are in it.
    fn team_role(&mut self, team_id: &str, user_id: &str) -> StorageResult<Option<String>>;
    /// A team's members, organizers first, then by email.
    fn team_members(&mut self, team_id: &str) -> StorageResult<Vec<TeamMemberInfo>>;
    /// Every membership: (team, user, role).
    fn all_team_members(&mut self) -> StorageResult<Vec<(String, String, String)>>;
    /// The rows of `table` whose `field` holds `value` (as stored JSON text).
    fn rows_with_value(&mut self, table: &str, field: &str, value: &str) -> StorageResult<Vec<String>>;
    /// Every row of `table` whose `field` holds something other than
    /// `except` (stored JSON text), with that value, by row id.
    fn rows_with_field(&mut self, table: &str, field: &str, except: &str) -> StorageResult<Vec<(String, String)>>;
    /// Let a user see a circle (kept if they already do).
    fn grant(&mut self, circle_id: &str, user_id: &str, granted_seq: i64) -> StorageResult<()>;

    // Access, read as stored now (no push cache: these are asked after a
    // push's writes, in its transaction).
    /// Whether a user sees a circle (`circle_access`).
    fn has_access(&mut self, circle_id: &str, user_id: &str) -> StorageResult<bool>;
    /// The facilitator ids of a circle's live (`deleted` = 0) `circle_facilitators` rows.
    fn live_circle_facilitators(&mut self, circle_id: &str) -> StorageResult<Vec<String>>;
    /// A field's stored value (JSON text), read as stored now.
    fn stored_value(&mut self, table: &str, row_id: &str, field: &str) -> StorageResult<Option<String>>;
    /// Overwrite every value one field of one row ever had, in the change
    /// log, its field state and the conflicts kept for laptops, with `value`
    /// (an erased learner's history); the number of values changed.
    fn overwrite_field_history(&mut self, table: &str, row_id: &str, field: &str, value: &str) -> StorageResult<u64>;
    /// The user whose push first wrote a circle's own row.
    fn circle_creator(&mut self, circle_id: &str) -> StorageResult<Option<String>>;
    /// Take a circle away from a user: no `circle_access`, none of their
    /// tokens' streams lists it (a later grant resets them), and a
    /// revocation recorded at `seq`.
    fn revoke_access(&mut self, circle_id: &str, user_id: &str, seq: i64) -> StorageResult<()>;
    /// Circles revoked from a user after `after` that they do not see again, sorted.
    fn revoked_circles(&mut self, user_id: &str, after: i64) -> StorageResult<Vec<String>>;
    /// Log a change made by the server itself and make it its field's state.
    fn log_own_change(&mut self, change: &OwnChange<'_>) -> StorageResult<()>;
    /// The account a device id is bound to, if any.
    fn device_owner(&mut self, device_id: &str) -> StorageResult<Option<String>>;
    /// Bind a device id to an account, unless it is bound already (to anyone).
    fn bind_device(&mut self, device_id: &str, user_id: &str, created_at: &str) -> StorageResult<()>;
    fn insert_token(&mut self, token: &NewToken<'_>) -> StorageResult<()>;
    /// Tokens of a user (by id), or of everyone.
    fn tokens(&mut self, user_id: Option<&str>) -> StorageResult<Vec<TokenInfo>>;
    /// Revoke a token; with `owner`, only one of that user's. False if none matched.
    fn revoke_token(&mut self, token_id: &str, owner: Option<&str>, now: &str) -> StorageResult<bool>;
    /// Note that a token was used now.
    fn touch_token(&mut self, token_id: &str, now: &str) -> StorageResult<()>;

    // The audit log (`protocol/audit_log.rs`).
    fn log_audit(&mut self, entry: &NewAuditEntry<'_>) -> StorageResult<()>;
    fn audit_entries(&mut self, query: &AuditQuery) -> StorageResult<Vec<AuditRecord>>;
    /// Delete entries before a time: how many.
    fn prune_audit(&mut self, before: &str) -> StorageResult<u64>;

    // Invitations, password resets and what their pages need.
    fn team_name(&mut self, team_id: &str) -> StorageResult<Option<String>>;
    fn insert_invitation(&mut self, invitation: &InvitationRecord) -> StorageResult<()>;
    fn invitation(&mut self, id: &str) -> StorageResult<Option<InvitationRecord>>;
    fn invitation_by_token(&mut self, token_hash: &str) -> StorageResult<Option<InvitationRecord>>;
    /// A team's invitations neither used nor cancelled nor expired at `now`, oldest first.
    fn pending_invitations(&mut self, team_id: &str, now: &str) -> StorageResult<Vec<InvitationRecord>>;
    /// A new token (by its hash) and expiry for an invitation; the old link stops working.
    fn renew_invitation(&mut self, id: &str, token_hash: &str, expires_at: &str) -> StorageResult<()>;
    fn cancel_invitation(&mut self, id: &str, now: &str) -> StorageResult<()>;
    /// Mark an invitation used by a user, unless it was used or cancelled
    /// already: false then (someone got there first).
    fn use_invitation(&mut self, id: &str, user_id: &str, now: &str) -> StorageResult<bool>;
    /// Set (or replace, with a new link) a team's email domain.
    fn set_join_domain(&mut self, record: &JoinDomainRecord, token_hash: &str, now: &str) -> StorageResult<()>;
    /// Remove a team's email domain (its link stops working): whether it had one.
    fn clear_join_domain(&mut self, team_id: &str) -> StorageResult<bool>;
    fn join_domain_by_token(&mut self, token_hash: &str) -> StorageResult<Option<JoinDomainRecord>>;
    fn insert_reset(&mut self, reset: &ResetRecord) -> StorageResult<()>;
    fn reset_by_token(&mut self, token_hash: &str) -> StorageResult<Option<ResetRecord>>;
    /// How many resets a user asked for since `since`.
    fn resets_since(&mut self, user_id: &str, since: &str) -> StorageResult<i64>;
    /// Mark a reset used unless it was: false then.
    fn use_reset(&mut self, id: &str, now: &str) -> StorageResult<bool>;

    // The public pages' addresses (`public_slugs`).
    /// The slug of a team's or circle's public page (`kind`: team or circle), if it has one.
    fn public_slug(&mut self, kind: &str, target_id: &str) -> StorageResult<Option<String>>;
    /// Give a team or circle its slug, unless it has one already (kept then).
    fn insert_public_slug(&mut self, slug: &str, kind: &str, target_id: &str, now: &str) -> StorageResult<()>;
    /// What a slug names: (kind, target id).
    fn slug_target(&mut self, slug: &str) -> StorageResult<Option<(String, String)>>;

    // The server's own secrets (`server_secrets`; the learner links' key: `protocol/links.rs`).
    /// A secret's value (hex text), if it was made.
    fn server_secret(&mut self, name: &str) -> StorageResult<Option<String>>;
    /// Keep a secret, unless one of that name is there (kept then).
    fn insert_server_secret(&mut self, name: &str, value: &str) -> StorageResult<()>;

    // Pull.
    /// Circles the user may see that this token's pull stream does not include yet.
    fn unlisted_circles(&mut self, session: &Session) -> StorageResult<Vec<String>>;
    /// Whether the log has a change of `circle` at or before `seq`.
    fn circle_logged_by(&mut self, circle_id: &str, seq: i64) -> StorageResult<bool>;
    /// Include a circle in this token's pull stream.
    fn list_circle(&mut self, token_id: &str, circle_id: &str) -> StorageResult<()>;
    /// The token's contacts to add and to drop (`CONTACT_DRIFT_SQL`).
    fn contact_drift(&mut self, session: &Session) -> StorageResult<(Vec<String>, Vec<String>)>;
    fn add_contact(&mut self, token_id: &str, person_id: &str, since_seq: i64) -> StorageResult<()>;
    fn drop_contact(&mut self, token_id: &str, person_id: &str) -> StorageResult<()>;
    /// New contacts' rows as they stand at `cursor` (`CONTACT_CATCH_UP_SQL`).
    fn contact_catch_up(&mut self, session: &Session, cursor: i64) -> StorageResult<Vec<ServerChange>>;
    /// The session device's lost conflicts after `after`, oldest first, a
    /// bounded number; none unless the device is bound to the session's account.
    fn device_conflicts(&mut self, session: &Session, after: i64) -> StorageResult<Vec<WireConflict>>;
    /// The next `limit` changes after `after` the user may see (everyone's
    /// and their circles'), in seq order, leaving out `own_device`'s.
    fn visible_changes(&mut self, session: &Session, after: i64, limit: usize) -> StorageResult<LogSlice>;
    /// How many changes after `after` the user may see (their own included).
    fn count_visible(&mut self, session: &Session, after: i64) -> StorageResult<i64>;

    // Push: reads in bulk or cached for the push, one write at the end.
    /// Start a push: its batch record, next seq and seen change ids (and
    /// whatever the backend prefers to read ahead for `field`, `row_scope`
    /// and `may_see`).
    fn begin_push(&mut self, session: &Session, batch: &PushRequest) -> StorageResult<PushStart>;
    /// A field's stored state (before this push).
    fn field(&mut self, table: &'static str, row_id: &str, field: &str) -> StorageResult<Option<StoredField>>;
    /// The circle a row is scoped to (before this push).
    fn row_scope(&mut self, table: &str, row_id: &str) -> StorageResult<Option<String>>;
    /// Whether the pushing user could see `circle` before this push.
    fn may_see(&mut self, circle_id: &str) -> StorageResult<bool>;
    fn is_user(&mut self, id: &str) -> StorageResult<bool>;
    /// The organizers of a team (`team_members` with role organizer).
    fn team_organizers(&mut self, team_id: &str) -> StorageResult<Vec<String>>;
    /// Who made a global row (`row_creator`, written when the row was made;
    /// `SERVER_DEVICE` for the accounts and teams the server wrote).
    fn row_creator(&mut self, table: &str, row_id: &str) -> StorageResult<Option<String>>;
    fn write_push(&mut self, writes: &PushWrites<'_>) -> StorageResult<()>;

    // Checks.
    /// Run one audit: the number of problems and the first `first` of them.
    fn audit(&mut self, audit: Audit, first: usize) -> StorageResult<Findings>;

    // The mail outbox.
    /// Add a message unless one with its dedupe key is there: the id of
    /// the message that holds it, and whether it is the new one.
    fn enqueue_mail(&mut self, mail: &NewMail) -> StorageResult<(String, bool)>;
    /// Claim up to `limit` messages of one channel for `owner` until
    /// `lease_until`: pending ones due by `now`, and sending ones whose lease
    /// ran out by `now` (their worker died). Each claim counts an attempt.
    /// Oldest due first.
    /// Learners' messages sent or given up whose delivery row is not yet
    /// written, oldest first, at most `limit`.
    fn unlogged_deliveries(&mut self, limit: usize) -> StorageResult<Vec<FinishedDelivery>>;
    fn mark_deliveries_logged(&mut self, mail_ids: &[String]) -> StorageResult<()>;
    /// Whether a planned send (`learner_sends`) is done.
    fn send_done(&mut self, key: &str) -> StorageResult<bool>;
    fn mark_send_done(&mut self, key: &str, now: &str) -> StorageResult<()>;
    /// Claim up to `limit` messages for `owner` until `lease_until`: pending
    /// ones due by `now`, and sending ones whose lease ran out by `now` (their
    /// worker died). Each claim counts an attempt. Oldest due first.
    fn claim_mail(
        &mut self,
        channel: Channel,
        owner: &str,
        now: &str,
        lease_until: &str,
        limit: usize,
    ) -> StorageResult<Vec<ClaimedMail>>;
    /// Record what became of a claimed message. `Sent` is recorded whoever
    /// holds it now; the others only while `owner` holds it. False if nothing matched.
    fn finish_mail(&mut self, id: &str, owner: &str, outcome: &MailOutcome) -> StorageResult<bool>;
    /// Messages, newest first, of one state or all, at most `limit`.
    fn mail_summaries(&mut self, state: Option<MailState>, limit: usize) -> StorageResult<Vec<MailSummary>>;
    fn mail_state(&mut self, id: &str) -> StorageResult<Option<MailState>>;
    /// A failed message pending again, due at `now`, its attempts from zero. False if it was not failed.
    fn requeue_mail(&mut self, id: &str, now: &str) -> StorageResult<bool>;
}

/// A database: its transactions.
pub trait Backend: Send + Sync + 'static {
    fn health(&self) -> StorageResult<()>;
    /// The database engine's own check of its files: the faults it reports
    /// (empty: none). None: the engine has no such check to run here.
    fn integrity_check(&self) -> StorageResult<Option<Vec<String>>>;
    /// After values were overwritten (an erase): make sure the old bytes are
    /// in no file any more (SQLite: the WAL folded in and cut to zero; the
    /// pages themselves were cleared as they were freed, `secure_delete`).
    fn scrub_freed_pages(&self) -> StorageResult<()>;
    /// The token a hash belongs to, bound to its account's device, revoked
    /// or not (None: unknown).
    fn session(&self, token_hash: &str) -> StorageResult<Option<TokenRecord>>;
    /// A read from one snapshot.
    fn read<T, E: From<StorageError>>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E>;
    /// A write ordered with every other write that touches the log (commit
    /// order is seq order); rolled back if `f` fails.
    fn write<T, E: From<StorageError>>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E>;
    /// A write that touches no seq (tokens).
    fn write_unordered<T, E: From<StorageError>>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E>;
    /// Write a group of pushes in one transaction (one commit): `attempt`
    /// once per push, in order; a refused push leaves nothing behind and the
    /// others go on; any other error fails the group. The tokens' last use
    /// is noted.
    fn push_group<T, E: GroupError>(
        &self,
        tokens: &[&str],
        pushes: usize,
        attempt: impl FnMut(&mut dyn Tx, usize) -> Result<T, E>,
    ) -> Result<Vec<Result<T, E>>, E>;
}

/// Run a group's pushes in order: a refusal is answered with its error and
/// the others go on (`attempt` must leave nothing of a refused push
/// behind); any other error fails the whole group, whose transaction the
/// caller then rolls back.
pub(crate) fn each_push<X: ?Sized, T, E: GroupError>(
    tx: &mut X,
    pushes: usize,
    mut attempt: impl FnMut(&mut X, usize) -> Result<T, E>,
) -> Result<Vec<Result<T, E>>, E> {
    let mut results = Vec::with_capacity(pushes);
    for i in 0..pushes {
        let result = attempt(tx, i);
        if let Err(e) = result {
            if !e.is_refusal() {
                return Err(e);
            }
            results.push(Err(e));
        } else {
            results.push(result);
        }
    }
    Ok(results)
}
