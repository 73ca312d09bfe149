//! `circles circle ...`: circles and their settings.

use anyhow::Result;
use circles_core::{Circle, CircleInput, CircleStatus, CircleSummary, WeeklyRule};

use crate::args::{CircleCommand, CircleCopyArgs, CircleCreate, CircleDetails, CircleEdit, CircleFacilitatorCommand};
use crate::commands::meeting::print_meetings;
use crate::commands::{first_meeting_date, print_created, print_done, time_range};
use crate::output::{clip, print_fields, print_json, Table};
use crate::Ctx;

pub fn run(ctx: &mut Ctx, command: CircleCommand) -> Result<()> {
    match command {
        CircleCommand::Create(args) => create(ctx, *args),
        CircleCommand::List => list(ctx),
        CircleCommand::Show { id } => {
            let circle = ctx.store.circle(&ctx.circle_id(&id)?)?;
            show(ctx, &circle)
        }
        CircleCommand::Edit(args) => edit(ctx, *args),
        CircleCommand::Delete { id } => {
            let circle = ctx.store.circle(&ctx.circle_id(&id)?)?;
            ctx.store.delete_circle(&circle.id)?;
            print_done(ctx, &format!("Deleted circle \"{}\".", circle.fields.name), &circle)
        }
        CircleCommand::Copy(args) => copy(ctx, *args),
        CircleCommand::Facilitator(command) => facilitators(ctx, command),
    }
}

fn copy(ctx: &mut Ctx, args: CircleCopyArgs) -> Result<()> {
    let source = ctx.store.circle(&ctx.circle_id(&args.id)?)?;
    let count = match args.meetings {
        Some(count) => count,
        None => ctx.store.meetings(&source.id)?.iter().filter(|m| !m.is_cancelled()).count().max(1) as u32,
    };
    let rule = WeeklyRule { first_date: first_meeting_date(&args.first_date, args.weekday.as_deref())?, count };
    let name = args.name.unwrap_or_else(|| source.fields.name.clone());
    let id = ctx.store.copy_circle(&source.id, &name, &rule)?;
    print_created(ctx, &id)
}

fn facilitators(ctx: &mut Ctx, command: CircleFacilitatorCommand) -> Result<()> {
    let (circle, change) = match &command {
        CircleFacilitatorCommand::List { circle } => (circle, None),
        CircleFacilitatorCommand::Add { circle, facilitator } => (circle, Some((true, facilitator))),
        CircleFacilitatorCommand::Remove { circle, facilitator } => (circle, Some((false, facilitator))),
    };
    let circle = ctx.store.circle(&ctx.circle_id(circle)?)?;
    if let Some((add, given)) = change {
        let facilitator = ctx.store.find_facilitator(given)?;
        let message = if add {
            ctx.store.add_circle_facilitator(&circle.id, &facilitator.id)?;
            format!(
                "{} now facilitates \"{}\" (they see it after their next sync).",
                facilitator.name, circle.fields.name
            )
        } else {
            ctx.store.remove_circle_facilitator(&circle.id, &facilitator.id)?;
            format!(
                "{} no longer facilitates \"{}\" (their computer removes it at their next sync).",
                facilitator.name, circle.fields.name
            )
        };
        return print_done(ctx, &message, &ctx.store.circle_facilitators(&circle.id)?);
    }
    let list = ctx.store.circle_facilitators(&circle.id)?;
    if ctx.json {
        return print_json(&list);
    }
    if list.is_empty() {
        say!("No facilitators listed for \"{}\". Add one with `circles circle facilitator add`.", circle.fields.name)?;
        return Ok(());
    }
    let mut table = Table::new(&["ID", "NAME", "EMAIL"]);
    for f in &list {
        table.row(vec![f.id.clone(), clip(&f.name, 36), f.email.clone()]);
    }
    table.print()?;
    Ok(())
}

/// The team a `--team` option names, or none with `--no-team`; None: not given.
fn team_choice(ctx: &Ctx, team: Option<&str>, no_team: bool) -> Result<Option<Option<String>>> {
    Ok(match (team, no_team) {
        (Some(given), _) => Some(Some(ctx.store.find_team(given)?.id)),
        (None, true) => Some(None),
        (None, false) => None,
    })
}

fn create(ctx: &mut Ctx, args: CircleCreate) -> Result<()> {
    let mut input = CircleInput::new(args.name, args.time_zone, args.start_time, args.duration);
    apply(ctx, &args.details, &mut input)?;
    input.team_id = match team_choice(ctx, args.team.as_deref(), args.no_team)? {
        Some(team) => team,
        None => ctx.store.default_circle_team()?,
    };
    let rule = match (&args.first_date, args.meetings) {
        (Some(first_date), Some(count)) => {
            Some(WeeklyRule { first_date: first_meeting_date(first_date, args.weekday.as_deref())?, count })
        }
        // clap makes --first-date and --meetings come together.
        _ => None,
    };
    let id = ctx.store.create_circle(&input, rule.as_ref())?;
    print_created(ctx, &id)
}

fn edit(ctx: &mut Ctx, args: CircleEdit) -> Result<()> {
    let id = ctx.circle_id(&args.id)?;
    let mut input = ctx.store.circle(&id)?.fields;
    if let Some(name) = args.name {
        input.name = name;
    }
    if let Some(zone) = args.time_zone {
        input.time_zone = zone;
    }
    if let Some(start) = args.start_time {
        input.start_time = start;
    }
    if let Some(minutes) = args.duration {
        input.duration_minutes = minutes;
    }
    if args.no_course {
        input.course_id = None;
    }
    if args.no_signup_limit {
        input.signup_limit = None;
    }
    apply(ctx, &args.details, &mut input)?;
    if let Some(team) = team_choice(ctx, args.team.as_deref(), args.no_team)? {
        input.team_id = team;
    }
    ctx.store.update_circle(&id, &input)?;
    let circle = ctx.store.circle(&id)?;
    print_done(ctx, &format!("Updated circle \"{}\".", circle.fields.name), &circle)
}

/// Copy the options that were given onto a circle's fields.
fn apply(ctx: &Ctx, d: &CircleDetails, input: &mut CircleInput) -> Result<()> {
    if let Some(course) = &d.course {
        input.course_id = Some(ctx.course_id(course)?);
    }
    let v = &mut input.venue;
    let text_fields = [
        (&d.description, &mut input.description),
        (&d.venue_name, &mut v.name),
        (&d.venue_address, &mut v.address),
        (&d.venue_details, &mut v.details),
        (&d.venue_website, &mut v.website),
        (&d.city, &mut v.city),
        (&d.region, &mut v.region),
        (&d.country, &mut v.country),
        (&d.meeting_link, &mut input.meeting_link),
        (&d.language, &mut input.language),
        (&d.signup_question, &mut input.signup_question),
    ];
    for (given, field) in text_fields {
        if let Some(value) = given {
            field.clone_from(value);
        }
    }
    if d.latitude.is_some() {
        v.latitude = d.latitude;
    }
    if d.longitude.is_some() {
        v.longitude = d.longitude;
    }
    if let Some(online) = d.online {
        input.online = online;
    }
    if d.signup_limit.is_some() {
        input.signup_limit = d.signup_limit;
    }
    if let Some(hours) = d.reminder_hours {
        input.reminder_hours = hours;
    }
    if let Some(open) = d.signup_open {
        input.signup_open = open;
    }
    if let Some(publish) = d.publish {
        input.status = if publish { CircleStatus::Published } else { CircleStatus::Draft };
    }
    if let Some(did_not_happen) = d.did_not_happen {
        input.did_not_happen = did_not_happen;
    }
    Ok(())
}

fn list(ctx: &Ctx) -> Result<()> {
    let circles = ctx.store.list_circles()?;
    if ctx.json {
        return print_json(&circles);
    }
    if circles.is_empty() {
        say!("No circles yet. Create one with `circles circle create` or load the demo with `circles demo`.")?;
        return Ok(());
    }
    let mut table =
        Table::new(&["ID", "NAME", "MEETS", "TIME ZONE", "WHERE", "NEXT MEETING", "MEETINGS", "LEARNERS", "STATUS"]);
    for c in &circles {
        table.row(vec![
            c.id.clone(),
            clip(&c.name, 36),
            meets(c),
            c.time_zone.clone(),
            clip(&place(c), 32),
            c.next_meeting.clone().unwrap_or_else(|| "none scheduled".into()),
            c.meeting_count.to_string(),
            c.learner_count.to_string(),
            c.status.clone(),
        ]);
    }
    table.print()?;
    Ok(())
}

/// "Tue 18:00–19:30"
fn meets(c: &CircleSummary) -> String {
    let day: String = c.weekday.as_deref().unwrap_or_default().chars().take(3).collect();
    format!("{day} {}", time_range(&c.start_time, c.duration_minutes)).trim().to_string()
}

fn place(c: &CircleSummary) -> String {
    match (&c.venue_name, c.online) {
        (_, true) => "online".into(),
        (Some(venue), false) => venue.clone(),
        (None, false) => String::new(),
    }
}

fn show(ctx: &Ctx, circle: &Circle) -> Result<()> {
    if ctx.json {
        return print_json(circle);
    }
    let f = &circle.fields;
    let store = &ctx.store;
    let course = match &f.course_id {
        Some(id) => {
            let c = store.course(id)?;
            format!("{} ({})", c.fields.title, c.fields.provider).replace(" ()", "")
        }
        None => String::new(),
    };
    let team = match &f.team_id {
        Some(id) => store.team(id)?.name,
        None => String::new(),
    };
    let facilitators: Vec<String> = store.circle_facilitators(&circle.id)?.into_iter().map(|x| x.name).collect();
    let meetings = store.meetings(&circle.id)?;
    let learners = store.learners(&circle.id)?;
    let active = learners.iter().filter(|l| !l.fields.withdrawn).count();
    let weekday = meetings.iter().find(|m| !m.is_cancelled()).map(|m| format!("{}s ", m.weekday_name()));
    let v = &f.venue;
    let address = [&v.address, &v.city, &v.region, &v.country]
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let signup = format!(
        "{}; {active} signed up{}",
        if f.signup_open { "open" } else { "closed" },
        f.signup_limit.map(|n| format!(" (limit {n})")).unwrap_or_default()
    );
    say!("{}", f.name)?;
    print_fields(&[
        ("id", circle.id.clone()),
        ("status", format!("{}{}", f.status.as_str(), if f.did_not_happen { ", did not happen" } else { "" })),
        ("course", course),
        ("team", team),
        ("facilitators", facilitators.join(", ")),
        (
            "meets",
            format!(
                "{}{} ({} minutes), {}",
                weekday.unwrap_or_default(),
                time_range(&f.start_time, f.duration_minutes),
                f.duration_minutes,
                f.time_zone
            ),
        ),
        ("online", if f.online { f.meeting_link.clone() } else { String::new() }),
        ("venue", v.name.clone()),
        ("address", address),
        ("venue details", v.details.clone()),
        ("venue website", v.website.clone()),
        ("language", f.language.clone()),
        ("signup", signup),
        ("signup question", f.signup_question.clone()),
        ("description", f.description.clone()),
    ])?;
    say!()?;
    if meetings.is_empty() {
        say!("No meetings yet. Add them with `circles schedule generate --circle {}`.", circle.id)?;
    } else {
        say!("Meetings ({}):", meetings.iter().filter(|m| !m.is_cancelled()).count())?;
        print_meetings(&ctx.store, &circle.id, &meetings)?;
    }
    say!()?;
    say!(
        "Learners: {active} on the roster{}. See `circles learner list --circle {}`.",
        match learners.len() - active {
            0 => String::new(),
            n => format!(", {n} withdrawn"),
        },
        circle.id
    )?;
    Ok(())
}
