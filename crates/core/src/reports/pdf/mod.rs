//! PDFs people hand over or pin up: a circle report and a team report (one
//! or two pages a funder can read), a meeting's one-page run sheet and the
//! sign-in sheet to print for each meeting.
//!
//! Written with `pdf-writer` (pure Rust) and an embedded DejaVu Sans cut
//! down to the Latin scripts (`assets/fonts`), so a PDF looks the same on
//! every machine and needs no network and no installed fonts. Text is set
//! glyph by glyph (Identity-H) with a ToUnicode map, so it can be searched
//! and copied. Characters the font lacks print as "?". PDFs are
//! deterministic: the same report and options give the same bytes.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveTime, TimeDelta};
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use serde::Serialize;

use crate::domain::guide::templates::GuideKind;
use crate::domain::guide::{CarriedNote, GuideSection};
use crate::error::Result;
use crate::reports::{CircleReport, Counting, Figures, TeamReport};
use crate::store::Store;

mod circle;
mod format;
mod page;
mod run_sheet;
mod sign_in;
mod team;
pub use circle::*;
use format::*;
use page::*;
pub use run_sheet::*;
pub use sign_in::*;
pub use team::*;

const REGULAR_TTF: &[u8] = include_bytes!("../../../../../assets/fonts/DejaVuSans-Latin.ttf");
const BOLD_TTF: &[u8] = include_bytes!("../../../../../assets/fonts/DejaVuSans-Bold-Latin.ttf");

/// Paper size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Paper {
    /// 8.5 × 11 in.
    #[default]
    Letter,
    /// 210 × 297 mm.
    A4,
}

impl Paper {
    fn size(self) -> (f32, f32) {
        match self {
            Paper::Letter => (612.0, 792.0),
            Paper::A4 => (595.28, 841.89),
        }
    }

    pub fn parse(s: &str) -> Option<Paper> {
        match s.to_ascii_lowercase().as_str() {
            "letter" => Some(Paper::Letter),
            "a4" => Some(Paper::A4),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PdfOptions {
    pub paper: Paper,
    /// The day shown as "made on" in the footer (none: not shown), passed
    /// in so that the same inputs give the same bytes.
    pub made_on: Option<NaiveDate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ceilings_and_wrapping() {
        assert_eq!([1, 4, 5, 9, 11, 21, 45, 95].map(nice_ceiling), [4, 4, 8, 20, 20, 40, 80, 200]);
        let doc = Doc::new(&PdfOptions::default(), String::new());
        let lines = doc.wrap("one two three four five six seven eight nine ten", 60.0, 10.0, Weight::Regular);
        assert!(lines.len() > 2, "{lines:?}");
        assert!(lines.iter().all(|l| doc.font(Weight::Regular).width(l, 10.0) <= 60.0));
        assert_eq!(doc.wrap("a\n\nb", 100.0, 10.0, Weight::Regular), ["a", "", "b"]);
        assert_eq!(reflow("one\ntwo\n\nthree\n- four\n2. five\n"), "one two\n\nthree\n- four\n2. five");
        let long = doc.wrap(&"x".repeat(80), 50.0, 10.0, Weight::Regular);
        assert!(long.len() > 1);
        assert_eq!(fit(doc.font(Weight::Regular), "A long venue name", 40.0, 8.0).chars().last(), Some('…'));
    }

    #[test]
    fn a_pdf_is_well_formed_and_deterministic() {
        let sheet = RunSheet {
            circle_name: "Círculo de Escrita — ção, ñ, ł".into(),
            course_title: None,
            place: "Biblioteca".into(),
            language: "pt".into(),
            number: 2,
            of: 6,
            kind: Some(GuideKind::Middle),
            local_date: NaiveDate::from_ymd_opt(2026, 3, 14).unwrap(),
            start_time: "10:30".into(),
            duration_minutes: 120,
            time_zone: "Europe/Lisbon".into(),
            sections: vec![GuideSection { title: "Boas-vindas".into(), minutes: 120, notes: "Olá 😀".into() }],
            timing_warning: None,
            note_from_last_meeting: None,
            learners: 7,
            sign_in: None,
        };
        let a = run_sheet_pdf(&sheet, &PdfOptions::default());
        let b = run_sheet_pdf(&sheet, &PdfOptions::default());
        assert_eq!(a, b);
        assert!(a.starts_with(b"%PDF-"));
        assert!(a.ends_with(b"%%EOF") || a.ends_with(b"%%EOF\n"));
        assert!(a.len() < 120_000, "{} bytes", a.len());
    }
}
