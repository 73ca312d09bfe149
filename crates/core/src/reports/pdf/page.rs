//! The embedded fonts and a page builder that lays out text, tables and bars.

use super::*;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Weight {
    Regular,
    Bold,
}

pub(super) struct Font {
    pub(super) bytes: &'static [u8],
    pub(super) face: ttf_parser::Face<'static>,
    pub(super) units: f32,
    /// Glyphs used, with the character each stands for.
    pub(super) used: BTreeMap<u16, char>,
}

impl Font {
    pub(super) fn load(bytes: &'static [u8]) -> Font {
        let face = ttf_parser::Face::parse(bytes, 0).expect("the embedded font parses");
        let units = f32::from(face.units_per_em());
        Font { bytes, face, units, used: BTreeMap::new() }
    }

    pub(super) fn glyph(&self, c: char) -> u16 {
        let c = match c {
            '\t' => ' ',
            c => c,
        };
        self.face.glyph_index(c).or_else(|| self.face.glyph_index('?')).map_or(0, |g| g.0)
    }

    pub(super) fn advance(&self, glyph: u16) -> f32 {
        f32::from(self.face.glyph_hor_advance(ttf_parser::GlyphId(glyph)).unwrap_or(0)) / self.units
    }

    pub(super) fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(self.glyph(c))).sum::<f32>() * size
    }

    /// The text as 2-byte glyph ids, remembering which glyphs were used.
    pub(super) fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let g = self.glyph(c);
            self.used.entry(g).or_insert(if self.face.glyph_index(c).is_some() { c } else { '?' });
            out.extend_from_slice(&g.to_be_bytes());
        }
        out
    }
}

pub(super) type Rgb = (f32, f32, f32);
pub(super) const INK: Rgb = (0.11, 0.13, 0.17);
pub(super) const MUTED: Rgb = (0.38, 0.42, 0.48);
pub(super) const RULE: Rgb = (0.82, 0.85, 0.88);
pub(super) const SHADE: Rgb = (0.95, 0.96, 0.97);
pub(super) const ACCENT: Rgb = (0.12, 0.42, 0.55);
pub(super) const ACCENT_LIGHT: Rgb = (0.55, 0.75, 0.82);
pub(super) const WARN: Rgb = (0.72, 0.33, 0.05);
pub(super) const WARN_BG: Rgb = (1.0, 0.95, 0.88);

/// A document under construction: pages of content, positions measured
/// from the top-left corner in points.
pub(super) struct Doc {
    pub(super) width: f32,
    pub(super) height: f32,
    pub(super) margin: f32,
    pub(super) fonts: [Font; 2],
    pub(super) pages: Vec<Content>,
    /// The page being drawn on.
    pub(super) current: usize,
    /// Where the next block starts, from the top of the page.
    pub(super) y: f32,
    pub(super) footer_note: String,
}

impl Doc {
    pub(super) fn new(options: &PdfOptions, footer_note: String) -> Doc {
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

    pub(super) fn font(&self, weight: Weight) -> &Font {
        &self.fonts[weight as usize]
    }

    pub(super) fn content_width(&self) -> f32 {
        self.width - 2.0 * self.margin
    }

    /// The lowest y a block may reach before the footer.
    pub(super) fn bottom(&self) -> f32 {
        self.height - self.margin - 28.0
    }

    pub(super) fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.current = self.pages.len() - 1;
        self.y = self.margin;
    }

    /// Start a new page unless `space` points fit below the cursor.
    pub(super) fn ensure(&mut self, space: f32) {
        if self.y + space > self.bottom() {
            self.new_page();
        }
    }

    pub(super) fn page(&mut self) -> &mut Content {
        &mut self.pages[self.current]
    }

    pub(super) fn text(&mut self, x: f32, y: f32, size: f32, weight: Weight, color: Rgb, text: &str) {
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

    pub(super) fn text_right(&mut self, right: f32, y: f32, size: f32, weight: Weight, color: Rgb, text: &str) {
        let w = self.font(weight).width(text, size);
        self.text(right - w, y, size, weight, color, text);
    }

    pub(super) fn text_center(&mut self, center: f32, y: f32, size: f32, weight: Weight, color: Rgb, text: &str) {
        let w = self.font(weight).width(text, size);
        self.text(center - w / 2.0, y, size, weight, color, text);
    }

    pub(super) fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb) {
        let pdf_y = self.height - y - h;
        let page = self.page();
        page.set_fill_rgb(color.0, color.1, color.2);
        page.rect(x, pdf_y, w, h);
        page.fill_nonzero();
    }

    pub(super) fn stroke_rect(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32, color: Rgb) {
        let pdf_y = self.height - y - h;
        let page = self.page();
        page.set_stroke_rgb(color.0, color.1, color.2);
        page.set_line_width(width);
        page.rect(x, pdf_y, w, h);
        page.stroke();
    }

    pub(super) fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32, color: Rgb) {
        let (h, page) = (self.height, self.page());
        page.set_stroke_rgb(color.0, color.1, color.2);
        page.set_line_width(width);
        page.move_to(x1, h - y1);
        page.line_to(x2, h - y2);
        page.stroke();
    }

    pub(super) fn dot(&mut self, x: f32, y: f32, r: f32, color: Rgb) {
        self.fill_rect(x - r, y - r, 2.0 * r, 2.0 * r, color);
    }

    /// Break `text` into lines no wider than `width`; paragraphs (newlines)
    /// are kept, and a word too long for a line is cut.
    pub(super) fn wrap(&self, text: &str, width: f32, size: f32, weight: Weight) -> Vec<String> {
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
                    rest = rest.strip_prefix(cut.as_str()).unwrap_or_default().to_string();
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
    pub(super) fn paragraph(&mut self, text: &str, size: f32, weight: Weight, color: Rgb) {
        let lines = self.wrap(text, self.content_width(), size, weight);
        for line in lines {
            self.ensure(size * 1.4);
            let y = self.y + size;
            self.text(self.margin, y, size, weight, color, &line);
            self.y += size * 1.4;
        }
    }

    pub(super) fn heading(&mut self, text: &str) {
        self.ensure(60.0);
        self.y += 8.0;
        self.text(self.margin, self.y + 11.0, 11.0, Weight::Bold, INK, text);
        self.y += 18.0;
    }

    /// A row of figure tiles: (value, label).
    pub(super) fn tiles(&mut self, tiles: &[(String, String)]) {
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
    pub(super) fn bar_chart(&mut self, title: &str, bars: &[(String, Option<u32>, bool)], legend: Option<&str>) {
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
    pub(super) fn rating_chart(&mut self, title: &str, points: &[(String, Option<u8>)]) {
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
    pub(super) fn table(&mut self, columns: &[(&str, f32, bool)], rows: &[Vec<String>], bold_last: bool) {
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
    pub(super) fn finish(mut self, title: &str) -> Vec<u8> {
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
pub(super) fn reflow(text: &str) -> String {
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
pub(super) fn fit(font: &Font, text: &str, width: f32, size: f32) -> String {
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
pub(super) fn nice_ceiling(n: u32) -> u32 {
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

pub(super) fn format_number(v: f32) -> String {
    if (v - v.round()).abs() < 0.01 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

pub(super) fn write_pdf(doc: Doc, title: &str) -> Vec<u8> {
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
