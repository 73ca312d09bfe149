//! Field validation shared by every entity. Each check returns a typed
//! `CoreError::Invalid` naming the entity and field.

use crate::error::{CoreError, Result, Rule};

pub const MAX_NAME: usize = 200;
pub const MAX_TEXT: usize = 10_000;
/// The longest message to learners (a reminder's words, a message to a circle):
/// what reads well in an email; an SMS carries the first part.
pub const MAX_MESSAGE: usize = 2_000;
pub const MAX_URL: usize = 2_000;

/// A required single-line text: trimmed, non-empty, at most `max` characters.
pub fn required(entity: &'static str, field: &'static str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(CoreError::invalid(entity, field, Rule::Required, "is required"));
    }
    optional(entity, field, value, max)
}

/// An optional text: at most `max` characters, and no control characters
/// except newlines and tabs (they break exports and printing).
pub fn optional(entity: &'static str, field: &'static str, value: &str, max: usize) -> Result<()> {
    let len = value.chars().count();
    if len > max {
        return Err(CoreError::invalid(
            entity,
            field,
            Rule::TooLong { length: len as u32, max: max as u32 },
            format!("is {len} characters long; the limit is {max}"),
        ));
    }
    if value.chars().any(|c| (c.is_control() && c != '\n' && c != '\t' && c != '\r') || is_direction_override(c)) {
        return Err(CoreError::invalid(
            entity,
            field,
            Rule::ControlCharacters,
            "contains control or text-direction characters",
        ));
    }
    Ok(())
}

/// The invisible characters that reorder how text is shown (embeddings,
/// overrides, isolates): they can make a name display as something else.
/// Right-to-left text needs none of them.
fn is_direction_override(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A value as it can be quoted in a message: control and text-direction
/// characters written as escapes, at most 80 characters. Messages reach
/// terminals and screens, and quote what a client or a person sent.
pub fn shown(value: &str) -> String {
    const MAX_SHOWN: usize = 80;
    let mut out = String::new();
    for (i, c) in value.chars().enumerate() {
        if i == MAX_SHOWN {
            out.push('…');
            break;
        }
        if c.is_control() || is_direction_override(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// A plausible email address: one `@`, a local part, a dotted domain, no
/// spaces. Deliberately permissive beyond that: a real address must never be
/// refused, and delivery is the only true test.
pub fn email(entity: &'static str, field: &'static str, value: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(CoreError::invalid(entity, field, Rule::Email, format!("\"{value}\" is not a valid email address ({why})")))
    };
    if value.len() > 254 {
        return bad("longer than 254 characters");
    }
    if value.chars().any(char::is_whitespace) {
        return bad("contains spaces");
    }
    let Some((local, domain)) = value.split_once('@') else {
        return bad("missing @");
    };
    if local.is_empty() || domain.contains('@') {
        return bad("expected name@domain");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-')) {
        return bad("the domain must look like example.org");
    }
    Ok(())
}

/// A mobile number in E.164 form: `+`, country code, subscriber number; 8 to
/// 15 digits in all. Spaces, dots, dashes and parentheses are tolerated on
/// input and removed by `normalize_mobile`.
pub fn mobile(entity: &'static str, field: &'static str, value: &str) -> Result<()> {
    let digits = value.strip_prefix('+').unwrap_or(value);
    let ok = value.starts_with('+')
        && digits.len() >= 8
        && digits.len() <= 15
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0');
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(
            entity,
            field,
            Rule::Mobile,
            format!("\"{value}\" is not a mobile number in international form, e.g. +13125550143"),
        ))
    }
}

/// Strip the separators people type in phone numbers, so that
/// "+1 (312) 555-0143" is stored as "+13125550143".
pub fn normalize_mobile(value: &str) -> String {
    value.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect()
}

/// An http(s) address.
pub fn url(entity: &'static str, field: &'static str, value: &str) -> Result<()> {
    optional(entity, field, value, MAX_URL)?;
    let rest = value.strip_prefix("https://").or_else(|| value.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !value.chars().any(char::is_whitespace) => Ok(()),
        _ => Err(CoreError::invalid(
            entity,
            field,
            Rule::Url,
            format!("\"{value}\" is not a web address starting with https:// or http://"),
        )),
    }
}

/// A language code such as "en", "es", "pt" or "pt-BR".
pub fn language(entity: &'static str, field: &'static str, value: &str) -> Result<()> {
    let mut parts = value.split('-');
    let primary = parts.next().unwrap_or_default();
    let primary_ok = (2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_lowercase());
    let rest_ok = parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if primary_ok && rest_ok {
        Ok(())
    } else {
        Err(CoreError::invalid(
            entity,
            field,
            Rule::Language,
            format!("\"{value}\" is not a language code such as en, es, pt or pt-BR"),
        ))
    }
}

/// An integer in an inclusive range.
pub fn in_range(entity: &'static str, field: &'static str, value: i64, min: i64, max: i64) -> Result<()> {
    if value < min || value > max {
        return Err(CoreError::invalid(
            entity,
            field,
            Rule::OutOfRange { min, max },
            format!("must be between {min} and {max}, not {value}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in ["a@b.co", "lena.m+circles@example.org", "ana@biblioteca.lisboa.pt"] {
            assert!(email("learner", "email", ok).is_ok(), "{ok}");
        }
        for bad in ["", "lena", "lena@", "@example.org", "lena@example", "le na@example.org", "a@b@c.org", "a@.org"] {
            let err = email("learner", "email", bad).unwrap_err();
            assert_eq!(err.field(), Some("email"), "{bad}");
        }
    }

    #[test]
    fn mobiles() {
        assert!(mobile("learner", "mobile", "+13125550143").is_ok());
        assert_eq!(normalize_mobile("+1 (312) 555-0143"), "+13125550143");
        for bad in ["3125550143", "+0123456789", "+1", "+1312555014x", "+1234567890123456"] {
            assert!(mobile("learner", "mobile", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn texts_and_ranges() {
        assert!(required("circle", "name", "  ", 10).is_err());
        assert!(required("circle", "name", "Reading", 10).is_ok());
        assert!(optional("circle", "name", &"x".repeat(11), 10).is_err());
        assert!(optional("circle", "name", "a\u{7}b", 10).is_err());
        assert!(optional("circle", "name", "abc\u{202E}gpj.exe", 20).is_err(), "right-to-left override");
        assert!(optional("circle", "name", "مرحبا", 20).is_ok(), "right-to-left text needs no override");
        assert_eq!(shown("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(shown(&"é".repeat(100)).chars().count(), 81);
        assert!(in_range("circle", "signup_limit", 0, 1, 500).is_err());
        assert!(url("circle", "meeting_link", "https://meet.example.org/x").is_ok());
        assert!(url("circle", "meeting_link", "meet.example.org").is_err());
        assert!(language("circle", "language", "pt-BR").is_ok());
        assert!(language("circle", "language", "English").is_err());
    }
}
