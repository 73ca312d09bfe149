//! Meeting guide templates: the plan a meeting starts from, as plain
//! Markdown files with front matter in `assets/guides/<language>/<kind>.md`
//! (the format is described in `assets/guides/README.md`).
//!
//! The built-in templates are compiled in with `include_str!`, so the app
//! works offline from any folder. The parser is strict and every error names
//! the file and the line, because the files are edited by people
//! (translators, facilitators) who need to find their mistake.

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::section::GuideSection;

/// Which meeting of a circle a guide is for, by position among the
/// meetings that are not cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum GuideKind {
    First,
    Middle,
    Last,
}

impl GuideKind {
    pub const ALL: [GuideKind; 3] = [GuideKind::First, GuideKind::Middle, GuideKind::Last];

    pub fn as_str(self) -> &'static str {
        match self {
            GuideKind::First => "first",
            GuideKind::Middle => "middle",
            GuideKind::Last => "last",
        }
    }

    pub fn parse(s: &str) -> Option<GuideKind> {
        GuideKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The kind of the meeting at 1-based `number` of `count` meetings that
    /// are not cancelled. A single meeting is a first meeting.
    pub fn for_position(number: usize, count: usize) -> GuideKind {
        if number <= 1 {
            GuideKind::First
        } else if number >= count {
            GuideKind::Last
        } else {
            GuideKind::Middle
        }
    }
}

/// One parsed template file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuideTemplate {
    /// Where it came from, e.g. `assets/guides/en/first.md`.
    pub file: String,
    pub kind: GuideKind,
    pub language: String,
    pub version: u32,
    pub name: String,
    /// The meeting length the sections add up to.
    pub planned_for: u32,
    pub sections: Vec<TemplateSection>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateSection {
    pub title: String,
    pub minutes: u32,
    pub notes: String,
    /// Takes up the difference when the meeting is longer or shorter than
    /// `planned_for`.
    pub flexible: bool,
}

/// A template file that cannot be read, with the file and the 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct TemplateError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// The built-in templates, as (path, text). The path is the one shown in
/// errors, relative to the repository root.
pub const BUILTIN_FILES: &[(&str, &str)] = &[
    ("assets/guides/en/first.md", include_str!("../../../../../assets/guides/en/first.md")),
    ("assets/guides/en/middle.md", include_str!("../../../../../assets/guides/en/middle.md")),
    ("assets/guides/en/last.md", include_str!("../../../../../assets/guides/en/last.md")),
    ("assets/guides/es/first.md", include_str!("../../../../../assets/guides/es/first.md")),
    ("assets/guides/es/middle.md", include_str!("../../../../../assets/guides/es/middle.md")),
    ("assets/guides/es/last.md", include_str!("../../../../../assets/guides/es/last.md")),
    ("assets/guides/pt/first.md", include_str!("../../../../../assets/guides/pt/first.md")),
    ("assets/guides/pt/middle.md", include_str!("../../../../../assets/guides/pt/middle.md")),
    ("assets/guides/pt/last.md", include_str!("../../../../../assets/guides/pt/last.md")),
];

/// The language used when a circle's language has no templates.
pub const FALLBACK_LANGUAGE: &str = "en";

/// Every built-in template, parsed once. A broken built-in template is a
/// build defect caught by the tests, so this panics with the file and line.
pub fn builtin_templates() -> &'static [GuideTemplate] {
    static PARSED: OnceLock<Vec<GuideTemplate>> = OnceLock::new();
    PARSED.get_or_init(|| {
        BUILTIN_FILES
            .iter()
            .map(|(file, text)| parse_template(file, text).unwrap_or_else(|e| panic!("built-in guide template: {e}")))
            .collect()
    })
}

/// The languages that have built-in templates.
#[cfg(test)]
pub fn builtin_languages() -> Vec<&'static str> {
    let mut langs: Vec<&str> = builtin_templates().iter().map(|t| t.language.as_str()).collect();
    langs.dedup();
    langs
}

/// The built-in template of `kind` for a circle in `language`: the exact
/// language, else its primary subtag ("pt-BR" -> "pt"), else English.
pub fn builtin_template(kind: GuideKind, language: &str) -> &'static GuideTemplate {
    let primary = language.split('-').next().unwrap_or_default();
    let find = |lang: &str| builtin_templates().iter().find(|t| t.kind == kind && t.language == lang);
    find(language)
        .or_else(|| find(primary))
        .or_else(|| find(FALLBACK_LANGUAGE))
        .expect("English templates exist for every kind")
}

impl GuideTemplate {
    /// "builtin/en/first@1": recorded on each guide made from it.
    pub fn source(&self) -> String {
        format!("builtin/{}/{}@{}", self.language, self.kind.as_str(), self.version)
    }

    /// The sections for a meeting of `duration` minutes; see [`fit_sections`].
    pub fn sections_for(&self, duration: u32) -> Vec<GuideSection> {
        let sections: Vec<GuideSection> = self
            .sections
            .iter()
            .map(|s| GuideSection { title: s.title.clone(), minutes: s.minutes, notes: s.notes.clone() })
            .collect();
        let flexible = self.sections.iter().position(|s| s.flexible);
        fit_sections(&sections, flexible, self.planned_for, duration)
    }
}

/// Fit sections planned for `planned_for` minutes to a meeting of
/// `duration` minutes: each section is scaled and rounded to 5 minutes (at
/// least 5), and the flexible section (the longest one if `flexible` is
/// None) takes the difference, so the total is exactly `duration` unless the
/// meeting is too short for every section to keep 5 minutes (the guide then
/// shows a timing warning).
pub fn fit_sections(
    sections: &[GuideSection],
    flexible: Option<usize>,
    planned_for: u32,
    duration: u32,
) -> Vec<GuideSection> {
    if sections.is_empty() || planned_for == 0 || duration == planned_for {
        return sections.to_vec();
    }
    let flex = flexible.unwrap_or_else(|| {
        // The longest section; the first of equals.
        let mut best = 0;
        for (i, s) in sections.iter().enumerate() {
            if s.minutes > sections[best].minutes {
                best = i;
            }
        }
        best
    });
    let mut out: Vec<GuideSection> = sections.to_vec();
    let mut others = 0;
    for (i, s) in out.iter_mut().enumerate() {
        if i != flex {
            let scaled = f64::from(s.minutes) * f64::from(duration) / f64::from(planned_for);
            s.minutes = (((scaled / 5.0).round() as u32) * 5).max(5);
            others += s.minutes;
        }
    }
    // Rounding up can leave the flexible section less than 5 minutes; the
    // longest others then give 5 at a time (never going below 5), so the
    // total stays exact whenever the meeting has 5 minutes per section.
    while others + 5 > duration {
        let longest = (0..out.len()).filter(|&i| i != flex && out[i].minutes > 5).max_by_key(|&i| out[i].minutes);
        let Some(i) = longest else { break };
        out[i].minutes -= 5;
        others -= 5;
    }
    out[flex].minutes = duration.saturating_sub(others).max(5);
    out
}

/// Parse one template file. `file` is only used in errors.
pub fn parse_template(file: &str, text: &str) -> Result<GuideTemplate, TemplateError> {
    let err = |line: usize, message: String| TemplateError { file: file.to_string(), line, message };
    let lines: Vec<&str> = text.lines().collect();
    if lines.first().map(|l| l.trim_end()) != Some("---") {
        return Err(err(
            1,
            "a template starts with a front matter block: a line \"---\", the keys, then \"---\"".into(),
        ));
    }
    let end = lines
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, l)| l.trim_end() == "---")
        .map(|(i, _)| i)
        .ok_or_else(|| err(1, "the front matter opened here is never closed with a line \"---\"".into()))?;

    let mut kind = None;
    let mut language = None;
    let mut version = None;
    let mut name = None;
    let mut planned_for: Option<(u32, usize)> = None;
    for (i, raw) in lines.iter().enumerate().take(end).skip(1) {
        let n = i + 1;
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(err(n, format!("expected \"key: value\" in the front matter, found \"{line}\"")));
        };
        let (key, value) = (key.trim(), value.trim());
        if value.is_empty() {
            return Err(err(n, format!("\"{key}\" has no value")));
        }
        let number = |what: &str| -> Result<u32, TemplateError> {
            value
                .parse::<u32>()
                .map_err(|_| err(n, format!("\"{key}\" must be a whole number of {what}, not \"{value}\"")))
        };
        let duplicate = |seen: bool| if seen { Err(err(n, format!("\"{key}\" is given twice"))) } else { Ok(()) };
        match key {
            "kind" => {
                duplicate(kind.is_some())?;
                kind = Some(
                    GuideKind::parse(value)
                        .ok_or_else(|| err(n, format!("kind must be first, middle or last, not \"{value}\"")))?,
                );
            }
            "language" => {
                duplicate(language.is_some())?;
                crate::domain::validate::language("guide template", "language", value)
                    .map_err(|_| err(n, format!("\"{value}\" is not a language code such as en, es or pt")))?;
                language = Some(value.to_string());
            }
            "version" => {
                duplicate(version.is_some())?;
                version = Some(number("versions")?);
            }
            "name" => {
                duplicate(name.is_some())?;
                name = Some(value.to_string());
            }
            "planned_for" => {
                duplicate(planned_for.is_some())?;
                let minutes = number("minutes")?;
                if !(1..=720).contains(&minutes) {
                    return Err(err(n, format!("planned_for must be 1 to 720 minutes, not {minutes}")));
                }
                planned_for = Some((minutes, n));
            }
            other => {
                return Err(err(
                    n,
                    format!("unknown key \"{other}\"; the keys are kind, language, version, name and planned_for"),
                ))
            }
        }
    }
    let missing = |key: &str| err(end + 1, format!("the front matter has no \"{key}\""));
    let kind = kind.ok_or_else(|| missing("kind"))?;
    let language = language.ok_or_else(|| missing("language"))?;
    let version = version.ok_or_else(|| missing("version"))?;
    let name = name.ok_or_else(|| missing("name"))?;
    let (planned_for, planned_line) = planned_for.ok_or_else(|| missing("planned_for"))?;

    let mut sections: Vec<TemplateSection> = Vec::new();
    let mut notes: Vec<&str> = Vec::new();
    let mut flexible_line = None;
    let finish = |sections: &mut Vec<TemplateSection>, notes: &mut Vec<&str>| {
        if let Some(last) = sections.last_mut() {
            last.notes = notes.join("\n").trim().to_string();
        }
        notes.clear();
    };
    for (i, raw) in lines.iter().enumerate().skip(end + 1) {
        let n = i + 1;
        if let Some(heading) = raw.strip_prefix("## ") {
            finish(&mut sections, &mut notes);
            let section = parse_heading(heading.trim()).map_err(|m| err(n, m))?;
            if section.flexible {
                if let Some(first) = flexible_line {
                    return Err(err(n, format!("only one section may be flexible; line {first} already is")));
                }
                flexible_line = Some(n);
            }
            sections.push(section);
        } else if sections.is_empty() {
            if !raw.trim().is_empty() {
                return Err(err(
                    n,
                    "text before the first section; every section starts with a heading \"## Title (N min)\"".into(),
                ));
            }
        } else {
            notes.push(raw.trim_end());
        }
    }
    finish(&mut sections, &mut notes);
    if sections.is_empty() {
        return Err(err(lines.len().max(1), "the template has no sections (\"## Title (N min)\" headings)".into()));
    }
    if sections.len() > super::section::MAX_SECTIONS {
        return Err(err(
            lines.len(),
            format!("the template has {} sections; the limit is {}", sections.len(), super::section::MAX_SECTIONS),
        ));
    }
    let total: u32 = sections.iter().map(|s| s.minutes).sum();
    if total != planned_for {
        return Err(err(
            planned_line,
            format!("the sections add up to {total} minutes, but planned_for says {planned_for}"),
        ));
    }
    Ok(GuideTemplate { file: file.to_string(), kind, language, version, name, planned_for, sections })
}

/// "Welcome (10 min)" or "Course work (45 min, flexible)".
fn parse_heading(heading: &str) -> Result<TemplateSection, String> {
    let usage = "write a section heading as \"## Title (N min)\", e.g. \"## Welcome (10 min)\"";
    let Some((title, inside)) =
        heading.rsplit_once('(').and_then(|(title, rest)| Some((title.trim(), rest.strip_suffix(')')?)))
    else {
        return Err(format!("the heading \"## {heading}\" has no time; {usage}"));
    };
    let mut parts = inside.split(',').map(str::trim);
    let time = parts.next().unwrap_or_default();
    let flexible = match parts.next() {
        None => false,
        Some("flexible") => true,
        Some(other) => {
            return Err(format!("\"{other}\" in \"({inside})\" is not understood; the only option is \"flexible\""))
        }
    };
    if parts.next().is_some() {
        return Err(format!("\"({inside})\" has too many parts; {usage}"));
    }
    let Some(number) = time.strip_suffix("min").map(str::trim) else {
        return Err(format!("\"({inside})\" is not a time in minutes; {usage}"));
    };
    let minutes: u32 = number.parse().map_err(|_| format!("\"{number}\" is not a whole number of minutes; {usage}"))?;
    if !(1..=720).contains(&minutes) {
        return Err(format!("a section lasts 1 to 720 minutes, not {minutes}"));
    }
    if title.is_empty() {
        return Err(format!("the section has no title; {usage}"));
    }
    if title.chars().count() > crate::domain::validate::MAX_NAME {
        return Err(format!("the title is longer than {} characters", crate::domain::validate::MAX_NAME));
    }
    Ok(TemplateSection { title: title.to_string(), minutes, notes: String::new(), flexible })
}

/// A front matter line without its trailing `# comment`.
fn strip_comment(line: &str) -> &str {
    line.split_once('#').map_or(line, |(before, _comment)| before)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "---\n# comment\nkind: middle\nlanguage: en\nversion: 2\nname: Test  # trailing\nplanned_for: 60\n---\n\n## Check-in (10 min)\nSay hi.\n\nTwo paragraphs.\n\n## Work (40 min, flexible)\n### Not a section\nKeep going.\n## Close (10 min)\n";

    #[test]
    fn every_builtin_template_parses_and_matches_its_place() {
        let all = builtin_templates();
        assert_eq!(all.len(), 9);
        for t in all {
            assert_eq!(t.file, format!("assets/guides/{}/{}.md", t.language, t.kind.as_str()), "{t:?}");
            assert_eq!(t.sections.iter().map(|s| s.minutes).sum::<u32>(), t.planned_for);
            assert_eq!(t.sections.iter().filter(|s| s.flexible).count(), 1, "{}", t.file);
            assert!(t.sections.iter().all(|s| !s.notes.is_empty()), "{}: every section has notes", t.file);
        }
        assert_eq!(builtin_languages(), ["en", "es", "pt"]);
        // The sections the issue asks for, in order.
        let titles = |kind, lang| -> Vec<String> {
            builtin_template(kind, lang).sections.iter().map(|s| s.title.clone()).collect()
        };
        assert_eq!(
            titles(GuideKind::First, "en"),
            [
                "Welcome",
                "Introductions",
                "What a learning circle is",
                "Everyone's goals",
                "A look at the course",
                "Plan for next week"
            ]
        );
        assert_eq!(
            titles(GuideKind::Middle, "en"),
            [
                "Check-in",
                "Goals for today",
                "Course work",
                "A short activity",
                "Plus/delta reflection",
                "Plan next week"
            ]
        );
        assert_eq!(
            titles(GuideKind::Last, "en"),
            ["Welcome back", "Reflection on goals", "Finish the course work", "Celebration", "Surveys", "What next"]
        );
        // The translations have the same shape as the English ones.
        for kind in GuideKind::ALL {
            let en = builtin_template(kind, "en");
            for lang in ["es", "pt"] {
                let other = builtin_template(kind, lang);
                assert_eq!(other.language, lang);
                let minutes =
                    |t: &GuideTemplate| t.sections.iter().map(|s| (s.minutes, s.flexible)).collect::<Vec<_>>();
                assert_eq!(minutes(other), minutes(en), "{}", other.file);
            }
        }
    }

    #[test]
    fn language_falls_back_to_primary_then_english() {
        assert_eq!(builtin_template(GuideKind::First, "pt-BR").language, "pt");
        assert_eq!(builtin_template(GuideKind::Last, "es").language, "es");
        assert_eq!(builtin_template(GuideKind::Middle, "fr").language, "en");
        assert_eq!(builtin_template(GuideKind::Middle, "en").source(), "builtin/en/middle@1");
    }

    #[test]
    fn parses_sections_notes_and_the_flexible_mark() {
        let t = parse_template("t.md", GOOD).unwrap();
        assert_eq!((t.kind, t.version, t.name.as_str(), t.planned_for), (GuideKind::Middle, 2, "Test", 60));
        assert_eq!(t.sections.len(), 3);
        assert_eq!(t.sections[0].notes, "Say hi.\n\nTwo paragraphs.");
        assert_eq!(t.sections[1].notes, "### Not a section\nKeep going.");
        assert!(t.sections[1].flexible && !t.sections[0].flexible);
        assert_eq!(t.sections[2].notes, "");
    }

    fn error_of(text: &str) -> TemplateError {
        parse_template("assets/guides/xx/broken.md", text).unwrap_err()
    }

    #[test]
    fn a_broken_template_names_the_file_and_line() {
        let no_minutes = GOOD.replace("## Work (40 min, flexible)", "## Work");
        let e = error_of(&no_minutes);
        assert_eq!((e.file.as_str(), e.line), ("assets/guides/xx/broken.md", 15));
        assert!(e.to_string().starts_with("assets/guides/xx/broken.md:15: the heading \"## Work\" has no time"), "{e}");

        let cases: &[(&str, usize, &str)] = &[
            (&GOOD.replace("kind: middle", "kind: middel"), 3, "kind must be first, middle or last"),
            (&GOOD.replace("version: 2", "version: two"), 5, "\"version\" must be a whole number"),
            (&GOOD.replace("version: 2", "colour: red"), 5, "unknown key \"colour\""),
            (&GOOD.replace("version: 2\n", ""), 7, "no \"version\""),
            (&GOOD.replace("planned_for: 60", "planned_for: 90"), 7, "add up to 60 minutes, but planned_for says 90"),
            (&GOOD.replace("(10 min)\nSay", "(ten min)\nSay"), 10, "\"ten\" is not a whole number of minutes"),
            (&GOOD.replace("(40 min, flexible)", "(40 min, optional)"), 15, "\"optional\" in \"(40 min, optional)\""),
            (
                &GOOD.replace("## Close (10 min)", "## Close (10 min, flexible)"),
                18,
                "only one section may be flexible; line 15",
            ),
            (&GOOD.replace("## Check-in", "Intro text\n## Check-in"), 10, "text before the first section"),
            (&GOOD.replace("## Close (10 min)", "##  (10 min)"), 18, "no title"),
            (&GOOD.replace("## Close (10 min)", "## Close (0 min)"), 18, "1 to 720 minutes, not 0"),
            (&GOOD.replacen("---\n", "", 1), 1, "starts with a front matter block"),
            (&GOOD.replace("\n---\n", "\n"), 1, "never closed"),
            (&GOOD.replace("name: Test", "name Test"), 6, "expected \"key: value\""),
        ];
        for (text, line, expected) in cases {
            let e = error_of(text);
            assert_eq!(e.line, *line, "{e}");
            assert!(e.message.contains(expected), "{e}");
            assert!(e.to_string().starts_with(&format!("assets/guides/xx/broken.md:{line}: ")), "{e}");
        }
    }

    #[test]
    fn sections_fit_meetings_of_any_length() {
        let t = builtin_template(GuideKind::Middle, "en");
        let total = |d| t.sections_for(d).iter().map(|s| s.minutes).sum::<u32>();
        for duration in [30, 45, 60, 75, 90, 105, 120, 150, 180, 240] {
            assert_eq!(total(duration), duration, "{duration}");
        }
        assert_eq!(t.sections_for(90).iter().map(|s| s.minutes).collect::<Vec<_>>(), [10, 5, 45, 15, 10, 5]);
        assert_eq!(t.sections_for(120).iter().map(|s| s.minutes).collect::<Vec<_>>(), [15, 5, 60, 20, 15, 5]);
        // Too short for six sections of 5 minutes: over, never below 5 each.
        let tiny = t.sections_for(15);
        assert!(tiny.iter().all(|s| s.minutes == 5));
        assert_eq!(fit_sections(&[], None, 90, 60), []);
    }

    /// Whatever the plan and the meeting's length, every section keeps at
    /// least 5 minutes, and the total is exactly the meeting's length when
    /// it has 5 minutes per section (more only when it is shorter).
    #[test]
    fn fitted_sections_add_up_to_the_meeting_whenever_they_can() {
        let section = |minutes| GuideSection { title: "S".into(), minutes, notes: String::new() };
        // A small deterministic generator: every case reproducible.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for _ in 0..20_000 {
            let count = 1 + next(8) as usize;
            let sections: Vec<GuideSection> = (0..count).map(|_| section(1 + next(120) as u32)).collect();
            let planned_for: u32 = sections.iter().map(|s| s.minutes).sum();
            let flexible = (next(2) == 0).then(|| next(count as u64) as usize);
            let duration = 1 + next(720) as u32;
            let fitted = fit_sections(&sections, flexible, planned_for, duration);
            let total: u32 = fitted.iter().map(|s| s.minutes).sum();
            let case = format!("{sections:?} flexible {flexible:?} into {duration}: {fitted:?}");
            if duration == planned_for {
                assert_eq!(fitted, sections, "{case}");
                continue;
            }
            assert!(fitted.iter().all(|s| s.minutes >= 5), "{case}");
            if duration >= 5 * count as u32 {
                assert_eq!(total, duration, "{case}");
            } else {
                assert_eq!(total, 5 * count as u32, "too short: 5 minutes each; {case}");
            }
        }
    }
}
