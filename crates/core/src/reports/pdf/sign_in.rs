//! The printed sign-in sheet: one page per meeting with the enrolled
//! learners by name, a box each to sign, then blank rows for walk-ins.
//! Made offline from the store; the run sheet can carry its meeting's page.

use crate::domain::circle::Circle;
use crate::domain::meeting::Meeting;
use crate::error::{CoreError, Rule};

use super::*;

const ENTITY: &str = "sign-in sheet";

/// Blank rows for walk-ins at the least, even when the page is full.
pub const MIN_WALK_IN_ROWS: usize = 5;

/// What a circle's printed sign-in sheet shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignInSheet {
    pub circle_name: String,
    pub course_title: Option<String>,
    /// The venue name and its details, or the meeting link when online.
    pub place: String,
    pub online: bool,
    pub language: String,
    pub time_zone: String,
    pub duration_minutes: u32,
    /// Meetings that are not cancelled, in date order (or the one chosen).
    pub meetings: Vec<SignInMeeting>,
}

/// One meeting's page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignInMeeting {
    pub meeting_id: String,
    pub number: u32,
    pub of: u32,
    pub local_date: NaiveDate,
    /// "HH:MM" in the circle's zone.
    pub start_time: String,
    /// The enrolled learners by name.
    pub learners: Vec<SignInLine>,
}

/// A learner on the sheet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignInLine {
    pub name: String,
    /// What they answered when asked if they come: yes (true), no (false),
    /// or nothing.
    pub coming: Option<bool>,
}

impl Store {
    /// A circle's sign-in sheet: every meeting that is not cancelled, or the
    /// one `meeting_id` names (which must be one of this circle's meetings
    /// and not cancelled). The roster is the enrolled learners (not
    /// withdrawn, not waiting, not erased, not deleted), by name.
    pub fn sign_in_sheet(&self, circle_id: &str, meeting_id: Option<&str>) -> Result<SignInSheet> {
        let circle = self.circle(circle_id)?;
        let meetings = self.meetings(circle_id)?;
        let of = meetings.iter().filter(|m| !m.is_cancelled()).count() as u32;
        let chosen: Vec<&Meeting> = match meeting_id {
            None => {
                let live: Vec<&Meeting> = meetings.iter().filter(|m| !m.is_cancelled()).collect();
                if live.is_empty() {
                    return Err(CoreError::invalid(
                        ENTITY,
                        "circle_id",
                        Rule::State,
                        format!(
                            "\"{}\" has no meetings that are not cancelled, so there is no sign-in sheet to print",
                            circle.fields.name
                        ),
                    ));
                }
                live
            }
            Some(id) => vec![self.meeting_of(&circle, &meetings, id)?],
        };
        let course_title = match &circle.fields.course_id {
            Some(id) => Some(self.course(id)?.fields.title),
            None => None,
        };
        let roster: Vec<_> = self.learners(circle_id)?.into_iter().filter(|l| l.enrolled() && !l.erased).collect();
        let mut pages = Vec::with_capacity(chosen.len());
        for m in chosen {
            // Each learner's latest answer to this meeting's reminder.
            let answers: BTreeMap<String, bool> =
                self.meeting_rsvps(&m.id)?.into_iter().map(|r| (r.learner_id, r.answer == "yes")).collect();
            pages.push(SignInMeeting {
                meeting_id: m.id.clone(),
                number: m.number,
                of,
                local_date: m.local_date,
                start_time: m.local_time.clone(),
                learners: roster
                    .iter()
                    .map(|l| SignInLine { name: l.fields.name.clone(), coming: answers.get(&l.id).copied() })
                    .collect(),
            });
        }
        Ok(SignInSheet {
            circle_name: circle.fields.name.clone(),
            course_title,
            place: place_of(&circle),
            online: circle.fields.online,
            language: circle.fields.language.clone(),
            time_zone: circle.fields.time_zone.clone(),
            duration_minutes: circle.fields.duration_minutes,
            meetings: pages,
        })
    }

    /// The meeting `id` among `circle`'s `meetings`: unknown ids are not
    /// found, another circle's meeting and a cancelled one are refused.
    fn meeting_of<'m>(&self, circle: &Circle, meetings: &'m [Meeting], id: &str) -> Result<&'m Meeting> {
        let Some(meeting) = meetings.iter().find(|m| m.id == id) else {
            let other = self.meeting(id)?;
            return Err(CoreError::invalid(
                ENTITY,
                "meeting_id",
                Rule::Reference,
                format!(
                    "the meeting {id} on {} belongs to another circle, not to \"{}\"",
                    other.local_date, circle.fields.name
                ),
            ));
        };
        if meeting.is_cancelled() {
            return Err(CoreError::invalid(
                ENTITY,
                "meeting_id",
                Rule::State,
                format!(
                    "the meeting on {} is cancelled, so there is nobody to sign in; restore it first",
                    meeting.local_date
                ),
            ));
        }
        Ok(meeting)
    }
}

/// Where a circle meets, as its printed sheets say it: the venue name and
/// details, or the meeting link when online (the label comes with the language).
pub(super) fn place_of(circle: &Circle) -> String {
    if circle.fields.online {
        return circle.fields.meeting_link.clone();
    }
    let v = &circle.fields.venue;
    [v.name.as_str(), v.details.as_str()].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(" · ")
}

/// The sign-in sheet's words in the circle's language.
struct SignInLabels {
    title: &'static str,
    name: &'static str,
    said: &'static str,
    here: &'static str,
    signature: &'static str,
    coming: &'static str,
    not_coming: &'static str,
    walk_ins: &'static str,
    nobody: &'static str,
    tick: &'static str,
}

const SIGN_IN_EN: SignInLabels = SignInLabels {
    title: "Sign-in sheet",
    name: "Name",
    said: "Said",
    here: "Here",
    signature: "Signature",
    coming: "said they're coming",
    not_coming: "said they can't come",
    walk_ins: "Walk-ins: write your name and sign",
    nobody: "Nobody has signed up yet.",
    tick: "Tick the box when you arrive and sign beside your name.",
};
const SIGN_IN_ES: SignInLabels = SignInLabels {
    title: "Hoja de asistencia",
    name: "Nombre",
    said: "Respondió",
    here: "Aquí",
    signature: "Firma",
    coming: "dijo que viene",
    not_coming: "dijo que no puede venir",
    walk_ins: "Sin inscripción: escriba su nombre y firme",
    nobody: "Todavía no hay participantes inscritos.",
    tick: "Marque la casilla al llegar y firme junto a su nombre.",
};
const SIGN_IN_PT: SignInLabels = SignInLabels {
    title: "Folha de presenças",
    name: "Nome",
    said: "Respondeu",
    here: "Presente",
    signature: "Assinatura",
    coming: "disse que vem",
    not_coming: "disse que não pode vir",
    walk_ins: "Sem inscrição: escreva o seu nome e assine",
    nobody: "Ainda não há participantes inscritos.",
    tick: "Assinale a caixa ao chegar e assine ao lado do seu nome.",
};

fn sign_in_labels(language: &str) -> &'static SignInLabels {
    match language.split('-').next().unwrap_or_default() {
        "es" => &SIGN_IN_ES,
        "pt" => &SIGN_IN_PT,
        _ => &SIGN_IN_EN,
    }
}

/// A circle's sign-in sheet as a PDF: one page per meeting (a roster too
/// long for one page goes on under its header).
pub fn sign_in_sheet_pdf(sheet: &SignInSheet, options: &PdfOptions) -> Vec<u8> {
    let mut doc = Doc::new(options, format!("{} · {}", sheet.circle_name, made_on(options)));
    draw_sign_in(&mut doc, sheet);
    doc.finish(&format!("{}: {}", sign_in_labels(&sheet.language).title, sheet.circle_name))
}

/// Draws the sheet's pages on `doc`, each meeting from a new page (the
/// first on the page the cursor is on, when that page is still empty).
pub(super) fn draw_sign_in(doc: &mut Doc, sheet: &SignInSheet) {
    let l = sign_in_labels(&sheet.language);
    let run = labels(&sheet.language);
    for (i, meeting) in sheet.meetings.iter().enumerate() {
        if i > 0 || doc.y > doc.margin {
            doc.new_page();
        }
        draw_meeting(doc, sheet, meeting, l, run);
    }
}

fn draw_meeting(doc: &mut Doc, sheet: &SignInSheet, m: &SignInMeeting, l: &SignInLabels, run: &Labels) {
    let start = NaiveTime::parse_from_str(&m.start_time, "%H:%M").unwrap_or_default();
    let (end, _) = start.overflowing_add_signed(TimeDelta::minutes(i64::from(sheet.duration_minutes)));
    let header = match m.of {
        0 => l.title.to_uppercase(),
        of => format!(
            "{}  ·  {} {} {} {of}",
            l.title.to_uppercase(),
            run.meeting.to_uppercase(),
            m.number,
            run.of.to_uppercase()
        ),
    };
    let page_header = |doc: &mut Doc| {
        doc.text(doc.margin, doc.y + 9.0, 8.0, Weight::Bold, ACCENT, &header);
        doc.y += 14.0;
    };
    page_header(doc);
    doc.paragraph(&sheet.circle_name, 17.0, Weight::Bold, INK);
    doc.paragraph(
        &format!(
            "{}  ·  {}–{}  ({})",
            local_date_words(m.local_date, run),
            m.start_time,
            end.format("%H:%M"),
            sheet.time_zone
        ),
        10.5,
        Weight::Bold,
        INK,
    );
    let mut about = Vec::new();
    if let Some(course) = &sheet.course_title {
        about.push(course.clone());
    }
    match (sheet.online, sheet.place.is_empty()) {
        (true, true) => about.push(run.online.to_string()),
        (true, false) => about.push(format!("{}: {}", run.online, sheet.place)),
        (false, false) => about.push(sheet.place.clone()),
        (false, true) => {}
    }
    if !about.is_empty() {
        doc.paragraph(&about.join("  ·  "), 8.5, Weight::Regular, MUTED);
    }
    doc.paragraph(l.tick, 8.5, Weight::Regular, MUTED);
    doc.y += 6.0;

    // Columns: number, name, what they said, a box to tick, a signature.
    let row_h = 24.0;
    let size = 10.0;
    let (num_w, said_w, box_w) = (24.0, 120.0, 44.0);
    let name_x = doc.margin + num_w;
    let sign_x = doc.width - doc.margin - doc.content_width() * 0.3;
    let box_x = sign_x - box_w;
    let said_x = box_x - said_w;
    let name_w = said_x - name_x - 8.0;
    // "Said" heads a column only when someone on the page answered.
    let table_header = |doc: &mut Doc, said: bool| {
        doc.fill_rect(doc.margin, doc.y, doc.content_width(), 16.0, SHADE);
        let y = doc.y + 11.0;
        doc.text(doc.margin + 4.0, y, 7.5, Weight::Bold, MUTED, "#");
        doc.text(name_x, y, 7.5, Weight::Bold, MUTED, l.name);
        if said {
            doc.text(said_x, y, 7.5, Weight::Bold, MUTED, l.said);
        }
        doc.text_center(box_x + box_w / 2.0, y, 7.5, Weight::Bold, MUTED, l.here);
        doc.text(sign_x + 6.0, y, 7.5, Weight::Bold, MUTED, l.signature);
        doc.y += 16.0;
    };
    let any_said = m.learners.iter().any(|l| l.coming.is_some());
    let row = |doc: &mut Doc, n: usize, name: &str, said: Option<bool>| {
        if doc.y + row_h > doc.bottom() {
            doc.new_page();
            page_header(doc);
            table_header(doc, any_said && !name.is_empty());
        }
        let base = doc.y + row_h / 2.0 + size * 0.35;
        doc.text_right(name_x - 8.0, base, 8.0, Weight::Regular, MUTED, &n.to_string());
        if !name.is_empty() {
            let fitted = fit(doc.font(Weight::Regular), name, name_w, size);
            doc.text(name_x, base, size, Weight::Regular, INK, &fitted);
        }
        match said {
            Some(true) => {
                let t = fit(doc.font(Weight::Bold), l.coming, said_w - 6.0, 7.5);
                doc.text(said_x, base, 7.5, Weight::Bold, ACCENT, &t);
            }
            Some(false) => {
                let t = fit(doc.font(Weight::Regular), l.not_coming, said_w - 6.0, 7.5);
                doc.text(said_x, base, 7.5, Weight::Regular, MUTED, &t);
            }
            None => {}
        }
        let side = 12.0;
        doc.stroke_rect(box_x + (box_w - side) / 2.0, doc.y + (row_h - side) / 2.0, side, side, 0.8, INK);
        doc.y += row_h;
        doc.line(doc.margin, doc.y, doc.width - doc.margin, doc.y, 0.4, RULE);
    };

    table_header(doc, any_said);
    if m.learners.is_empty() {
        doc.text(name_x, doc.y + 14.0, 8.5, Weight::Regular, MUTED, l.nobody);
        doc.y += 20.0;
    }
    for (i, learner) in m.learners.iter().enumerate() {
        row(doc, i + 1, &learner.name, learner.coming);
    }
    // Walk-ins: blank rows to the foot of the page, at least a few.
    if doc.y + 20.0 + row_h * MIN_WALK_IN_ROWS as f32 > doc.bottom() && !m.learners.is_empty() {
        doc.new_page();
        page_header(doc);
    }
    doc.y += 8.0;
    doc.text(doc.margin, doc.y + 9.0, 9.0, Weight::Bold, INK, l.walk_ins);
    doc.y += 14.0;
    table_header(doc, false);
    let room = ((doc.bottom() - doc.y) / row_h).floor().max(0.0) as usize;
    let first = m.learners.len() + 1;
    for n in 0..room.max(MIN_WALK_IN_ROWS) {
        row(doc, first + n, "", None);
    }
}

/// "Tuesday 14 March 2026" in the labels' language.
pub(super) fn local_date_words(d: NaiveDate, l: &Labels) -> String {
    let weekday = l.weekdays[d.weekday().num_days_from_monday() as usize];
    let month = l.months[d.month0() as usize];
    match l.of {
        "of" => format!("{weekday} {} {month} {}", d.day(), d.year()),
        _ => format!("{weekday}, {} {} {month} {} {}", d.day(), l.of, l.of, d.year()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::meeting::MeetingStatus;
    use crate::schema::LEARNERS;
    use crate::store::rows::text;
    use crate::{CircleInput, LearnerInput, WeeklyRule};

    /// The pages of a PDF, counted from its page objects.
    pub(crate) fn page_count(pdf: &[u8]) -> usize {
        let s = String::from_utf8_lossy(pdf);
        s.matches("/Type /Page").count() - s.matches("/Type /Pages").count()
    }

    /// The PDF's page contents, inflated.
    fn contents(pdf: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = pdf;
        while let Some(start) = find(rest, b">>\nstream\n") {
            let body = &rest[start + 10..];
            let end = find(body, b"\nendstream").expect("every stream ends");
            if let Ok(bytes) = miniz_oxide::inflate::decompress_to_vec_zlib(&body[..end]) {
                let text = String::from_utf8_lossy(&bytes).to_string();
                if text.contains("BT") {
                    out.push(text);
                }
            }
            rest = &body[end..];
        }
        out
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    /// Boxes drawn (stroked rectangles) on each page.
    fn boxes(pdf: &[u8]) -> Vec<usize> {
        contents(pdf).iter().map(|c| c.matches("re\nS").count()).collect()
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        store: Store,
        circle: String,
        other: String,
        meetings: Vec<String>,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        let mut input = CircleInput::new("Escrita Criativa", "Europe/Lisbon", "18:30", 90);
        input.language = "pt".into();
        input.venue.name = "Biblioteca de Alcântara".into();
        let first = "2030-01-07".parse().unwrap();
        let circle = store.create_circle(&input, Some(&WeeklyRule { first_date: first, count: 4 })).unwrap();
        let other = store
            .create_circle(
                &CircleInput::new("Other", "America/Chicago", "10:00", 60),
                Some(&WeeklyRule { first_date: first, count: 1 }),
            )
            .unwrap();
        let meetings: Vec<String> = store.meetings(&circle).unwrap().into_iter().map(|m| m.id).collect();
        store.set_meeting_status(&meetings[1], MeetingStatus::Cancelled).unwrap();
        for name in ["Zé Gomes", "ana Lima", "Bruno Reis"] {
            store.add_learner(&circle, &LearnerInput::new(name)).unwrap();
        }
        let withdrawn = store.add_learner(&circle, &LearnerInput::new("Withdrawn Wanda")).unwrap();
        store.set_learner_withdrawn(&withdrawn, true).unwrap();
        let erased = store.add_learner(&circle, &LearnerInput::new("Erased Ernesto")).unwrap();
        store.erase_learner(&erased).unwrap();
        let deleted = store.add_learner(&circle, &LearnerInput::new("Deleted Dora")).unwrap();
        store.delete_learner(&deleted).unwrap();
        let waiting = store.add_learner(&circle, &LearnerInput::new("Waiting Wilma")).unwrap();
        store.write(|w| w.update(&LEARNERS, &waiting, &[("waitlisted_at", text("2029-12-01T10:00:00.000Z"))])).unwrap();
        store.add_learner(&other, &LearnerInput::new("Someone Else")).unwrap();
        Fixture { _dir: dir, store, circle, other, meetings }
    }

    #[test]
    fn one_page_per_meeting_not_cancelled_with_the_enrolled_learners_by_name() {
        let f = fixture();
        let sheet = f.store.sign_in_sheet(&f.circle, None).unwrap();
        let ids: Vec<&str> = sheet.meetings.iter().map(|m| m.meeting_id.as_str()).collect();
        assert_eq!(ids, [&f.meetings[0], &f.meetings[2], &f.meetings[3]], "the cancelled meeting is skipped");
        assert_eq!(sheet.meetings.iter().map(|m| (m.number, m.of)).collect::<Vec<_>>(), [(1, 3), (2, 3), (3, 3)]);
        let names: Vec<&str> = sheet.meetings[0].learners.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["ana Lima", "Bruno Reis", "Zé Gomes"], "enrolled only, by name");
        assert_eq!(sheet.meetings[0].start_time, "18:30");
        assert_eq!(sheet.place, "Biblioteca de Alcântara");

        let options = PdfOptions { paper: Paper::A4, made_on: NaiveDate::from_ymd_opt(2030, 1, 1) };
        let pdf = sign_in_sheet_pdf(&sheet, &options);
        assert!(pdf.starts_with(b"%PDF-"));
        assert_eq!(page_count(&pdf), 3);
        assert_eq!(pdf, sign_in_sheet_pdf(&sheet, &options), "the same sheet gives the same bytes");
        // A box per learner and the walk-in rows that fill the page.
        let per_page = boxes(&pdf);
        assert_eq!(per_page.len(), 3);
        assert!(per_page.iter().all(|&n| n >= 3 + MIN_WALK_IN_ROWS && n == per_page[0]), "{per_page:?}");
        assert!(per_page[0] > 20, "blank rows fill an A4 page: {per_page:?}");

        // One meeting alone: one page.
        let one = f.store.sign_in_sheet(&f.circle, Some(&f.meetings[2])).unwrap();
        assert_eq!(one.meetings.len(), 1);
        assert_eq!(one.meetings[0].number, 2);
        assert_eq!(page_count(&sign_in_sheet_pdf(&one, &PdfOptions::default())), 1);
    }

    #[test]
    fn what_learners_answered_to_the_reminder_is_beside_their_name() {
        let f = fixture();
        let learners = f.store.learners(&f.circle).unwrap();
        let id = |name: &str| learners.iter().find(|l| l.fields.name == name).unwrap().id.clone();
        let answer = |meeting: &str, learner: &str, answer: &str, at: &str| {
            f.store
                .conn
                .execute(
                    "INSERT OR REPLACE INTO meeting_rsvps (id, meeting_id, learner_id, answer, answered_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    [&crate::domain::messages::rsvp_id(meeting, learner), meeting, learner, answer, at],
                )
                .unwrap();
        };
        answer(&f.meetings[0], &id("Zé Gomes"), "yes", "2030-01-05T10:00:00.000Z");
        answer(&f.meetings[0], &id("ana Lima"), "no", "2030-01-05T11:00:00.000Z");
        answer(&f.meetings[2], &id("ana Lima"), "yes", "2030-01-05T11:00:00.000Z");
        let sheet = f.store.sign_in_sheet(&f.circle, None).unwrap();
        let said = |page: usize| sheet.meetings[page].learners.iter().map(|l| l.coming).collect::<Vec<_>>();
        assert_eq!(said(0), [Some(false), None, Some(true)], "ana Lima, Bruno Reis, Zé Gomes");
        assert_eq!(said(1), [Some(true), None, None], "answers are per meeting");
        let pdf = sign_in_sheet_pdf(&sheet, &PdfOptions::default());
        assert_eq!(page_count(&pdf), 3);
    }

    #[test]
    fn a_circle_with_nobody_signed_up_still_gets_rows_for_walk_ins() {
        let f = fixture();
        let sheet = f.store.sign_in_sheet(&f.other, None).unwrap();
        let mut empty = sheet.clone();
        empty.meetings[0].learners.clear();
        let pdf = sign_in_sheet_pdf(&empty, &PdfOptions::default());
        assert_eq!(page_count(&pdf), 1);
        assert!(boxes(&pdf)[0] >= MIN_WALK_IN_ROWS, "{:?}", boxes(&pdf));
        assert_eq!(sheet.place, "", "no venue");
    }

    #[test]
    fn a_long_roster_goes_on_under_its_header_and_still_gets_walk_in_rows() {
        let f = fixture();
        let mut sheet = f.store.sign_in_sheet(&f.circle, Some(&f.meetings[0])).unwrap();
        sheet.meetings[0].learners =
            (0..40).map(|i| SignInLine { name: format!("Learner {i:02}"), coming: None }).collect();
        let pdf = sign_in_sheet_pdf(&sheet, &PdfOptions::default());
        assert_eq!(page_count(&pdf), 2);
        let total: usize = boxes(&pdf).iter().sum();
        assert!(total >= 40 + MIN_WALK_IN_ROWS, "{total}");
    }

    #[test]
    fn the_run_sheet_can_carry_its_meetings_sign_in_page() {
        let f = fixture();
        let plain = f.store.run_sheet(&f.meetings[0]).unwrap();
        assert!(plain.sign_in.is_none());
        let with = f.store.run_sheet_with(&f.meetings[0], RunSheetOptions { include_sign_in: true }).unwrap();
        let sign_in = with.sign_in.as_ref().unwrap();
        assert_eq!(sign_in.meetings.len(), 1);
        assert_eq!(sign_in.meetings[0].meeting_id, f.meetings[0]);
        let pages = |s: &RunSheet| page_count(&run_sheet_pdf(s, &PdfOptions::default()));
        assert_eq!(pages(&with), pages(&plain) + 1);
        let cancelled = f.store.run_sheet_with(&f.meetings[1], RunSheetOptions { include_sign_in: true });
        assert!(matches!(cancelled, Err(CoreError::Invalid { rule: Rule::State, .. })), "{cancelled:?}");
    }

    #[test]
    fn bad_input_is_a_clear_error_and_writes_nothing() {
        let mut f = fixture();
        let waiting = f.store.pending_changes(10_000).unwrap().len();
        let err = f.store.sign_in_sheet("no-such-circle", None).unwrap_err();
        assert!(matches!(err, CoreError::NotFound { entity: "circle", .. }), "{err:?}");
        let err = f.store.sign_in_sheet(&f.circle, Some("no-such-meeting")).unwrap_err();
        assert!(matches!(err, CoreError::NotFound { entity: "meeting", .. }), "{err:?}");
        let theirs = f.store.meetings(&f.other).unwrap()[0].id.clone();
        let err = f.store.sign_in_sheet(&f.circle, Some(&theirs)).unwrap_err();
        assert!(matches!(&err, CoreError::Invalid { field: "meeting_id", rule: Rule::Reference, .. }), "{err:?}");
        assert!(err.to_string().contains("belongs to another circle"), "{err}");
        let err = f.store.sign_in_sheet(&f.circle, Some(&f.meetings[1])).unwrap_err();
        assert!(err.to_string().contains("is cancelled"), "{err}");
        f.store.set_meeting_status(&theirs, MeetingStatus::Cancelled).unwrap();
        let after_cancel = f.store.pending_changes(10_000).unwrap().len();
        let err = f.store.sign_in_sheet(&f.other, None).unwrap_err();
        assert!(err.to_string().contains("no meetings that are not cancelled"), "{err}");
        assert_eq!(f.store.pending_changes(10_000).unwrap().len(), after_cancel, "a refused sheet writes nothing");
        assert!(after_cancel > waiting);
    }

    #[test]
    fn headings_follow_the_circles_language() {
        assert_eq!(sign_in_labels("pt-BR").title, "Folha de presenças");
        assert_eq!(sign_in_labels("es").signature, "Firma");
        assert_eq!(sign_in_labels("fr").name, "Name");
        let l = labels("es");
        assert_eq!(local_date_words(NaiveDate::from_ymd_opt(2030, 1, 8).unwrap(), l), "martes, 8 de enero de 2030");
    }
}
