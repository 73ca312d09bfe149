//! The course catalogue.

use rusqlite::Row;
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result, Rule};
use crate::schema::{check_field, COURSES};
use crate::store::rows::{flag, new_id, text, Column};
use crate::store::Store;

const ENTITY: &str = "course";

/// What a person edits about a course.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CourseInput {
    pub title: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub link: String,
    #[serde(default)]
    pub caption: String,
    #[serde(default = "default_language")]
    pub language: String,
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(default)]
    pub license: String,
    #[serde(default)]
    pub format: String,
    #[serde(default)]
    pub archived: bool,
}

fn default_language() -> String {
    "en".into()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Course {
    pub id: String,
    #[serde(flatten)]
    pub fields: CourseInput,
    pub created_at: String,
}

#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CourseFilter {
    /// Words that must all appear in the title, provider, caption or topics.
    pub search: Option<String>,
    pub language: Option<String>,
    pub include_archived: bool,
}

impl CourseInput {
    pub fn new(title: impl Into<String>) -> Self {
        CourseInput {
            title: title.into(),
            provider: String::new(),
            link: String::new(),
            caption: String::new(),
            language: default_language(),
            topics: Vec::new(),
            license: String::new(),
            format: String::new(),
            archived: false,
        }
    }

    pub fn validate(&self) -> Result<()> {
        for (field, value) in [
            ("title", &self.title),
            ("provider", &self.provider),
            ("link", &self.link),
            ("caption", &self.caption),
            ("language", &self.language),
            ("license", &self.license),
            ("format", &self.format),
        ] {
            check_field(&COURSES, field, value.as_str())?;
        }
        crate::schema::check_topics(ENTITY, &self.topics)
    }

    fn columns(&self) -> Vec<Column> {
        let topics: Vec<String> = self.topics.iter().map(|t| t.trim().to_string()).collect();
        vec![
            ("title", text(self.title.trim())),
            ("provider", text(self.provider.trim())),
            ("link", text(self.link.trim())),
            ("caption", text(&self.caption)),
            ("language", text(&self.language)),
            ("topics", text(&serde_json::to_string(&topics).expect("strings serialize"))),
            ("license", text(self.license.trim())),
            ("format", text(self.format.trim())),
            ("archived", flag(self.archived)),
        ]
    }
}

const SELECT: &str =
    "SELECT id, title, provider, link, caption, language, topics, license, format, archived, created_at
                      FROM courses";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Course> {
    let topics: String = r.get("topics")?;
    Ok(Course {
        id: r.get("id")?,
        fields: CourseInput {
            title: r.get("title")?,
            provider: r.get("provider")?,
            link: r.get("link")?,
            caption: r.get("caption")?,
            language: r.get("language")?,
            topics: serde_json::from_str(&topics).unwrap_or_default(),
            license: r.get("license")?,
            format: r.get("format")?,
            archived: r.get("archived")?,
        },
        created_at: r.get("created_at")?,
    })
}

impl Store {
    pub fn create_course(&mut self, input: &CourseInput) -> Result<String> {
        input.validate()?;
        let id = new_id();
        self.write(|w| w.insert(&COURSES, &id, &input.columns()))?;
        Ok(id)
    }

    pub fn update_course(&mut self, id: &str, input: &CourseInput) -> Result<()> {
        input.validate()?;
        self.write(|w| w.update(&COURSES, id, &input.columns()))?;
        Ok(())
    }

    /// Delete a course no circle uses; a course in use can be archived instead.
    pub fn delete_course(&mut self, id: &str) -> Result<()> {
        self.course(id)?;
        let users: i64 =
            self.conn
                .query_row("SELECT count(*) FROM circles WHERE course_id = ?1 AND deleted = 0", [id], |r| r.get(0))?;
        if users > 0 {
            return Err(CoreError::invalid(
                ENTITY,
                "id",
                Rule::State,
                format!("is used by {users} circle(s); archive the course instead of deleting it"),
            ));
        }
        self.write(|w| w.tombstone(&COURSES, id))
    }

    pub fn course(&self, id: &str) -> Result<Course> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row(&format!("{SELECT} WHERE id = ?1 AND deleted = 0"), [id], from_row)
            .optional()?
            .ok_or_else(|| CoreError::not_found(ENTITY, id))
    }

    pub fn list_courses(&self, filter: &CourseFilter) -> Result<Vec<Course>> {
        let mut stmt = self.conn.prepare(&format!(
            "{SELECT} WHERE deleted = 0 AND (?1 OR archived = 0) AND (?2 IS NULL OR language = ?2)
             ORDER BY title COLLATE NOCASE"
        ))?;
        let courses = stmt
            .query_map(rusqlite::params![filter.include_archived, filter.language], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let words: Vec<String> =
            filter.search.as_deref().unwrap_or_default().split_whitespace().map(str::to_lowercase).collect();
        Ok(courses
            .into_iter()
            .filter(|c| {
                let haystack = format!(
                    "{} {} {} {}",
                    c.fields.title,
                    c.fields.provider,
                    c.fields.caption,
                    c.fields.topics.join(" ")
                )
                .to_lowercase();
                words.iter().all(|w| haystack.contains(w.as_str()))
            })
            .collect())
    }
}
