//! The messages that carry the pages' links: an invitation to join a team
//! and a password reset link, in English (who reads them, and in which
//! language, is not known when they are sent); and a public signup's
//! confirmation, in the language of the page it was made on, with the
//! circle's schedule and an .ics file. Plain text with a simple HTML twin,
//! every value escaped in the HTML.

use maud::html;

use super::public::meeting_text;
use super::text::{fill, Lang};
use crate::error::ApiError;
use crate::mail::{Email, Kind};
use crate::protocol::invitations::InvitationFacts;
use crate::protocol::public::PublicCircle;
use crate::protocol::resets::RESET_MINUTES;
use crate::storage::MailAttachment;
use crate::storage::NewMail;
use circles_core::LearnerInput;

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

/// A public signup's confirmation to the learner's email: the schedule in
/// the circle's zone, where (or the online link), the circle's page, and
/// the meetings as an .ics file. With `waitlisted` (their number), it says
/// they are on the waitlist.
pub fn signup(
    lang: Lang,
    circle: &PublicCircle,
    learner: &LearnerInput,
    page_url: &str,
    waitlisted: Option<u32>,
) -> Result<NewMail, ApiError> {
    let p = lang.public();
    match waitlisted {
        None => schedule_mail(lang, circle, learner, page_url, Kind::Signup, p.mail_subject, p.mail_body),
        Some(n) => {
            let body = fill(p.mail_waitlist_body, &[("n", &n.to_string())]);
            let kind = Kind::Signup;
            schedule_mail(lang, circle, learner, page_url, kind, p.mail_waitlist_subject, &body)
        }
    }
}

/// A waiting learner got a place (`protocol/waitlist.rs`), in the circle's
/// language: the schedule and the .ics, as a signup's confirmation.
pub fn place(circle: &PublicCircle, learner: &LearnerInput, page_url: &str) -> Result<NewMail, ApiError> {
    let lang = Lang::parse(&circle.language).unwrap_or(Lang::En);
    let p = lang.public();
    schedule_mail(lang, circle, learner, page_url, Kind::WaitlistPlace, p.mail_place_subject, p.mail_place_body)
}

/// A message about a circle to one learner: `intro` ({circle} filled),
/// then its schedule, where, its page and an .ics file.
fn schedule_mail(
    lang: Lang,
    circle: &PublicCircle,
    learner: &LearnerInput,
    page_url: &str,
    kind: Kind,
    subject: &str,
    intro: &str,
) -> Result<NewMail, ApiError> {
    let p = lang.public();
    let meetings: Vec<String> =
        circle.meetings.iter().filter(|m| !m.cancelled).map(|m| meeting_text(p, m, circle.duration_minutes)).collect();
    let zone = fill(p.times_in, &[("zone", &circle.time_zone)]);
    let place = if circle.online {
        (p.mail_link, circle.meeting_link.clone())
    } else {
        let lines = [&circle.venue_name, &circle.venue_address, &circle.venue_details, &circle.city];
        (p.mail_where, lines.iter().filter(|s| !s.is_empty()).map(|s| s.as_str()).collect::<Vec<_>>().join(", "))
    };
    let hello = fill(p.mail_hello, &[("name", &learner.name)]);
    let intro = fill(intro, &[("circle", &circle.name)]);
    let list: String = meetings.iter().map(|m| format!("- {m}\n")).collect();
    let text = format!(
        "{hello}\n\n{intro}\n{list}{zone}\n\n{} {}\n\n{} {page_url}\n\n{}\n",
        place.0, place.1, p.mail_page, p.mail_calendar
    );
    let html = html! {
        p { (hello) }
        p { (intro) }
        ul { @for m in &meetings { li { (m) } } }
        p { (zone) }
        p { (place.0) " " (place.1) }
        p { (p.mail_page) " " a href=(page_url) { (page_url) } }
        p { (p.mail_calendar) }
    };
    let subject = fill(subject, &[("circle", &circle.name)]);
    let mut email = Email::new(kind, &learner.email, &one_line(&subject), &text);
    email.html = Some(html.into_string());
    let ics = super::calendar::calendar(&[circle], &|_| page_url.to_string());
    email.attachments.push(MailAttachment {
        name: "circle.ics".into(),
        content_type: "text/calendar; charset=utf-8; method=PUBLISH".into(),
        content: ics.into_bytes(),
    });
    Ok(email.to_new_mail()?)
}

/// `2026-12-09T17:22:17.123Z` as `2026-12-09 17:22`.
pub fn shown_time(stored: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(stored)
        .map(|t| t.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| stored.to_string())
}

/// A subject is one line, whatever a team or person is called.
pub(super) fn one_line(text: &str) -> String {
    let line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    line.chars().take(crate::mail::MAX_SUBJECT).collect()
}
