//! Circles on teams, co-facilitators, copying a circle for its next season,
//! and a circle the server revoked leaving this computer: through the
//! public API, as the CLI and the app use it.

use chrono::NaiveDate;
use circles_core::sync::status::Account;
use circles_core::sync::wire::PullResponse;
use circles_core::{CircleInput, CoreError, CourseInput, LearnerInput, Mark, Rule, Store, TeamRole, Venue, WeeklyRule};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).unwrap();
    (dir, store)
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn rule_of(err: &CoreError) -> (&'static str, Rule) {
    match err {
        CoreError::Invalid { field, rule, .. } => (field, rule.clone()),
        other => panic!("expected a refused value, got: {other}"),
    }
}

/// A store signed in as `me`, a facilitator in team "Riverbend" only; the
/// library also has a team "Lakeside" and two other facilitators.
struct Library {
    _dir: tempfile::TempDir,
    store: Store,
    me: String,
    riverbend: String,
    lakeside: String,
    dana: String,
    carlos: String,
}

fn library() -> Library {
    let (dir, mut store) = store();
    let riverbend = store.create_team("Riverbend").unwrap();
    let lakeside = store.create_team("Lakeside").unwrap();
    let me = store.create_facilitator("Fatima", "fatima@example.org").unwrap();
    let dana = store.create_facilitator("Dana", "dana@example.org").unwrap();
    let carlos = store.create_facilitator("Carlos", "carlos@example.org").unwrap();
    store.set_team_role(&riverbend, &me, TeamRole::Member).unwrap();
    store.set_team_role(&riverbend, &dana, TeamRole::Member).unwrap();
    store.set_team_role(&lakeside, &carlos, TeamRole::Organizer).unwrap();
    store
        .save_account(&Account {
            server_url: "https://circles.example.org".into(),
            email: "fatima@example.org".into(),
            user_name: "Fatima".into(),
            user_id: me.clone(),
            token: "t".into(),
        })
        .unwrap();
    Library { _dir: dir, store, me, riverbend, lakeside, dana, carlos }
}

fn circle_on(team: Option<&str>) -> CircleInput {
    let mut input = CircleInput::new("Public Speaking", "America/Chicago", "18:30", 90);
    input.team_id = team.map(str::to_string);
    input
}

#[test]
fn a_circle_goes_on_one_of_my_teams_and_defaults_to_my_only_one() {
    let mut l = library();
    let mine: Vec<String> = l.store.my_teams().unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(mine, ["Riverbend"]);
    assert_eq!(l.store.default_circle_team().unwrap().as_deref(), Some(l.riverbend.as_str()));

    let before = l.store.circles().unwrap().len();
    let err = l.store.create_circle(&circle_on(Some(&l.lakeside)), None).unwrap_err();
    assert_eq!(rule_of(&err), ("team_id", Rule::State));
    assert!(err.to_string().contains("not a member of team \"Lakeside\""), "{err}");
    assert!(err.to_string().contains("\"Riverbend\""), "the message names the teams one may choose: {err}");
    assert_eq!(l.store.circles().unwrap().len(), before, "nothing was written");

    let circle = l.store.create_circle(&circle_on(Some(&l.riverbend)), None).unwrap();
    // Moving it to a team one is not in is refused too; keeping its team is fine.
    let err = l.store.update_circle(&circle, &circle_on(Some(&l.lakeside))).unwrap_err();
    assert_eq!(rule_of(&err).0, "team_id");
    let mut renamed = circle_on(Some(&l.riverbend));
    renamed.name = "Public Speaking II".into();
    l.store.update_circle(&circle, &renamed).unwrap();
    l.store.update_circle(&circle, &circle_on(None)).unwrap();
    assert_eq!(l.store.circle(&circle).unwrap().fields.team_id, None);

    // Two teams: no default.
    l.store.set_team_role(&l.lakeside, &l.me, TeamRole::Member).unwrap();
    assert_eq!(l.store.default_circle_team().unwrap(), None);
    l.store.update_circle(&circle, &circle_on(Some(&l.lakeside))).unwrap();
}

#[test]
fn a_store_that_never_signed_in_may_use_every_team_it_holds() {
    let (_dir, mut store) = store();
    let a = store.create_team("A").unwrap();
    store.create_team("B").unwrap();
    assert_eq!(store.my_facilitator_id().unwrap(), None);
    assert_eq!(store.my_teams().unwrap().len(), 2);
    assert_eq!(store.default_circle_team().unwrap(), None);
    store.create_circle(&circle_on(Some(&a)), None).unwrap();
    assert_eq!(store.find_team("a").unwrap().id, a, "a team is found by its name in any case");
}

#[test]
fn a_signed_in_store_finds_me_by_email_when_the_id_was_not_kept() {
    let mut l = library();
    l.store
        .save_account(&Account {
            server_url: "https://circles.example.org".into(),
            email: "Fatima@Example.org".into(),
            user_name: "Fatima".into(),
            user_id: String::new(),
            token: "t".into(),
        })
        .unwrap();
    assert_eq!(l.store.my_facilitator_id().unwrap().as_deref(), Some(l.me.as_str()));
}

#[test]
fn co_facilitators_come_from_the_circles_team_once_each() {
    let mut l = library();
    let circle = l.store.create_circle(&circle_on(Some(&l.riverbend)), None).unwrap();
    let candidates: Vec<String> =
        l.store.co_facilitator_candidates(&circle).unwrap().into_iter().map(|f| f.name).collect();
    assert_eq!(candidates, ["Dana", "Fatima"]);

    let err = l.store.add_circle_facilitator(&circle, &l.carlos).unwrap_err();
    assert_eq!(rule_of(&err), ("facilitator_id", Rule::State));
    assert!(err.to_string().contains("not in the circle's team \"Riverbend\""), "{err}");

    // The first co-facilitator lists the signed-in person too: from then on
    // the list is who sees the circle on the server.
    l.store.add_circle_facilitator(&circle, &l.dana).unwrap();
    let listed: Vec<String> = l.store.circle_facilitators(&circle).unwrap().into_iter().map(|f| f.name).collect();
    assert_eq!(listed, ["Dana", "Fatima"]);
    assert!(l.store.co_facilitator_candidates(&circle).unwrap().is_empty());

    let err = l.store.add_circle_facilitator(&circle, &l.dana).unwrap_err();
    assert_eq!(rule_of(&err), ("facilitator_id", Rule::Duplicate));
    assert!(matches!(l.store.remove_circle_facilitator(&circle, &l.carlos).unwrap_err(), CoreError::NotFound { .. }));
    l.store.remove_circle_facilitator(&circle, &l.dana).unwrap();
    let err = l.store.remove_circle_facilitator(&circle, &l.me).unwrap_err();
    assert_eq!(rule_of(&err).1, Rule::State, "the last facilitator stays");
    assert_eq!(l.store.find_facilitator("DANA@example.org").unwrap().id, l.dana);
    assert_eq!(l.store.verify_change_log().unwrap(), []);
}

#[test]
fn a_copy_keeps_the_setup_and_takes_no_learners() {
    let mut l = library();
    let course = l.store.create_course(&CourseInput::new("Speaking Up")).unwrap();
    let mut input = circle_on(Some(&l.riverbend));
    input.course_id = Some(course);
    input.venue = Venue { name: "Main Library".into(), city: "Riverbend".into(), ..Venue::default() };
    input.signup_limit = Some(12);
    input.signup_question = "What brings you?".into();
    input.description = "Practice speaking in public.".into();
    let source = l.store.create_circle(&input, Some(&WeeklyRule { first_date: date("2026-09-01"), count: 6 })).unwrap();
    l.store.add_circle_facilitator(&source, &l.dana).unwrap();
    let learner = l
        .store
        .add_learner(&source, &LearnerInput { email: "ana@example.org".into(), ..LearnerInput::new("Ana") })
        .unwrap();
    let first_meeting = l.store.meetings(&source).unwrap()[0].id.clone();
    l.store.mark_attendance(&first_meeting, &learner, Mark::Present).unwrap();
    let template = l.store.save_guide_as_template(&source, "Our plan", None).unwrap();
    l.store.set_circle_guide_template(&source, Some(&template)).unwrap();

    let copy = l
        .store
        .copy_circle(&source, "Public Speaking, spring", &WeeklyRule { first_date: date("2027-02-02"), count: 8 })
        .unwrap();
    let (original, copied) = (l.store.circle(&source).unwrap().fields, l.store.circle(&copy).unwrap().fields);
    assert_eq!(copied.name, "Public Speaking, spring");
    assert_eq!(copied.status, circles_core::CircleStatus::Draft);
    let same = |mut f: CircleInput| {
        f.name = String::new();
        f.status = circles_core::CircleStatus::Draft;
        f
    };
    assert_eq!(same(copied), same(original), "course, venue, time, zone, length, signup settings, team");
    let meetings = l.store.meetings(&copy).unwrap();
    assert_eq!(meetings.len(), 8);
    assert_eq!(meetings[0].local_date, date("2027-02-02"));
    assert!(l.store.learners(&copy).unwrap().is_empty(), "no learners");
    let facilitators =
        |id: &str| -> Vec<String> { l.store.circle_facilitators(id).unwrap().into_iter().map(|f| f.id).collect() };
    assert_eq!(facilitators(&copy), facilitators(&source));
    assert_eq!(l.store.circle_guide_template(&copy).unwrap().map(|t| t.id), Some(template));
    assert!(l.store.meeting_guide(&meetings[0].id).unwrap().is_some(), "guides made from the template");

    // A copy is a new circle: refused onto a team one is not in, and whole or not at all.
    let mut elsewhere = input.clone();
    elsewhere.team_id = Some(l.lakeside.clone());
    let count = l.store.circles().unwrap().len();
    let bad = WeeklyRule { first_date: date("2027-02-02"), count: 0 };
    assert!(l.store.copy_circle(&source, "Bad", &bad).is_err());
    assert!(l.store.copy_circle(&source, "", &WeeklyRule { first_date: date("2027-02-02"), count: 3 }).is_err());
    assert_eq!(l.store.circles().unwrap().len(), count);
    assert_eq!(l.store.verify_change_log().unwrap(), []);
}

fn revoking(circle: &str) -> PullResponse {
    PullResponse {
        changes: Vec::new(),
        cursor: 0,
        has_more: false,
        remaining: 0,
        reset: false,
        conflicts: Vec::new(),
        server_time_ms: 0,
        app_release: None,
        revoked: vec![circle.to_string()],
    }
}

#[test]
fn a_revoked_circle_leaves_this_computer_and_its_waiting_changes_are_kept_as_refused() {
    let mut l = library();
    let gone = l
        .store
        .create_circle(&circle_on(Some(&l.riverbend)), Some(&WeeklyRule { first_date: date("2026-09-01"), count: 3 }))
        .unwrap();
    let kept = l.store.create_circle(&circle_on(Some(&l.riverbend)), None).unwrap();
    let learner = l
        .store
        .add_learner(&gone, &LearnerInput { email: "ana@example.org".into(), ..LearnerInput::new("Ana") })
        .unwrap();
    let meeting = l.store.meetings(&gone).unwrap()[0].id.clone();
    l.store.mark_attendance(&meeting, &learner, Mark::Present).unwrap();
    let waiting_before = l.store.pending_count().unwrap();

    let stats = l.store.apply_pull(&revoking(&gone)).unwrap();
    assert_eq!((stats.revoked_circles, stats.kept_refused > 0), (1, true));
    assert!(matches!(l.store.circle(&gone).unwrap_err(), CoreError::NotFound { .. }));
    assert!(l.store.learners(&gone).is_err() || l.store.learners(&gone).unwrap().is_empty());
    l.store.circle(&kept).unwrap();

    // Nothing of the circle waits to be sent; all of it is listed as refused.
    let refused = l.store.refused_changes().unwrap();
    assert_eq!(refused.len(), stats.kept_refused);
    assert!(refused.iter().any(|c| c.entity == "learner" && c.field == "email"));
    assert!(refused.iter().any(|c| c.table == "attendance"));
    assert_eq!(l.store.pending_count().unwrap(), waiting_before - refused.len() as u64);
    assert_eq!(l.store.verify_change_log().unwrap(), []);

    // Naming it again (a later page), or a circle never here, changes nothing.
    assert_eq!(l.store.apply_pull(&revoking(&gone)).unwrap().revoked_circles, 0);
    assert_eq!(l.store.apply_pull(&revoking("no-such-circle")).unwrap().revoked_circles, 0);
    assert_eq!(l.store.refused_changes().unwrap().len(), refused.len());
}

#[test]
fn a_teams_retention_period_is_set_read_turned_off_and_refused_out_of_range() {
    let (_dir, mut store) = store();
    let team = store.create_team("Riverbend").unwrap();
    assert_eq!(store.team_retention(&team).unwrap(), None, "off by default");
    store.set_team_retention(&team, Some(90)).unwrap();
    assert_eq!(store.team_retention(&team).unwrap(), Some(90));
    let pending = store.pending_count().unwrap();
    for days in [0, 5, 29, 3651, u32::MAX] {
        let err = store.set_team_retention(&team, Some(days)).unwrap_err();
        assert_eq!(rule_of(&err), ("anonymize_after_days", Rule::OutOfRange { min: 30, max: 3650 }), "{days}");
        assert!(err.to_string().contains("between 30 and 3650"), "{err}");
    }
    assert_eq!(store.team_retention(&team).unwrap(), Some(90), "nothing changed");
    assert_eq!(store.pending_count().unwrap(), pending, "nothing recorded");
    store.set_team_retention(&team, Some(30)).unwrap();
    store.set_team_retention(&team, Some(3650)).unwrap();
    store.set_team_retention(&team, None).unwrap();
    assert_eq!(store.team_retention(&team).unwrap(), None);
    let missing = store.set_team_retention("no-such-team", Some(90)).unwrap_err();
    assert!(matches!(missing, CoreError::NotFound { .. }), "{missing}");
}
