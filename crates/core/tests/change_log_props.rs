//! Random sequences of edits, valid and invalid, never leave a row and its
//! change record disagreeing, and a refused edit records nothing.

use chrono::{Duration, NaiveDate};
use circles_core::{CircleInput, LearnerInput, Mark, MeetingStatus, Store, WeeklyRule};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    CreateCircle { zone: usize, count: u32 },
    AddLearner { circle: usize, email_ok: bool },
    Mark { meeting: usize, learner: usize, mark: usize },
    ClearMark { meeting: usize, learner: usize },
    Cancel { meeting: usize },
    Reschedule { meeting: usize, days: i64 },
    Withdraw { learner: usize },
    DeleteLearner { learner: usize },
}

const ZONES: [&str; 4] = ["America/Chicago", "Europe/Lisbon", "Not/AZone", "Australia/Lord_Howe"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..ZONES.len(), 0u32..6).prop_map(|(zone, count)| Op::CreateCircle { zone, count }),
        (0..8usize, any::<bool>()).prop_map(|(circle, email_ok)| Op::AddLearner { circle, email_ok }),
        (0..40usize, 0..20usize, 0..4usize).prop_map(|(meeting, learner, mark)| Op::Mark { meeting, learner, mark }),
        (0..40usize, 0..20usize).prop_map(|(meeting, learner)| Op::ClearMark { meeting, learner }),
        (0..40usize).prop_map(|meeting| Op::Cancel { meeting }),
        (0..40usize, -400i64..400).prop_map(|(meeting, days)| Op::Reschedule { meeting, days }),
        (0..20usize).prop_map(|learner| Op::Withdraw { learner }),
        (0..20usize).prop_map(|learner| Op::DeleteLearner { learner }),
    ]
}

fn pick<T: Clone>(items: &[T], i: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[i % items.len()].clone())
}

fn apply(
    store: &mut Store,
    op: &Op,
    circles: &mut Vec<String>,
    learners: &mut Vec<String>,
) -> circles_core::Result<()> {
    let meetings: Vec<String> =
        circles.iter().flat_map(|c| store.meetings(c).unwrap_or_default()).map(|m| m.id).collect();
    let first = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    match op {
        Op::CreateCircle { zone, count } => {
            let input = CircleInput::new("Circle", ZONES[*zone], "18:30", 90);
            let rule = WeeklyRule { first_date: first, count: *count };
            circles.push(store.create_circle(&input, Some(&rule))?);
        }
        Op::AddLearner { circle, email_ok } => {
            let Some(circle) = pick(circles, *circle) else { return Ok(()) };
            let mut input = LearnerInput::new("Learner");
            input.email = if *email_ok { "a@example.org".into() } else { "not-an-email".into() };
            learners.push(store.add_learner(&circle, &input)?);
        }
        Op::Mark { meeting, learner, mark } => {
            if let (Some(m), Some(l)) = (pick(&meetings, *meeting), pick(learners, *learner)) {
                store.mark_attendance(&m, &l, Mark::ALL[*mark])?;
            }
        }
        Op::ClearMark { meeting, learner } => {
            if let (Some(m), Some(l)) = (pick(&meetings, *meeting), pick(learners, *learner)) {
                store.clear_attendance(&m, &l)?;
            }
        }
        Op::Cancel { meeting } => {
            if let Some(m) = pick(&meetings, *meeting) {
                store.set_meeting_status(&m, MeetingStatus::Cancelled)?;
            }
        }
        Op::Reschedule { meeting, days } => {
            if let Some(m) = pick(&meetings, *meeting) {
                let current = store.meeting(&m)?.local_date;
                store.reschedule_meeting(&m, current + Duration::days(*days), None)?;
            }
        }
        Op::Withdraw { learner } => {
            if let Some(l) = pick(learners, *learner) {
                store.set_learner_withdrawn(&l, true)?;
            }
        }
        Op::DeleteLearner { learner } => {
            if let Some(l) = pick(learners, *learner) {
                store.delete_learner(&l)?;
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn change_record_always_matches_the_data(ops in prop::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        let (mut circles, mut learners) = (Vec::new(), Vec::new());
        for op in &ops {
            let before = store.pending_count().unwrap();
            if apply(&mut store, op, &mut circles, &mut learners).is_err() {
                prop_assert_eq!(store.pending_count().unwrap(), before, "a refused {:?} recorded changes", op);
            }
        }
        prop_assert_eq!(store.verify_change_log().unwrap(), vec![]);
        let pending = store.pending_changes(usize::MAX >> 1).unwrap();
        prop_assert!(pending.windows(2).all(|p| p[0].hlc < p[1].hlc), "clocks strictly increase");
    }
}
