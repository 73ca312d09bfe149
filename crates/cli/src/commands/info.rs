//! `circles info`: where the data is and what it holds.

use anyhow::Result;
use serde::Serialize;

use crate::output::{print_fields, print_json};
use crate::Ctx;

#[derive(Serialize)]
struct Info {
    data_dir: String,
    #[serde(flatten)]
    overview: circles_core::StoreOverview,
}

pub fn run(ctx: &Ctx) -> Result<()> {
    let info = Info { data_dir: ctx.data_dir.display().to_string(), overview: ctx.store.overview()? };
    if ctx.json {
        return print_json(&info);
    }
    let o = &info.overview;
    let count = |table: &str| o.row_counts.get(table).copied().unwrap_or_default().to_string();
    print_fields(&[
        ("data folder", info.data_dir.clone()),
        ("database", o.database_path.clone()),
        (
            "schema version",
            format!("{} (this version of Circles knows up to {})", o.schema_version, o.supported_schema_version),
        ),
        ("device id", o.device_id.clone()),
        ("courses", count("courses")),
        ("circles", count("circles")),
        ("meetings", count("meetings")),
        ("learners", count("learners")),
        ("attendance marks", count("attendance")),
        ("teams", count("teams")),
        ("facilitators", count("facilitators")),
        ("unsynced changes", o.unsynced_changes.to_string()),
    ])?;
    Ok(())
}
