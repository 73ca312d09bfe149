//! The messages that carry the pages' links: an invitation to join a team
//! and a password reset link. In English (who reads them, and in which
//! language, is not known when they are sent); plain text with a simple
//! HTML twin, every value escaped in the HTML.

use maud::html;

use crate::error::ApiError;
use crate::mail::{Email, Kind};
use crate::protocol::invitations::InvitationFacts;
use crate::protocol::resets::RESET_MINUTES;
use crate::storage::NewMail;

/// The invitation message for `facts`, with its link.
pub fn invitation(facts: &InvitationFacts, link: &str) -> Result<NewMail, ApiError> {
    let to = facts.email.as_deref().ok_or_else(|| ApiError::internal("an invitation message needs an address"))?;
    let circle = facts.circle_name.as_deref();
    let what = match circle {
        Some(circle) => {
            format!("to join the team \"{}\" on Circles and to co-facilitate the circle \"{circle}\"", facts.team_name)
        }
        None => format!("to join the team \"{}\" on Circles", facts.team_name),
    };
    let action = if facts.existing_account {
        "Open this link and enter your Circles password to join:"
    } else {
        "Open this link to choose your name and password:"
    };
    let expires = shown_time(&facts.expires_at);
    let text = format!(
        "Hello,\n\n{inviter} invited you {what}.\n\n{action}\n{link}\n\nThe link works once, until {expires} (UTC). \
         Then sign in from the Circles app with your email and password.\n\n\
         Circles is the app facilitators use to run learning circles, with or without a network.\n",
        inviter = facts.inviter_name,
    );
    let html = html! {
        p { "Hello," }
        p { (facts.inviter_name) " invited you " (what) "." }
        p { (action) }
        p { a href=(link) { (link) } }
        p { "The link works once, until " (expires) " (UTC). Then sign in from the Circles app with your email and password." }
        p { "Circles is the app facilitators use to run learning circles, with or without a network." }
    };
    let subject = format!("{} invited you to {} on Circles", facts.inviter_name, facts.team_name);
    let mut email = Email::new(Kind::Invitation, to, &one_line(&subject), &text);
    email.html = Some(html.into_string());
    Ok(email.to_new_mail()?)
}

/// The password reset message to `to`, with its link.
pub fn reset(to: &str, link: &str) -> Result<NewMail, ApiError> {
    let text = format!(
        "Hello,\n\nSomeone (you, we hope) asked to reset the password of the Circles account {to}.\n\n\
         Open this link to choose a new password:\n{link}\n\n\
         The link works once, for {RESET_MINUTES} minutes. Setting a new password signs every device out.\n\n\
         If you did not ask for this, ignore this message: your password stays as it is.\n"
    );
    let html = html! {
        p { "Hello," }
        p { "Someone (you, we hope) asked to reset the password of the Circles account " strong { (to) } "." }
        p { "Open this link to choose a new password:" }
        p { a href=(link) { (link) } }
        p { "The link works once, for " (RESET_MINUTES) " minutes. Setting a new password signs every device out." }
        p { "If you did not ask for this, ignore this message: your password stays as it is." }
    };
    let mut email = Email::new(Kind::PasswordReset, to, "Reset your Circles password", &text);
    email.html = Some(html.into_string());
    Ok(email.to_new_mail()?)
}

/// `2026-12-09T17:22:17.123Z` as `2026-12-09 17:22`.
pub fn shown_time(stored: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(stored)
        .map(|t| t.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| stored.to_string())
}

/// A subject is one line, whatever a team or person is called.
fn one_line(text: &str) -> String {
    let line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    line.chars().take(crate::mail::MAX_SUBJECT).collect()
}
