//! `circles export ...`: a circle as JSON, its attendance as CSV, or
//! everything as JSON, to stdout or a file.

use std::path::Path;

use anyhow::{Context, Result};

use crate::args::ExportCommand;
use crate::output::{write_data, Data};
use crate::Ctx;

pub fn run(ctx: &Ctx, command: ExportCommand) -> Result<()> {
    match command {
        ExportCommand::Circle { id, out } => {
            let export = ctx.store.export_circle(&ctx.circle_id(&id)?)?;
            let text = to_json(&export)?;
            emit(
                ctx,
                text.as_bytes(),
                Data::Json,
                out.as_deref(),
                &format!("the record of \"{}\"", export.circle.fields.name),
            )
        }
        ExportCommand::Attendance { id, out } => {
            let circle = ctx.store.circle(&ctx.circle_id(&id)?)?;
            let mut csv = Vec::new();
            ctx.store.attendance_csv(&circle.id, &mut csv)?;
            emit(ctx, &csv, Data::Bytes, out.as_deref(), &format!("the attendance of \"{}\"", circle.fields.name))
        }
        ExportCommand::All { out } => {
            let export = ctx.store.export_all()?;
            let text = to_json(&export)?;
            emit(ctx, text.as_bytes(), Data::Json, out.as_deref(), &format!("{} circles", export.circles.len()))
        }
    }
}

pub(crate) fn to_json(value: &impl serde::Serialize) -> Result<String> {
    let mut text = serde_json::to_string_pretty(value).context("cannot turn the export into JSON")?;
    text.push('\n');
    Ok(text)
}

/// Write the whole export to stdout, or to a file. The export is made in
/// memory first, so a failure never leaves a half-written file behind.
pub(crate) fn emit(ctx: &Ctx, bytes: &[u8], data: Data, out: Option<&Path>, what: &str) -> Result<()> {
    match out {
        None => write_data(bytes, data)?,
        Some(path) => {
            std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
            if !ctx.json {
                say!("Wrote {what} to {}.", path.display())?;
            }
        }
    }
    Ok(())
}
