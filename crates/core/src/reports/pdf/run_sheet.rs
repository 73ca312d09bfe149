//! A meeting's one-page run sheet: tonight's plan to print and pin up.

use super::*;

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
    /// The meeting's sign-in sheet page, printed after the run sheet when
    /// asked for (`RunSheetOptions::include_sign_in`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_in: Option<SignInSheet>,
}

/// What a run sheet carries besides the guide.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSheetOptions {
    /// Append the meeting's sign-in sheet (sign_in.rs) after the run sheet.
    pub include_sign_in: bool,
}

impl Store {
    /// The run sheet of a meeting (its guide and what to know on the night).
    pub fn run_sheet(&self, meeting_id: &str) -> Result<RunSheet> {
        self.run_sheet_with(meeting_id, RunSheetOptions::default())
    }

    /// The run sheet of a meeting, with its sign-in sheet page if asked
    /// (refused, like the sheet itself, for a cancelled meeting).
    pub fn run_sheet_with(&self, meeting_id: &str, options: RunSheetOptions) -> Result<RunSheet> {
        let guide = self.guide(meeting_id)?;
        let meeting = self.meeting(meeting_id)?;
        let circle = self.circle(&meeting.circle_id)?;
        let of = self.meetings(&circle.id)?.iter().filter(|m| !m.is_cancelled()).count() as u32;
        let course_title = match &circle.fields.course_id {
            Some(id) => Some(self.course(id)?.fields.title),
            None => None,
        };
        let place = match (circle.fields.online, place_of(&circle)) {
            (true, link) if link.is_empty() => labels(&circle.fields.language).online.to_string(),
            (true, link) => format!("{}: {link}", labels(&circle.fields.language).online),
            (false, venue) => venue,
        };
        let sign_in = match options.include_sign_in {
            true => Some(self.sign_in_sheet(&circle.id, Some(meeting_id))?),
            false => None,
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
            sign_in,
        })
    }
}

/// Run sheet labels in the circle's language.
pub(super) struct Labels {
    pub(super) meeting: &'static str,
    pub(super) of: &'static str,
    pub(super) time: &'static str,
    pub(super) section: &'static str,
    pub(super) minutes: &'static str,
    pub(super) notes: &'static str,
    pub(super) from_last: &'static str,
    pub(super) after: &'static str,
    pub(super) learners: &'static str,
    pub(super) online: &'static str,
    pub(super) weekdays: [&'static str; 7],
    pub(super) months: [&'static str; 12],
}

pub(super) const EN: Labels = Labels {
    meeting: "Meeting",
    of: "of",
    time: "Time",
    section: "Section",
    minutes: "Min",
    notes: "Facilitator notes",
    from_last: "Note from last meeting",
    after: "After the meeting: take attendance, rate how it went, and leave a note for next week.",
    learners: "learners signed up",
    online: "Online",
    weekdays: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    months: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
};
pub(super) const ES: Labels = Labels {
    meeting: "Reunión",
    of: "de",
    time: "Hora",
    section: "Sección",
    minutes: "Min",
    notes: "Notas para quien facilita",
    from_last: "Nota de la reunión anterior",
    after: "Después de la reunión: tome asistencia, califique cómo fue y deje una nota para la próxima semana.",
    learners: "participantes inscritos",
    online: "En línea",
    weekdays: ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
    months: [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
};
pub(super) const PT: Labels = Labels {
    meeting: "Reunião",
    of: "de",
    time: "Hora",
    section: "Secção",
    minutes: "Min",
    notes: "Notas para quem facilita",
    from_last: "Nota da reunião anterior",
    after: "Depois da reunião: registe as presenças, avalie como correu e deixe uma nota para a próxima semana.",
    learners: "participantes inscritos",
    online: "Online",
    weekdays: ["segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo"],
    months: [
        "janeiro",
        "fevereiro",
        "março",
        "abril",
        "maio",
        "junho",
        "julho",
        "agosto",
        "setembro",
        "outubro",
        "novembro",
        "dezembro",
    ],
};

pub(super) fn labels(language: &str) -> &'static Labels {
    match language.split('-').next().unwrap_or_default() {
        "es" => &ES,
        "pt" => &PT,
        _ => &EN,
    }
}

/// A meeting's one-page run sheet: the sections with their clock times.
/// Long notes are set smaller to keep to one page; only a guide too long
/// even then runs onto a second page. The sign-in sheet, when the run sheet
/// carries one, follows on its own page.
pub fn run_sheet_pdf(sheet: &RunSheet, options: &PdfOptions) -> Vec<u8> {
    for size in [9.5, 8.5, 7.5] {
        let (pdf, pages) = run_sheet_at(sheet, options, size);
        if pages == 1 || size == 7.5 {
            return pdf;
        }
    }
    unreachable!("the last size always returns")
}

pub(super) fn run_sheet_at(sheet: &RunSheet, options: &PdfOptions, size: f32) -> (Vec<u8>, usize) {
    let l = labels(&sheet.language);
    let date = local_date_words(sheet.local_date, l);
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
    if let Some(sign_in) = &sheet.sign_in {
        doc.new_page();
        draw_sign_in(&mut doc, sign_in);
    }
    (doc.finish(&format!("Run sheet: {}", sheet.circle_name)), pages)
}
