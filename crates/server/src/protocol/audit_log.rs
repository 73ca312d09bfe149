//! The audit log: what an operator or a library's privacy officer asks
//! after an incident. Who signed in and from where, who failed to, tokens
//! made, revoked and expired, passwords changed, accounts disabled, roles
//! changed, learners erased. Each entry is written in the same transaction
//! as what it records, so the log never claims what did not happen (a
//! failed sign-in, which changes nothing, has a write of its own).
//! `circles-server audit` reads it (docs/security.md).
//!
//! What is never written here: passwords, tokens (only a token's id), and
//! learners' personal fields (an erase names the learner's id only, so the
//! log keeps nothing an erase must remove).

use crate::common::now_text;
use crate::storage::{AuditQuery, AuditRecord, NewAuditEntry, Tx};

use super::ApiResult;

/// What happened. The text (`as_str`) is what is stored and what
/// `circles-server audit --event` filters by: stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    /// A sign-in with the right password: a token was made (subject: the token id).
    SignIn,
    /// A sign-in refused: wrong password, unknown email, disabled account
    /// (subject: the email typed; detail: why).
    SignInFailed,
    /// A token made for a copied data folder (`/v1/device/renew`).
    TokenCreated,
    /// A token revoked by signing out, by its owner, or by an admin.
    TokenRevoked,
    /// A token refused and revoked after the idle time without use.
    TokenExpired,
    /// A password changed by its owner, or set by an admin; other tokens revoked.
    PasswordChanged,
    /// A password set through a reset link; every token revoked.
    PasswordReset,
    AccountCreated,
    AccountDisabled,
    AccountEnabled,
    /// Someone put in a team, or their role changed (detail: team and role).
    RoleChanged,
    /// Someone taken out of a team.
    MemberRemoved,
    /// A learner erased (subject: the learner's id; detail: the circle).
    LearnerErased,
    /// Entries older than a date deleted by an operator.
    AuditPruned,
}

impl AuditEvent {
    pub const ALL: [AuditEvent; 14] = [
        AuditEvent::SignIn,
        AuditEvent::SignInFailed,
        AuditEvent::TokenCreated,
        AuditEvent::TokenRevoked,
        AuditEvent::TokenExpired,
        AuditEvent::PasswordChanged,
        AuditEvent::PasswordReset,
        AuditEvent::AccountCreated,
        AuditEvent::AccountDisabled,
        AuditEvent::AccountEnabled,
        AuditEvent::RoleChanged,
        AuditEvent::MemberRemoved,
        AuditEvent::LearnerErased,
        AuditEvent::AuditPruned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditEvent::SignIn => "sign_in",
            AuditEvent::SignInFailed => "sign_in_failed",
            AuditEvent::TokenCreated => "token_created",
            AuditEvent::TokenRevoked => "token_revoked",
            AuditEvent::TokenExpired => "token_expired",
            AuditEvent::PasswordChanged => "password_changed",
            AuditEvent::PasswordReset => "password_reset",
            AuditEvent::AccountCreated => "account_created",
            AuditEvent::AccountDisabled => "account_disabled",
            AuditEvent::AccountEnabled => "account_enabled",
            AuditEvent::RoleChanged => "role_changed",
            AuditEvent::MemberRemoved => "member_removed",
            AuditEvent::LearnerErased => "learner_erased",
            AuditEvent::AuditPruned => "audit_pruned",
        }
    }

    pub fn parse(text: &str) -> Option<AuditEvent> {
        AuditEvent::ALL.into_iter().find(|e| e.as_str() == text)
    }
}

/// One entry to write.
pub(crate) struct Entry<'a> {
    pub event: AuditEvent,
    /// The account that acted (None: the server itself, or an admin command
    /// on the server's machine).
    pub actor: Option<&'a str>,
    pub subject: &'a str,
    pub address: Option<&'a str>,
    pub detail: &'a str,
}

impl<'a> Entry<'a> {
    pub(crate) fn new(event: AuditEvent, actor: Option<&'a str>, subject: &'a str) -> Entry<'a> {
        Entry { event, actor, subject, address: None, detail: "" }
    }

    pub(crate) fn from(mut self, address: Option<&'a str>) -> Entry<'a> {
        self.address = address;
        self
    }

    pub(crate) fn detail(mut self, detail: &'a str) -> Entry<'a> {
        self.detail = detail;
        self
    }
}

/// The most characters of typed text (an email someone tried) kept.
const MAX_SUBJECT_CHARS: usize = 254;

/// Write an entry, in the caller's transaction.
pub(crate) fn record(tx: &mut dyn Tx, entry: Entry<'_>) -> ApiResult<()> {
    // Typed text is kept bounded; control characters are escaped when it is
    // printed (`circles-server audit`), not here, so the log holds what came.
    let subject: String = entry.subject.chars().take(MAX_SUBJECT_CHARS).collect();
    tx.log_audit(&NewAuditEntry {
        at: &now_text(),
        event: entry.event.as_str(),
        actor: entry.actor,
        subject: &subject,
        address: entry.address,
        detail: entry.detail,
    })?;
    Ok(())
}

/// Entries, newest first (`limit` between 1 and 10,000).
pub(crate) fn entries(tx: &mut dyn Tx, query: &AuditQuery) -> ApiResult<Vec<AuditRecord>> {
    let query = AuditQuery { limit: query.limit.clamp(1, 10_000), ..query.clone() };
    Ok(tx.audit_entries(&query)?)
}

/// Delete entries before `before`, and say so in the log: how many.
pub(crate) fn prune(tx: &mut dyn Tx, before: &str) -> ApiResult<u64> {
    let n = tx.prune_audit(before)?;
    let detail = format!("{n} entries before {before} deleted");
    record(tx, Entry::new(AuditEvent::AuditPruned, None, "").detail(&detail))?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_reads_back_from_its_text() {
        for e in AuditEvent::ALL {
            assert_eq!(AuditEvent::parse(e.as_str()), Some(e));
        }
        assert_eq!(AuditEvent::parse("nonsense"), None);
    }
}
