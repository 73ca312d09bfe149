//! Sign in and out, the sync state, and the conflicts inbox.

use circles_core::sync::status::RefusedLocalChange;
use circles_core::sync::Resolution;
use serde::Serialize;
use tauri::State;

use crate::error::{UiError, UiErrorKind, UiResult};
use crate::state::AppState;
use crate::sync_worker::SyncView;
use circles_core::Rule;

#[tauri::command]
pub async fn sync_state(state: State<'_, AppState>) -> UiResult<SyncView> {
    state.with_store(|s| {
        state.sync.refresh_from(s);
        Ok(())
    })?;
    Ok(state.sync.view())
}

#[tauri::command]
pub async fn sync_now(state: State<'_, AppState>) -> UiResult<()> {
    state.sync.sync_now();
    Ok(())
}

/// A newer app than this one, as the server last announced it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct UpdateNotice {
    pub latest_version: String,
    pub download_url: String,
    /// This app's own version.
    pub running_version: String,
}

/// The newer app release the server last announced, if this app is older
/// (kept in the store, so it shows offline).
#[tauri::command]
pub async fn newer_release(state: State<'_, AppState>) -> UiResult<Option<UpdateNotice>> {
    let running = env!("CARGO_PKG_VERSION");
    let release = state.read(|s| s.newer_release(running))?;
    Ok(release.map(|r| UpdateNotice {
        latest_version: r.latest_version,
        download_url: r.download_url,
        running_version: running.to_string(),
    }))
}

/// Check a server address (form, answer, protocol) before the welcome
/// screen asks for an email and password; returns the address to use.
#[tauri::command]
pub async fn check_server(server_url: String) -> UiResult<String> {
    tauri::async_runtime::spawn_blocking(move || circles_core::sync::account::check_server(&server_url))
        .await
        .map_err(|e| UiError::new(UiErrorKind::Internal, e.to_string()))?
        .map_err(UiError::from)
}

/// Sign in, then sync at once. The password is used once and not kept.
#[tauri::command]
pub async fn sign_in(
    state: State<'_, AppState>,
    server_url: String,
    email: String,
    password: String,
    allow_plain_http: bool,
) -> UiResult<String> {
    let device_name = format!("Circles on {}", circles_core::sync::account::default_device_name());
    let response = with_network(&state, move |store| {
        circles_core::sync::account::sign_in(store, &server_url, &email, &password, &device_name, allow_plain_http)
    })
    .await?;
    state.sync.sync_now();
    Ok(response.name)
}

/// Sign out here (and revoke the token on the server when reachable).
/// Returns a sentence saying which.
#[tauri::command]
pub async fn sign_out(state: State<'_, AppState>) -> UiResult<bool> {
    let outcome = with_network(&state, circles_core::sync::account::sign_out).await?;
    Ok(matches!(outcome, circles_core::sync::account::SignOut::Revoked))
}

/// What removing this computer's data did, for the message the window shows.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RemovedView {
    pub signed_out: bool,
    /// The server revoked the token (false: offline, or not signed in).
    pub revoked: bool,
    pub files: usize,
}

/// Sign out and remove this computer's data (a shared laptop), then start
/// over on an empty store. Refused while changes wait unless
/// `discard_waiting` (the person ticked that they may be lost).
#[tauri::command]
pub async fn remove_computer_data(app: tauri::AppHandle, discard_waiting: bool) -> UiResult<RemovedView> {
    use tauri::Manager;
    // Signing out may wait on the network: off the async runtime's threads.
    let removed =
        tauri::async_runtime::spawn_blocking(move || app.state::<AppState>().remove_computer_data(discard_waiting))
            .await
            .map_err(|e| UiError::new(UiErrorKind::Internal, e.to_string()))??;
    Ok(RemovedView {
        signed_out: removed.signed_out.is_some(),
        revoked: matches!(removed.signed_out, Some(circles_core::sync::account::SignOut::Revoked)),
        files: removed.wiped.files,
    })
}

/// Run an account call that talks to the server: on a blocking thread (the
/// request is blocking I/O) with a connection of its own (the UI's store lock
/// is never held while waiting on the network); then refresh the sync state.
pub(crate) async fn with_network<T: Send + 'static>(
    state: &AppState,
    call: impl FnOnce(&mut circles_core::Store) -> Result<T, circles_core::sync::engine::SyncError> + Send + 'static,
) -> UiResult<T> {
    // Its own connection, so the app lock is checked here as in `with_store`.
    state.refuse_if_locked()?;
    let dir = state.data_dir()?;
    let out = tauri::async_runtime::spawn_blocking(move || {
        let mut store = crate::state::open_store(&dir)?;
        call(&mut store).map_err(UiError::from)
    })
    .await
    .map_err(|e| UiError::new(UiErrorKind::Internal, e.to_string()))??;
    state.with_store(|s| {
        state.sync.refresh_from(s);
        Ok(())
    })?;
    Ok(out)
}

/// A concurrent edit this laptop lost, with both values as text.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ConflictView {
    pub id: String,
    pub table: String,
    pub row_id: String,
    pub field: String,
    /// What the row is, e.g. the learner's or circle's name.
    pub row_label: String,
    pub lost_value: String,
    pub won_value: String,
    pub detected_at: String,
}

fn as_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[tauri::command]
pub async fn conflicts(state: State<'_, AppState>) -> UiResult<Vec<ConflictView>> {
    state.read(|s| {
        s.conflicts(false)?
            .into_iter()
            .map(|c| {
                Ok(ConflictView {
                    row_label: s.row_label(&c.table, &c.row_id)?,
                    lost_value: as_text(&c.lost_value),
                    won_value: as_text(&c.won_value),
                    id: c.id,
                    table: c.table,
                    row_id: c.row_id,
                    field: c.field,
                    detected_at: c.detected_at,
                })
            })
            .collect()
    })
}

/// Keep the value that won (`keep` "won") or bring back this laptop's
/// value (`keep` "lost", a new edit that syncs everywhere).
#[tauri::command]
pub async fn resolve_conflict(state: State<'_, AppState>, id: String, keep: String) -> UiResult<()> {
    let resolution = match keep.as_str() {
        "won" => Resolution::KeepWon,
        "lost" => Resolution::RestoreLost,
        other => {
            return Err(UiError::invalid(
                "conflict",
                "keep",
                Rule::Choice,
                format!("\"{other}\" is not a choice; use won or lost"),
            ))
        }
    };
    state.edit(|s| s.resolve_conflict(&id, resolution))?;
    state.with_store(|s| {
        state.sync.refresh_from(s);
        Ok(())
    })
}

/// The changes made here that will not be sent (refused by the server, or
/// made to a circle this person no longer has access to).
#[tauri::command]
pub async fn refused_changes(state: State<'_, AppState>) -> UiResult<Vec<RefusedLocalChange>> {
    state.read(|s| s.refused_changes())
}

/// Save the refused changes as a JSON file; returns its path.
#[tauri::command]
pub async fn export_refused_changes(state: State<'_, AppState>) -> UiResult<String> {
    let changes = state.read(|s| s.refused_changes())?;
    let json = serde_json::to_vec_pretty(&changes).map_err(|e| UiError::new(UiErrorKind::Internal, e.to_string()))?;
    crate::commands::save_export(&state, &format!("refused-changes-{}.json", crate::commands::stamp()), &json)
}
