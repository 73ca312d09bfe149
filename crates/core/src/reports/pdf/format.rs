//! Numbers, dates and periods as a PDF prints them.

use super::*;

pub(super) fn percent(v: Option<f64>) -> String {
    v.map(|v| format!("{:.0}%", v * 100.0)).unwrap_or_else(|| "–".into())
}

pub(super) fn decimal(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into())
}

pub(super) fn long_date(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

pub(super) fn made_on(options: &PdfOptions) -> String {
    match options.made_on {
        Some(d) => format!("Made with Circles on {} from the data on this computer.", long_date(d)),
        None => "Made with Circles from the data on this computer.".into(),
    }
}

pub(super) const DEFINITIONS: &str =
    "How the figures are counted: cancelled meetings are left out. A meeting was held if it is \
marked held or has attendance or a head count. Attended = present or late. Attendance rate = attended ÷ all marks \
(present, late, excused, absent); head counts are not in the rate. Average attendance = attendances ÷ meetings held, \
where a meeting's attendance is its attended marks, or its head count if nobody was marked. Withdrawn learners' past \
attendance counts. Dates are local to each circle.";
