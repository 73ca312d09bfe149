//! The synced tables and their fields: the single list that local writes,
//! change records and (later) remote application all check against.

pub struct TableDef {
    pub name: &'static str,
    /// The entity name used in messages ("circle", "learner").
    pub entity: &'static str,
    /// Every column except `id`, in schema order.
    pub fields: &'static [&'static str],
}

pub const TEAMS: TableDef = TableDef {
    name: "teams",
    entity: "team",
    fields: &["name", "deleted", "created_at"],
};

pub const FACILITATORS: TableDef = TableDef {
    name: "facilitators",
    entity: "facilitator",
    fields: &["name", "email", "deleted", "created_at"],
};

pub const TEAM_MEMBERS: TableDef = TableDef {
    name: "team_members",
    entity: "team member",
    fields: &["team_id", "facilitator_id", "role", "deleted", "created_at"],
};

pub const COURSES: TableDef = TableDef {
    name: "courses",
    entity: "course",
    fields: &[
        "title", "provider", "link", "caption", "language", "topics", "license", "format", "archived", "deleted",
        "created_at",
    ],
};

pub const TEAM_COURSES: TableDef = TableDef {
    name: "team_courses",
    entity: "team course",
    fields: &["team_id", "course_id", "deleted", "created_at"],
};

pub const CIRCLES: TableDef = TableDef {
    name: "circles",
    entity: "circle",
    fields: &[
        "name", "course_id", "description", "venue_name", "venue_address", "venue_details", "venue_website", "city",
        "region", "country", "latitude", "longitude", "online", "meeting_link", "language", "time_zone", "start_time",
        "duration_minutes", "signup_limit", "signup_open", "signup_question", "status", "did_not_happen", "team_id",
        "deleted", "created_at",
    ],
};

pub const CIRCLE_FACILITATORS: TableDef = TableDef {
    name: "circle_facilitators",
    entity: "circle facilitator",
    fields: &["circle_id", "facilitator_id", "deleted", "created_at"],
};

pub const MEETINGS: TableDef = TableDef {
    name: "meetings",
    entity: "meeting",
    fields: &["circle_id", "local_date", "local_time", "status", "notes", "head_count", "deleted", "created_at"],
};

pub const LEARNERS: TableDef = TableDef {
    name: "learners",
    entity: "learner",
    fields: &[
        "circle_id", "name", "email", "mobile", "goals", "support_needs", "question_answer", "consent",
        "email_opt_out", "sms_opt_out", "walk_in", "withdrawn", "deleted", "created_at",
    ],
};

pub const ATTENDANCE: TableDef = TableDef {
    name: "attendance",
    entity: "attendance mark",
    fields: &["meeting_id", "learner_id", "mark", "deleted", "created_at"],
};

pub const MEETING_GUIDES: TableDef = TableDef {
    name: "meeting_guides",
    entity: "meeting guide",
    fields: &["meeting_id", "sections", "customized", "deleted", "created_at"],
};

pub const MEETING_FEEDBACK: TableDef = TableDef {
    name: "meeting_feedback",
    entity: "meeting feedback",
    fields: &["meeting_id", "rating", "reflection", "reflection_prompt", "next_week_note", "deleted", "created_at"],
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
    &MEETINGS,
    &LEARNERS,
    &ATTENDANCE,
    &MEETING_GUIDES,
    &MEETING_FEEDBACK,
];

pub fn table(name: &str) -> Option<&'static TableDef> {
    ALL_TABLES.iter().copied().find(|t| t.name == name)
}
