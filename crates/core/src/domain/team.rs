//! Teams (a library system, a non-profit), the facilitators in them, who
//! facilitates which circle, and a team's curated course list.

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::domain::validate::{self, MAX_NAME};
use crate::error::{CoreError, Result, Rule};
use crate::schema::{CIRCLE_FACILITATORS, FACILITATORS, TEAMS, TEAM_COURSES, TEAM_MEMBERS};
use crate::store::rows::{derived_id, new_id, text};
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum TeamRole {
    Organizer,
    Member,
}

impl TeamRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TeamRole::Organizer => "organizer",
            TeamRole::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "organizer" => Ok(TeamRole::Organizer),
            "member" => Ok(TeamRole::Member),
            other => Err(CoreError::invalid(
                "team member",
                "role",
                Rule::Choice,
                format!("\"{other}\" is not a role; use organizer or member"),
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Team {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Facilitator {
    pub id: String,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TeamMember {
    pub facilitator: Facilitator,
    pub role: TeamRole,
}

impl Store {
    pub fn create_team(&mut self, name: &str) -> Result<String> {
        validate::required("team", "name", name, MAX_NAME)?;
        let id = new_id();
        self.write(|w| w.insert(&TEAMS, &id, &[("name", text(name.trim()))]))?;
        Ok(id)
    }

    pub fn rename_team(&mut self, id: &str, name: &str) -> Result<()> {
        validate::required("team", "name", name, MAX_NAME)?;
        self.team(id)?;
        self.write(|w| w.update(&TEAMS, id, &[("name", text(name.trim()))]))?;
        Ok(())
    }

    pub fn team(&self, id: &str) -> Result<Team> {
        self.conn
            .query_row("SELECT id, name FROM teams WHERE id = ?1 AND deleted = 0", [id], |r| {
                Ok(Team { id: r.get(0)?, name: r.get(1)? })
            })
            .optional()?
            .ok_or_else(|| CoreError::not_found("team", id))
    }

    pub fn teams(&self) -> Result<Vec<Team>> {
        let mut stmt =
            self.conn.prepare("SELECT id, name FROM teams WHERE deleted = 0 ORDER BY name COLLATE NOCASE")?;
        let teams = stmt
            .query_map([], |r| Ok(Team { id: r.get(0)?, name: r.get(1)? }))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(teams)
    }

    pub fn create_facilitator(&mut self, name: &str, email: &str) -> Result<String> {
        validate::required("facilitator", "name", name, MAX_NAME)?;
        validate::email("facilitator", "email", email.trim())?;
        let email = email.trim().to_lowercase();
        let taken: bool = self.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM facilitators WHERE email = ?1 AND deleted = 0)",
            [&email],
            |r| r.get(0),
        )?;
        if taken {
            return Err(CoreError::invalid(
                "facilitator",
                "email",
                Rule::Duplicate,
                format!("{email} is already a facilitator"),
            ));
        }
        let id = new_id();
        self.write(|w| w.insert(&FACILITATORS, &id, &[("name", text(name.trim())), ("email", text(&email))]))?;
        Ok(id)
    }

    pub fn facilitator(&self, id: &str) -> Result<Facilitator> {
        self.conn
            .query_row("SELECT id, name, email FROM facilitators WHERE id = ?1 AND deleted = 0", [id], facilitator_row)
            .optional()?
            .ok_or_else(|| CoreError::not_found("facilitator", id))
    }

    /// Add a facilitator to a team, or change their role in it.
    pub fn set_team_role(&mut self, team_id: &str, facilitator_id: &str, role: TeamRole) -> Result<()> {
        self.team(team_id)?;
        self.facilitator(facilitator_id)?;
        let id = team_member_id(team_id, facilitator_id);
        self.upsert_link(
            &TEAM_MEMBERS,
            &id,
            &[("team_id", team_id), ("facilitator_id", facilitator_id)],
            &[("role", role.as_str())],
        )
    }

    pub fn remove_team_member(&mut self, team_id: &str, facilitator_id: &str) -> Result<()> {
        let id = team_member_id(team_id, facilitator_id);
        self.remove_link(&TEAM_MEMBERS, &id)
    }

    pub fn team_members(&self, team_id: &str) -> Result<Vec<TeamMember>> {
        self.team(team_id)?;
        let mut stmt = self.conn.prepare(
            "SELECT f.id, f.name, f.email, m.role FROM team_members m
             JOIN facilitators f ON f.id = m.facilitator_id AND f.deleted = 0
             WHERE m.team_id = ?1 AND m.deleted = 0 ORDER BY f.name COLLATE NOCASE",
        )?;
        let rows = stmt
            .query_map([team_id], |r| Ok((facilitator_row(r)?, r.get::<_, String>(3)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(facilitator, role)| Ok(TeamMember { facilitator, role: TeamRole::parse(&role)? }))
            .collect()
    }

    pub fn add_circle_facilitator(&mut self, circle_id: &str, facilitator_id: &str) -> Result<()> {
        self.circle(circle_id)?;
        self.facilitator(facilitator_id)?;
        let id = derived_id("circle_facilitator", &[circle_id, facilitator_id]);
        self.upsert_link(
            &CIRCLE_FACILITATORS,
            &id,
            &[("circle_id", circle_id), ("facilitator_id", facilitator_id)],
            &[],
        )
    }

    /// Remove a co-facilitator; a circle always keeps at least one once it has any.
    pub fn remove_circle_facilitator(&mut self, circle_id: &str, facilitator_id: &str) -> Result<()> {
        if self.circle_facilitators(circle_id)?.len() <= 1 {
            return Err(CoreError::invalid(
                "circle facilitator",
                "facilitator_id",
                Rule::State,
                "is the circle's only facilitator; add another before removing them",
            ));
        }
        let id = derived_id("circle_facilitator", &[circle_id, facilitator_id]);
        self.remove_link(&CIRCLE_FACILITATORS, &id)
    }

    pub fn circle_facilitators(&self, circle_id: &str) -> Result<Vec<Facilitator>> {
        self.circle(circle_id)?;
        let mut stmt = self.conn.prepare(
            "SELECT f.id, f.name, f.email FROM circle_facilitators c
             JOIN facilitators f ON f.id = c.facilitator_id AND f.deleted = 0
             WHERE c.circle_id = ?1 AND c.deleted = 0 ORDER BY f.name COLLATE NOCASE",
        )?;
        let rows = stmt.query_map([circle_id], facilitator_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Put a course on a team's curated list.
    pub fn add_team_course(&mut self, team_id: &str, course_id: &str) -> Result<()> {
        self.team(team_id)?;
        self.course(course_id)?;
        let id = derived_id("team_course", &[team_id, course_id]);
        self.upsert_link(&TEAM_COURSES, &id, &[("team_id", team_id), ("course_id", course_id)], &[])
    }

    pub fn remove_team_course(&mut self, team_id: &str, course_id: &str) -> Result<()> {
        let id = derived_id("team_course", &[team_id, course_id]);
        self.remove_link(&TEAM_COURSES, &id)
    }

    pub fn team_course_ids(&self, team_id: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT t.course_id FROM team_courses t JOIN courses c ON c.id = t.course_id AND c.deleted = 0
             WHERE t.team_id = ?1 AND t.deleted = 0 ORDER BY c.title COLLATE NOCASE",
        )?;
        let ids = stmt.query_map(params![team_id], |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(ids)
    }

    /// Create a link row with a derived id, or bring it back and update it.
    fn upsert_link(
        &mut self,
        table: &crate::schema::TableDef,
        id: &str,
        keys: &[(&'static str, &str)],
        values: &[(&'static str, &str)],
    ) -> Result<()> {
        let keys: Vec<_> = keys.iter().map(|(n, v)| (*n, text(v))).collect();
        let values: Vec<_> = values.iter().map(|(n, v)| (*n, text(v))).collect();
        self.write(|w| w.upsert(table, id, &keys, &values))
    }

    fn remove_link(&mut self, table: &crate::schema::TableDef, id: &str) -> Result<()> {
        self.write(|w| w.tombstone(table, id))
    }
}

/// The id of the `team_members` row of a (team, facilitator): one
/// membership row whichever replica (or the server, which writes them since
/// it became the authority of membership) adds it.
pub fn team_member_id(team_id: &str, facilitator_id: &str) -> String {
    derived_id("team_member", &[team_id, facilitator_id])
}

fn facilitator_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Facilitator> {
    Ok(Facilitator { id: r.get(0)?, name: r.get(1)?, email: r.get(2)? })
}
