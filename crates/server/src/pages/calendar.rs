//! iCalendar (RFC 5545) files of public circles' meetings: the team
//! listing's feed and the .ics a signup's confirmation carries. Times are
//! UTC instants (resolved in the circle's zone by core), so every calendar
//! shows them right whatever its own zone; text is escaped and lines folded.

use chrono::{DateTime, Utc};

use crate::protocol::public::PublicCircle;

/// A calendar of the circles' meetings that are not cancelled; `url_of`
/// gives a circle's page.
pub fn calendar(circles: &[&PublicCircle], url_of: &dyn Fn(&PublicCircle) -> String) -> String {
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//Circles//Public pages//EN");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    let stamp = stamp(Utc::now());
    for circle in circles {
        let url = url_of(circle);
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
        for (n, meeting) in circle.meetings.iter().enumerate().filter(|(_, m)| !m.cancelled) {
            line(&mut out, "BEGIN:VEVENT");
            line(&mut out, &format!("UID:{}-{}@circles", circle.slug, n + 1));
            line(&mut out, &format!("DTSTAMP:{stamp}"));
            line(&mut out, &format!("DTSTART:{}", self::stamp(meeting.starts_at)));
            line(&mut out, &format!("DTEND:{}", self::stamp(meeting.ends_at)));
            line(&mut out, &format!("SUMMARY:{}", escape(&circle.name)));
            if !location.is_empty() {
                line(&mut out, &format!("LOCATION:{}", escape(&location)));
            }
            line(&mut out, &format!("DESCRIPTION:{}", escape(&format!("{}\n{url}", circle.course_title))));
            line(&mut out, &format!("URL:{url}"));
            line(&mut out, "END:VEVENT");
        }
    }
    line(&mut out, "END:VCALENDAR");
    out
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
