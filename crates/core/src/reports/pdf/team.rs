//! The team report as a PDF (one or two pages a funder can read).

use super::*;

pub(super) fn figure_row(name: String, f: &Figures) -> Vec<String> {
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
    doc.paragraph(&format!("{} to {}", long_date(report.from), long_date(report.to)), 10.0, Weight::Regular, MUTED);
    doc.paragraph(&report.synced_line(), 9.0, Weight::Regular, MUTED);
    doc.paragraph(&report.laptops.line(), 9.0, Weight::Regular, MUTED);
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
                .map(|d| {
                    if report.by_month.len() > 12 {
                        d.format("%b %y").to_string()
                    } else {
                        d.format("%b").to_string()
                    }
                })
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
        .map(|v| {
            figure_row(
                if v.city.is_empty() { v.venue.clone() } else { format!("{} ({})", v.venue, v.city) },
                &v.figures,
            )
        })
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
                Some(crate::domain::wrap_up::CircleOutcome::DidNotHappen) => format!("{} (did not happen)", c.name),
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
