//! The synced tables and their fields: the single list that local writes,
//! change records and (later) remote application all check against.

use crate::error::{CoreError, Result, Rule};

pub struct TableDef {
    pub name: &'static str,
    /// The entity name used in messages ("circle", "learner").
    pub entity: &'static str,
    /// Every column except `id`, in schema order.
    pub fields: &'static [&'static str],
    /// Which circle a row belongs to, which decides who may see and write it.
    pub scope: Scope,
}

/// Where a row's circle comes from: the server scopes (and authorizes) every
/// change by it, and pulls a circle's rows only to those who see the circle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everyone's: no circle.
    Global,
    /// A circle: the row is its own circle.
    OwnId,
    /// The named field holds the row's circle id.
    CircleField(&'static str),
    /// The named field holds a meeting id; the row's circle is the meeting's.
    MeetingField(&'static str),
}

pub const TEAMS: TableDef = TableDef {
    name: "teams",
    entity: "team",
    fields: &["name", "privacy_notice", "anonymize_after_days", "deleted", "created_at"],
    scope: Scope::Global,
};

pub const FACILITATORS: TableDef = TableDef {
    name: "facilitators",
    entity: "facilitator",
    fields: &["name", "email", "deleted", "created_at"],
    scope: Scope::Global,
};

pub const TEAM_MEMBERS: TableDef = TableDef {
    name: "team_members",
    entity: "team member",
    fields: &["team_id", "facilitator_id", "role", "deleted", "created_at"],
    scope: Scope::Global,
};

pub const COURSES: TableDef = TableDef {
    name: "courses",
    entity: "course",
    fields: &[
        "title",
        "provider",
        "link",
        "caption",
        "language",
        "topics",
        "license",
        "format",
        "archived",
        "deleted",
        "created_at",
    ],
    scope: Scope::Global,
};

pub const TEAM_COURSES: TableDef = TableDef {
    name: "team_courses",
    entity: "team course",
    fields: &["team_id", "course_id", "deleted", "created_at"],
    scope: Scope::Global,
};

pub const CIRCLES: TableDef = TableDef {
    name: "circles",
    entity: "circle",
    fields: &[
        "name",
        "course_id",
        "description",
        "venue_name",
        "venue_address",
        "venue_details",
        "venue_website",
        "city",
        "region",
        "country",
        "latitude",
        "longitude",
        "online",
        "meeting_link",
        "language",
        "time_zone",
        "start_time",
        "duration_minutes",
        "signup_limit",
        "signup_open",
        "signup_question",
        "status",
        "did_not_happen",
        "team_id",
        "guide_template_id",
        "completed",
        "facilitator_goal",
        "goal_rating",
        "course_rating",
        "course_rating_reason",
        "reminder_hours",
        "deleted",
        "created_at",
    ],
    scope: Scope::OwnId,
};

pub const CIRCLE_FACILITATORS: TableDef = TableDef {
    name: "circle_facilitators",
    entity: "circle facilitator",
    fields: &["circle_id", "facilitator_id", "deleted", "created_at"],
    scope: Scope::CircleField("circle_id"),
};

pub const MEETINGS: TableDef = TableDef {
    name: "meetings",
    entity: "meeting",
    fields: &[
        "circle_id",
        "local_date",
        "local_time",
        "status",
        "notes",
        "head_count",
        "reminder_message",
        "deleted",
        "created_at",
    ],
    scope: Scope::CircleField("circle_id"),
};

pub const LEARNERS: TableDef = TableDef {
    name: "learners",
    entity: "learner",
    fields: &[
        "circle_id",
        "name",
        "email",
        "mobile",
        "goals",
        "support_needs",
        "question_answer",
        "consent",
        "email_opt_out",
        "sms_opt_out",
        "walk_in",
        "withdrawn",
        "signup_source",
        "waitlisted_at",
        "erased",
        "deleted",
        "created_at",
    ],
    scope: Scope::CircleField("circle_id"),
};

/// The shortest and longest retention period a team may set
/// (`teams.anonymize_after_days`, in days after a circle ends): at least a
/// month, so a circle's follow-up (wrap-up, reports, a last message) is not
/// cut short; at most ten years. Empty (null) keeps learners until someone
/// erases them by hand.
pub const MIN_RETENTION_DAYS: i64 = 30;
pub const MAX_RETENTION_DAYS: i64 = 3650;

/// `learners.signup_source` of a learner who signed up on the circle's
/// public page (written by the server); '' is one a facilitator typed in.
pub const SIGNUP_ONLINE: &str = "online";

/// A learner's personal fields and the value each holds once the learner is
/// erased (`erased` = 1): the one list the laptop's erase, the laptop's
/// history purge and the server's purge all use. The row itself stays, so
/// attendance counts stay right.
pub const ERASED_LEARNER_FIELDS: &[(&str, &str)] = &[
    ("name", "Erased learner"),
    ("email", ""),
    ("mobile", ""),
    ("goals", ""),
    ("support_needs", ""),
    ("question_answer", ""),
];

/// The value of an erased learner's personal `field` as a stored change
/// holds it (JSON text), or None for a field that is not personal.
pub fn erased_value_json(field: &str) -> Option<String> {
    ERASED_LEARNER_FIELDS
        .iter()
        .find(|(name, _)| *name == field)
        .map(|(_, blank)| serde_json::Value::String((*blank).to_string()).to_string())
}

pub const ATTENDANCE: TableDef = TableDef {
    name: "attendance",
    entity: "attendance mark",
    fields: &["meeting_id", "learner_id", "mark", "deleted", "created_at"],
    scope: Scope::MeetingField("meeting_id"),
};

pub const MEETING_GUIDES: TableDef = TableDef {
    name: "meeting_guides",
    entity: "meeting guide",
    fields: &["meeting_id", "sections", "customized", "template", "deleted", "created_at"],
    scope: Scope::MeetingField("meeting_id"),
};

pub const MEETING_FEEDBACK: TableDef = TableDef {
    name: "meeting_feedback",
    entity: "meeting feedback",
    fields: &["meeting_id", "rating", "reflection", "reflection_prompt", "next_week_note", "deleted", "created_at"],
    scope: Scope::MeetingField("meeting_id"),
};

/// A facilitator's own guide template, saved from a circle's guides. Its
/// parent is the circle it was saved from: it syncs to whoever sees that
/// circle.
pub const GUIDE_TEMPLATES: TableDef = TableDef {
    name: "guide_templates",
    entity: "guide template",
    fields: &[
        "circle_id",
        "name",
        "language",
        "duration_minutes",
        "first_sections",
        "middle_sections",
        "last_sections",
        "deleted",
        "created_at",
    ],
    scope: Scope::CircleField("circle_id"),
};

/// A message to all of a circle's learners, written offline and sent by the
/// server when it first sees it.
pub const CIRCLE_MESSAGES: TableDef = TableDef {
    name: "circle_messages",
    entity: "message",
    fields: &["circle_id", "subject", "body", "deleted", "created_at"],
    scope: Scope::CircleField("circle_id"),
};

/// A learner's answer to a meeting's reminder, from its signed link. Written
/// by the server only (`SERVER_WRITTEN_TABLES`); one row per meeting and
/// learner (`ids::rsvp_id`).
pub const MEETING_RSVPS: TableDef = TableDef {
    name: "meeting_rsvps",
    entity: "answer to a reminder",
    fields: &["meeting_id", "learner_id", "answer", "answered_at", "deleted", "created_at"],
    scope: Scope::MeetingField("meeting_id"),
};

/// What the server sent a learner, or failed to send. Written by the server
/// only; no address or text is kept.
pub const DELIVERIES: TableDef = TableDef {
    name: "deliveries",
    entity: "delivery",
    fields: &[
        "circle_id",
        "learner_id",
        "meeting_id",
        "message_id",
        "kind",
        "channel",
        "status",
        "problem",
        "at",
        "deleted",
        "created_at",
    ],
    scope: Scope::CircleField("circle_id"),
};

/// Tables only the server writes: a laptop pulls them and never pushes a
/// change to them (the server refuses one, 403).
pub const SERVER_WRITTEN_TABLES: &[&str] = &[MEETING_RSVPS.name, DELIVERIES.name];

/// `meeting_rsvps.answer`.
pub const RSVP_ANSWERS: &[&str] = &["yes", "no"];
/// `deliveries.kind`: what was sent.
pub const DELIVERY_KINDS: &[&str] = &["reminder", "notice", "message", "signup", "waitlist_place"];
/// `deliveries.channel`.
pub const DELIVERY_CHANNELS: &[&str] = &["email", "sms"];
/// `deliveries.status`.
pub const DELIVERY_STATUSES: &[&str] = &["sent", "failed"];
/// `deliveries.problem` of a failed one: a word, never the server's reply
/// (which may quote the address).
pub const DELIVERY_PROBLEMS: &[&str] = &["", "bad_address", "refused", "gave_up"];
/// The longest reminder lead a circle may set: two weeks.
pub const MAX_REMINDER_HOURS: i64 = 336;

/// Every synced table, parents before children (the order a full copy is
/// applied in, so references always point at existing rows).
pub const ALL_TABLES: &[&TableDef] = &[
    &TEAMS,
    &FACILITATORS,
    &TEAM_MEMBERS,
    &COURSES,
    &TEAM_COURSES,
    &CIRCLES,
    &CIRCLE_FACILITATORS,
    &GUIDE_TEMPLATES,
    &MEETINGS,
    &LEARNERS,
    &ATTENDANCE,
    &MEETING_GUIDES,
    &MEETING_FEEDBACK,
    &CIRCLE_MESSAGES,
    &MEETING_RSVPS,
    &DELIVERIES,
];

pub fn table(name: &str) -> Option<&'static TableDef> {
    ALL_TABLES.iter().copied().find(|t| t.name == name)
}

/// What a field may hold: the one definition of a stored value's rules.
/// Every local write checks each field it records against it
/// (`store::rows`), the server checks every pushed change against it, and a
/// replica every pulled one, so a value one side refuses can never reach
/// another through sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Text of at most `max` characters with no control or text-direction
    /// characters (newlines and tabs are fine); `required`: not blank.
    Text { max: usize, required: bool },
    /// An email address, or empty unless `required`.
    Email { required: bool },
    /// A mobile number in international form, or empty.
    Mobile,
    /// An http(s) address, or empty.
    Url,
    /// A language code such as en or pt-BR.
    Language,
    /// A row id of `table`, or null. `same_circle`: a row scoped to a circle
    /// may only name a row of the same circle.
    Reference { table: &'static str, same_circle: bool },
    /// 0 or 1.
    Flag,
    /// An integer within a range, or null when `nullable`.
    Integer { min: i64, max: i64, nullable: bool },
    /// A number within a range, or null.
    Real { min: i64, max: i64 },
    /// One of a fixed set of words.
    OneOf(&'static [&'static str]),
    /// An IANA time zone name.
    TimeZone,
    /// A local "YYYY-MM-DD".
    LocalDate,
    /// A local "HH:MM".
    LocalTime,
    /// A moment as RFC 3339 ("2026-12-02T08:00:00.000Z"), or empty.
    Timestamp,
    /// A guide's sections as JSON: `[{title, minutes, notes}]`.
    Sections,
    /// A course's topics as JSON: `["python", "beginners"]`.
    Topics,
}

pub fn field_kind(table: &TableDef, field: &str) -> Option<FieldKind> {
    use crate::domain::validate::{MAX_MESSAGE, MAX_NAME, MAX_TEXT};
    if !table.fields.contains(&field) {
        return None;
    }
    let reference = |table: &'static str| FieldKind::Reference { table, same_circle: true };
    let name = FieldKind::Text { max: MAX_NAME, required: false };
    let long_text = FieldKind::Text { max: MAX_TEXT, required: false };
    Some(match (table.name, field) {
        (_, "deleted" | "archived" | "online" | "signup_open" | "did_not_happen" | "consent" | "email_opt_out")
        | (_, "sms_opt_out" | "walk_in" | "withdrawn" | "customized" | "completed" | "erased") => FieldKind::Flag,
        (_, "course_id") => reference("courses"),
        (_, "team_id") => reference("teams"),
        (_, "circle_id") => reference("circles"),
        (_, "meeting_id") => reference("meetings"),
        (_, "learner_id") => reference("learners"),
        (_, "message_id") => reference("circle_messages"),
        (_, "facilitator_id") => reference("facilitators"),
        // A facilitator's template may be saved from another of their circles.
        (_, "guide_template_id") => FieldKind::Reference { table: "guide_templates", same_circle: false },
        (_, "latitude") => FieldKind::Real { min: -90, max: 90 },
        (_, "longitude") => FieldKind::Real { min: -180, max: 180 },
        ("circles", "duration_minutes") => FieldKind::Integer { min: 15, max: 720, nullable: false },
        (_, "duration_minutes") => FieldKind::Integer { min: 1, max: 720, nullable: false },
        (_, "signup_limit") => FieldKind::Integer { min: 1, max: 1_000, nullable: true },
        ("teams", "anonymize_after_days") => {
            FieldKind::Integer { min: MIN_RETENTION_DAYS, max: MAX_RETENTION_DAYS, nullable: true }
        }
        (_, "head_count") => FieldKind::Integer { min: 0, max: 10_000, nullable: true },
        (_, "rating" | "goal_rating" | "course_rating") => FieldKind::Integer { min: 1, max: 5, nullable: true },
        ("circles", "reminder_hours") => FieldKind::Integer { min: 0, max: MAX_REMINDER_HOURS, nullable: false },
        ("meetings", "reminder_message") => FieldKind::Text { max: MAX_MESSAGE, required: false },
        ("circle_messages", "subject") => FieldKind::Text { max: MAX_NAME, required: true },
        ("circle_messages", "body") => FieldKind::Text { max: MAX_MESSAGE, required: true },
        ("meeting_rsvps", "answer") => FieldKind::OneOf(RSVP_ANSWERS),
        ("deliveries", "kind") => FieldKind::OneOf(DELIVERY_KINDS),
        ("deliveries", "channel") => FieldKind::OneOf(DELIVERY_CHANNELS),
        ("deliveries", "status") => FieldKind::OneOf(DELIVERY_STATUSES),
        ("deliveries", "problem") => FieldKind::OneOf(DELIVERY_PROBLEMS),
        ("circles", "status") => FieldKind::OneOf(&["draft", "published"]),
        ("meetings", "status") => FieldKind::OneOf(&["scheduled", "held", "cancelled"]),
        ("attendance", "mark") => FieldKind::OneOf(&["present", "late", "excused", "absent"]),
        ("team_members", "role") => FieldKind::OneOf(&["organizer", "member"]),
        ("circles", "time_zone") => FieldKind::TimeZone,
        ("meetings", "local_date") => FieldKind::LocalDate,
        ("circles", "start_time") | ("meetings", "local_time") => FieldKind::LocalTime,
        (_, "created_at") | ("learners", "waitlisted_at") | ("meeting_rsvps", "answered_at") | ("deliveries", "at") => {
            FieldKind::Timestamp
        }
        ("learners", "signup_source") => FieldKind::OneOf(&["", SIGNUP_ONLINE]),
        (_, "language") => FieldKind::Language,
        ("teams" | "facilitators" | "guide_templates", "name") | ("courses", "title") | ("circles", "name") => {
            FieldKind::Text { max: MAX_NAME, required: true }
        }
        ("learners", "name") => FieldKind::Text { max: MAX_NAME, required: true },
        ("facilitators", "email") => FieldKind::Email { required: true },
        ("learners", "email") => FieldKind::Email { required: false },
        ("learners", "mobile") => FieldKind::Mobile,
        ("courses", "link") | ("circles", "venue_website" | "meeting_link") => FieldKind::Url,
        ("courses", "topics") => FieldKind::Topics,
        ("meeting_guides", "sections")
        | ("guide_templates", "first_sections" | "middle_sections" | "last_sections") => FieldKind::Sections,
        ("circles", "signup_question") | ("teams", "privacy_notice") => FieldKind::Text { max: 500, required: false },
        ("courses", "provider" | "license" | "format") | ("meeting_guides", "template") => name,
        ("circles", "venue_name" | "venue_address" | "city" | "region" | "country") => name,
        ("meeting_feedback", "reflection_prompt") => name,
        _ => long_text,
    })
}

/// Check a value for a field and convert it to a column value: the rules of
/// `field_kind`, with the entity and field named in the error.
pub fn check_value(table: &TableDef, field: &str, value: &serde_json::Value) -> Result<rusqlite::types::Value> {
    use crate::domain::validate;
    use rusqlite::types::Value as V;
    use serde_json::Value as J;
    let Some((field, kind)) =
        table.fields.iter().find(|f| **f == field).and_then(|f| Some((*f, field_kind(table, f)?)))
    else {
        return Err(CoreError::invalid(
            table.entity,
            "field",
            Rule::Choice,
            format!("{} has no field \"{}\"", table.entity, crate::domain::validate::shown(field)),
        ));
    };
    let entity = table.entity;
    let refuse = |rule: Rule, expected: &str| {
        let shown = value.to_string();
        let shown = crate::domain::validate::shown(&shown);
        Err(CoreError::invalid(entity, field, rule, format!("expects {expected}, not {shown}")))
    };
    match (kind, value) {
        (FieldKind::Text { max, required }, J::String(s)) => {
            if required {
                validate::required(entity, field, s, max)?;
            } else {
                validate::optional(entity, field, s, max)?;
            }
            Ok(V::Text(s.clone()))
        }
        (FieldKind::Email { required }, J::String(s)) => {
            if required || !s.is_empty() {
                validate::email(entity, field, s)?;
            }
            Ok(V::Text(s.clone()))
        }
        (FieldKind::Mobile, J::String(s)) => {
            if !s.is_empty() {
                validate::mobile(entity, field, s)?;
            }
            Ok(V::Text(s.clone()))
        }
        (FieldKind::Url, J::String(s)) => {
            if !s.is_empty() {
                validate::url(entity, field, s)?;
            }
            Ok(V::Text(s.clone()))
        }
        (FieldKind::Language, J::String(s)) => {
            validate::language(entity, field, s)?;
            Ok(V::Text(s.clone()))
        }
        (FieldKind::Text { .. } | FieldKind::Email { .. } | FieldKind::Mobile | FieldKind::Url, _)
        | (FieldKind::Language, _) => refuse(Rule::Choice, "a text"),
        (FieldKind::Reference { .. }, J::Null) => Ok(V::Null),
        (FieldKind::Reference { .. }, J::String(s)) => {
            check_id(entity, field, s)?;
            Ok(V::Text(s.clone()))
        }
        (FieldKind::Reference { .. }, _) => refuse(Rule::Reference, "a row id or null"),
        (FieldKind::Flag, J::Number(n)) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => {
            Ok(V::Integer(n.as_i64().unwrap_or_default()))
        }
        (FieldKind::Flag, _) => refuse(Rule::OutOfRange { min: 0, max: 1 }, "0 or 1"),
        (FieldKind::Integer { nullable: true, .. }, J::Null) => Ok(V::Null),
        (FieldKind::Integer { min, max, .. }, J::Number(n)) => match n.as_i64() {
            Some(i) => validate::in_range(entity, field, i, min, max).map(|()| V::Integer(i)),
            None => refuse(Rule::OutOfRange { min, max }, &format!("a whole number from {min} to {max}")),
        },
        (FieldKind::Integer { min, max, .. }, _) => {
            refuse(Rule::OutOfRange { min, max }, &format!("a whole number from {min} to {max}"))
        }
        (FieldKind::Real { .. }, J::Null) => Ok(V::Null),
        (FieldKind::Real { min, max }, J::Number(n)) => match n.as_f64() {
            Some(f) if f.is_finite() && (min as f64..=max as f64).contains(&f) => Ok(V::Real(f)),
            _ => Err(CoreError::invalid(
                entity,
                field,
                Rule::OutOfRange { min, max },
                format!("must be between {min} and {max}"),
            )),
        },
        (FieldKind::Real { min, max }, _) => refuse(Rule::OutOfRange { min, max }, "a number or null"),
        (FieldKind::OneOf(words), J::String(s)) if words.contains(&s.as_str()) => Ok(V::Text(s.clone())),
        (FieldKind::OneOf(words), _) => refuse(Rule::Choice, &format!("one of {}", words.join(", "))),
        (FieldKind::TimeZone, J::String(s)) if crate::domain::schedule::parse_time_zone(s).is_ok() => {
            Ok(V::Text(s.clone()))
        }
        (FieldKind::TimeZone, _) => refuse(Rule::TimeZone, "an IANA time zone name"),
        (FieldKind::LocalDate, J::String(s)) if crate::domain::schedule::parse_date(s).is_ok() => {
            Ok(V::Text(s.clone()))
        }
        (FieldKind::LocalDate, _) => refuse(Rule::Date, "a date as YYYY-MM-DD"),
        (FieldKind::LocalTime, J::String(s)) if crate::domain::schedule::parse_local_time(s).is_ok() => {
            Ok(V::Text(s.clone()))
        }
        (FieldKind::LocalTime, _) => refuse(Rule::Time, "a time as HH:MM"),
        (FieldKind::Timestamp, J::String(s))
            if s.is_empty() || (s.len() <= 40 && chrono::DateTime::parse_from_rfc3339(s).is_ok()) =>
        {
            Ok(V::Text(s.clone()))
        }
        (FieldKind::Timestamp, _) => refuse(Rule::Date, "a moment such as 2026-12-02T08:00:00Z"),
        (FieldKind::Sections, J::String(s)) => {
            use crate::domain::guide::section::{validate_sections, GuideSection};
            let sections: Vec<GuideSection> = serde_json::from_str(s).map_err(|_| {
                CoreError::invalid(entity, field, Rule::Choice, "is not a list of guide sections".to_string())
            })?;
            validate_sections(&sections)?;
            Ok(V::Text(s.clone()))
        }
        (FieldKind::Topics, J::String(s)) => {
            let topics: Vec<String> = serde_json::from_str(s)
                .map_err(|_| CoreError::invalid(entity, field, Rule::Choice, "is not a list of topics".to_string()))?;
            check_topics(entity, &topics)?;
            Ok(V::Text(s.clone()))
        }
        (FieldKind::Sections | FieldKind::Topics, _) => refuse(Rule::Choice, "a text"),
    }
}

/// Check one value a person typed against its field's rules, as a write
/// would: domain input is checked with this before any work is done, so a
/// rule is stated only in `field_kind`.
pub fn check_field(table: &TableDef, field: &str, value: impl Into<serde_json::Value>) -> Result<()> {
    check_value(table, field, &value.into()).map(drop)
}

/// A course's topics: each a short word or phrase, at most `MAX_TOPICS`.
pub fn check_topics(entity: &'static str, topics: &[String]) -> Result<()> {
    if topics.len() > MAX_TOPICS {
        return Err(CoreError::invalid(
            entity,
            "topics",
            Rule::OutOfRange { min: 0, max: MAX_TOPICS as i64 },
            format!("has {} topics; the limit is {MAX_TOPICS}", topics.len()),
        ));
    }
    for topic in topics {
        crate::domain::validate::required(entity, "topics", topic, MAX_TOPIC)?;
    }
    Ok(())
}

pub const MAX_TOPICS: usize = 30;
pub const MAX_TOPIC: usize = 60;

/// Longest row, change or device id.
pub const MAX_ID: usize = 64;

/// An id as Circles makes them (UUIDs, or short names in tests and by the
/// server): ASCII letters, digits and `-_.:`, 1 to 64 of them. Ids end up in
/// SQL parameters, file names of exports and terminal output, so nothing
/// else is accepted.
pub fn check_id(entity: &'static str, field: &'static str, id: &str) -> Result<()> {
    let well_formed = !id.is_empty()
        && id.len() <= MAX_ID
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if well_formed {
        return Ok(());
    }
    Err(CoreError::invalid(
        entity,
        field,
        Rule::Id,
        format!(
            "\"{}\" is not an id: 1 to {MAX_ID} letters, digits, '-', '_', '.' or ':'",
            crate::domain::validate::shown(id)
        ),
    ))
}

impl FieldKind {
    /// A valid value of this kind, for tools that build whole rows
    /// (benchmarks, tests): empty texts where allowed, the smallest number.
    pub fn plain_value(self) -> serde_json::Value {
        use serde_json::{json, Value as J};
        match self {
            FieldKind::Text { required: true, .. } => json!("Untitled"),
            FieldKind::Email { required: true } => json!("someone@example.org"),
            FieldKind::Text { .. } | FieldKind::Email { .. } | FieldKind::Mobile | FieldKind::Url => json!(""),
            FieldKind::Language => json!("en"),
            FieldKind::Reference { .. } | FieldKind::Real { .. } | FieldKind::Integer { nullable: true, .. } => J::Null,
            FieldKind::Flag => json!(0),
            FieldKind::Integer { min, .. } => json!(min),
            FieldKind::OneOf(words) => json!(words[0]),
            FieldKind::TimeZone => json!("America/Chicago"),
            FieldKind::LocalDate => json!("2026-12-07"),
            FieldKind::LocalTime => json!("18:30"),
            FieldKind::Timestamp => json!("2026-12-02T08:00:00.000Z"),
            FieldKind::Sections | FieldKind::Topics => json!("[]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_scoped_row_names_its_parent_in_one_of_its_own_fields() {
        for table in ALL_TABLES {
            match table.scope {
                Scope::Global | Scope::OwnId => {}
                Scope::CircleField(field) | Scope::MeetingField(field) => {
                    assert!(table.fields.contains(&field), "{}.{field}", table.name)
                }
            }
        }
        assert_eq!(CIRCLES.scope, Scope::OwnId);
        assert_eq!(LEARNERS.scope, Scope::CircleField("circle_id"));
        assert_eq!(ATTENDANCE.scope, Scope::MeetingField("meeting_id"));
        assert_eq!(COURSES.scope, Scope::Global);
        // A meeting field's circle is the meeting's own.
        assert_eq!(MEETINGS.scope, Scope::CircleField("circle_id"));
    }

    #[test]
    fn every_field_has_a_kind_and_unknown_fields_none() {
        for table in ALL_TABLES {
            for field in table.fields {
                assert!(field_kind(table, field).is_some(), "{}.{field}", table.name);
            }
            assert!(field_kind(table, "password").is_none());
        }
    }

    /// Sync relies on this order: a parent reference first (the server
    /// learns a new row's scope from its first change) and `deleted` then
    /// `created_at` last (a row is complete once `deleted` arrives).
    #[test]
    fn field_order_supports_sync() {
        for table in ALL_TABLES {
            let n = table.fields.len();
            assert_eq!(&table.fields[n - 2..], ["deleted", "created_at"], "{}", table.name);
            let first_reference =
                table.fields.iter().position(|f| matches!(field_kind(table, f), Some(FieldKind::Reference { .. })));
            if let Some(i) = first_reference {
                if table.name != "circles" {
                    assert_eq!(i, 0, "{}: the parent reference comes first", table.name);
                }
            }
        }
    }

    #[test]
    fn every_field_takes_its_plain_value() {
        for table in ALL_TABLES {
            for field in table.fields {
                let value = field_kind(table, field).unwrap().plain_value();
                assert!(check_value(table, field, &value).is_ok(), "{}.{field} refuses {value}", table.name);
            }
        }
    }

    /// The rules of a local write, as the server and every replica apply
    /// them to a change: the rule code names what was wrong.
    #[test]
    fn a_refused_value_names_its_rule() {
        let rule = |table: &TableDef, field: &str, value: serde_json::Value| {
            check_value(table, field, &value).unwrap_err().rule().unwrap()
        };
        assert_eq!(rule(&LEARNERS, "name", json!("   ")), Rule::Required);
        assert_eq!(rule(&LEARNERS, "name", json!("a\u{1b}[31m")), Rule::ControlCharacters);
        assert_eq!(rule(&LEARNERS, "name", json!("x".repeat(201))), Rule::TooLong { length: 201, max: 200 });
        assert_eq!(rule(&LEARNERS, "email", json!("lena")), Rule::Email);
        assert_eq!(rule(&LEARNERS, "mobile", json!("555")), Rule::Mobile);
        assert_eq!(rule(&COURSES, "link", json!("ftp://x")), Rule::Url);
        assert_eq!(rule(&CIRCLES, "duration_minutes", json!(5)), Rule::OutOfRange { min: 15, max: 720 });
        assert_eq!(rule(&CIRCLES, "latitude", json!(91.0)), Rule::OutOfRange { min: -90, max: 90 });
        assert_eq!(rule(&ATTENDANCE, "learner_id", json!("é")), Rule::Id);
        assert_eq!(rule(&MEETING_GUIDES, "sections", json!("[{\"title\": \"\", \"minutes\": 5}]")), Rule::Required);
        assert_eq!(rule(&COURSES, "created_at", json!("tuesday")), Rule::Date);
        assert!(check_value(&LEARNERS, "email", &json!("")).is_ok(), "an optional email may be empty");
        assert!(check_value(&COURSES, "created_at", &json!("2026-12-02T08:00:00.123Z")).is_ok());
        assert!(check_id("change", "row_id", "01a235d9-8a86-708d-9acd-093868048973").is_ok());
        assert!(check_id("change", "row_id", &"a".repeat(65)).is_err());
    }

    #[test]
    fn values_are_checked_by_kind() {
        assert!(check_value(&ATTENDANCE, "mark", &json!("late")).is_ok());
        assert!(check_value(&ATTENDANCE, "mark", &json!("asleep")).is_err());
        assert!(check_value(&MEETING_FEEDBACK, "rating", &json!(6)).is_err());
        assert!(check_value(&MEETING_FEEDBACK, "rating", &json!(null)).is_ok());
        assert!(check_value(&CIRCLES, "online", &json!(2)).is_err());
        assert!(check_value(&CIRCLES, "name", &json!(5)).is_err());
        assert!(check_value(&LEARNERS, "circle_id", &json!(null)).is_ok());
        assert!(check_value(&CIRCLES, "nope", &json!("x")).is_err());
        assert!(check_value(&CIRCLES, "time_zone", &json!("Mars/Base")).is_err());
        assert!(check_value(&MEETINGS, "local_date", &json!("2026-13-01")).is_err());
        assert!(check_value(&CIRCLES, "goal_rating", &json!(0)).is_err());
        assert!(check_value(&CIRCLES, "course_rating", &json!(null)).is_ok());
        assert!(check_value(&CIRCLES, "completed", &json!(1)).is_ok());
        assert!(check_value(&CIRCLES, "guide_template_id", &json!(null)).is_ok());
        assert!(check_value(&GUIDE_TEMPLATES, "circle_id", &json!("c1")).is_ok());
        assert!(check_value(&GUIDE_TEMPLATES, "duration_minutes", &json!(0)).is_err());
        assert!(check_value(&MEETING_GUIDES, "template", &json!("builtin/en/first@1")).is_ok());
    }
}
