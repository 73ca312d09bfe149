//! Teams (a library system, a non-profit), the facilitators in them, who
//! facilitates which circle, and a team's curated course list.

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::domain::validate::{self, MAX_NAME};
use crate::error::{CoreError, Result, Rule};
use crate::schema::{check_field, CIRCLE_FACILITATORS, FACILITATORS, TEAMS, TEAM_COURSES, TEAM_MEMBERS};
use crate::store::meta;
use crate::store::rows::{derived_id, new_id, opt_int, text, WriteTx};
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

    /// What the team tells people about their data on its circles' signup
    /// forms: a link or a short text ("" = the server's default sentence).
    /// Organizers write it (the server refuses anyone else's push).
    pub fn set_team_privacy_notice(&mut self, id: &str, notice: &str) -> Result<()> {
        check_field(&TEAMS, "privacy_notice", notice.trim())?;
        self.team(id)?;
        self.write(|w| w.update(&TEAMS, id, &[("privacy_notice", text(notice.trim()))]))?;
        Ok(())
    }

    /// A team's privacy notice ("" when it has none).
    pub fn team_privacy_notice(&self, id: &str) -> Result<String> {
        self.team(id)?;
        Ok(self.conn.query_row("SELECT privacy_notice FROM teams WHERE id = ?1", [id], |r| r.get(0))?)
    }

    /// A team's retention period: its circles' learners are anonymized (as
    /// an erase does) this many days after a circle ends, by the server,
    /// every day; None keeps them until someone erases them by hand. From
    /// `schema::MIN_RETENTION_DAYS` to `MAX_RETENTION_DAYS` (out of range:
    /// `Rule::OutOfRange`, nothing written). Organizers write it (the server
    /// refuses anyone else's push, `protocol/ownership.rs`); it syncs.
    pub fn set_team_retention(&mut self, id: &str, days: Option<u32>) -> Result<()> {
        let value = days.map_or(serde_json::Value::Null, serde_json::Value::from);
        check_field(&TEAMS, "anonymize_after_days", value)?;
        self.team(id)?;
        self.write(|w| w.update(&TEAMS, id, &[("anonymize_after_days", opt_int(days))]))?;
        Ok(())
    }

    /// A team's retention period in days (None: kept until erased by hand).
    pub fn team_retention(&self, id: &str) -> Result<Option<u32>> {
        self.team(id)?;
        let days: Option<i64> =
            self.conn.query_row("SELECT anonymize_after_days FROM teams WHERE id = ?1", [id], |r| r.get(0))?;
        Ok(days.and_then(|d| u32::try_from(d).ok()))
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

    /// Add a co-facilitator. Co-facilitators come from the circle's team
    /// (any facilitator here when the circle has no team). When a circle
    /// that lists no facilitator yet gets its first co-facilitator, the
    /// signed-in person is listed too, in the same write: once a circle lists
    /// facilitators, the list is who may see it on the server.
    pub fn add_circle_facilitator(&mut self, circle_id: &str, facilitator_id: &str) -> Result<()> {
        let circle = self.circle(circle_id)?;
        let facilitator = self.facilitator(facilitator_id)?;
        let listed = self.circle_facilitators(circle_id)?;
        if listed.iter().any(|f| f.id == facilitator_id) {
            return Err(CoreError::invalid(
                "circle facilitator",
                "facilitator_id",
                Rule::Duplicate,
                format!("{} already facilitates this circle", facilitator.name),
            ));
        }
        if let Some(team_id) = circle.fields.team_id.as_deref() {
            let in_team = self.team_members(team_id)?.iter().any(|m| m.facilitator.id == facilitator_id);
            if !in_team {
                return Err(CoreError::invalid(
                    "circle facilitator",
                    "facilitator_id",
                    Rule::State,
                    format!(
                        "{} is not in the circle's team \"{}\"; invite them to the team first",
                        facilitator.name,
                        self.team(team_id)?.name
                    ),
                ));
            }
        }
        let me = self.my_facilitator_id()?.filter(|me| listed.is_empty() && me != facilitator_id);
        let me = match me {
            Some(me) if self.facilitator(&me).is_ok() => Some(me),
            _ => None,
        };
        self.write(|w| {
            if let Some(me) = &me {
                link_circle_facilitator(w, circle_id, me)?;
            }
            link_circle_facilitator(w, circle_id, facilitator_id)
        })
    }

    /// The circles on a team, by name, with who facilitates each.
    pub fn team_circles(&self, team_id: &str) -> Result<Vec<(crate::domain::circle::Circle, Vec<Facilitator>)>> {
        self.team(team_id)?;
        let mut out = Vec::new();
        for circle in self.circles()? {
            if circle.fields.team_id.as_deref() == Some(team_id) {
                let facilitators = self.circle_facilitators(&circle.id)?;
                out.push((circle, facilitators));
            }
        }
        Ok(out)
    }

    /// Whom a co-facilitator may be chosen from: the circle's team's
    /// facilitators (every facilitator here for a circle with no team), not
    /// yet listed.
    pub fn co_facilitator_candidates(&self, circle_id: &str) -> Result<Vec<Facilitator>> {
        let circle = self.circle(circle_id)?;
        let listed: Vec<String> = self.circle_facilitators(circle_id)?.into_iter().map(|f| f.id).collect();
        let pool = match circle.fields.team_id.as_deref() {
            Some(team) => self.team_members(team)?.into_iter().map(|m| m.facilitator).collect(),
            None => {
                let mut stmt = self.conn.prepare(
                    "SELECT id, name, email FROM facilitators WHERE deleted = 0 ORDER BY name COLLATE NOCASE",
                )?;
                let all = stmt.query_map([], facilitator_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
                all
            }
        };
        Ok(pool.into_iter().filter(|f| !listed.contains(&f.id)).collect())
    }

    /// Remove a co-facilitator; a circle always keeps at least one once it has any.
    pub fn remove_circle_facilitator(&mut self, circle_id: &str, facilitator_id: &str) -> Result<()> {
        let listed = self.circle_facilitators(circle_id)?;
        if !listed.iter().any(|f| f.id == facilitator_id) {
            return Err(CoreError::not_found("circle facilitator", facilitator_id));
        }
        if listed.len() <= 1 {
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

/// A circle's facilitator link (one row per circle and facilitator, made or
/// brought back).
pub(crate) fn link_circle_facilitator(w: &mut WriteTx<'_>, circle_id: &str, facilitator_id: &str) -> Result<()> {
    let id = derived_id("circle_facilitator", &[circle_id, facilitator_id]);
    w.upsert(
        &CIRCLE_FACILITATORS,
        &id,
        &[("circle_id", text(circle_id)), ("facilitator_id", text(facilitator_id))],
        &[],
    )
}

impl Store {
    /// Who "I" am in synced data: the signed-in account's facilitator id
    /// (also kept after signing out). A store that signed in before Circles
    /// remembered the id finds it by the account's email. None: this store
    /// has never had an account.
    pub fn my_facilitator_id(&self) -> Result<Option<String>> {
        if let Some(id) = self.meta(meta::SYNC_USER_ID)?.filter(|id| !id.is_empty()) {
            return Ok(Some(id));
        }
        let Some(email) = self.meta(meta::SYNC_EMAIL)? else { return Ok(None) };
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM facilitators WHERE email = ?1 AND deleted = 0",
                [email.trim().to_lowercase()],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// A team named as a person types it: its exact name (any case), else
    /// an id or id prefix.
    pub fn find_team(&self, given: &str) -> Result<Team> {
        let by_name: Vec<Team> =
            self.teams()?.into_iter().filter(|t| t.name.to_lowercase() == given.trim().to_lowercase()).collect();
        match by_name.as_slice() {
            [one] => Ok(one.clone()),
            [] => self.team(&self.resolve_id(&TEAMS, given)?),
            _ => Err(CoreError::invalid(
                "team",
                "id",
                Rule::Reference,
                format!("several teams are named \"{}\"; give the id", given.trim()),
            )),
        }
    }

    /// A facilitator named as a person types it: their email (any case),
    /// else an id or id prefix.
    pub fn find_facilitator(&self, given: &str) -> Result<Facilitator> {
        let email = given.trim().to_lowercase();
        let by_email = self
            .conn
            .query_row(
                "SELECT id, name, email FROM facilitators WHERE lower(email) = ?1 AND deleted = 0",
                [&email],
                facilitator_row,
            )
            .optional()?;
        match by_email {
            Some(f) => Ok(f),
            None => self.facilitator(&self.resolve_id(&FACILITATORS, given)?),
        }
    }

    /// The teams a circle may be put on: the signed-in person's teams. A
    /// store that never had an account syncs nothing, so every team it holds.
    pub fn my_teams(&self) -> Result<Vec<Team>> {
        let Some(me) = self.my_facilitator_id()? else { return self.teams() };
        let mut stmt = self.conn.prepare(
            "SELECT t.id, t.name FROM teams t
             JOIN team_members m ON m.team_id = t.id AND m.deleted = 0 AND m.facilitator_id = ?1
             WHERE t.deleted = 0 ORDER BY t.name COLLATE NOCASE",
        )?;
        let teams = stmt
            .query_map([me], |r| Ok(Team { id: r.get(0)?, name: r.get(1)? }))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(teams)
    }

    /// The team a new circle goes on when none is chosen: the person's team
    /// when they are in exactly one.
    pub fn default_circle_team(&self) -> Result<Option<String>> {
        let teams = self.my_teams()?;
        Ok(match teams.as_slice() {
            [only] => Some(only.id.clone()),
            _ => None,
        })
    }

    /// A circle may be put on (or moved to) one of the person's teams only.
    /// Keeping the team it already has is always allowed (an organizer's
    /// colleague edits a circle of a team they left).
    pub(crate) fn check_team_choice(&self, team_id: Option<&str>, current: Option<&str>) -> Result<()> {
        let Some(team_id) = team_id.filter(|t| Some(*t) != current) else { return Ok(()) };
        let mine = self.my_teams()?;
        if mine.iter().any(|t| t.id == team_id) {
            return Ok(());
        }
        let name = self.team(team_id).map(|t| format!("\"{}\"", t.name)).unwrap_or_else(|_| team_id.to_string());
        let choice = if mine.is_empty() {
            "you are in no team yet: an organizer can invite you".to_string()
        } else {
            let names: Vec<String> = mine.iter().map(|t| format!("\"{}\"", t.name)).collect();
            format!("choose one of your teams: {}", names.join(", "))
        };
        Err(CoreError::invalid(
            "circle",
            "team_id",
            Rule::State,
            format!("you are not a member of team {name}; {choice}"),
        ))
    }
}

/// The id of the `team_members` row of a (team, facilitator): one
/// membership row whichever replica (or the server, which writes them since
/// it became the authority of membership) adds it.
/// How many days a member's laptop may go without syncing before the
/// team's screens and reports name it: its latest attendance may be missing
/// from the figures.
pub const LAPTOP_STALE_DAYS: i64 = 7;

/// Which members' laptops are behind, as the server said when asked (it
/// knows each token's last sync; organizers only).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LaptopCheck {
    /// When the server was asked (RFC 3339); None when it could not be.
    pub checked_at: Option<String>,
    /// Why it was not asked (offline, not signed in, not an organizer).
    pub not_checked: Option<String>,
    pub stale_after_days: i64,
    /// Members whose laptops last synced more than `stale_after_days` before
    /// `checked_at`, or never, by name.
    pub behind: Vec<LaptopBehind>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LaptopBehind {
    pub name: String,
    /// RFC 3339; None: never synced.
    pub last_sync_at: Option<String>,
}

impl LaptopCheck {
    /// The members (name, last sync) whose laptops are behind at `now`.
    pub fn from_members(
        now: chrono::DateTime<chrono::Utc>,
        members: impl IntoIterator<Item = (String, Option<String>)>,
    ) -> LaptopCheck {
        let mut behind: Vec<LaptopBehind> = members
            .into_iter()
            .filter(|(_, last)| laptop_behind(now, last.as_deref()))
            .map(|(name, last_sync_at)| LaptopBehind { name, last_sync_at })
            .collect();
        behind.sort_by_key(|b| b.name.to_lowercase());
        LaptopCheck {
            checked_at: Some(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            not_checked: None,
            stale_after_days: LAPTOP_STALE_DAYS,
            behind,
        }
    }

    /// The server could not be asked, and why.
    pub fn not_checked(why: impl Into<String>) -> LaptopCheck {
        LaptopCheck {
            checked_at: None,
            not_checked: Some(why.into()),
            stale_after_days: LAPTOP_STALE_DAYS,
            behind: Vec::new(),
        }
    }

    /// "Alma (last synced 2026-11-20); Kofi (never synced)", or "none".
    pub fn behind_text(&self) -> String {
        if self.behind.is_empty() {
            return "none".into();
        }
        let one = |b: &LaptopBehind| match &b.last_sync_at {
            Some(when) => format!("{} (last synced {})", b.name, when.get(..10).unwrap_or(when)),
            None => format!("{} (never synced)", b.name),
        };
        self.behind.iter().map(one).collect::<Vec<_>>().join("; ")
    }

    /// In a sentence, for the CLI and the PDF.
    pub fn line(&self) -> String {
        let days = self.stale_after_days;
        match (&self.checked_at, &self.not_checked) {
            (Some(_), _) if self.behind.is_empty() => {
                format!("Every member's laptop synced in the last {days} days.")
            }
            (Some(_), _) => format!(
                "Laptops not synced for more than {days} days: {}. Their latest attendance may not be counted.",
                self.behind_text()
            ),
            (None, why) => format!(
                "Not checked which members' laptops are behind ({}).",
                why.as_deref().unwrap_or("the server was not asked")
            ),
        }
    }
}

/// The one rule of "behind": a laptop that never synced (or whose last sync
/// is not a time), or last synced more than `LAPTOP_STALE_DAYS` before `now`.
/// Reports and the app's Teams screen both ask it.
pub fn laptop_behind(now: chrono::DateTime<chrono::Utc>, last_sync_at: Option<&str>) -> bool {
    let when = last_sync_at.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    when.is_none_or(|t| (now - t.with_timezone(&chrono::Utc)).num_days() > LAPTOP_STALE_DAYS)
}

pub fn team_member_id(team_id: &str, facilitator_id: &str) -> String {
    derived_id("team_member", &[team_id, facilitator_id])
}

fn facilitator_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Facilitator> {
    Ok(Facilitator { id: r.get(0)?, name: r.get(1)?, email: r.get(2)? })
}

#[cfg(test)]
mod laptop_check_tests {
    use super::*;

    #[test]
    fn a_laptop_is_behind_after_more_than_a_week_or_when_it_never_synced() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-02T12:00:00Z").unwrap().with_timezone(&chrono::Utc);
        assert!(laptop_behind(now, Some("2026-11-24T11:00:00Z")), "8 days");
        assert!(!laptop_behind(now, Some("2026-11-25T13:00:00Z")), "6 days 23 hours");
        assert!(!laptop_behind(now, Some("2026-11-26T11:00:00Z")));
        assert!(!laptop_behind(now, Some("2026-12-02T08:00:00Z")));
        assert!(laptop_behind(now, None), "never synced");
        assert!(laptop_behind(now, Some("yesterday")), "not a time");
    }

    #[test]
    fn laptops_silent_for_more_than_a_week_or_never_synced_are_named() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-03T12:00:00Z").unwrap().with_timezone(&chrono::Utc);
        let check = LaptopCheck::from_members(
            now,
            [
                ("kofi".to_string(), None),
                ("Alma".to_string(), Some("2026-11-20T08:00:00Z".to_string())),
                ("Olga".to_string(), Some("2026-12-02T08:00:00Z".to_string())),
                ("Rosa".to_string(), Some("2026-11-26T08:00:00Z".to_string())),
                ("Bad".to_string(), Some("yesterday".to_string())),
            ],
        );
        let names: Vec<&str> = check.behind.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["Alma", "Bad", "kofi"]);
        assert_eq!(check.checked_at.as_deref(), Some("2026-12-03T12:00:00Z"));
        assert_eq!(
            check.line(),
            "Laptops not synced for more than 7 days: Alma (last synced 2026-11-20); Bad (last synced yesterday); \
             kofi (never synced). Their latest attendance may not be counted."
        );
        let fresh = LaptopCheck::from_members(now, [("Olga".to_string(), Some("2026-12-02T08:00:00Z".to_string()))]);
        assert_eq!(fresh.line(), "Every member's laptop synced in the last 7 days.");
        assert_eq!(fresh.behind_text(), "none");
        let offline = LaptopCheck::not_checked("the server could not be reached");
        assert_eq!(offline.line(), "Not checked which members' laptops are behind (the server could not be reached).");
    }
}
