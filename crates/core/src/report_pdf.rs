//! PDFs people hand over or pin up: a circle report and a team report (one
//! or two pages a funder can read) and a meeting's one-page run sheet.
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

use crate::error::Result;
use crate::guide::{CarriedNote, GuideSection};
use crate::guide_templates::GuideKind;
use crate::report::{CircleReport, Counting, Figures, TeamReport};
use crate::store::Store;

const REGULAR_TTF: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Latin.ttf");
const BOLD_TTF: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold-Latin.ttf");

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

// ---------------------------------------------------------------------------
// Fonts and the page builder
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Weight {
    Regular,
    Bold,
}

struct Font {
    bytes: &'static [u8],
    face: ttf_parser::Face<'static>,
    units: f32,
    /// Glyphs used, with the character each stands for.
    used: BTreeMap<u16, char>,
}

impl Font {
    fn load(bytes: &'static [u8]) -> Font {
        let face = ttf_parser::Face::parse(bytes, 0).expect("the embedded font parses");
        let units = f32::from(face.units_per_em());
        Font { bytes, face, units, used: BTreeMap::new() }
    }

    fn glyph(&self, c: char) -> u16 {
        let c = match c {
            '\t' => ' ',
            c => c,
        };
        self.face
            .glyph_index(c)
            .or_else(|| self.face.glyph_index('?'))
            .map_or(0, |g| g.0)
    }

    fn advance(&self, glyph: u16) -> f32 {
        f32::from(self.face.glyph_hor_advance(ttf_parser::GlyphId(glyph)).unwrap_or(0)) / self.units
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(self.glyph(c))).sum::<f32>() * size
    }

    /// The text as 2-byte glyph ids, remembering which glyphs were used.
    fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let g = self.glyph(c);
            self.used.entry(g).or_insert(if self.face.glyph_index(c).is_some() { c } else { '?' });
            out.extend_from_slice(&g.to_be_bytes());
        }
        out
    }
}

type Rgb = (f32, f32, f32);
const INK: Rgb = (0.11, 0.13, 0.17);
const MUTED: Rgb = (0.38, 0.42, 0.48);
const RULE: Rgb = (0.82, 0.85, 0.88);
const SHADE: Rgb = (0.95, 0.96, 0.97);
const ACCENT: Rgb = (0.12, 0.42, 0.55);
const ACCENT_LIGHT: Rgb = (0.55, 0.75, 0.82);
const WARN: Rgb = (0.72, 0.33, 0.05);
const WARN_BG: Rgb = (1.0, 0.95, 0.88);

/// A document under construction: pages of content, positions measured
/// from the top-left corner in points.
struct Doc {
    width: f32,
    height: f32,
    margin: f32,
    fonts: [Font; 2],
    pages: Vec<Content>,
    /// The page being drawn on.
    current: usize,
    /// Where the next block starts, from the top of the page.
    y: f32,
    footer_note: String,
}

impl Doc {
    fn new(options: &PdfOptions, footer_note: String) -> Doc {
        let (width, height) = options.paper.size();
        let mut doc = Doc {
            width,
            height,
            margin: 48.0,
            fonts: [Font::load(REGULAR_TTF), Font::load(BOLD_TTF)],
            pages: Vec::new(),
            current: 0,
            y: 0.0,
            footer_note,
        };
        doc.new_page();
        doc
    }

    fn font(&self, weight: Weight) -> &Font {
        &self.fonts[weight as usize]
    }

    fn content_width(&self) -> f32 {
        self.width - 2.0 * self.margin
    }

    /// The lowest y a block may reach before the footer.
    fn bottom(&self) -> f32 {
        self.height - self.margin - 28.0
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.current = self.pages.len() - 1;
        self.y = self.margin;
    }

    /// Start a new page unless `space` points fit below the cursor.
    fn ensure(&mut self, space: f32) {
        if self.y + space > self.bottom() {
            self.new_page();
        }
    }

    fn page(&mut self) -> &mut Content {
        &mut self.pages[self.current]
    }

    fn text(&mut self, x: f32, y: f32, size: f32, weight: Weight, color: Rgb, text: &str) {
        let encoded = self.fonts[weight as usize].encode(text);
        let name = if weight == Weight::Bold { Name(b"F2") } else { Name(b"F1") };
        let pdf_y = self.height - y;
        let page = self.page();
        page.set_fill_rgb(color.0, color.1, color.2);
        page.begin_text();
        page.set_font(name, size);
        page.next_line(x, pdf_y);
        page.show(Str(&encoded));
        page.end_text();
    }

    fn text_right(&mut self, right: f32, y: f32, size: f32, weight: Weight, color: Rgb, text: &str) {
        let w = self.font(weight).width(text, size);
        self.text(right - w, y, size, weight, color, text);
    }

    fn text_center(&mut self, center: f32, y: f32, size: f32, weight: Weight, color: Rgb, text: &str) {
        let w = self.font(weight).width(text, size);
        self.text(center - w / 2.0, y, size, weight, color, text);
    }

    fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb) {
        let pdf_y = self.height - y - h;
        let page = self.page();
        page.set_fill_rgb(color.0, color.1, color.2);
        page.rect(x, pdf_y, w, h);
        page.fill_nonzero();
    }

    fn stroke_rect(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32, color: Rgb) {
        let pdf_y = self.height - y - h;
        let page = self.page();
        page.set_stroke_rgb(color.0, color.1, color.2);
        page.set_line_width(width);
        page.rect(x, pdf_y, w, h);
        page.stroke();
    }

    fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32, color: Rgb) {
        let (h, page) = (self.height, self.page());
        page.set_stroke_rgb(color.0, color.1, color.2);
        page.set_line_width(width);
        page.move_to(x1, h - y1);
        page.line_to(x2, h - y2);
        page.stroke();
    }

    fn dot(&mut self, x: f32, y: f32, r: f32, color: Rgb) {
        self.fill_rect(x - r, y - r, 2.0 * r, 2.0 * r, color);
    }

    /// Break `text` into lines no wider than `width`; paragraphs (newlines)
    /// are kept, and a word too long for a line is cut.
    fn wrap(&self, text: &str, width: f32, size: f32, weight: Weight) -> Vec<String> {
        let font = self.font(weight);
        let mut lines = Vec::new();
        for paragraph in reflow(text).lines() {
            let mut line = String::new();
            for word in paragraph.split_whitespace() {
                let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
                if font.width(&candidate, size) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                // A word wider than the line: cut it.
                let mut rest = word.to_string();
                while font.width(&rest, size) > width && rest.chars().count() > 1 {
                    let mut cut = String::new();
                    for c in rest.chars() {
                        if font.width(&format!("{cut}{c}"), size) > width && !cut.is_empty() {
                            break;
                        }
                        cut.push(c);
                    }
                    rest = rest[cut.len()..].to_string();
                    lines.push(cut);
                }
                line = rest;
            }
            lines.push(line);
        }
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        lines
    }

    /// A paragraph at the cursor, moving it down.
    fn paragraph(&mut self, text: &str, size: f32, weight: Weight, color: Rgb) {
        let lines = self.wrap(text, self.content_width(), size, weight);
        for line in lines {
            self.ensure(size * 1.4);
            let y = self.y + size;
            self.text(self.margin, y, size, weight, color, &line);
            self.y += size * 1.4;
        }
    }

    fn heading(&mut self, text: &str) {
        self.ensure(60.0);
        self.y += 8.0;
        self.text(self.margin, self.y + 11.0, 11.0, Weight::Bold, INK, text);
        self.y += 18.0;
    }

    /// A row of figure tiles: (value, label).
    fn tiles(&mut self, tiles: &[(String, String)]) {
        let n = tiles.len().max(1) as f32;
        let gap = 8.0;
        let w = (self.content_width() - gap * (n - 1.0)) / n;
        let h = 58.0;
        self.ensure(h + 8.0);
        for (i, (value, label)) in tiles.iter().enumerate() {
            let x = self.margin + i as f32 * (w + gap);
            let y = self.y;
            self.fill_rect(x, y, w, h, SHADE);
            self.fill_rect(x, y, 3.0, h, ACCENT);
            self.text(x + 10.0, y + 22.0, 15.0, Weight::Bold, INK, value);
            let label_lines = self.wrap(label, w - 14.0, 7.5, Weight::Regular);
            for (j, line) in label_lines.iter().take(3).enumerate() {
                self.text(x + 10.0, y + 34.0 + j as f32 * 9.0, 7.5, Weight::Regular, MUTED, line);
            }
        }
        self.y += h + 10.0;
    }

    /// A bar chart: one bar per (label, value, light), with the value above
    /// the bar; `light` bars are drawn in the lighter colour.
    fn bar_chart(&mut self, title: &str, bars: &[(String, Option<u32>, bool)], legend: Option<&str>) {
        let h = 120.0;
        self.ensure(h + 40.0);
        self.text(self.margin, self.y + 9.0, 9.0, Weight::Bold, INK, title);
        if let Some(legend) = legend {
            self.text_right(self.width - self.margin, self.y + 9.0, 7.5, Weight::Regular, MUTED, legend);
        }
        self.y += 16.0;
        let top = self.y + 10.0;
        let base = top + h - 26.0;
        let left = self.margin + 26.0;
        let right = self.width - self.margin;
        let max = bars.iter().filter_map(|b| b.1).max().unwrap_or(0);
        let scale_max = nice_ceiling(max.max(1));
        // Grid lines and their values.
        for step in 0..=4 {
            let v = scale_max as f32 * step as f32 / 4.0;
            let y = base - (base - top) * step as f32 / 4.0;
            self.line(left, y, right, y, 0.4, if step == 0 { MUTED } else { RULE });
            self.text_right(left - 4.0, y + 2.5, 7.0, Weight::Regular, MUTED, &format_number(v));
        }
        let n = bars.len().max(1) as f32;
        let slot = (right - left) / n;
        let bar_w = (slot * 0.62).min(36.0);
        let label_every = (bars.len() as f32 / 26.0).ceil().max(1.0) as usize;
        for (i, (label, value, light)) in bars.iter().enumerate() {
            let cx = left + slot * (i as f32 + 0.5);
            if let Some(v) = value {
                let bh = (base - top) * *v as f32 / scale_max as f32;
                if bh > 0.0 {
                    self.fill_rect(cx - bar_w / 2.0, base - bh, bar_w, bh, if *light { ACCENT_LIGHT } else { ACCENT });
                }
                if bars.len() <= 30 {
                    self.text_center(cx, base - bh - 3.0, 7.0, Weight::Regular, INK, &v.to_string());
                }
            } else {
                self.text_center(cx, base - 3.0, 7.0, Weight::Regular, MUTED, "–");
            }
            if i % label_every == 0 {
                self.text_center(cx, base + 11.0, 7.0, Weight::Regular, MUTED, label);
            }
        }
        self.y = base + 22.0;
    }

    /// Dots joined by lines on a 1-5 scale, one per (label, rating).
    fn rating_chart(&mut self, title: &str, points: &[(String, Option<u8>)]) {
        let h = 70.0;
        self.ensure(h + 30.0);
        self.text(self.margin, self.y + 9.0, 9.0, Weight::Bold, INK, title);
        self.y += 16.0;
        let top = self.y + 6.0;
        let base = top + h - 24.0;
        let left = self.margin + 26.0;
        let right = self.width - self.margin;
        for r in 1..=5 {
            let y = base - (base - top) * (r - 1) as f32 / 4.0;
            self.line(left, y, right, y, 0.4, if r == 1 { MUTED } else { RULE });
            self.text_right(left - 4.0, y + 2.5, 7.0, Weight::Regular, MUTED, &r.to_string());
        }
        let slot = (right - left) / points.len().max(1) as f32;
        let mut previous: Option<(f32, f32)> = None;
        for (i, (label, rating)) in points.iter().enumerate() {
            let cx = left + slot * (i as f32 + 0.5);
            if let Some(r) = rating {
                let y = base - (base - top) * f32::from(r - 1) / 4.0;
                if let Some((px, py)) = previous {
                    self.line(px, py, cx, y, 1.2, ACCENT_LIGHT);
                }
                self.dot(cx, y, 2.8, ACCENT);
                previous = Some((cx, y));
            }
            self.text_center(cx, base + 11.0, 7.0, Weight::Regular, MUTED, label);
        }
        self.y = base + 20.0;
    }

    /// A table; `columns` are (header, width share, right-aligned). Rows
    /// that do not fit go on the next page under a repeated header.
    fn table(&mut self, columns: &[(&str, f32, bool)], rows: &[Vec<String>], bold_last: bool) {
        let size = 8.0;
        let row_h = 14.0;
        let total: f32 = columns.iter().map(|c| c.1).sum();
        let widths: Vec<f32> = columns.iter().map(|c| c.1 / total * self.content_width()).collect();
        let header = |doc: &mut Doc| {
            doc.fill_rect(doc.margin, doc.y, doc.content_width(), row_h, SHADE);
            let mut x = doc.margin;
            for (i, (name, _, right)) in columns.iter().enumerate() {
                if *right {
                    doc.text_right(x + widths[i] - 4.0, doc.y + 10.0, size - 0.5, Weight::Bold, MUTED, name);
                } else {
                    doc.text(x + 4.0, doc.y + 10.0, size - 0.5, Weight::Bold, MUTED, name);
                }
                x += widths[i];
            }
            doc.y += row_h;
        };
        self.ensure(row_h * 3.0);
        header(self);
        for (r, row) in rows.iter().enumerate() {
            if self.y + row_h > self.bottom() {
                self.new_page();
                header(self);
            }
            let weight = if bold_last && r + 1 == rows.len() { Weight::Bold } else { Weight::Regular };
            let mut x = self.margin;
            for (i, cell) in row.iter().enumerate() {
                let (_, _, right) = columns[i];
                let cell = fit(self.font(weight), cell, widths[i] - 8.0, size);
                if right {
                    self.text_right(x + widths[i] - 4.0, self.y + 10.0, size, weight, INK, &cell);
                } else {
                    self.text(x + 4.0, self.y + 10.0, size, weight, INK, &cell);
                }
                x += widths[i];
            }
            self.y += row_h;
            self.line(self.margin, self.y, self.width - self.margin, self.y, 0.3, RULE);
        }
        self.y += 6.0;
    }

    /// Footers on every page, then the PDF bytes.
    fn finish(mut self, title: &str) -> Vec<u8> {
        let count = self.pages.len();
        for i in 0..count {
            let y = self.height - self.margin + 4.0;
            let (margin, width) = (self.margin, self.width);
            self.current = i;
            self.line(margin, y - 12.0, width - margin, y - 12.0, 0.4, RULE);
            let note = self.footer_note.clone();
            self.text(margin, y, 7.0, Weight::Regular, MUTED, &note);
            self.text_right(width - margin, y, 7.0, Weight::Regular, MUTED, &format!("Page {} of {count}", i + 1));
        }
        write_pdf(self, title)
    }
}

/// Notes are written like Markdown: a single line break inside a paragraph
/// is a space, a blank line separates paragraphs, and a line that starts a
/// list item ("- ", "* ", "1. ") starts a new line.
fn reflow(text: &str) -> String {
    let mut out = String::new();
    let mut in_paragraph = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            if in_paragraph {
                out.push_str("\n\n");
            }
            in_paragraph = false;
            continue;
        }
        let list_item = line.starts_with("- ")
            || line.starts_with("* ")
            || line.split_once(". ").is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if in_paragraph {
            out.push(if list_item { '\n' } else { ' ' });
        }
        out.push_str(line);
        in_paragraph = true;
    }
    out.trim_end().to_string()
}

/// The text shortened with "…" to fit `width`.
fn fit(font: &Font, text: &str, width: f32, size: f32) -> String {
    if font.width(text, size) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if font.width(&format!("{out}{c}…"), size) > width {
            break;
        }
        out.push(c);
    }
    format!("{}…", out.trim_end())
}

/// 1, 2, 5, 10, 20, 50... at or above `n`, so that a quarter of it is a
/// round number for the grid.
fn nice_ceiling(n: u32) -> u32 {
    let mut base = 4;
    loop {
        for m in [1, 2, 5] {
            if base * m >= n {
                return base * m;
            }
        }
        base *= 10;
    }
}

fn format_number(v: f32) -> String {
    if (v - v.round()).abs() < 0.01 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

fn write_pdf(doc: Doc, title: &str) -> Vec<u8> {
    let mut alloc = Ref::new(1);
    let catalog = alloc.bump();
    let tree = alloc.bump();
    let info = alloc.bump();
    let mut pdf = Pdf::new();
    pdf.set_file_id((b"circles-report".to_vec(), b"circles-report".to_vec()));

    // Fonts: Type0 + CIDFontType2, Identity-H, glyph ids as CIDs.
    let mut font_refs = Vec::new();
    for (i, font) in doc.fonts.iter().enumerate() {
        let type0 = alloc.bump();
        let cid = alloc.bump();
        let descriptor = alloc.bump();
        let file = alloc.bump();
        let cmap = alloc.bump();
        let base = Name(if i == 0 { b"DejaVuSans" } else { b"DejaVuSans-Bold" });
        let system = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };
        pdf.type0_font(type0)
            .base_font(base)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid)
            .to_unicode(cmap);
        let mut cid_font = pdf.cid_font(cid);
        cid_font
            .subtype(CidFontType::Type2)
            .base_font(base)
            .system_info(system)
            .font_descriptor(descriptor)
            .cid_to_gid_map_predefined(Name(b"Identity"))
            .default_width(0.0);
        {
            let mut widths = cid_font.widths();
            for &g in font.used.keys() {
                widths.consecutive(g, [font.advance(g) * 1000.0]);
            }
        }
        cid_font.finish();
        let f = &font.face;
        let bbox = f.global_bounding_box();
        let scale = |v: i16| f32::from(v) / font.units * 1000.0;
        pdf.font_descriptor(descriptor)
            .name(base)
            .flags(FontFlags::NON_SYMBOLIC)
            .bbox(Rect::new(scale(bbox.x_min), scale(bbox.y_min), scale(bbox.x_max), scale(bbox.y_max)))
            .italic_angle(0.0)
            .ascent(scale(f.ascender()))
            .descent(scale(f.descender()))
            .cap_height(scale(f.capital_height().unwrap_or(f.ascender())))
            .stem_v(if i == 0 { 80.0 } else { 140.0 })
            .font_file2(file);
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(font.bytes, 9);
        pdf.stream(file, &compressed).filter(Filter::FlateDecode).pair(Name(b"Length1"), font.bytes.len() as i32);
        let mut unicode = pdf_writer::types::UnicodeCmap::new(Name(b"Custom"), system);
        for (&g, &c) in &font.used {
            unicode.pair(g, c);
        }
        pdf.cmap(cmap, &unicode.finish());
        font_refs.push(type0);
    }

    let mut page_ids = Vec::new();
    for content in doc.pages {
        let page_id = alloc.bump();
        let content_id = alloc.bump();
        page_ids.push(page_id);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, doc.width, doc.height));
        page.parent(tree);
        page.contents(content_id);
        page.resources().fonts().pair(Name(b"F1"), font_refs[0]).pair(Name(b"F2"), font_refs[1]);
        page.finish();
        let bytes = content.finish();
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&bytes, 6);
        pdf.stream(content_id, &compressed).filter(Filter::FlateDecode);
    }
    pdf.pages(tree).kids(page_ids.iter().copied()).count(page_ids.len() as i32);
    pdf.catalog(catalog).pages(tree);
    pdf.document_info(info).title(TextStr(title)).producer(TextStr("Circles"));
    pdf.finish()
}

// ---------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------

fn percent(v: Option<f64>) -> String {
    v.map(|v| format!("{:.0}%", v * 100.0)).unwrap_or_else(|| "–".into())
}

fn decimal(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into())
}

fn long_date(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

fn made_on(options: &PdfOptions) -> String {
    match options.made_on {
        Some(d) => format!("Made with Circles on {} from the data on this computer.", long_date(d)),
        None => "Made with Circles from the data on this computer.".into(),
    }
}

const DEFINITIONS: &str = "How the figures are counted: cancelled meetings are left out. A meeting was held if it is \
marked held or has attendance or a head count. Attended = present or late. Attendance rate = attended ÷ all marks \
(present, late, excused, absent); head counts are not in the rate. Average attendance = attendances ÷ meetings held, \
where a meeting's attendance is its attended marks, or its head count if nobody was marked. Withdrawn learners' past \
attendance counts. Dates are local to each circle.";

// ---------------------------------------------------------------------------
// Circle report
// ---------------------------------------------------------------------------

/// A circle report as a PDF.
pub fn circle_report_pdf(report: &CircleReport, options: &PdfOptions) -> Vec<u8> {
    let c = &report.circle;
    let s = &report.summary;
    let mut doc = Doc::new(options, made_on(options));
    doc.text(doc.margin, doc.y + 9.0, 8.0, Weight::Bold, ACCENT, "LEARNING CIRCLE REPORT");
    doc.y += 14.0;
    doc.paragraph(&c.name, 18.0, Weight::Bold, INK);
    let mut about = Vec::new();
    if let Some(course) = &c.course_title {
        about.push(format!("Course: {course}"));
    }
    let place = if c.city.is_empty() || c.online { c.venue.clone() } else { format!("{}, {}", c.venue, c.city) };
    about.push(place);
    if let Some(team) = &c.team_name {
        about.push(team.clone());
    }
    doc.paragraph(&about.join("  ·  "), 9.0, Weight::Regular, MUTED);
    let mut when = Vec::new();
    if let (Some(first), Some(last)) = (c.first_date, c.last_date) {
        when.push(format!("{} – {}", long_date(first), long_date(last)));
    }
    when.push(format!("{} for {} min ({})", c.start_time, c.duration_minutes, c.time_zone));
    if !c.facilitators.is_empty() {
        when.push(format!("Facilitated by {}", c.facilitators.join(", ")));
    }
    doc.paragraph(&when.join("  ·  "), 9.0, Weight::Regular, MUTED);
    doc.y += 8.0;

    let learners = match (s.learners_withdrawn, s.walk_ins) {
        (0, 0) => "Learners".to_string(),
        (w, k) => format!("Learners · {w} withdrew · {k} walked in"),
    };
    let mut tiles = vec![
        (format!("{} of {}", s.meetings_held, s.meetings_scheduled), format!("Meetings held ({} cancelled)", s.meetings_cancelled)),
        (s.learners.to_string(), learners),
        (decimal(s.average_attendance), "Average attendance a meeting".to_string()),
        (percent(s.attendance_rate), "Attendance rate (present or late)".to_string()),
        (percent(s.retention), "Retention, first to last meeting".to_string()),
    ];
    if let Some(half) = s.learners_at_least_half {
        tiles.push((format!("{half} of {}", s.learners), "Came to half the meetings or more".to_string()));
    }
    doc.tiles(&tiles);

    let bars: Vec<(String, Option<u32>, bool)> = report
        .meetings
        .iter()
        .map(|m| (m.number.to_string(), m.attendance, m.attendance.is_some() && m.marks.marked() == 0))
        .collect();
    let legend = match report.counting {
        Counting::Mixed | Counting::HeadCount => Some("light bars: head counts"),
        _ => None,
    };
    doc.bar_chart("Attendance per meeting", &bars, legend);
    if s.ratings > 0 {
        let points: Vec<(String, Option<u8>)> = report.meetings.iter().map(|m| (m.number.to_string(), m.rating)).collect();
        doc.rating_chart("How each meeting went (facilitator's rating, 1 to 5)", &points);
    }

    doc.heading("Meetings");
    let columns = [
        ("#", 0.5, true),
        ("Date", 2.2, false),
        ("Status", 1.4, false),
        ("Present", 1.0, true),
        ("Late", 0.8, true),
        ("Excused", 1.0, true),
        ("Absent", 0.9, true),
        ("Head count", 1.2, true),
        ("Attendance", 1.3, true),
        ("Rating", 0.9, true),
    ];
    let mut rows: Vec<Vec<String>> = report
        .meetings
        .iter()
        .map(|m| {
            let n = |v: u32| if m.marks.marked() == 0 { String::new() } else { v.to_string() };
            vec![
                m.number.to_string(),
                m.local_date.format("%a %-d %b %Y").to_string(),
                if m.held { "held".into() } else { m.status.as_str().to_string() },
                n(m.marks.present),
                n(m.marks.late),
                n(m.marks.excused),
                n(m.marks.absent),
                m.head_count.map(|h| h.to_string()).unwrap_or_default(),
                m.attendance.map(|a| a.to_string()).unwrap_or_else(|| "–".into()),
                m.rating.map(|r| format!("{r}/5")).unwrap_or_default(),
            ]
        })
        .collect();
    for cancelled in &report.cancelled {
        rows.push(vec![
            String::new(),
            cancelled.local_date.format("%a %-d %b %Y").to_string(),
            "cancelled".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    let total = |v: u32| if s.marks.marked() == 0 { String::new() } else { v.to_string() };
    rows.push(vec![
        String::new(),
        "Total".into(),
        format!("{} held", s.meetings_held),
        total(s.marks.present),
        total(s.marks.late),
        total(s.marks.excused),
        total(s.marks.absent),
        if s.head_count_attendances > 0 { s.head_count_attendances.to_string() } else { String::new() },
        s.attendances.to_string(),
        s.average_rating.map(|r| format!("{r:.1} avg")).unwrap_or_default(),
    ]);
    doc.table(&columns, &rows, true);

    let mut lines = vec![match report.counting {
        Counting::HeadCount => format!(
            "Attendance was taken as head counts, so learners are not followed one by one: {} attendances in all, \
             {} people at the first meeting held and {} at the last.",
            s.attendances,
            s.first_meeting_attendance.unwrap_or(0),
            s.last_meeting_attendance.unwrap_or(0)
        ),
        Counting::None => "No attendance has been recorded yet.".to_string(),
        Counting::PerLearner | Counting::Mixed => format!(
            "{} of {} learners came at least once; {} came to both the first and the last meeting held.",
            s.learners_attended,
            s.learners,
            s.learners_retained.map(|n| n.to_string()).unwrap_or_else(|| "–".into())
        ),
    }];
    let w = &report.wrap_up;
    if let Some(outcome) = w.outcome {
        let mut wrap = match outcome {
            crate::feedback::CircleOutcome::Completed => "Completed.".to_string(),
            crate::feedback::CircleOutcome::DidNotHappen => "The circle did not happen.".to_string(),
        };
        if !w.facilitator_goal.is_empty() {
            wrap.push_str(&format!(" Facilitator's goal: \"{}\"", w.facilitator_goal));
        }
        if let Some(r) = w.goal_rating {
            wrap.push_str(&format!(" Goal reached: {r}/5."));
        }
        if let Some(r) = w.course_rating {
            wrap.push_str(&format!(" Course rating: {r}/5"));
            if !w.course_rating_reason.is_empty() {
                wrap.push_str(&format!(" (\"{}\")", w.course_rating_reason));
            }
            wrap.push('.');
        }
        lines.push(wrap);
    }
    doc.heading("In short");
    for line in lines {
        doc.paragraph(&line, 9.0, Weight::Regular, INK);
    }
    doc.y += 6.0;
    doc.paragraph(DEFINITIONS, 7.0, Weight::Regular, MUTED);
    doc.finish(&format!("Circle report: {}", c.name))
}

// ---------------------------------------------------------------------------
// Team report
// ---------------------------------------------------------------------------

fn figure_row(name: String, f: &Figures) -> Vec<String> {
    vec![
        name,
        f.circles_run.to_string(),
        f.meetings_held.to_string(),
        f.attendances.to_string(),
        f.unique_learners.to_string(),
        percent(f.attendance_rate),
        decimal(f.average_attendance),
        f.average_rating.map(|r| format!("{r:.1}")).unwrap_or_else(|| "–".into()),
    ]
}

/// A team report as a PDF.
pub fn team_report_pdf(report: &TeamReport, options: &PdfOptions) -> Vec<u8> {
    let t = &report.totals;
    let mut doc = Doc::new(options, made_on(options));
    doc.text(doc.margin, doc.y + 9.0, 8.0, Weight::Bold, ACCENT, "LEARNING CIRCLES: TEAM REPORT");
    doc.y += 14.0;
    doc.paragraph(&report.team.name, 18.0, Weight::Bold, INK);
    doc.paragraph(
        &format!("{} to {}", long_date(report.from), long_date(report.to)),
        10.0,
        Weight::Regular,
        MUTED,
    );
    doc.y += 8.0;
    doc.tiles(&[
        (t.circles_run.to_string(), "Circles run".into()),
        (t.meetings_held.to_string(), "Meetings held".into()),
        (t.unique_learners.to_string(), "Unique learners (attended at least once)".into()),
        (t.attendances.to_string(), "Attendances in all".into()),
        (percent(t.attendance_rate), "Attendance rate (present or late)".into()),
        (decimal(t.average_attendance), "Average attendance a meeting".into()),
    ]);
    let mut extra = vec![format!("{} learners signed up to the circles run", report.learners_signed_up)];
    if t.meetings_cancelled > 0 {
        extra.push(format!("{} meetings cancelled", t.meetings_cancelled));
    }
    if t.head_count_attendances > 0 {
        extra.push(format!("{} attendances from head counts", t.head_count_attendances));
    }
    if report.circles_did_not_happen > 0 {
        extra.push(format!("{} circles did not happen", report.circles_did_not_happen));
    }
    if let Some(r) = t.average_rating {
        extra.push(format!("meetings rated {r:.1} of 5 on average by facilitators"));
    }
    doc.paragraph(&format!("{}.", extra.join("  ·  ")), 9.0, Weight::Regular, INK);
    doc.y += 6.0;

    let bars: Vec<(String, Option<u32>, bool)> = report
        .by_month
        .iter()
        .map(|m| {
            let label = NaiveDate::parse_from_str(&format!("{}-01", m.month), "%Y-%m-%d")
                .map(|d| if report.by_month.len() > 12 { d.format("%b %y").to_string() } else { d.format("%b").to_string() })
                .unwrap_or_else(|_| m.month.clone());
            (label, Some(m.figures.attendances), false)
        })
        .collect();
    doc.bar_chart("Attendances by month", &bars, None);

    let columns = [
        ("", 3.8, false),
        ("Circles", 0.8, true),
        ("Meetings", 0.9, true),
        ("Attendances", 1.1, true),
        ("Learners", 0.9, true),
        ("Rate", 0.65, true),
        ("Average", 0.85, true),
        ("Rating", 0.7, true),
    ];
    doc.heading("By month");
    let mut rows: Vec<Vec<String>> = report
        .by_month
        .iter()
        .map(|m| {
            let name = NaiveDate::parse_from_str(&format!("{}-01", m.month), "%Y-%m-%d")
                .map(|d| d.format("%B %Y").to_string())
                .unwrap_or_else(|_| m.month.clone());
            figure_row(name, &m.figures)
        })
        .collect();
    rows.push(figure_row("Whole period".into(), t));
    doc.table(&columns, &rows, true);

    doc.heading("By library or venue");
    let rows: Vec<Vec<String>> = report
        .by_venue
        .iter()
        .map(|v| figure_row(if v.city.is_empty() { v.venue.clone() } else { format!("{} ({})", v.venue, v.city) }, &v.figures))
        .collect();
    doc.table(&columns, &rows, false);

    doc.heading("Circles");
    let circle_columns = [
        ("", 2.6, false),
        ("Venue", 2.0, false),
        ("Meetings", 0.9, true),
        ("Attendances", 1.1, true),
        ("Learners", 0.9, true),
        ("Rate", 0.65, true),
        ("Average", 0.85, true),
        ("Rating", 0.7, true),
    ];
    let rows: Vec<Vec<String>> = report
        .circles
        .iter()
        .map(|c| {
            let name = match c.outcome {
                Some(crate::feedback::CircleOutcome::DidNotHappen) => format!("{} (did not happen)", c.name),
                _ => c.name.clone(),
            };
            let mut row = figure_row(name, &c.figures);
            row[1] = c.venue.clone();
            row
        })
        .collect();
    doc.table(&circle_columns, &rows, false);
    doc.paragraph(
        "Learners are counted once per group: a person is their e-mail address, else their sign-up. Circles run = \
         circles that held at least one meeting in the group. Average = attendances per meeting held; rating = the \
         facilitators' after-meeting rating, 1 to 5.",
        7.0,
        Weight::Regular,
        MUTED,
    );
    doc.y += 4.0;
    doc.paragraph(DEFINITIONS, 7.0, Weight::Regular, MUTED);
    doc.finish(&format!("Team report: {}", report.team.name))
}

// ---------------------------------------------------------------------------
// Run sheet
// ---------------------------------------------------------------------------

/// What a meeting's printed run sheet shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSheet {
    pub circle_name: String,
    pub course_title: Option<String>,
    /// "Online", or the venue name and its details.
    pub place: String,
    pub language: String,
    pub number: u32,
    pub of: u32,
    pub kind: Option<GuideKind>,
    pub local_date: NaiveDate,
    pub start_time: String,
    pub duration_minutes: u32,
    pub time_zone: String,
    pub sections: Vec<GuideSection>,
    pub timing_warning: Option<String>,
    pub note_from_last_meeting: Option<CarriedNote>,
    pub learners: u32,
}

impl Store {
    /// The run sheet of a meeting (its guide and what to know on the night).
    pub fn run_sheet(&self, meeting_id: &str) -> Result<RunSheet> {
        let guide = self.guide(meeting_id)?;
        let meeting = self.meeting(meeting_id)?;
        let circle = self.circle(&meeting.circle_id)?;
        let of = self.meetings(&circle.id)?.iter().filter(|m| !m.is_cancelled()).count() as u32;
        let course_title = match &circle.fields.course_id {
            Some(id) => Some(self.course(id)?.fields.title),
            None => None,
        };
        let v = &circle.fields.venue;
        let place = if circle.fields.online {
            format!("Online: {}", circle.fields.meeting_link)
        } else {
            [v.name.as_str(), v.details.as_str()].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(" · ")
        };
        Ok(RunSheet {
            circle_name: circle.fields.name.clone(),
            course_title,
            place,
            language: circle.fields.language.clone(),
            number: guide.number,
            of,
            kind: guide.kind,
            local_date: meeting.local_date,
            start_time: meeting.local_time.clone(),
            duration_minutes: circle.fields.duration_minutes,
            time_zone: circle.fields.time_zone.clone(),
            sections: guide.sections,
            timing_warning: guide.timing_warning,
            note_from_last_meeting: guide.note_from_last_meeting,
            learners: self.active_learner_count(&circle.id)? as u32,
        })
    }
}

/// Run sheet labels in the circle's language.
struct Labels {
    meeting: &'static str,
    of: &'static str,
    time: &'static str,
    section: &'static str,
    minutes: &'static str,
    notes: &'static str,
    from_last: &'static str,
    after: &'static str,
    learners: &'static str,
    weekdays: [&'static str; 7],
    months: [&'static str; 12],
}

const EN: Labels = Labels {
    meeting: "Meeting",
    of: "of",
    time: "Time",
    section: "Section",
    minutes: "Min",
    notes: "Facilitator notes",
    from_last: "Note from last meeting",
    after: "After the meeting: take attendance, rate how it went, and leave a note for next week.",
    learners: "learners signed up",
    weekdays: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    months: ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
};
const ES: Labels = Labels {
    meeting: "Reunión",
    of: "de",
    time: "Hora",
    section: "Sección",
    minutes: "Min",
    notes: "Notas para quien facilita",
    from_last: "Nota de la reunión anterior",
    after: "Después de la reunión: tome asistencia, califique cómo fue y deje una nota para la próxima semana.",
    learners: "participantes inscritos",
    weekdays: ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
    months: ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"],
};
const PT: Labels = Labels {
    meeting: "Reunião",
    of: "de",
    time: "Hora",
    section: "Secção",
    minutes: "Min",
    notes: "Notas para quem facilita",
    from_last: "Nota da reunião anterior",
    after: "Depois da reunião: registe as presenças, avalie como correu e deixe uma nota para a próxima semana.",
    learners: "participantes inscritos",
    weekdays: ["segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo"],
    months: ["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro", "novembro", "dezembro"],
};

fn labels(language: &str) -> &'static Labels {
    match language.split('-').next().unwrap_or_default() {
        "es" => &ES,
        "pt" => &PT,
        _ => &EN,
    }
}

/// A meeting's one-page run sheet: the sections with their clock times.
/// Long notes are set smaller to keep to one page; only a guide too long
/// even then runs onto a second page.
pub fn run_sheet_pdf(sheet: &RunSheet, options: &PdfOptions) -> Vec<u8> {
    for size in [9.5, 8.5, 7.5] {
        let (pdf, pages) = run_sheet_at(sheet, options, size);
        if pages == 1 || size == 7.5 {
            return pdf;
        }
    }
    unreachable!("the last size always returns")
}

fn run_sheet_at(sheet: &RunSheet, options: &PdfOptions, size: f32) -> (Vec<u8>, usize) {
    let l = labels(&sheet.language);
    let date = {
        let d = sheet.local_date;
        let weekday = l.weekdays[d.weekday().num_days_from_monday() as usize];
        let month = l.months[d.month0() as usize];
        match l.of {
            "of" => format!("{weekday} {} {month} {}", d.day(), d.year()),
            _ => format!("{weekday}, {} {} {month} {} {}", d.day(), l.of, l.of, d.year()),
        }
    };
    let start = NaiveTime::parse_from_str(&sheet.start_time, "%H:%M").unwrap_or_default();
    let clock = |minutes: u32| {
        let (t, _) = start.overflowing_add_signed(TimeDelta::minutes(i64::from(minutes)));
        t.format("%H:%M").to_string()
    };
    let mut doc = Doc::new(options, format!("{} · {}", sheet.circle_name, made_on(options)));
    let header = match sheet.of {
        0 => l.meeting.to_uppercase(),
        of => format!("{} {} {} {of}", l.meeting.to_uppercase(), sheet.number, l.of.to_uppercase()),
    };
    doc.text(doc.margin, doc.y + 9.0, 8.0, Weight::Bold, ACCENT, &header);
    doc.y += 14.0;
    doc.paragraph(&sheet.circle_name, 17.0, Weight::Bold, INK);
    doc.paragraph(
        &format!("{date}  ·  {}–{}  ({})", sheet.start_time, clock(sheet.duration_minutes), sheet.time_zone),
        10.5,
        Weight::Bold,
        INK,
    );
    let mut about = Vec::new();
    if let Some(course) = &sheet.course_title {
        about.push(course.clone());
    }
    if !sheet.place.is_empty() {
        about.push(sheet.place.clone());
    }
    about.push(format!("{} {}", sheet.learners, l.learners));
    doc.paragraph(&about.join("  ·  "), 8.5, Weight::Regular, MUTED);
    doc.y += 6.0;

    if let Some(warning) = &sheet.timing_warning {
        let lines = doc.wrap(warning, doc.content_width() - 20.0, 8.5, Weight::Regular);
        let h = lines.len() as f32 * 11.0 + 10.0;
        doc.fill_rect(doc.margin, doc.y, doc.content_width(), h, WARN_BG);
        doc.fill_rect(doc.margin, doc.y, 3.0, h, WARN);
        for (i, line) in lines.iter().enumerate() {
            doc.text(doc.margin + 10.0, doc.y + 14.0 + i as f32 * 11.0, 8.5, Weight::Regular, WARN, line);
        }
        doc.y += h + 8.0;
    }
    if let Some(note) = &sheet.note_from_last_meeting {
        let lines = doc.wrap(&note.text, doc.content_width() - 20.0, 9.0, Weight::Regular);
        let h = lines.len() as f32 * 12.0 + 24.0;
        doc.fill_rect(doc.margin, doc.y, doc.content_width(), h, SHADE);
        doc.fill_rect(doc.margin, doc.y, 3.0, h, ACCENT);
        let title = format!("{} ({})", l.from_last, note.local_date);
        doc.text(doc.margin + 10.0, doc.y + 13.0, 8.0, Weight::Bold, ACCENT, &title);
        for (i, line) in lines.iter().enumerate() {
            doc.text(doc.margin + 10.0, doc.y + 26.0 + i as f32 * 12.0, 9.0, Weight::Regular, INK, line);
        }
        doc.y += h + 10.0;
    }

    // The sections: time, title and minutes on the left, notes on the right.
    let (time_w, title_w, min_w) = (44.0, 150.0, 30.0);
    let notes_x = doc.margin + time_w + title_w + min_w;
    let notes_w = doc.width - doc.margin - notes_x;
    doc.ensure(30.0);
    doc.fill_rect(doc.margin, doc.y, doc.content_width(), 15.0, SHADE);
    doc.text(doc.margin + 4.0, doc.y + 10.5, 7.5, Weight::Bold, MUTED, l.time);
    doc.text(doc.margin + time_w, doc.y + 10.5, 7.5, Weight::Bold, MUTED, l.section);
    doc.text_right(notes_x - 8.0, doc.y + 10.5, 7.5, Weight::Bold, MUTED, l.minutes);
    doc.text(notes_x, doc.y + 10.5, 7.5, Weight::Bold, MUTED, l.notes);
    doc.y += 15.0;
    let leading = size * 1.32;
    let mut elapsed = 0;
    for section in &sheet.sections {
        let title_lines = doc.wrap(&section.title, title_w - 10.0, size + 0.5, Weight::Bold);
        let note_lines = doc.wrap(&section.notes, notes_w, size, Weight::Regular);
        let rows = title_lines.len().max(note_lines.len()).max(1) as f32;
        let h = rows * leading + 10.0;
        if doc.y + h > doc.bottom() {
            doc.new_page();
        }
        let top = doc.y + 5.0;
        doc.text(doc.margin + 4.0, top + size, size + 0.5, Weight::Bold, ACCENT, &clock(elapsed));
        for (i, line) in title_lines.iter().enumerate() {
            doc.text(doc.margin + time_w, top + size + i as f32 * leading, size + 0.5, Weight::Bold, INK, line);
        }
        doc.text_right(notes_x - 8.0, top + size, size, Weight::Regular, INK, &section.minutes.to_string());
        for (i, line) in note_lines.iter().enumerate() {
            doc.text(notes_x, top + size + i as f32 * leading, size, Weight::Regular, INK, line);
        }
        doc.y += h;
        doc.line(doc.margin, doc.y, doc.width - doc.margin, doc.y, 0.4, RULE);
        elapsed += section.minutes;
    }
    doc.text(doc.margin + 4.0, doc.y + 12.0, size + 0.5, Weight::Bold, MUTED, &clock(elapsed));
    doc.y += 22.0;
    doc.ensure(20.0);
    doc.paragraph(l.after, 8.0, Weight::Regular, MUTED);
    // Space to write in, if the page has room.
    let room = doc.bottom() - doc.y;
    if room > 60.0 && doc.pages.len() == 1 {
        let h = room.min(130.0) - 8.0;
        doc.stroke_rect(doc.margin, doc.y + 4.0, doc.content_width(), h, 0.5, RULE);
    }
    let pages = doc.pages.len();
    (doc.finish(&format!("Run sheet: {}", sheet.circle_name)), pages)
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
        };
        let a = run_sheet_pdf(&sheet, &PdfOptions::default());
        let b = run_sheet_pdf(&sheet, &PdfOptions::default());
        assert_eq!(a, b);
        assert!(a.starts_with(b"%PDF-"));
        assert!(a.ends_with(b"%%EOF") || a.ends_with(b"%%EOF\n"));
        assert!(a.len() < 120_000, "{} bytes", a.len());
    }
}
