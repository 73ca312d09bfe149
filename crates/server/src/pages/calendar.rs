//! iCalendar (RFC 5545) files of public circles' meetings: the team
//! listing's feed and the .ics a signup's confirmation carries. Times are
//! UTC instants (resolved in the circle's zone by core), so every calendar
//! shows them right whatever its own zone; text is escaped and lines folded.

use chrono::{DateTime, Utc};

use crate::protocol::public::{PublicCircle, PublicMeeting};

/// A calendar of the circles' meetings that are not cancelled; `url_of`
/// gives a circle's page.
pub fn calendar(circles: &[&PublicCircle], url_of: &dyn Fn(&PublicCircle) -> String) -> String {
    let mut out = String::new();
    begin(&mut out);
    let stamp = stamp(Utc::now());
    for circle in circles {
        let url = url_of(circle);
        for (n, meeting) in circle.meetings.iter().enumerate().filter(|(_, m)| !m.cancelled) {
            let uid = format!("{}-{}@circles", circle.slug, n + 1);
            event(&mut out, circle, meeting, &uid, None, &stamp, &url);
        }
    }
    line(&mut out, "END:VCALENDAR");
    out
}

/// A calendar of one meeting, for a learner's reminder or a notice that it
/// moved: its UID is the meeting's, and its SEQUENCE grows with each send,
/// so a calendar that holds it moves it rather than adding a second one.
pub fn one_meeting(circle: &PublicCircle, meeting: &PublicMeeting, url: &str) -> String {
    let mut out = String::new();
    begin(&mut out);
    let now = Utc::now();
    let sequence = (now.timestamp() / 60).max(0);
    event(&mut out, circle, meeting, &format!("{}@circles", meeting.id), Some(sequence), &stamp(now), url);
    line(&mut out, "END:VCALENDAR");
    out
}

fn begin(out: &mut String) {
    line(out, "BEGIN:VCALENDAR");
    line(out, "VERSION:2.0");
    line(out, "PRODID:-//Circles//Public pages//EN");
    line(out, "CALSCALE:GREGORIAN");
    line(out, "METHOD:PUBLISH");
}

fn event(
    out: &mut String,
    circle: &PublicCircle,
    meeting: &PublicMeeting,
    uid: &str,
    sequence: Option<i64>,
    stamp: &str,
    url: &str,
) {
    let location = if circle.online {
        "Online".to_string()
    } else {
        [&circle.venue_name, &circle.venue_address, &circle.city]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    line(out, "BEGIN:VEVENT");
    line(out, &format!("UID:{uid}"));
    if let Some(sequence) = sequence {
        line(out, &format!("SEQUENCE:{sequence}"));
    }
    line(out, &format!("DTSTAMP:{stamp}"));
    line(out, &format!("DTSTART:{}", self::stamp(meeting.starts_at)));
    line(out, &format!("DTEND:{}", self::stamp(meeting.ends_at)));
    line(out, &format!("SUMMARY:{}", escape(&circle.name)));
    if !location.is_empty() {
        line(out, &format!("LOCATION:{}", escape(&location)));
    }
    let description =
        if circle.course_title.is_empty() { url.to_string() } else { format!("{}\n{url}", circle.course_title) };
    line(out, &format!("DESCRIPTION:{}", escape(&description)));
    line(out, &format!("URL:{url}"));
    line(out, "END:VEVENT");
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// RFC 5545 TEXT: backslash, semicolon, comma and newlines escaped;
/// other control characters dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A content line folded at 75 octets (never inside a character), CRLF ended.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_long_lines_folded() {
        assert_eq!(escape("a;b,c\\d\ne\u{7}"), "a\\;b\\,c\\\\d\\ne");
        let mut out = String::new();
        line(&mut out, &format!("SUMMARY:{}", "é".repeat(60)));
        for piece in out.split("\r\n") {
            assert!(piece.len() <= 75, "{piece}");
        }
        assert_eq!(out.replace("\r\n ", "").trim_end(), format!("SUMMARY:{}", "é".repeat(60)));
    }
}
