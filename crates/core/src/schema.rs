//! The synced tables and their fields: the single list that local writes,
//! change records and (later) remote application all check against.

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

pub const TEAMS: TableDef =
    TableDef { name: "teams", entity: "team", fields: &["name", "deleted", "created_at"], scope: Scope::Global };

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
    fields: &["circle_id", "local_date", "local_time", "status", "notes", "head_count", "deleted", "created_at"],
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
        "deleted",
        "created_at",
    ],
    scope: Scope::CircleField("circle_id"),
};

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
];

pub fn table(name: &str) -> Option<&'static TableDef> {
    ALL_TABLES.iter().copied().find(|t| t.name == name)
}

/// What a field may hold. Checked on every change that arrives from
/// elsewhere (the server on push, a client on pull), so a bad value is refused
/// at the door instead of breaking a replica when it is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Free text (never null).
    Text,
    /// A row id or null.
    Reference,
    /// 0 or 1.
    Flag,
    /// An integer within a range, or null when `nullable`.
    Integer { min: i64, max: i64, nullable: bool },
    /// A number or null.
    Real,
    /// One of a fixed set of words.
    OneOf(&'static [&'static str]),
    /// An IANA time zone name.
    TimeZone,
    /// A local "YYYY-MM-DD".
    LocalDate,
    /// A local "HH:MM".
    LocalTime,
}

pub fn field_kind(table: &TableDef, field: &str) -> Option<FieldKind> {
    if !table.fields.contains(&field) {
        return None;
    }
    Some(match (table.name, field) {
        (_, "deleted" | "archived" | "online" | "signup_open" | "did_not_happen" | "consent" | "email_opt_out")
        | (_, "sms_opt_out" | "walk_in" | "withdrawn" | "customized" | "completed") => FieldKind::Flag,
        (_, "course_id" | "team_id" | "circle_id" | "meeting_id" | "learner_id" | "facilitator_id")
        | (_, "guide_template_id") => FieldKind::Reference,
        (_, "latitude" | "longitude") => FieldKind::Real,
        (_, "duration_minutes") => FieldKind::Integer { min: 1, max: 720, nullable: false },
        (_, "signup_limit") => FieldKind::Integer { min: 1, max: 1_000, nullable: true },
        (_, "head_count") => FieldKind::Integer { min: 0, max: 10_000, nullable: true },
        (_, "rating" | "goal_rating" | "course_rating") => FieldKind::Integer { min: 1, max: 5, nullable: true },
        ("circles", "status") => FieldKind::OneOf(&["draft", "published"]),
        ("meetings", "status") => FieldKind::OneOf(&["scheduled", "held", "cancelled"]),
        ("attendance", "mark") => FieldKind::OneOf(&["present", "late", "excused", "absent"]),
        ("team_members", "role") => FieldKind::OneOf(&["organizer", "member"]),
        ("circles", "time_zone") => FieldKind::TimeZone,
        ("meetings", "local_date") => FieldKind::LocalDate,
        ("circles", "start_time") | ("meetings", "local_time") => FieldKind::LocalTime,
        _ => FieldKind::Text,
    })
}

/// Convert a wire value to a column value if the field accepts it.
pub fn column_value(
    table: &TableDef,
    field: &str,
    value: &serde_json::Value,
) -> Result<rusqlite::types::Value, String> {
    use rusqlite::types::Value as V;
    use serde_json::Value as J;
    let kind = field_kind(table, field).ok_or_else(|| format!("{}.{field} is not a known field", table.name))?;
    let bad = |expected: &str| Err(format!("{}.{field} expects {expected}, not {value}", table.name));
    match (kind, value) {
        (FieldKind::Text, J::String(s)) if s.chars().count() <= 20_000 => Ok(V::Text(s.clone())),
        (FieldKind::Text, _) => bad("a text of at most 20000 characters"),
        (FieldKind::Reference, J::Null) => Ok(V::Null),
        (FieldKind::Reference, J::String(s)) if !s.is_empty() && s.len() <= 64 => Ok(V::Text(s.clone())),
        (FieldKind::Reference, _) => bad("a row id or null"),
        (FieldKind::Flag, J::Number(n)) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => {
            Ok(V::Integer(n.as_i64().unwrap_or_default()))
        }
        (FieldKind::Flag, _) => bad("0 or 1"),
        (FieldKind::Integer { nullable: true, .. }, J::Null) => Ok(V::Null),
        (FieldKind::Integer { min, max, .. }, J::Number(n)) => match n.as_i64() {
            Some(i) if (min..=max).contains(&i) => Ok(V::Integer(i)),
            _ => bad(&format!("a whole number from {min} to {max}")),
        },
        (FieldKind::Integer { .. }, _) => bad("a whole number"),
        (FieldKind::Real, J::Null) => Ok(V::Null),
        (FieldKind::Real, J::Number(n)) => n.as_f64().map(V::Real).map_or_else(|| bad("a number"), Ok),
        (FieldKind::Real, _) => bad("a number or null"),
        (FieldKind::OneOf(words), J::String(s)) if words.contains(&s.as_str()) => Ok(V::Text(s.clone())),
        (FieldKind::OneOf(words), _) => bad(&format!("one of {}", words.join(", "))),
        (FieldKind::TimeZone, J::String(s)) if crate::domain::schedule::parse_time_zone(s).is_ok() => {
            Ok(V::Text(s.clone()))
        }
        (FieldKind::TimeZone, _) => bad("an IANA time zone name"),
        (FieldKind::LocalDate, J::String(s)) if crate::domain::schedule::parse_date(s).is_ok() => {
            Ok(V::Text(s.clone()))
        }
        (FieldKind::LocalDate, _) => bad("a date as YYYY-MM-DD"),
        (FieldKind::LocalTime, J::String(s)) if crate::domain::schedule::parse_local_time(s).is_ok() => {
            Ok(V::Text(s.clone()))
        }
        (FieldKind::LocalTime, _) => bad("a time as HH:MM"),
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
            let first_reference = table.fields.iter().position(|f| field_kind(table, f) == Some(FieldKind::Reference));
            if let Some(i) = first_reference {
                if table.name != "circles" {
                    assert_eq!(i, 0, "{}: the parent reference comes first", table.name);
                }
            }
        }
    }

    #[test]
    fn values_are_checked_by_kind() {
        assert!(column_value(&ATTENDANCE, "mark", &json!("late")).is_ok());
        assert!(column_value(&ATTENDANCE, "mark", &json!("asleep")).is_err());
        assert!(column_value(&MEETING_FEEDBACK, "rating", &json!(6)).is_err());
        assert!(column_value(&MEETING_FEEDBACK, "rating", &json!(null)).is_ok());
        assert!(column_value(&CIRCLES, "online", &json!(2)).is_err());
        assert!(column_value(&CIRCLES, "name", &json!(5)).is_err());
        assert!(column_value(&LEARNERS, "circle_id", &json!(null)).is_ok());
        assert!(column_value(&CIRCLES, "nope", &json!("x")).is_err());
        assert!(column_value(&CIRCLES, "time_zone", &json!("Mars/Base")).is_err());
        assert!(column_value(&MEETINGS, "local_date", &json!("2026-13-01")).is_err());
        assert!(column_value(&CIRCLES, "goal_rating", &json!(0)).is_err());
        assert!(column_value(&CIRCLES, "course_rating", &json!(null)).is_ok());
        assert!(column_value(&CIRCLES, "completed", &json!(1)).is_ok());
        assert!(column_value(&CIRCLES, "guide_template_id", &json!(null)).is_ok());
        assert!(column_value(&GUIDE_TEMPLATES, "circle_id", &json!("c1")).is_ok());
        assert!(column_value(&GUIDE_TEMPLATES, "duration_minutes", &json!(0)).is_err());
        assert!(column_value(&MEETING_GUIDES, "template", &json!("builtin/en/first@1")).is_ok());
    }
}
