//! Reports as CSV, for the spreadsheets funders ask for.

use super::*;

/// The header of a circle report's CSV; see [`write_circle_csv`].
pub const CIRCLE_CSV_HEADER: [&str; 16] = [
    "row",
    "meeting_number",
    "meeting_date",
    "weekday",
    "local_time",
    "status",
    "held",
    "present",
    "late",
    "excused",
    "absent",
    "attended",
    "head_count",
    "attendance",
    "attendance_rate",
    "rating",
];

/// The header of a team report's CSV; see [`write_team_csv`].
pub const TEAM_CSV_HEADER: [&str; 16] = [
    "group",
    "name",
    "circles_run",
    "meetings_held",
    "meetings_cancelled",
    "attendances",
    "head_count_attendances",
    "present",
    "late",
    "excused",
    "absent",
    "attendance_rate",
    "average_attendance",
    "unique_learners",
    "ratings",
    "average_rating",
];

/// A text cell that came from a person (a name typed here, or sent by any
/// laptop through the server), made safe to open in a spreadsheet: a cell
/// starting with `=`, `+`, `-`, `@`, a tab or a carriage return would be
/// read as a formula (`=HYPERLINK(...)` runs when clicked), so it gets a
/// leading `'`, which spreadsheets show as text (OWASP's advice for CSV
/// injection). Every CSV writer passes such cells through here.
///
/// Only text from people goes through it: the figures Circles writes itself
/// (counts, rates, dates, times it formatted) are never negative and must
/// stay numbers a spreadsheet can sum, so they are written as they are.
/// The price is that a name that really starts with `-` or `+` shows its
/// `'` in a plain text editor; spreadsheets hide it.
pub fn csv_text(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

pub(super) fn rate_text(r: Option<f64>) -> String {
    r.map(|r| format!("{r:.4}")).unwrap_or_default()
}

pub(super) fn average_text(r: Option<f64>) -> String {
    r.map(|r| format!("{r:.2}")).unwrap_or_default()
}

pub(super) fn opt_text<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

pub(super) fn csv_error(e: csv::Error) -> CoreError {
    CoreError::Export(e.to_string())
}

/// A circle report as CSV: one `meeting` row per meeting that is not
/// cancelled, one `cancelled` row per cancelled meeting (dates only), then a
/// `total` row. `held` is 1 or 0; `attendance` is attended marks, else the
/// head count, empty when the meeting was not held; `attendance_rate` is
/// attended ÷ marked (4 decimals); `rating` the after-meeting rating. The
/// summary figures (retention, at least half...) are in the JSON and PDF.
pub fn write_circle_csv(report: &CircleReport, out: impl Write) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CIRCLE_CSV_HEADER).map_err(csv_error)?;
    for m in &report.meetings {
        w.write_record([
            "meeting".to_string(),
            m.number.to_string(),
            m.local_date.to_string(),
            m.local_date.format("%A").to_string(),
            csv_text(&m.local_time).into_owned(),
            m.status.as_str().to_string(),
            u8::from(m.held).to_string(),
            m.marks.present.to_string(),
            m.marks.late.to_string(),
            m.marks.excused.to_string(),
            m.marks.absent.to_string(),
            m.marks.attended().to_string(),
            opt_text(m.head_count),
            opt_text(m.attendance),
            rate_text(m.marks.rate()),
            opt_text(m.rating),
        ])
        .map_err(csv_error)?;
    }
    for c in &report.cancelled {
        let date = c.local_date.to_string();
        let weekday = c.local_date.format("%A").to_string();
        let mut row = vec!["cancelled", "", &date, &weekday, "", "cancelled", "0"];
        row.resize(CIRCLE_CSV_HEADER.len(), "");
        w.write_record(row).map_err(csv_error)?;
    }
    let s = &report.summary;
    w.write_record([
        "total".to_string(),
        s.meetings_scheduled.to_string(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        s.meetings_held.to_string(),
        s.marks.present.to_string(),
        s.marks.late.to_string(),
        s.marks.excused.to_string(),
        s.marks.absent.to_string(),
        s.marks.attended().to_string(),
        s.head_count_attendances.to_string(),
        s.attendances.to_string(),
        rate_text(s.attendance_rate),
        average_text(s.average_rating),
    ])
    .map_err(csv_error)?;
    w.flush().map_err(|e| CoreError::Export(e.to_string()))?;
    Ok(())
}

/// A team report as CSV: a `total` row for the period, a `month` row per
/// month (name "2026-03"), a `venue` row per venue and a `circle` row per
/// circle. Rates have 4 decimals, averages 2; empty means "no data".
pub fn write_team_csv(report: &TeamReport, out: impl Write) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(TEAM_CSV_HEADER).map_err(csv_error)?;
    let mut row = |group: &str, name: &str, f: &Figures| {
        w.write_record([
            group.to_string(),
            csv_text(name).into_owned(),
            f.circles_run.to_string(),
            f.meetings_held.to_string(),
            f.meetings_cancelled.to_string(),
            f.attendances.to_string(),
            f.head_count_attendances.to_string(),
            f.marks.present.to_string(),
            f.marks.late.to_string(),
            f.marks.excused.to_string(),
            f.marks.absent.to_string(),
            rate_text(f.attendance_rate),
            average_text(f.average_attendance),
            f.unique_learners.to_string(),
            f.ratings.to_string(),
            average_text(f.average_rating),
        ])
        .map_err(csv_error)
    };
    row("total", &format!("{} to {}", report.from, report.to), &report.totals)?;
    for m in &report.by_month {
        row("month", &m.month, &m.figures)?;
    }
    for v in &report.by_venue {
        row("venue", &v.venue, &v.figures)?;
    }
    for c in &report.circles {
        row("circle", &c.name, &c.figures)?;
    }
    // Last, so the figure rows stay as they were: how fresh they are.
    let mut synced = vec!["synced_up_to".to_string(), report.synced_up_to.clone().unwrap_or_else(|| "never".into())];
    synced.resize(TEAM_CSV_HEADER.len(), String::new());
    w.write_record(&synced).map_err(csv_error)?;
    // Whose laptops had not synced lately (their attendance may be missing),
    // and when the server said so.
    let laptops = &report.laptops;
    let mut behind = match &laptops.checked_at {
        Some(when) => {
            vec![format!("laptops_not_synced_{}_days", laptops.stale_after_days), laptops.behind_text(), when.clone()]
        }
        None => vec![
            format!("laptops_not_synced_{}_days", laptops.stale_after_days),
            "not checked".into(),
            laptops.not_checked.clone().unwrap_or_default(),
        ],
    };
    behind.iter_mut().for_each(|cell| *cell = csv_text(cell).into_owned());
    behind.resize(TEAM_CSV_HEADER.len(), String::new());
    w.write_record(&behind).map_err(csv_error)?;
    w.flush().map_err(|e| CoreError::Export(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_a_spreadsheet_would_run_get_a_quote_and_others_stay() {
        for risky in ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "=HYPERLINK(\"http://x\",\"y\")"] {
            assert_eq!(csv_text(risky), format!("'{risky}"));
        }
        for plain in ["Ana Souza", "", "1-2", "a=b", "'quoted", " =1", "Zoë", "2026-03"] {
            assert!(matches!(csv_text(plain), std::borrow::Cow::Borrowed(p) if p == plain), "{plain}");
        }
    }
}
