//! `circles course ...`: the course catalogue.

use anyhow::Result;
use circles_core::{Course, CourseFilter, CourseInput};

use crate::args::{CourseCommand, CourseDetails};
use crate::commands::{print_created, print_done};
use crate::output::{clip, print_fields, print_json, yes_no, Table};
use crate::Ctx;

pub fn run(ctx: &mut Ctx, command: CourseCommand) -> Result<()> {
    match command {
        CourseCommand::Create { title, details } => {
            let mut input = CourseInput::new(title);
            apply(&details, &mut input);
            let id = ctx.store.create_course(&input)?;
            print_created(ctx, &id)
        }
        CourseCommand::List { search, language, archived } => {
            let filter = CourseFilter { search, language, include_archived: archived };
            list(ctx, &ctx.store.list_courses(&filter)?)
        }
        CourseCommand::Show { id } => {
            let course = ctx.store.course(&ctx.course_id(&id)?)?;
            show(ctx, &course)
        }
        CourseCommand::Edit { id, title, details } => {
            let id = ctx.course_id(&id)?;
            let mut input = ctx.store.course(&id)?.fields;
            if let Some(title) = title {
                input.title = title;
            }
            apply(&details, &mut input);
            ctx.store.update_course(&id, &input)?;
            let course = ctx.store.course(&id)?;
            print_done(ctx, &format!("Updated course \"{}\".", course.fields.title), &course)
        }
        CourseCommand::Delete { id } => {
            let course = ctx.store.course(&ctx.course_id(&id)?)?;
            ctx.store.delete_course(&course.id)?;
            print_done(ctx, &format!("Deleted course \"{}\".", course.fields.title), &course)
        }
    }
}

/// Copy the options that were given onto a course's fields.
fn apply(details: &CourseDetails, input: &mut CourseInput) {
    let text_fields = [
        (&details.provider, &mut input.provider),
        (&details.link, &mut input.link),
        (&details.caption, &mut input.caption),
        (&details.language, &mut input.language),
        (&details.license, &mut input.license),
        (&details.format, &mut input.format),
    ];
    for (given, field) in text_fields {
        if let Some(value) = given {
            field.clone_from(value);
        }
    }
    if let Some(topics) = &details.topics {
        input.topics = topics.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect();
    }
    if let Some(archived) = details.archived {
        input.archived = archived;
    }
}

fn list(ctx: &Ctx, courses: &[Course]) -> Result<()> {
    if ctx.json {
        return print_json(&courses);
    }
    if courses.is_empty() {
        say!("No courses found. Add one with `circles course create --title ...`.")?;
        return Ok(());
    }
    let mut table = Table::new(&["ID", "TITLE", "PROVIDER", "LANG", "TOPICS", "ARCHIVED"]);
    for c in courses {
        let f = &c.fields;
        table.row(vec![
            c.id.clone(),
            clip(&f.title, 40),
            clip(&f.provider, 36),
            f.language.clone(),
            clip(&f.topics.join(", "), 36),
            if f.archived { "archived".into() } else { String::new() },
        ]);
    }
    table.print()?;
    Ok(())
}

fn show(ctx: &Ctx, course: &Course) -> Result<()> {
    if ctx.json {
        return print_json(course);
    }
    let f = &course.fields;
    say!("{}", f.title)?;
    print_fields(&[
        ("id", course.id.clone()),
        ("provider", f.provider.clone()),
        ("link", f.link.clone()),
        ("caption", f.caption.clone()),
        ("language", f.language.clone()),
        ("topics", f.topics.join(", ")),
        ("license", f.license.clone()),
        ("format", f.format.clone()),
        ("archived", yes_no(f.archived)),
    ])?;
    Ok(())
}
