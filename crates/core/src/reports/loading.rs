//! Reading what the reports count from the store, once per report.

use super::*;

pub(super) struct LearnerInfo {
    /// Who this is across circles: "email:<address>" or "learner:<id>".
    pub(super) person: String,
    pub(super) withdrawn: bool,
    pub(super) walk_in: bool,
}

/// One circle's data, loaded with a few queries for a whole team.
pub(super) struct Loaded {
    pub(super) circle: Circle,
    pub(super) wrap_up: WrapUpFigures,
    pub(super) meetings: Vec<Meeting>,
    pub(super) learners: HashMap<String, LearnerInfo>,
    /// (meeting id, learner id, mark) of live marks of live learners.
    pub(super) marks: Vec<(String, String, Mark)>,
    pub(super) ratings: HashMap<String, u8>,
}

/// Which circles to load.
pub(super) enum Scope<'a> {
    Circle(&'a str),
    Team(&'a str),
}

impl Scope<'_> {
    pub(super) fn condition(&self) -> (&'static str, &str) {
        match self {
            Scope::Circle(id) => ("c.id = ?1", id),
            Scope::Team(id) => ("c.team_id = ?1", id),
        }
    }
}

impl Store {
    pub(super) fn load(&self, scope: Scope<'_>) -> Result<Vec<Loaded>> {
        let (condition, key) = scope.condition();
        let ids: Vec<String> = {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT c.id FROM circles c WHERE c.deleted = 0 AND {condition} ORDER BY c.name COLLATE NOCASE, c.id"
            ))?;
            let ids = stmt.query_map([key], |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            ids
        };
        let mut loaded: Vec<Loaded> = Vec::with_capacity(ids.len());
        let mut index: HashMap<String, usize> = HashMap::new();
        for id in ids {
            let circle = self.circle(&id)?;
            let (completed, goal, goal_rating, course_rating, reason): (bool, String, Option<u8>, Option<u8>, String) =
                self.conn.query_row(
                    "SELECT completed, facilitator_goal, goal_rating, course_rating, course_rating_reason
                     FROM circles WHERE id = ?1",
                    [&id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )?;
            let outcome = if circle.fields.did_not_happen {
                Some(CircleOutcome::DidNotHappen)
            } else if completed {
                Some(CircleOutcome::Completed)
            } else {
                None
            };
            let meetings = self.meetings(&id)?;
            index.insert(id, loaded.len());
            loaded.push(Loaded {
                circle,
                wrap_up: WrapUpFigures {
                    outcome,
                    facilitator_goal: goal,
                    goal_rating,
                    course_rating,
                    course_rating_reason: reason,
                },
                meetings,
                learners: HashMap::new(),
                marks: Vec::new(),
                ratings: HashMap::new(),
            });
        }

        let mut stmt = self.conn.prepare(&format!(
            "SELECT l.circle_id, l.id, l.email, l.withdrawn, l.walk_in FROM learners l
             JOIN circles c ON c.id = l.circle_id AND c.deleted = 0
             WHERE l.deleted = 0 AND l.waitlisted_at = '' AND {condition}"
        ))?;
        let mut rows = stmt.query(params![key])?;
        while let Some(r) = rows.next()? {
            let circle: String = r.get(0)?;
            let id: String = r.get(1)?;
            let email: String = r.get(2)?;
            let email = email.trim().to_lowercase();
            let person = if email.is_empty() { format!("learner:{id}") } else { format!("email:{email}") };
            if let Some(&i) = index.get(&circle) {
                loaded[i].learners.insert(id, LearnerInfo { person, withdrawn: r.get(3)?, walk_in: r.get(4)? });
            }
        }

        let mut stmt = self.conn.prepare(&format!(
            "SELECT m.circle_id, a.meeting_id, a.learner_id, a.mark FROM attendance a
             JOIN meetings m ON m.id = a.meeting_id AND m.deleted = 0
             JOIN learners l ON l.id = a.learner_id AND l.deleted = 0
             JOIN circles c ON c.id = m.circle_id AND c.deleted = 0
             WHERE a.deleted = 0 AND {condition}"
        ))?;
        let mut rows = stmt.query(params![key])?;
        while let Some(r) = rows.next()? {
            let circle: String = r.get(0)?;
            let mark: String = r.get(3)?;
            if let Some(&i) = index.get(&circle) {
                loaded[i].marks.push((r.get(1)?, r.get(2)?, Mark::parse(&mark)?));
            }
        }

        let mut stmt = self.conn.prepare(&format!(
            "SELECT m.circle_id, f.meeting_id, f.rating FROM meeting_feedback f
             JOIN meetings m ON m.id = f.meeting_id AND m.deleted = 0
             JOIN circles c ON c.id = m.circle_id AND c.deleted = 0
             WHERE f.deleted = 0 AND f.rating IS NOT NULL AND {condition}"
        ))?;
        let mut rows = stmt.query(params![key])?;
        while let Some(r) = rows.next()? {
            let circle: String = r.get(0)?;
            if let Some(&i) = index.get(&circle) {
                loaded[i].ratings.insert(r.get(1)?, r.get(2)?);
            }
        }
        Ok(loaded)
    }
}

/// What one circle's meetings add up to, meeting by meeting.
pub(super) struct Computed<'a> {
    /// Per meeting of `Loaded::meetings`, same order.
    pub(super) meetings: Vec<MeetingCalc<'a>>,
}

pub(super) struct MeetingCalc<'a> {
    pub(super) meeting: &'a Meeting,
    pub(super) held: bool,
    pub(super) marks: MarkCounts,
    /// Learner ids with an attended mark.
    pub(super) attendees: Vec<&'a str>,
    /// Attended marks, else the head count (held meetings).
    pub(super) attendance: u32,
    pub(super) from_head_count: bool,
    pub(super) rating: Option<u8>,
}

pub(super) fn compute(data: &Loaded) -> Computed<'_> {
    let position: HashMap<&str, usize> = data.meetings.iter().enumerate().map(|(i, m)| (m.id.as_str(), i)).collect();
    let mut marks = vec![MarkCounts::default(); data.meetings.len()];
    let mut attendees: Vec<Vec<&str>> = vec![Vec::new(); data.meetings.len()];
    for (meeting, learner, mark) in &data.marks {
        if let Some(&i) = position.get(meeting.as_str()) {
            marks[i].add(*mark);
            if mark.attended() {
                attendees[i].push(learner.as_str());
            }
        }
    }
    let meetings = data
        .meetings
        .iter()
        .zip(marks)
        .zip(attendees)
        .map(|((m, marks), attendees)| {
            let has_marks = marks.marked() > 0;
            let held = !m.is_cancelled() && (m.status == MeetingStatus::Held || has_marks || m.head_count.is_some());
            let (attendance, from_head_count) = match (has_marks, m.head_count) {
                (true, _) => (marks.attended(), false),
                (false, Some(n)) => (n, true),
                (false, None) => (0, false),
            };
            MeetingCalc {
                meeting: m,
                held,
                marks,
                attendees,
                attendance: if held { attendance } else { 0 },
                from_head_count: held && from_head_count,
                rating: data.ratings.get(&m.id).copied(),
            }
        })
        .collect();
    Computed { meetings }
}

pub(super) fn venue_of(circle: &Circle) -> String {
    if circle.fields.online {
        "Online".to_string()
    } else if circle.fields.venue.name.trim().is_empty() {
        "No venue".to_string()
    } else {
        circle.fields.venue.name.clone()
    }
}

/// Adds meetings up into [`Figures`].
#[derive(Default)]
pub(super) struct Tally<'a> {
    pub(super) figures: Figures,
    pub(super) circles: HashSet<&'a str>,
    pub(super) people: HashSet<&'a str>,
    pub(super) rating_sum: u32,
}

impl<'a> Tally<'a> {
    pub(super) fn add(&mut self, data: &'a Loaded, m: &MeetingCalc<'a>) {
        let f = &mut self.figures;
        if m.meeting.is_cancelled() {
            f.meetings_cancelled += 1;
            return;
        }
        if let Some(r) = m.rating {
            f.ratings += 1;
            self.rating_sum += u32::from(r);
        }
        if !m.held {
            return;
        }
        f.meetings_held += 1;
        self.circles.insert(data.circle.id.as_str());
        f.attendances += m.attendance;
        if m.from_head_count {
            f.head_count_attendances += m.attendance;
        }
        f.marks.add_all(&m.marks);
        for learner in &m.attendees {
            if let Some(info) = data.learners.get(*learner) {
                self.people.insert(info.person.as_str());
            }
        }
    }

    pub(super) fn finish(mut self) -> Figures {
        let f = &mut self.figures;
        f.circles_run = self.circles.len() as u32;
        f.unique_learners = self.people.len() as u32;
        f.attendance_rate = f.marks.rate();
        f.average_attendance = (f.meetings_held > 0).then(|| f64::from(f.attendances) / f64::from(f.meetings_held));
        f.average_rating = (f.ratings > 0).then(|| f64::from(self.rating_sum) / f64::from(f.ratings));
        self.figures
    }
}

impl Store {
    /// One circle's report; see the module docs for what counts.
    pub fn circle_report(&self, circle_id: &str) -> Result<CircleReport> {
        self.circle(circle_id)?;
        let loaded = self.load(Scope::Circle(circle_id))?;
        let data = loaded.first().ok_or_else(|| CoreError::not_found("circle", circle_id))?;
        let computed = compute(data);
        let circle = &data.circle;
        let course_title = match &circle.fields.course_id {
            Some(id) => Some(self.course(id)?.fields.title),
            None => None,
        };
        let team_name = match &circle.fields.team_id {
            Some(id) => Some(self.team(id)?.name),
            None => None,
        };
        let active: Vec<&MeetingCalc<'_>> = computed.meetings.iter().filter(|m| !m.meeting.is_cancelled()).collect();
        let held: Vec<&MeetingCalc<'_>> = active.iter().copied().filter(|m| m.held).collect();

        let mut tally = Tally::default();
        for m in &computed.meetings {
            tally.add(data, m);
        }
        let figures = tally.finish();

        let with_marks = held.iter().filter(|m| m.marks.marked() > 0).count();
        let with_head_count_only = held.iter().filter(|m| m.from_head_count).count();
        let counting = match (with_marks > 0, with_head_count_only > 0) {
            (true, false) => Counting::PerLearner,
            (false, true) => Counting::HeadCount,
            (true, true) => Counting::Mixed,
            (false, false) => Counting::None,
        };

        let mut attended_by: HashMap<&str, u32> = HashMap::new();
        for m in &held {
            for learner in &m.attendees {
                *attended_by.entry(learner).or_default() += 1;
            }
        }
        let held_count = held.len() as u32;
        let learners_at_least_half = (matches!(counting, Counting::PerLearner | Counting::Mixed) && held_count > 0)
            .then(|| {
                data.learners
                    .keys()
                    .filter(|id| attended_by.get(id.as_str()).is_some_and(|n| 2 * n >= held_count))
                    .count() as u32
            });
        let (first, last) = (held.first(), held.last());
        let retention = match (first, last) {
            (Some(f), Some(l)) if held.len() >= 2 => ratio(l.attendance, f.attendance),
            _ => None,
        };
        let learners_retained = match (first, last) {
            (Some(f), Some(l)) if held.len() >= 2 && f.marks.marked() > 0 && l.marks.marked() > 0 => {
                let at_first: HashSet<&str> = f.attendees.iter().copied().collect();
                Some(l.attendees.iter().filter(|id| at_first.contains(*id)).count() as u32)
            }
            _ => None,
        };

        let summary = CircleFigures {
            meetings_scheduled: active.len() as u32,
            meetings_held: figures.meetings_held,
            meetings_cancelled: figures.meetings_cancelled,
            learners: data.learners.len() as u32,
            learners_withdrawn: data.learners.values().filter(|l| l.withdrawn).count() as u32,
            walk_ins: data.learners.values().filter(|l| l.walk_in).count() as u32,
            learners_attended: attended_by.len() as u32,
            learners_at_least_half,
            attendances: figures.attendances,
            head_count_attendances: figures.head_count_attendances,
            marks: figures.marks,
            attendance_rate: figures.attendance_rate,
            average_attendance: figures.average_attendance,
            first_meeting_attendance: first.map(|m| m.attendance),
            last_meeting_attendance: last.map(|m| m.attendance),
            retention,
            learners_retained,
            ratings: figures.ratings,
            average_rating: figures.average_rating,
        };
        let meetings = active
            .iter()
            .map(|m| MeetingFigures {
                meeting_id: m.meeting.id.clone(),
                number: m.meeting.number,
                local_date: m.meeting.local_date,
                local_time: m.meeting.local_time.clone(),
                status: m.meeting.status,
                held: m.held,
                marks: m.marks,
                head_count: m.meeting.head_count,
                attendance: m.held.then_some(m.attendance),
                rating: m.rating,
            })
            .collect();
        let cancelled = computed
            .meetings
            .iter()
            .filter(|m| m.meeting.is_cancelled())
            .map(|m| CancelledMeeting { meeting_id: m.meeting.id.clone(), local_date: m.meeting.local_date })
            .collect();
        let facilitators = self.circle_facilitators(circle_id)?.into_iter().map(|f| f.name).collect();
        Ok(CircleReport {
            format_version: REPORT_FORMAT_VERSION,
            circle: CircleInfo {
                id: circle.id.clone(),
                name: circle.fields.name.clone(),
                course_title,
                team_name,
                venue: venue_of(circle),
                city: circle.fields.venue.city.clone(),
                online: circle.fields.online,
                language: circle.fields.language.clone(),
                time_zone: circle.fields.time_zone.clone(),
                start_time: circle.fields.start_time.clone(),
                duration_minutes: circle.fields.duration_minutes,
                facilitators,
                first_date: active.first().map(|m| m.meeting.local_date),
                last_date: active.last().map(|m| m.meeting.local_date),
            },
            counting,
            summary,
            meetings,
            cancelled,
            wrap_up: data.wrap_up.clone(),
        })
    }

    /// A team's report over the local dates `from..=to`; see the module
    /// docs for what counts.
    pub fn team_report(&self, team_id: &str, from: NaiveDate, to: NaiveDate) -> Result<TeamReport> {
        let team = self.team(team_id)?;
        if from > to {
            return Err(CoreError::invalid(
                "report",
                "from",
                Rule::State,
                format!("the period starts ({from}) after it ends ({to})"),
            ));
        }
        let months = months_between(from, to);
        if months.len() > MAX_REPORT_MONTHS {
            return Err(CoreError::invalid(
                "report",
                "to",
                Rule::OutOfRange { min: 1, max: MAX_REPORT_MONTHS as i64 },
                format!("the period spans {} months; a report covers at most {MAX_REPORT_MONTHS}", months.len()),
            ));
        }
        let loaded = self.load(Scope::Team(team_id))?;
        let in_period = |m: &Meeting| m.local_date >= from && m.local_date <= to;

        let mut totals = Tally::default();
        let mut by_month: Vec<Tally<'_>> = months.iter().map(|_| Tally::default()).collect();
        let month_index: HashMap<&str, usize> = months.iter().enumerate().map(|(i, m)| (m.as_str(), i)).collect();
        let mut by_venue: HashMap<String, (String, Tally<'_>)> = HashMap::new();
        let mut circles = Vec::new();
        let mut did_not_happen = 0;
        let mut signed_up = 0;
        let computed: Vec<Computed<'_>> = loaded.iter().map(compute).collect();
        for (data, computed) in loaded.iter().zip(&computed) {
            let meetings: Vec<&MeetingCalc<'_>> = computed.meetings.iter().filter(|m| in_period(m.meeting)).collect();
            if meetings.is_empty() {
                continue;
            }
            let venue = venue_of(&data.circle);
            if data.circle.fields.did_not_happen {
                if meetings.iter().any(|m| !m.meeting.is_cancelled()) {
                    did_not_happen += 1;
                    circles.push(CircleLine {
                        circle_id: data.circle.id.clone(),
                        name: data.circle.fields.name.clone(),
                        venue,
                        outcome: data.wrap_up.outcome,
                        figures: Figures::default(),
                    });
                }
                continue;
            }
            let (_, venue_tally) = by_venue.entry(venue.clone()).or_insert_with(|| {
                (
                    if data.circle.fields.online { String::new() } else { data.circle.fields.venue.city.clone() },
                    Tally::default(),
                )
            });
            let mut circle_tally = Tally::default();
            for m in &meetings {
                totals.add(data, m);
                venue_tally.add(data, m);
                circle_tally.add(data, m);
                let month = format!("{:04}-{:02}", m.meeting.local_date.year(), m.meeting.local_date.month());
                if let Some(&i) = month_index.get(month.as_str()) {
                    by_month[i].add(data, m);
                }
            }
            let figures = circle_tally.finish();
            if figures.circles_run > 0 {
                signed_up += data.learners.len() as u32;
            }
            circles.push(CircleLine {
                circle_id: data.circle.id.clone(),
                name: data.circle.fields.name.clone(),
                venue,
                outcome: data.wrap_up.outcome,
                figures,
            });
        }
        let mut by_venue: Vec<VenueFigures> = by_venue
            .into_iter()
            .map(|(venue, (city, tally))| VenueFigures { venue, city, figures: tally.finish() })
            .collect();
        by_venue
            .sort_by(|a, b| a.venue.to_lowercase().cmp(&b.venue.to_lowercase()).then_with(|| a.venue.cmp(&b.venue)));
        Ok(TeamReport {
            format_version: REPORT_FORMAT_VERSION,
            team,
            from,
            to,
            totals: totals.finish(),
            circles_did_not_happen: did_not_happen,
            learners_signed_up: signed_up,
            by_month: months
                .into_iter()
                .zip(by_month)
                .map(|(month, tally)| MonthFigures { month, figures: tally.finish() })
                .collect(),
            by_venue,
            circles,
            synced_up_to: self.meta(crate::store::meta::SYNC_LAST_SUCCESS)?,
            laptops: crate::domain::team::LaptopCheck::not_checked("made from this computer's data only"),
        })
    }
}

/// "2026-01", "2026-02", ... for every month that `from..=to` touches.
pub(super) fn months_between(from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let mut out = Vec::new();
    let (mut y, mut m) = (from.year(), from.month());
    while (y, m) <= (to.year(), to.month()) {
        out.push(format!("{y:04}-{m:02}"));
        if out.len() > MAX_REPORT_MONTHS {
            break;
        }
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}
