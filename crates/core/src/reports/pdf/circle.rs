//! The circle report as a PDF.

use super::*;

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
        (
            format!("{} of {}", s.meetings_held, s.meetings_scheduled),
            format!("Meetings held ({} cancelled)", s.meetings_cancelled),
        ),
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
        let points: Vec<(String, Option<u8>)> =
            report.meetings.iter().map(|m| (m.number.to_string(), m.rating)).collect();
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
            crate::domain::wrap_up::CircleOutcome::Completed => "Completed.".to_string(),
            crate::domain::wrap_up::CircleOutcome::DidNotHappen => "The circle did not happen.".to_string(),
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
