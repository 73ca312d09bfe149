//! The words of what learners receive (`protocol/learner_mail.rs` decides
//! who and when): a meeting's reminder, a notice that a meeting moved or was
//! cancelled, a message to the circle. In the circle's language, the
//! meeting's local time in the circle's zone, where (or the online link),
//! the links that come back (RSVP, withdraw, stop emails), and for a
//! reminder or a moved meeting an .ics of that one meeting. Plain text with
//! an HTML twin, every value escaped.

use maud::html;

use super::public::meeting_text;
use super::text::{fill, Lang};
use crate::mail::{Email, Kind};
use crate::protocol::learner_mail::{About, LearnerMessage};
use crate::protocol::ApiResult;
use crate::storage::{MailAttachment, NewMail};

struct Words {
    reminder_subject: &'static str,
    reminder_intro: &'static str,
    reminder_note: &'static str,
    rsvp: &'static str,
    rsvp_yes: &'static str,
    rsvp_no: &'static str,
    moved_subject: &'static str,
    moved_intro: &'static str,
    cancelled_subject: &'static str,
    cancelled_intro: &'static str,
    message_from: &'static str,
    withdraw: &'static str,
    stop_emails: &'static str,
    calendar: &'static str,
    sms_stop: &'static str,
}

const EN: Words = Words {
    reminder_subject: "Reminder: {circle}, {when}",
    reminder_intro: "A reminder: your learning circle \"{circle}\" meets {when}.",
    reminder_note: "A note from your facilitator:",
    rsvp: "Are you coming? One click tells your facilitator:",
    rsvp_yes: "Yes, I'm coming:",
    rsvp_no: "No, I can't come:",
    moved_subject: "New time: {circle}, {when}",
    moved_intro: "A meeting of your learning circle \"{circle}\" has a new time: {when}.",
    cancelled_subject: "Cancelled: {circle}, {when}",
    cancelled_intro: "The meeting of your learning circle \"{circle}\" on {when} is cancelled.",
    message_from: "A message about your learning circle \"{circle}\":",
    withdraw: "To leave the circle (your place goes to the next person waiting):",
    stop_emails: "To get no more emails about this circle:",
    calendar: "The attached calendar file (.ics) adds this meeting to your calendar.",
    sms_stop: "Reply STOP to get no more texts.",
};

const ES: Words = Words {
    reminder_subject: "Recordatorio: {circle}, {when}",
    reminder_intro: "Un recordatorio: tu círculo de aprendizaje \"{circle}\" se reúne el {when}.",
    reminder_note: "Una nota de quien facilita:",
    rsvp: "¿Vienes? Con un clic se lo dices a quien facilita:",
    rsvp_yes: "Sí, voy:",
    rsvp_no: "No puedo ir:",
    moved_subject: "Nuevo horario: {circle}, {when}",
    moved_intro: "Una reunión de tu círculo de aprendizaje \"{circle}\" tiene un nuevo horario: {when}.",
    cancelled_subject: "Cancelada: {circle}, {when}",
    cancelled_intro: "La reunión de tu círculo de aprendizaje \"{circle}\" del {when} está cancelada.",
    message_from: "Un mensaje sobre tu círculo de aprendizaje \"{circle}\":",
    withdraw: "Para dejar el círculo (tu plaza pasa a la siguiente persona en espera):",
    stop_emails: "Para no recibir más correos sobre este círculo:",
    calendar: "El archivo de calendario adjunto (.ics) añade esta reunión a tu calendario.",
    sms_stop: "Responde STOP para no recibir más mensajes.",
};

const PT: Words = Words {
    reminder_subject: "Lembrete: {circle}, {when}",
    reminder_intro: "Um lembrete: o seu círculo de aprendizagem \"{circle}\" se encontra {when}.",
    reminder_note: "Um recado de quem facilita:",
    rsvp: "Você vem? Um clique avisa quem facilita:",
    rsvp_yes: "Sim, eu vou:",
    rsvp_no: "Não posso ir:",
    moved_subject: "Novo horário: {circle}, {when}",
    moved_intro: "Um encontro do seu círculo de aprendizagem \"{circle}\" tem um novo horário: {when}.",
    cancelled_subject: "Cancelado: {circle}, {when}",
    cancelled_intro: "O encontro do seu círculo de aprendizagem \"{circle}\" de {when} foi cancelado.",
    message_from: "Uma mensagem sobre o seu círculo de aprendizagem \"{circle}\":",
    withdraw: "Para sair do círculo (a sua vaga passa para a próxima pessoa na espera):",
    stop_emails: "Para não receber mais e-mails sobre este círculo:",
    calendar: "O arquivo de calendário anexo (.ics) adiciona este encontro ao seu calendário.",
    sms_stop: "Responda STOP para não receber mais mensagens.",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Es => &ES,
        Lang::Pt => &PT,
    }
}

/// The email of one message to one learner.
pub fn learner_message(m: &LearnerMessage<'_>) -> ApiResult<NewMail> {
    let lang = Lang::parse(&m.circle.language).unwrap_or(Lang::En);
    let (p, w) = (lang.public(), words(lang));
    let circle = m.circle;
    let hello = fill(p.mail_hello, &[("name", &m.learner.name)]);
    let zone = fill(p.times_in, &[("zone", &circle.time_zone)]);
    let place = if circle.online {
        format!("{} {}", p.mail_link, circle.meeting_link)
    } else {
        let lines = [&circle.venue_name, &circle.venue_address, &circle.venue_details, &circle.city];
        let at = lines.iter().filter(|s| !s.is_empty()).map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
        format!("{} {at}", p.mail_where)
    };
    let (kind, subject, intro, note, meeting) = match m.about {
        About::Reminder { meeting, words } => {
            let when = meeting_text(p, meeting, circle.duration_minutes);
            let vars = [("circle", circle.name.as_str()), ("when", when.as_str())];
            (Kind::Reminder, fill(w.reminder_subject, &vars), fill(w.reminder_intro, &vars), words, Some(meeting))
        }
        About::Notice { meeting, cancelled } => {
            let when = meeting_text(p, meeting, circle.duration_minutes);
            let vars = [("circle", circle.name.as_str()), ("when", when.as_str())];
            let (subject, intro) =
                if cancelled { (w.cancelled_subject, w.cancelled_intro) } else { (w.moved_subject, w.moved_intro) };
            (Kind::Notice, fill(subject, &vars), fill(intro, &vars), "", (!cancelled).then_some(meeting))
        }
        About::Message { subject, body } => {
            let intro = fill(w.message_from, &[("circle", &circle.name)]);
            (Kind::Notice, format!("{}: {subject}", circle.name), intro, body, None)
        }
    };
    let links = m.links;
    let rsvp = match (&links.rsvp_yes, &links.rsvp_no) {
        (Some(yes), Some(no)) => Some((yes.as_str(), no.as_str())),
        _ => None,
    };
    let mut text = format!("{hello}\n\n{intro}\n");
    if !note.is_empty() {
        let label = if matches!(m.about, About::Reminder { .. }) { w.reminder_note } else { "" };
        text.push_str(&format!("\n{label}{}{note}\n", if label.is_empty() { "" } else { "\n" }));
    }
    if meeting.is_some() {
        text.push_str(&format!("\n{zone}\n{place}\n"));
    }
    if let Some((yes, no)) = rsvp {
        text.push_str(&format!("\n{}\n{} {yes}\n{} {no}\n", w.rsvp, w.rsvp_yes, w.rsvp_no));
    }
    if meeting.is_some() {
        text.push_str(&format!("\n{}\n", w.calendar));
    }
    text.push_str(&format!("\n--\n{}\n{}\n{}\n{}\n", w.withdraw, links.withdraw, w.stop_emails, links.email_opt_out));
    let html = html! {
        p { (hello) }
        p { (intro) }
        @if !note.is_empty() {
            @if matches!(m.about, About::Reminder { .. }) { p { (w.reminder_note) } }
            @for line in note.lines() { p { (line) } }
        }
        @if meeting.is_some() {
            p { (zone) }
            p { (place) }
        }
        @if let Some((yes, no)) = rsvp {
            p { (w.rsvp) }
            p { a href=(yes) { (w.rsvp_yes.trim_end_matches(':')) } " · " a href=(no) { (w.rsvp_no.trim_end_matches(':')) } }
        }
        @if meeting.is_some() { p { (w.calendar) } }
        hr;
        p { small { (w.withdraw) " " a href=(links.withdraw) { (links.withdraw) } } }
        p { small { (w.stop_emails) " " a href=(links.email_opt_out) { (links.email_opt_out) } } }
    };
    let mut email = Email::new(kind, &m.learner.email, &super::mail::one_line(&subject), &text);
    email.html = Some(html.into_string());
    if let Some(meeting) = meeting {
        let ics = super::calendar::one_meeting(circle, meeting, m.page_url);
        email.attachments.push(MailAttachment {
            name: "meeting.ics".into(),
            content_type: "text/calendar; charset=utf-8; method=PUBLISH".into(),
            content: ics.into_bytes(),
        });
    }
    Ok(email.to_new_mail()?)
}

/// The text message of one message to one learner: the same facts, short
/// (the first lines of the facilitator's words), the RSVP links, and how
/// to stop texts (a STOP reply, `protocol/sms_replies.rs`).
pub fn learner_sms(m: &LearnerMessage<'_>) -> ApiResult<String> {
    let lang = Lang::parse(&m.circle.language).unwrap_or(Lang::En);
    let (p, w) = (lang.public(), words(lang));
    let circle = m.circle;
    let mut text = match m.about {
        About::Reminder { meeting, words } => {
            let when = meeting_text(p, meeting, circle.duration_minutes);
            let mut text = fill(w.reminder_subject, &[("circle", &circle.name), ("when", &when)]);
            if !words.is_empty() {
                text.push_str(&format!("\n{}", short(words, 300)));
            }
            text
        }
        About::Notice { meeting, cancelled } => {
            let when = meeting_text(p, meeting, circle.duration_minutes);
            let subject = if cancelled { w.cancelled_subject } else { w.moved_subject };
            fill(subject, &[("circle", &circle.name), ("when", &when)])
        }
        About::Message { subject, body } => format!("{}: {subject}\n{}", circle.name, short(body, 600)),
    };
    if let (Some(yes), Some(no)) = (&m.links.rsvp_yes, &m.links.rsvp_no) {
        text.push_str(&format!("\n{} {yes}\n{} {no}", w.rsvp_yes, w.rsvp_no));
    }
    text.push_str(&format!("\n{}", w.sms_stop));
    Ok(text)
}

/// At most `max` characters of `text`, cut at a word with an ellipsis.
fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = cut.rsplit_once(char::is_whitespace).map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}…")
}
