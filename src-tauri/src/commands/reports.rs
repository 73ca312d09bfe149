//! Reports: computed by the core from local data (offline), shown as charts,
//! exported as CSV or PDF into the exports folder.

use circles_core::{circle_report_pdf, team_report_pdf, PdfOptions};
use circles_core::{write_circle_csv, write_team_csv};
use circles_core::{CircleReport, Team, TeamReport};
use tauri::State;

use super::sync::with_network;
use super::{parse_date, save_export, stamp};
use crate::error::{UiError, UiResult};
use crate::state::AppState;
use circles_core::sync::team_admin;
use circles_core::Rule;

#[tauri::command]
pub async fn circle_report(state: State<'_, AppState>, circle_id: String) -> UiResult<CircleReport> {
    state.read(|s| s.circle_report(&circle_id))
}

#[tauri::command]
pub async fn teams(state: State<'_, AppState>) -> UiResult<Vec<Team>> {
    state.read(|s| s.teams())
}

#[tauri::command]
pub async fn team_report(
    state: State<'_, AppState>,
    team_id: String,
    from: String,
    to: String,
) -> UiResult<TeamReport> {
    let (from, to) = (parse_date("from", &from)?, parse_date("to", &to)?);
    checked_team_report(&state, team_id, from, to).await
}

/// A team's report with whose laptops are behind, asked of the server
/// off the store's lock (offline: the report says it was not checked).
async fn checked_team_report(
    state: &AppState,
    team_id: String,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> UiResult<TeamReport> {
    with_network(state, move |s| Ok(team_admin::team_report_checked(s, &team_id, from, to)?)).await
}

fn pdf_options() -> PdfOptions {
    PdfOptions { made_on: Some(chrono::Local::now().date_naive()), ..PdfOptions::default() }
}

fn csv_bytes(write: impl FnOnce(&mut Vec<u8>) -> circles_core::Result<()>) -> UiResult<Vec<u8>> {
    let mut out = Vec::new();
    write(&mut out)?;
    Ok(out)
}

fn check_format(format: &str) -> UiResult<()> {
    match format {
        "csv" | "pdf" => Ok(()),
        other => Err(UiError::invalid(
            "report",
            "format",
            Rule::Choice,
            format!("\"{other}\" is not a report format; use csv or pdf"),
        )),
    }
}

/// Save a team's report as CSV or PDF; returns the file's path.
#[tauri::command]
pub async fn export_team_report(
    state: State<'_, AppState>,
    team_id: String,
    from: String,
    to: String,
    format: String,
) -> UiResult<String> {
    check_format(&format)?;
    let (from, to) = (parse_date("from", &from)?, parse_date("to", &to)?);
    let report = checked_team_report(&state, team_id, from, to).await?;
    let bytes = match format.as_str() {
        "csv" => csv_bytes(|out| write_team_csv(&report, out))?,
        _ => team_report_pdf(&report, &pdf_options()),
    };
    save_export(&state, &format!("team-report-{from}-{to}-{}.{format}", stamp()), &bytes)
}

#[tauri::command]
pub async fn export_circle_report(state: State<'_, AppState>, circle_id: String, format: String) -> UiResult<String> {
    check_format(&format)?;
    let report = state.read(|s| s.circle_report(&circle_id))?;
    let bytes = match format.as_str() {
        "csv" => csv_bytes(|out| write_circle_csv(&report, out))?,
        _ => circle_report_pdf(&report, &pdf_options()),
    };
    save_export(
        &state,
        &format!("circle-report-{}-{}.{format}", circles_core::file_safe(&report.circle.id, 8), stamp()),
        &bytes,
    )
}
