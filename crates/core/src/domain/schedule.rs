//! Weekly schedules and time zones.
//!
//! A circle meets weekly at a local wall-clock time (say 18:30) in an IANA
//! time zone. Meetings are stored as a *local* date and a *local* start time
//! in the circle's zone, and are turned into instants only when read. That is
//! deliberate: learners remember "Tuesdays at 6:30", so daylight-saving
//! changes must never move the meeting on the clock. Storing UTC instants
//! would shift every meeting after a transition by an hour, and would also go
//! wrong whenever a government changes its zone's rules after the meetings
//! were generated.
//!
//! Everything here is pure: no database, no clock. "Now" is always passed in,
//! which keeps the "today / next meeting" logic testable.
//!
//! Local times that do not exist or happen twice are mapped the way RFC 5545
//! (iCalendar) does, so that exported calendars agree with the app:
//! * a time in a spring-forward gap is read with the offset in force *before*
//!   the gap, which moves it forward by the size of the gap (02:30 -> 03:30);
//! * a time in a fall-back overlap is the *earlier* of its two instants.
//!
//! Note: chrono-tz ships transitions up to the end of 2099, so for dates in
//! 2100 every zone is treated as being on its standard offset.

use chrono::{
    DateTime, Datelike, Days, FixedOffset, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

/// Fewest meetings a weekly rule may generate.
pub const MIN_MEETINGS: u32 = 1;
/// Most meetings a weekly rule may generate: a year of weekly meetings.
pub const MAX_MEETINGS: u32 = 52;
/// Shortest meeting, in minutes.
pub const MIN_DURATION_MINUTES: u32 = 1;
/// Longest meeting, in minutes (12 hours): anything longer is a typo, and the
/// bound keeps instant arithmetic far from overflow.
pub const MAX_DURATION_MINUTES: u32 = 720;
/// First year a meeting date may fall in.
pub const FIRST_YEAR: i32 = 2000;
/// Last year a meeting date may fall in. Time-zone data only reaches 2099
/// (see the module docs), and no real circle is planned further ahead.
pub const LAST_YEAR: i32 = 2100;

/// Why a schedule input was rejected. Every message names the bad input and
/// says what would be accepted, because these reach facilitators verbatim.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScheduleError {
    #[error("unknown time zone {0:?}: use an IANA name such as America/Chicago")]
    UnknownTimeZone(String),
    #[error("a schedule has {MIN_MEETINGS} to {MAX_MEETINGS} meetings, not {0}")]
    MeetingCountOutOfRange(u32),
    #[error("a meeting lasts {MIN_DURATION_MINUTES} to {MAX_DURATION_MINUTES} minutes, not {0}")]
    DurationOutOfRange(u32),
    #[error("invalid time {0:?}: expected a 24-hour time as HH:MM, such as 18:30")]
    InvalidTime(String),
    #[error("invalid date {0:?}: expected a calendar date as YYYY-MM-DD, such as 2026-03-08")]
    InvalidDate(String),
    #[error(
        "unknown weekday {0:?}: use a name such as monday or mon, \
         or a number from 1 (Monday) to 7 (Sunday)"
    )]
    InvalidWeekday(String),
    #[error("date {0} is outside the supported years {FIRST_YEAR} to {LAST_YEAR}")]
    DateOutOfRange(NaiveDate),
}

// ---------------------------------------------------------------------------
// Parsing and validation
// ---------------------------------------------------------------------------

/// Parse an IANA zone name such as `America/Chicago`.
///
/// The exact (case-sensitive) IANA spelling is tried first; failing that, a
/// case-insensitive match is accepted as a convenience for typed input
/// (`america/chicago`). IANA names never differ only by case, so that match
/// is unambiguous. Surrounding whitespace is ignored.
pub fn parse_time_zone(name: &str) -> Result<Tz, ScheduleError> {
    let text = name.trim();
    if let Ok(tz) = text.parse::<Tz>() {
        return Ok(tz);
    }
    chrono_tz::TZ_VARIANTS
        .iter()
        .copied()
        .find(|tz| tz.name().eq_ignore_ascii_case(text))
        .ok_or_else(|| ScheduleError::UnknownTimeZone(name.to_owned()))
}

/// Parse a 24-hour local time written `HH:MM` (a single-digit hour such as
/// `9:05` is also accepted). Seconds are not: meetings are planned to the
/// minute, and a stray `:00` more likely means a different format was pasted.
pub fn parse_local_time(s: &str) -> Result<NaiveTime, ScheduleError> {
    let bad = || ScheduleError::InvalidTime(s.to_owned());
    let (hour, minute) = s.trim().split_once(':').ok_or_else(bad)?;
    if !(1..=2).contains(&hour.len()) || minute.len() != 2 {
        return Err(bad());
    }
    let hour = parse_digits(hour).ok_or_else(bad)?;
    let minute = parse_digits(minute).ok_or_else(bad)?;
    NaiveTime::from_hms_opt(hour, minute, 0).ok_or_else(bad)
}

/// Parse a date written `YYYY-MM-DD` and check it is within
/// [`FIRST_YEAR`]..=[`LAST_YEAR`].
///
/// The shape is checked by hand because chrono's `%Y-%m-%d` also accepts
/// forms such as `2026-3-8` or `+2026-03-08`, which are not what the UI and
/// the CSV exports produce.
pub fn parse_date(s: &str) -> Result<NaiveDate, ScheduleError> {
    let bad = || ScheduleError::InvalidDate(s.to_owned());
    let text = s.trim();
    let mut parts = text.split('-');
    let (Some(year), Some(month), Some(day), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return Err(bad());
    }
    let year = parse_digits(year).ok_or_else(bad)?;
    let month = parse_digits(month).ok_or_else(bad)?;
    let day = parse_digits(day).ok_or_else(bad)?;
    let year = i32::try_from(year).map_err(|_| bad())?;
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(bad)?;
    validate_date(date)
}

/// Parse a weekday: an English name or its three-letter abbreviation in any
/// case (`monday`, `Mon`), or an ISO 8601 number, 1 = Monday .. 7 = Sunday.
pub fn parse_weekday(s: &str) -> Result<Weekday, ScheduleError> {
    let text = s.trim();
    let iso_number = parse_digits(text).filter(|_| text.len() == 1);
    let weekday = match iso_number {
        Some(n @ 1..=7) => Weekday::try_from((n - 1) as u8).ok(),
        Some(_) => None,
        None => text.parse::<Weekday>().ok(),
    };
    weekday.ok_or_else(|| ScheduleError::InvalidWeekday(s.to_owned()))
}

/// Check that a date lies within [`FIRST_YEAR`]..=[`LAST_YEAR`].
pub fn validate_date(date: NaiveDate) -> Result<NaiveDate, ScheduleError> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&date.year()) {
        Ok(date)
    } else {
        Err(ScheduleError::DateOutOfRange(date))
    }
}

/// Check that a meeting duration is within
/// [`MIN_DURATION_MINUTES`]..=[`MAX_DURATION_MINUTES`].
pub fn validate_duration(minutes: u32) -> Result<u32, ScheduleError> {
    if (MIN_DURATION_MINUTES..=MAX_DURATION_MINUTES).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(ScheduleError::DurationOutOfRange(minutes))
    }
}

/// Check that a weekly rule's meeting count is within
/// [`MIN_MEETINGS`]..=[`MAX_MEETINGS`].
pub fn validate_count(count: u32) -> Result<u32, ScheduleError> {
    if (MIN_MEETINGS..=MAX_MEETINGS).contains(&count) {
        Ok(count)
    } else {
        Err(ScheduleError::MeetingCountOutOfRange(count))
    }
}

/// A non-empty run of ASCII digits as a number. `str::parse` alone would also
/// accept a leading `+`, which none of our formats allow.
fn parse_digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

// ---------------------------------------------------------------------------
// Weekly rules
// ---------------------------------------------------------------------------

/// How a circle's meetings are first generated. After generation each meeting
/// is edited on its own, so the rule is only a starting point.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WeeklyRule {
    /// The first meeting's local date; its weekday is the meeting day.
    pub first_date: NaiveDate,
    /// How many meetings, [`MIN_MEETINGS`]..=[`MAX_MEETINGS`].
    pub count: u32,
}

/// The local dates of a weekly rule: `first_date`, a week later, and so on,
/// `count` dates in all.
///
/// Dates, not instants, are generated: stepping by 7 *calendar* days keeps the
/// weekday and, combined with a local time, the clock time across DST changes.
/// Every date (the last one included) must be within the supported years.
pub fn weekly_dates(rule: &WeeklyRule) -> Result<Vec<NaiveDate>, ScheduleError> {
    let count = u64::from(validate_count(rule.count)?);
    let first = validate_date(rule.first_date)?;
    // `first` is within the supported years, so adding at most 51 weeks stays
    // far inside chrono's range: `+` cannot panic here, only the year check
    // on the last date can fail.
    let week = |n: u64| first + Days::new(7 * n);
    validate_date(week(count - 1))?;
    Ok((0..count).map(week).collect())
}

/// The first date on or after `from` that falls on `weekday` (`from` itself if
/// it already does). Useful to turn "Tuesdays, starting the week of ..." into
/// a [`WeeklyRule::first_date`].
///
/// # Panics
/// Only if the answer is past chrono's last representable date (year
/// 262 143); dates from [`parse_date`] are nowhere near it.
pub fn first_on_or_after(from: NaiveDate, weekday: Weekday) -> NaiveDate {
    let days_ahead = weekday.days_since(from.weekday());
    from.checked_add_days(Days::new(u64::from(days_ahead)))
        .expect("a date from parse_date is far from chrono's upper limit")
}

// ---------------------------------------------------------------------------
// Local time -> instant
// ---------------------------------------------------------------------------

/// How a local wall-clock time was mapped to an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum LocalTimeResolution {
    /// The local time exists exactly once.
    Exact,
    /// The local time does not exist (spring-forward gap): the meeting starts
    /// at the instant the pre-transition offset gives, i.e. shifted forward by
    /// the gap (02:30 -> 03:30). (RFC 5545 rule.)
    ShiftedForwardOverGap,
    /// The local time happens twice (fall-back): the earlier of the two
    /// instants is used. (RFC 5545 rule.)
    AmbiguousEarlierChosen,
}

/// A meeting's local start mapped to instants.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ResolvedStart {
    pub starts_at: DateTime<Utc>,
    /// Always `starts_at` plus the duration: a meeting lasts as long as
    /// planned even if a transition happens during it.
    pub ends_at: DateTime<Utc>,
    pub resolution: LocalTimeResolution,
    /// The start as shown on a clock in the zone at `starts_at`. Differs from
    /// the stored local time only for [`LocalTimeResolution::ShiftedForwardOverGap`].
    pub local_start: NaiveDateTime,
}

/// Map a local date + time + duration in a zone to UTC instants, with the
/// DST answers of [`LocalTimeResolution`].
///
/// Infallible on purpose: it runs on every read of stored, already validated
/// meetings, and must give an answer even if the zone's rules changed since.
/// For dates at the very ends of chrono's range (hundreds of thousands of
/// years away) the result saturates instead of panicking.
pub fn resolve_local(date: NaiveDate, time: NaiveTime, duration_minutes: u32, tz: Tz) -> ResolvedStart {
    let (starts_at, resolution) = local_to_utc(date.and_time(time), tz);
    let ends_at = starts_at
        .checked_add_signed(TimeDelta::minutes(i64::from(duration_minutes)))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    ResolvedStart { starts_at, ends_at, resolution, local_start: clock_at(starts_at, tz) }
}

/// The instant a local time stands for, and how it was chosen.
fn local_to_utc(local: NaiveDateTime, tz: Tz) -> (DateTime<Utc>, LocalTimeResolution) {
    match tz.from_local_datetime(&local) {
        MappedLocalTime::Single(at) => (at.to_utc(), LocalTimeResolution::Exact),
        // chrono documents (earliest, latest), but `min` does not depend on it.
        MappedLocalTime::Ambiguous(a, b) => (a.min(b).to_utc(), LocalTimeResolution::AmbiguousEarlierChosen),
        MappedLocalTime::None => (across_gap(local, tz), LocalTimeResolution::ShiftedForwardOverGap),
    }
}

/// RFC 5545 §3.3.5: a local time inside a gap "is interpreted using the UTC
/// offset before the gap".
///
/// The pre-gap offset is the one in force 24 hours before `local` read as if
/// it were UTC: the transition lies within 14 hours (the largest UTC offset)
/// of that reading, so the probe falls before it, and no zone changes its
/// offset twice in a day and a half. This also covers whole skipped days,
/// such as Samoa's 2011-12-30.
fn across_gap(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    let probe = local.checked_sub_days(Days::new(1)).unwrap_or(local);
    let before = tz.offset_from_utc_datetime(&probe).fix();
    local.checked_sub_offset(before).unwrap_or(local).and_utc()
}

/// The wall-clock reading in `tz` at `instant`.
///
/// Unlike `DateTime::naive_local`, this cannot panic at the end of chrono's
/// range; it falls back to the UTC reading there.
fn clock_at(instant: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
    let utc = instant.naive_utc();
    let offset: FixedOffset = tz.offset_from_utc_datetime(&utc).fix();
    utc.checked_add_offset(offset).unwrap_or(utc)
}

// ---------------------------------------------------------------------------
// Today and next
// ---------------------------------------------------------------------------

/// A meeting as the "today / next" logic sees it. `Id` is whatever the
/// caller uses to find the meeting again (a row id, a UUID, a reference).
#[derive(Debug, Clone, PartialEq)]
pub struct MeetingSlot<Id> {
    pub id: Id,
    /// Local date in the circle's zone.
    pub date: NaiveDate,
    /// Local start time in the circle's zone.
    pub time: NaiveTime,
    pub duration_minutes: u32,
    pub cancelled: bool,
}

impl<Id> MeetingSlot<Id> {
    /// This meeting's instants in the circle's zone; see [`resolve_local`].
    pub fn resolve(&self, tz: Tz) -> ResolvedStart {
        resolve_local(self.date, self.time, self.duration_minutes, tz)
    }
}

/// "Today" in `tz` at instant `now`: the date on a wall calendar there, which
/// is what a facilitator means by today (at 2026-12-08T03:00Z it is still
/// Dec 7 in Los Angeles).
pub fn local_today(now: DateTime<Utc>, tz: Tz) -> NaiveDate {
    clock_at(now, tz).date()
}

/// The meeting on the local date of `now` in the circle's zone, if any.
///
/// Cancelled meetings are skipped. Today's meeting stays "today's" after it
/// has ended (the facilitator still takes attendance and writes feedback).
/// If two meetings share the date, the one starting earlier on the clock is
/// returned; among equal times, the first in `slots`.
pub fn meeting_today<Id>(slots: &[MeetingSlot<Id>], now: DateTime<Utc>, tz: Tz) -> Option<&MeetingSlot<Id>> {
    let today = local_today(now, tz);
    slots.iter().filter(|slot| !slot.cancelled && slot.date == today).min_by_key(|slot| slot.time)
}

/// When a circle ends: the end of its last meeting that was not cancelled
/// (in the circle's zone, by [`resolve_local`]); when every meeting was
/// cancelled, the end of its last date. None for a circle with no dates,
/// which has not ended. The one rule of "when does a circle end": the
/// public pages hide a circle from then, and a team's retention period
/// counts from it.
pub fn circle_end<Id>(slots: &[MeetingSlot<Id>], tz: Tz) -> Option<DateTime<Utc>> {
    let held = slots.iter().filter(|slot| !slot.cancelled).map(|slot| slot.resolve(tz).ends_at).max();
    held.or_else(|| slots.iter().map(|slot| slot.resolve(tz).ends_at).max())
}

/// Whether a circle has ended at `now` (see [`circle_end`]).
pub fn circle_ended<Id>(slots: &[MeetingSlot<Id>], now: DateTime<Utc>, tz: Tz) -> bool {
    circle_end(slots, tz).is_some_and(|end| end <= now)
}

/// The next meeting that has not yet ended at `now`: a meeting in progress
/// counts as next, so the app keeps showing it until it is over.
///
/// Cancelled meetings are skipped. `slots` need not be sorted; the earliest
/// start instant wins, and among equal starts the first in `slots`.
pub fn next_meeting<Id>(slots: &[MeetingSlot<Id>], now: DateTime<Utc>, tz: Tz) -> Option<&MeetingSlot<Id>> {
    slots
        .iter()
        .filter(|slot| !slot.cancelled)
        .map(|slot| (slot, slot.resolve(tz)))
        .filter(|(_, resolved)| resolved.ends_at > now)
        .min_by_key(|(_, resolved)| resolved.starts_at)
        .map(|(slot, _)| slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).expect("valid test time")
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        date(y, mo, d).and_time(hm(h, mi)).and_utc()
    }

    fn zone(name: &str) -> Tz {
        parse_time_zone(name).expect("known test zone")
    }

    /// UTC offset, in hours, of the zone's clock at `instant`.
    fn offset_hours(instant: DateTime<Utc>, tz: Tz) -> f64 {
        let offset = tz.offset_from_utc_datetime(&instant.naive_utc()).fix();
        f64::from(offset.local_minus_utc()) / 3600.0
    }

    /// Resolve a weekly series at `time` and return (local start, offset) pairs.
    fn series(first: NaiveDate, count: u32, time: NaiveTime, tz: Tz) -> Vec<(NaiveDateTime, f64)> {
        let rule = WeeklyRule { first_date: first, count };
        weekly_dates(&rule)
            .expect("valid rule")
            .into_iter()
            .map(|d| {
                let r = resolve_local(d, time, 90, tz);
                (r.local_start, offset_hours(r.starts_at, tz))
            })
            .collect()
    }

    fn slot(id: u32, date: NaiveDate, time: NaiveTime, minutes: u32) -> MeetingSlot<u32> {
        MeetingSlot { id, date, time, duration_minutes: minutes, cancelled: false }
    }

    #[test]
    fn a_circle_ends_with_its_last_meeting_not_cancelled_in_its_zone() {
        let tz = zone("America/Chicago");
        let mut slots = vec![slot(1, date(2026, 3, 1), hm(18, 30), 90), slot(2, date(2026, 3, 15), hm(18, 30), 90)];
        slots.push(MeetingSlot { cancelled: true, ..slot(3, date(2026, 3, 22), hm(18, 30), 90) });
        // 2026-03-15 18:30 CDT (UTC-5) + 90 minutes; the cancelled 22nd does not count.
        assert_eq!(circle_end(&slots, tz), Some(utc(2026, 3, 16, 1, 0)));
        assert!(!circle_ended(&slots, utc(2026, 3, 16, 0, 59), tz));
        assert!(circle_ended(&slots, utc(2026, 3, 16, 1, 0), tz));
        // Every meeting cancelled: it ends with its last date; no dates: never.
        let cancelled: Vec<_> = slots.iter().map(|s| MeetingSlot { cancelled: true, ..s.clone() }).collect();
        assert_eq!(circle_end(&cancelled, tz), Some(utc(2026, 3, 23, 1, 0)));
        assert_eq!(circle_end::<u32>(&[], tz), None);
        assert!(!circle_ended::<u32>(&[], utc(2100, 1, 1, 0, 0), tz));
    }

    // --- DST behaviour ------------------------------------------------------

    #[test]
    fn chicago_circle_stays_at_1830_across_march_change() {
        let tz = zone("America/Chicago");
        // Sundays 2026-03-01 .. 03-15; DST starts 2026-03-08 at 02:00.
        let got = series(date(2026, 3, 1), 3, hm(18, 30), tz);
        let offsets: Vec<f64> = got.iter().map(|(_, o)| *o).collect();
        assert_eq!(offsets, vec![-6.0, -5.0, -5.0]);
        for (local, _) in &got {
            assert_eq!(local.time(), hm(18, 30));
        }
        let on_change_day = resolve_local(date(2026, 3, 8), hm(18, 30), 90, tz);
        assert_eq!(on_change_day.resolution, LocalTimeResolution::Exact);
        assert_eq!(on_change_day.starts_at, utc(2026, 3, 8, 23, 30));
    }

    #[test]
    fn chicago_circle_stays_at_1830_across_november_change() {
        let tz = zone("America/Chicago");
        // Sundays 2026-10-25 .. 11-08; DST ends 2026-11-01 at 02:00.
        let got = series(date(2026, 10, 25), 3, hm(18, 30), tz);
        let offsets: Vec<f64> = got.iter().map(|(_, o)| *o).collect();
        assert_eq!(offsets, vec![-5.0, -6.0, -6.0]);
        for (local, _) in &got {
            assert_eq!(local.time(), hm(18, 30));
        }
        let on_change_day = resolve_local(date(2026, 11, 1), hm(18, 30), 90, tz);
        assert_eq!(on_change_day.starts_at, utc(2026, 11, 2, 0, 30));
        assert_eq!(on_change_day.ends_at, utc(2026, 11, 2, 2, 0));
    }

    #[test]
    fn lisbon_changes_on_last_sundays_of_march_and_october() {
        let tz = zone("Europe/Lisbon");
        let spring = series(date(2026, 3, 22), 3, hm(18, 30), tz);
        assert_eq!(spring.iter().map(|(_, o)| *o).collect::<Vec<_>>(), vec![0.0, 1.0, 1.0]);
        let autumn = series(date(2026, 10, 18), 3, hm(18, 30), tz);
        assert_eq!(autumn.iter().map(|(_, o)| *o).collect::<Vec<_>>(), vec![1.0, 0.0, 0.0]);
        for (local, _) in spring.iter().chain(&autumn) {
            assert_eq!(local.time(), hm(18, 30));
        }

        // 01:00 -> 02:00 on 2026-03-29: 01:30 does not exist.
        let gap = resolve_local(date(2026, 3, 29), hm(1, 30), 60, tz);
        assert_eq!(gap.resolution, LocalTimeResolution::ShiftedForwardOverGap);
        assert_eq!(gap.starts_at, utc(2026, 3, 29, 1, 30));
        assert_eq!(gap.local_start, date(2026, 3, 29).and_time(hm(2, 30)));

        // 02:00 -> 01:00 on 2026-10-25: 01:30 happens twice.
        let fold = resolve_local(date(2026, 10, 25), hm(1, 30), 60, tz);
        assert_eq!(fold.resolution, LocalTimeResolution::AmbiguousEarlierChosen);
        assert_eq!(fold.starts_at, utc(2026, 10, 25, 0, 30));
    }

    #[test]
    fn new_york_gap_shifts_forward_by_an_hour() {
        let tz = zone("America/New_York");
        let r = resolve_local(date(2026, 3, 8), hm(2, 30), 60, tz);
        assert_eq!(r.resolution, LocalTimeResolution::ShiftedForwardOverGap);
        // 02:30 read with EST (-5) = 07:30Z = 03:30 EDT.
        assert_eq!(r.starts_at, utc(2026, 3, 8, 7, 30));
        assert_eq!(r.local_start, date(2026, 3, 8).and_time(hm(3, 30)));
        assert_eq!(offset_hours(r.starts_at, tz), -4.0);
        assert_eq!(r.ends_at, utc(2026, 3, 8, 8, 30));
    }

    #[test]
    fn new_york_fold_takes_the_earlier_edt_instant() {
        let tz = zone("America/New_York");
        let r = resolve_local(date(2026, 11, 1), hm(1, 30), 60, tz);
        assert_eq!(r.resolution, LocalTimeResolution::AmbiguousEarlierChosen);
        // 01:30 EDT (-4) = 05:30Z; the later reading would be 06:30Z (EST).
        assert_eq!(r.starts_at, utc(2026, 11, 1, 5, 30));
        assert_eq!(r.local_start, date(2026, 11, 1).and_time(hm(1, 30)));
        assert_eq!(offset_hours(r.starts_at, tz), -4.0);
    }

    #[test]
    fn lord_howe_half_hour_gap_and_fold() {
        let tz = zone("Australia/Lord_Howe");
        // 2026-10-04 02:00 +10:30 -> 02:30 +11:00: 02:15 does not exist.
        let gap = resolve_local(date(2026, 10, 4), hm(2, 15), 60, tz);
        assert_eq!(gap.resolution, LocalTimeResolution::ShiftedForwardOverGap);
        assert_eq!(gap.starts_at, utc(2026, 10, 3, 15, 45));
        assert_eq!(gap.local_start, date(2026, 10, 4).and_time(hm(2, 45)));
        // 2026-04-05 02:00 +11:00 -> 01:30 +10:30: 01:45 happens twice.
        let fold = resolve_local(date(2026, 4, 5), hm(1, 45), 60, tz);
        assert_eq!(fold.resolution, LocalTimeResolution::AmbiguousEarlierChosen);
        assert_eq!(fold.starts_at, utc(2026, 4, 4, 14, 45));
    }

    #[test]
    fn samoa_skipped_day_moves_a_whole_day_forward() {
        // Samoa jumped from -10 to +14 and skipped 2011-12-30 entirely.
        let tz = zone("Pacific/Apia");
        let r = resolve_local(date(2011, 12, 30), hm(18, 30), 60, tz);
        assert_eq!(r.resolution, LocalTimeResolution::ShiftedForwardOverGap);
        assert_eq!(r.local_start, date(2011, 12, 31).and_time(hm(18, 30)));
    }

    #[test]
    fn zone_without_dst_is_always_exact() {
        let tz = zone("Africa/Nairobi");
        for d in weekly_dates(&WeeklyRule { first_date: date(2026, 1, 4), count: 52 }).unwrap() {
            let r = resolve_local(d, hm(2, 30), 60, tz);
            assert_eq!(r.resolution, LocalTimeResolution::Exact);
            assert_eq!(offset_hours(r.starts_at, tz), 3.0);
        }
    }

    /// Every quarter hour of 2026: how many local times fall in a gap and in a
    /// fold. One transition each way means 60 minutes = 4 quarter hours of
    /// each (2 for Lord Howe's 30-minute DST), and gap times move forward.
    #[test]
    fn quarter_hours_of_2026_in_gaps_and_folds() {
        let expected = [
            ("America/Chicago", 4, 4),
            ("Europe/Lisbon", 4, 4),
            ("Australia/Lord_Howe", 2, 2),
            ("Pacific/Chatham", 4, 4),
            ("America/Sao_Paulo", 0, 0),
            ("Africa/Nairobi", 0, 0),
        ];
        for (name, gaps, folds) in expected {
            let tz = zone(name);
            let (mut seen_gaps, mut seen_folds) = (0, 0);
            for day in date(2026, 1, 1).iter_days().take_while(|d| d.year() == 2026) {
                for quarter in 0..96 {
                    let time = hm(quarter / 4, quarter % 4 * 15);
                    let r = resolve_local(day, time, 60, tz);
                    match r.resolution {
                        LocalTimeResolution::Exact => {}
                        LocalTimeResolution::ShiftedForwardOverGap => {
                            assert!(r.local_start > day.and_time(time), "{name} {day} {time}");
                            seen_gaps += 1;
                        }
                        LocalTimeResolution::AmbiguousEarlierChosen => seen_folds += 1,
                    }
                }
            }
            assert_eq!((seen_gaps, seen_folds), (gaps, folds), "{name}");
        }
    }

    #[test]
    fn resolutions_serialize_as_snake_case() {
        let json = serde_json::to_string(&LocalTimeResolution::ShiftedForwardOverGap).unwrap();
        assert_eq!(json, "\"shifted_forward_over_gap\"");
    }

    // --- Parsing --------------------------------------------------------------

    #[test]
    fn time_zones_parse_exactly_or_case_insensitively() {
        assert_eq!(parse_time_zone("America/Chicago"), Ok(Tz::America__Chicago));
        assert_eq!(parse_time_zone(" america/chicago "), Ok(Tz::America__Chicago));
        assert_eq!(parse_time_zone("UTC"), Ok(Tz::UTC));
        let err = parse_time_zone("Mars/Base").unwrap_err();
        assert_eq!(err.to_string(), "unknown time zone \"Mars/Base\": use an IANA name such as America/Chicago");
        assert!(parse_time_zone("").is_err());
        assert!(parse_time_zone("CST-6").is_err());
    }

    #[test]
    fn no_two_zone_names_differ_only_by_case() {
        let mut names: Vec<String> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name().to_ascii_lowercase()).collect();
        let total = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), total);
    }

    #[test]
    fn local_times_parse_as_24_hour_hh_mm() {
        assert_eq!(parse_local_time("18:30"), Ok(hm(18, 30)));
        assert_eq!(parse_local_time("9:05"), Ok(hm(9, 5)));
        assert_eq!(parse_local_time(" 00:00 "), Ok(hm(0, 0)));
        assert_eq!(parse_local_time("23:59"), Ok(hm(23, 59)));
        for bad in ["24:00", "18:60", "18:3", "1830", "6:30pm", "18:30:00", "+1:30", "", "ab:cd"] {
            let err = parse_local_time(bad).unwrap_err();
            assert_eq!(err, ScheduleError::InvalidTime(bad.to_owned()));
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
            assert!(err.to_string().contains("HH:MM"), "{err}");
        }
    }

    #[test]
    fn dates_parse_as_yyyy_mm_dd_within_range() {
        assert_eq!(parse_date("2026-03-08"), Ok(date(2026, 3, 8)));
        assert_eq!(parse_date("2000-01-01"), Ok(date(2000, 1, 1)));
        assert_eq!(parse_date("2100-12-31"), Ok(date(2100, 12, 31)));
        for bad in ["2026-02-30", "2026-3-8", "+2026-03-08", "08/03/2026", "2026-03-08x", ""] {
            let err = parse_date(bad).unwrap_err();
            assert_eq!(err, ScheduleError::InvalidDate(bad.to_owned()));
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
            assert!(err.to_string().contains("YYYY-MM-DD"), "{err}");
        }
        let err = parse_date("1999-12-31").unwrap_err();
        assert_eq!(err, ScheduleError::DateOutOfRange(date(1999, 12, 31)));
        assert_eq!(err.to_string(), "date 1999-12-31 is outside the supported years 2000 to 2100");
        assert!(parse_date("2101-01-01").is_err());
    }

    #[test]
    fn weekdays_parse_by_name_abbreviation_or_iso_number() {
        for (text, expected) in [
            ("monday", Weekday::Mon),
            ("mon", Weekday::Mon),
            ("Mon", Weekday::Mon),
            ("TUESDAY", Weekday::Tue),
            ("1", Weekday::Mon),
            ("7", Weekday::Sun),
            (" thu ", Weekday::Thu),
        ] {
            assert_eq!(parse_weekday(text), Ok(expected), "{text}");
        }
        for bad in ["0", "8", "01", "funday", "mo", "", "monday!"] {
            let err = parse_weekday(bad).unwrap_err();
            assert_eq!(err, ScheduleError::InvalidWeekday(bad.to_owned()));
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn durations_are_1_to_720_minutes() {
        assert_eq!(validate_duration(1), Ok(1));
        assert_eq!(validate_duration(720), Ok(720));
        assert_eq!(validate_duration(0), Err(ScheduleError::DurationOutOfRange(0)));
        assert_eq!(validate_duration(721).unwrap_err().to_string(), "a meeting lasts 1 to 720 minutes, not 721");
    }

    // --- Weekly rules -----------------------------------------------------------

    #[test]
    fn meeting_counts_outside_1_to_52_are_rejected() {
        for count in [0, 53] {
            let rule = WeeklyRule { first_date: date(2026, 3, 3), count };
            assert_eq!(weekly_dates(&rule), Err(ScheduleError::MeetingCountOutOfRange(count)));
        }
        assert_eq!(ScheduleError::MeetingCountOutOfRange(0).to_string(), "a schedule has 1 to 52 meetings, not 0");
        let rule = WeeklyRule { first_date: date(2026, 3, 3), count: 52 };
        assert_eq!(weekly_dates(&rule).map(|d| d.len()), Ok(52));
    }

    #[test]
    fn weekly_dates_must_stay_within_supported_years() {
        let late = WeeklyRule { first_date: date(2100, 12, 20), count: 3 };
        assert_eq!(weekly_dates(&late), Err(ScheduleError::DateOutOfRange(date(2101, 1, 3))));
        let early = WeeklyRule { first_date: date(1999, 12, 28), count: 3 };
        assert_eq!(weekly_dates(&early), Err(ScheduleError::DateOutOfRange(date(1999, 12, 28))));
    }

    #[test]
    fn first_on_or_after_finds_the_weekday() {
        // 2026-03-03 is a Tuesday.
        assert_eq!(first_on_or_after(date(2026, 3, 3), Weekday::Tue), date(2026, 3, 3));
        assert_eq!(first_on_or_after(date(2026, 3, 3), Weekday::Wed), date(2026, 3, 4));
        assert_eq!(first_on_or_after(date(2026, 3, 3), Weekday::Mon), date(2026, 3, 9));
        assert_eq!(first_on_or_after(date(2026, 12, 30), Weekday::Mon), date(2027, 1, 4));
    }

    // --- Today and next -----------------------------------------------------------

    #[test]
    fn today_depends_on_the_circle_zone() {
        let now = utc(2026, 12, 8, 3, 0);
        assert_eq!(local_today(now, zone("America/Los_Angeles")), date(2026, 12, 7));
        assert_eq!(local_today(now, zone("Europe/London")), date(2026, 12, 8));
        assert_eq!(local_today(now, zone("Pacific/Chatham")), date(2026, 12, 8));
    }

    #[test]
    fn evening_meeting_in_los_angeles_is_today_and_next_after_utc_midnight() {
        let la = zone("America/Los_Angeles");
        let slots = vec![slot(2, date(2026, 12, 14), hm(18, 30), 90), slot(1, date(2026, 12, 7), hm(18, 30), 90)];
        // 19:00 PST on Dec 7: in progress.
        let now = utc(2026, 12, 8, 3, 0);
        assert_eq!(meeting_today(&slots, now, la).map(|s| s.id), Some(1));
        assert_eq!(next_meeting(&slots, now, la).map(|s| s.id), Some(1));
        // 20:00 PST: it has just ended; still today's meeting, no longer next.
        let ended = utc(2026, 12, 8, 4, 0);
        assert_eq!(meeting_today(&slots, ended, la).map(|s| s.id), Some(1));
        assert_eq!(next_meeting(&slots, ended, la).map(|s| s.id), Some(2));
        // The same instant is Dec 8 in Tokyo: no meeting today there.
        assert_eq!(meeting_today(&slots, now, zone("Asia/Tokyo")), None);
    }

    #[test]
    fn meeting_running_past_midnight_is_next_but_not_today() {
        let tz = zone("Europe/Lisbon");
        let slots = vec![slot(1, date(2026, 1, 6), hm(23, 30), 60)];
        let after_midnight = utc(2026, 1, 7, 0, 15); // 00:15 WET on Jan 7
        assert_eq!(meeting_today(&slots, after_midnight, tz), None);
        assert_eq!(next_meeting(&slots, after_midnight, tz).map(|s| s.id), Some(1));
        let over = utc(2026, 1, 7, 0, 30);
        assert_eq!(next_meeting(&slots, over, tz), None);
    }

    #[test]
    fn cancelled_meetings_are_neither_today_nor_next() {
        let tz = zone("America/Chicago");
        let mut today = slot(1, date(2026, 3, 10), hm(18, 30), 90);
        today.cancelled = true;
        let slots = vec![today, slot(2, date(2026, 3, 17), hm(18, 30), 90)];
        let now = utc(2026, 3, 10, 20, 0);
        assert_eq!(meeting_today(&slots, now, tz), None);
        assert_eq!(next_meeting(&slots, now, tz).map(|s| s.id), Some(2));
    }

    #[test]
    fn two_meetings_on_one_day_prefer_the_earlier() {
        let tz = zone("Asia/Kolkata");
        let slots = vec![slot(1, date(2026, 5, 5), hm(18, 0), 60), slot(2, date(2026, 5, 5), hm(10, 0), 60)];
        let now = utc(2026, 5, 5, 0, 0); // 05:30 IST
        assert_eq!(meeting_today(&slots, now, tz).map(|s| s.id), Some(2));
        assert_eq!(next_meeting(&slots, now, tz).map(|s| s.id), Some(2));
        let empty: Vec<MeetingSlot<u32>> = Vec::new();
        assert_eq!(next_meeting(&empty, now, tz), None);
    }

    // --- Properties -----------------------------------------------------------------

    /// Real zones with awkward rules: southern-hemisphere DST, 30- and
    /// 45-minute offsets, 30-minute DST, zones that dropped DST, a skipped day.
    const ZONES: &[&str] = &[
        "America/Chicago",
        "America/New_York",
        "America/Los_Angeles",
        "America/Sao_Paulo",
        "America/St_Johns",
        "Europe/Lisbon",
        "Europe/Dublin",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "Asia/Kathmandu",
        "Pacific/Chatham",
        "Pacific/Apia",
        "Africa/Nairobi",
        "UTC",
    ];

    /// Zones whose transitions all fall at night within the supported years,
    /// so an evening meeting always exists on the clock.
    const NIGHT_TRANSITION_ZONES: &[&str] = &[
        "America/Chicago",
        "America/New_York",
        "America/Los_Angeles",
        "America/Sao_Paulo",
        "America/St_Johns",
        "Europe/Lisbon",
        "Europe/Dublin",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "Pacific/Chatham",
        "Africa/Nairobi",
    ];

    fn any_zone(names: &'static [&'static str]) -> impl Strategy<Value = Tz> {
        prop::sample::select(names).prop_map(zone)
    }

    /// Any date in the supported years.
    fn supported_date() -> impl Strategy<Value = NaiveDate> {
        let first = date(FIRST_YEAR, 1, 1);
        let span = (date(LAST_YEAR, 12, 31) - first).num_days() as u64;
        (0..=span).prop_map(move |n| first + Days::new(n))
    }

    /// Any date chrono can represent, to check nothing panics at the edges.
    fn any_date() -> impl Strategy<Value = NaiveDate> {
        let (min, max) = (NaiveDate::MIN.num_days_from_ce(), NaiveDate::MAX.num_days_from_ce());
        (min..=max).prop_map(|n| NaiveDate::from_num_days_from_ce_opt(n).expect("in range"))
    }

    fn any_time() -> impl Strategy<Value = NaiveTime> {
        (0u32..24, 0u32..60).prop_map(|(h, m)| hm(h, m))
    }

    /// A local date and time, half the time in the small hours of a Sunday in
    /// a month when zones change their clocks. Uniform sampling alone would
    /// almost never land in a gap or a fold.
    fn local_date_time() -> impl Strategy<Value = (NaiveDate, NaiveTime)> {
        let change_months: &[u32] = &[2, 3, 4, 9, 10, 11];
        let near_change = (FIRST_YEAR..=LAST_YEAR, prop::sample::select(change_months), 0u64..5, 0u32..4, 0u32..60)
            .prop_map(|(year, month, week, h, m)| {
                let sunday = first_on_or_after(date(year, month, 1), Weekday::Sun);
                (sunday + Days::new(7 * week), hm(h, m))
            });
        prop_oneof![(supported_date(), any_time()), near_change]
    }

    fn any_weekday() -> impl Strategy<Value = Weekday> {
        (0u8..7).prop_map(|n| Weekday::try_from(n).expect("0..7"))
    }

    proptest! {
        #[test]
        fn weekly_dates_are_count_dates_a_week_apart_on_one_weekday(
            first in supported_date(),
            count in MIN_MEETINGS..=MAX_MEETINGS,
        ) {
            let rule = WeeklyRule { first_date: first, count };
            let last = first + Days::new(7 * u64::from(count - 1));
            match weekly_dates(&rule) {
                Ok(dates) => {
                    prop_assert_eq!(dates.len(), count as usize);
                    prop_assert_eq!(dates[0], first);
                    prop_assert!(dates.iter().all(|d| d.weekday() == first.weekday()));
                    for pair in dates.windows(2) {
                        prop_assert_eq!((pair[1] - pair[0]).num_days(), 7);
                    }
                }
                Err(err) => {
                    // Only a series running past the last supported year fails.
                    prop_assert!(last.year() > LAST_YEAR);
                    prop_assert_eq!(err, ScheduleError::DateOutOfRange(last));
                }
            }
        }

        #[test]
        fn resolve_local_keeps_duration_and_round_trips_exact_times(
            tz in any_zone(ZONES),
            (date, time) in local_date_time(),
            minutes in MIN_DURATION_MINUTES..=MAX_DURATION_MINUTES,
        ) {
            let requested = date.and_time(time);
            let r = resolve_local(date, time, minutes, tz);
            prop_assert_eq!(r.ends_at - r.starts_at, TimeDelta::minutes(i64::from(minutes)));
            prop_assert_eq!(r.local_start, r.starts_at.with_timezone(&tz).naive_local());
            match r.resolution {
                LocalTimeResolution::Exact | LocalTimeResolution::AmbiguousEarlierChosen => {
                    prop_assert_eq!(r.local_start, requested);
                }
                LocalTimeResolution::ShiftedForwardOverGap => {
                    // Forward by the gap: never backwards, at most a skipped day.
                    prop_assert!(r.local_start > requested);
                    prop_assert!(r.local_start - requested <= TimeDelta::hours(24));
                }
            }
            if r.resolution == LocalTimeResolution::AmbiguousEarlierChosen {
                // No earlier instant (offset changes come in 15-minute steps)
                // may show the same clock reading, or "earlier" would be wrong.
                for quarters in 1..=12 {
                    let before = r.starts_at - TimeDelta::minutes(15 * quarters);
                    prop_assert_ne!(clock_at(before, tz), requested);
                }
            }
        }

        #[test]
        fn resolve_local_never_panics_on_any_date(
            tz in any_zone(ZONES),
            date in any_date(),
            time in any_time(),
            minutes in any::<u32>(),
        ) {
            let r = resolve_local(date, time, minutes, tz);
            prop_assert!(r.ends_at >= r.starts_at);
            let _ = local_today(r.starts_at, tz);
        }

        #[test]
        fn evening_series_stays_at_1830_on_the_clock(
            tz in any_zone(NIGHT_TRANSITION_ZONES),
            first in supported_date(),
            count in MIN_MEETINGS..=MAX_MEETINGS,
        ) {
            let rule = WeeklyRule { first_date: first, count };
            if let Ok(dates) = weekly_dates(&rule) {
                for d in dates {
                    let r = resolve_local(d, hm(18, 30), 90, tz);
                    prop_assert_eq!(r.resolution, LocalTimeResolution::Exact);
                    prop_assert_eq!(r.local_start, d.and_time(hm(18, 30)));
                }
            }
        }

        #[test]
        fn first_on_or_after_is_the_nearest_matching_day(
            from in supported_date(),
            weekday in any_weekday(),
        ) {
            let found = first_on_or_after(from, weekday);
            prop_assert_eq!(found.weekday(), weekday);
            prop_assert!((0..7).contains(&(found - from).num_days()));
        }

        #[test]
        fn formatted_dates_times_and_weekdays_parse_back(
            d in supported_date(),
            t in any_time(),
        ) {
            prop_assert_eq!(parse_date(&d.format("%Y-%m-%d").to_string()), Ok(d));
            prop_assert_eq!(parse_local_time(&t.format("%H:%M").to_string()), Ok(t));
            let w = d.weekday();
            prop_assert_eq!(parse_weekday(&w.number_from_monday().to_string()), Ok(w));
            prop_assert_eq!(parse_weekday(&format!("{w}")), Ok(w));
            prop_assert_eq!(parse_weekday(&format!("{w:?}").to_uppercase()), Ok(w));
        }

        #[test]
        fn next_meeting_is_the_earliest_unfinished_uncancelled_one(
            tz in any_zone(ZONES),
            base in supported_date(),
            offsets in prop::collection::vec((0u64..30, any_time(), 1u32..=240, any::<bool>()), 0..8),
            now_minutes in 0i64..(40 * 24 * 60),
        ) {
            let slots: Vec<MeetingSlot<usize>> = offsets
                .iter()
                .enumerate()
                .map(|(id, &(days, time, minutes, cancelled))| MeetingSlot {
                    id,
                    date: base + Days::new(days),
                    time,
                    duration_minutes: minutes,
                    cancelled,
                })
                .collect();
            let now = base.and_time(hm(0, 0)).and_utc() + TimeDelta::minutes(now_minutes - 24 * 60);
            let eligible: Vec<_> = slots
                .iter()
                .filter(|s| !s.cancelled && s.resolve(tz).ends_at > now)
                .collect();
            match next_meeting(&slots, now, tz) {
                None => prop_assert!(eligible.is_empty()),
                Some(next) => {
                    prop_assert!(!next.cancelled);
                    let start = next.resolve(tz).starts_at;
                    prop_assert!(next.resolve(tz).ends_at > now);
                    prop_assert!(eligible.iter().all(|s| s.resolve(tz).starts_at >= start));
                }
            }
            if let Some(today) = meeting_today(&slots, now, tz) {
                prop_assert!(!today.cancelled);
                prop_assert_eq!(today.date, local_today(now, tz));
            }
        }
    }
}
