//! Signing this replica in to a sync server and out again: the one place the
//! CLI (`circles login|logout`) and the desktop app do it.

use crate::error::CoreError;
use crate::store::Store;
use crate::sync::engine::SyncError;
use crate::sync::http::HttpTransport;
use crate::sync::status::Account;
use crate::sync::wire::{LoginRequest, LoginResponse};

/// Sign in with a password; the token is bound to this replica's device id
/// and remembered in the store.
pub fn sign_in(
    store: &mut Store,
    server_url: &str,
    email: &str,
    password: &str,
    device_name: &str,
) -> Result<LoginResponse, SyncError> {
    // The demo's made-up learners must never reach a server.
    store.refuse_if_demo()?;
    let email = email.trim();
    if email.is_empty() {
        return Err(
            crate::error::CoreError::invalid("account", "email", crate::error::Rule::Required, "is required").into()
        );
    }
    if password.is_empty() {
        return Err(crate::error::CoreError::invalid(
            "account",
            "password",
            crate::error::Rule::Required,
            "is required",
        )
        .into());
    }
    let server_url = server_url.trim().trim_end_matches('/');
    let transport = HttpTransport::new(server_url, None)?;
    let mut request = LoginRequest {
        email: email.to_string(),
        password: password.to_string(),
        device_name: device_name.to_string(),
        device_id: store.device_id().to_string(),
    };
    let response = match transport.login(&request) {
        // Another account signed in with this device id first (this data
        // folder was copied from another person's laptop, or the id was
        // claimed): this replica takes a new one. A device id is random, so
        // a fresh one is unused.
        Err(e) if e.code() == Some("device_taken") => {
            store.adopt_device_id(&uuid::Uuid::now_v7().to_string(), None)?;
            request.device_id = store.device_id().to_string();
            transport.login(&request)?
        }
        other => other?,
    };
    // The server names the device the token is bound to; changes must carry it.
    if let Some(device_id) = response.device_id.as_deref().filter(|id| *id != store.device_id()) {
        store.adopt_device_id(device_id, None)?;
    }
    store.save_account(&Account {
        server_url: server_url.to_string(),
        email: email.to_string(),
        user_name: response.name.clone(),
        user_id: response.user_id.clone(),
        token: response.token.clone(),
    })?;
    Ok(response)
}

/// Check a server address before asking for a password: its form, that it
/// answers, and that it is a Circles server speaking this protocol. Returns
/// the address as it will be used (trimmed, no trailing slash).
pub fn check_server(server_url: &str) -> Result<String, SyncError> {
    use crate::sync::engine::Transport;
    let server_url = server_url.trim().trim_end_matches('/');
    let transport = HttpTransport::new(server_url, None)?;
    let refused = |code: &str, message: String| SyncError::Refused { status: 0, code: code.into(), message };
    match transport.hello() {
        Ok(hello) if hello.protocols.contains(&crate::sync::wire::PROTOCOL_VERSION) => Ok(server_url.to_string()),
        Ok(_) => Err(refused(
            "protocol_unsupported",
            format!("{server_url} is a Circles server of another version; update Circles to connect to it"),
        )),
        Err(SyncError::Unreachable(why)) => Err(refused(
            "server_unreachable",
            format!("{server_url} cannot be reached ({why}); check the address and that this computer is online"),
        )),
        Err(e) => Err(refused(
            "not_a_circles_server",
            format!("{server_url} answered, but not as a Circles server does ({e}); check the address"),
        )),
    }
}

/// How signing out went on the server's side (it is always done locally).
#[derive(Debug)]
pub enum SignOut {
    Revoked,
    /// Offline or refused: the token is forgotten here and can be revoked
    /// from another device.
    NotRevoked(SyncError),
}

/// Forget the token here, and revoke it on the server when it can be reached.
/// Data and waiting changes stay.
pub fn sign_out(store: &mut Store) -> Result<SignOut, SyncError> {
    let Some(account) = store.account()? else { return Err(SyncError::NotSignedIn) };
    let revoked = HttpTransport::new(&account.server_url, Some(account.token.clone())).and_then(|t| t.logout());
    store.forget_token()?;
    Ok(match revoked {
        Ok(()) => SignOut::Revoked,
        Err(e) => SignOut::NotRevoked(e),
    })
}

/// What "Sign out and remove this computer's data" did.
#[derive(Debug)]
pub struct Removed {
    /// None: the store was not signed in.
    pub signed_out: Option<SignOut>,
    pub wiped: crate::store::wipe::Wiped,
}

/// Sign out (when signed in) and remove every file of this store, for a
/// shared laptop. Refused, with nothing done, while changes made here have
/// not reached the server, unless `discard_waiting` says the person accepts
/// losing them; refused for the demo (leaving the demo is its way out).
pub fn sign_out_and_remove(mut store: Store, discard_waiting: bool) -> Result<Removed, SyncError> {
    store.refuse_if_demo()?;
    let waiting = store.pending_count()?;
    if waiting > 0 && !discard_waiting {
        return Err(CoreError::ChangesWaiting { count: waiting }.into());
    }
    let signed_out = match store.account()? {
        Some(_) => Some(sign_out(&mut store)?),
        None => None,
    };
    Ok(Removed { signed_out, wiped: store.wipe()? })
}

/// The name a device's token is listed under on the server: the host name.
pub fn default_device_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_string()))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this computer".into())
}
