//! Signing this replica in to a sync server and out again: the one place the
//! CLI (`circles login|logout`) and the desktop app do it.

use crate::error::CoreError;
use crate::store::Store;
use crate::sync::engine::SyncError;
use crate::sync::http::HttpTransport;
use crate::sync::status::Account;
use crate::sync::wire::{LoginRequest, LoginResponse};

/// Sign in with a password; the token is bound to this replica's device id
/// and remembered in the store. A plain http:// address on another computer
/// is refused (`Rule::PlainHttp`, on `server_url`) unless the person said
/// yes to it (`allow_plain_http`): the warning comes before the password
/// is sent.
pub fn sign_in(
    store: &mut Store,
    server_url: &str,
    email: &str,
    password: &str,
    device_name: &str,
    allow_plain_http: bool,
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
    refuse_plain_http(server_url, allow_plain_http)?;
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

/// Refuse a plain http:// address on another computer unless the person
/// allowed it (`Rule::PlainHttp` on `server_url`): `sign_in` asks this before
/// sending the password, and a front end may ask it before asking for one.
pub fn refuse_plain_http(server_url: &str, allow_plain_http: bool) -> Result<(), CoreError> {
    if allow_plain_http || !is_unencrypted_remote(server_url) {
        return Ok(());
    }
    Err(CoreError::invalid(
        "account",
        "server_url",
        crate::error::Rule::PlainHttp,
        format!(
            "{} is plain HTTP: your password, and then learners' details, would cross the network \
             unencrypted; use the server's https:// address, or confirm signing in without encryption",
            crate::validate::shown(server_url.trim())
        ),
    ))
}

/// Whether an address is plain http:// to another computer: what crosses
/// the network (a password, learners' details, the token) could be read or
/// changed by anyone on the way. This computer (localhost, 127.0.0.0/8,
/// ::1) is exempt: nothing leaves it. https:// and anything unparsable are
/// not (a bad address is refused by its own check).
pub fn is_unencrypted_remote(server_url: &str) -> bool {
    let url = server_url.trim();
    let Some(rest) = url.get(..7).filter(|s| s.eq_ignore_ascii_case("http://")).and(url.get(7..)) else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    }
    .to_ascii_lowercase();
    let local = host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    !local
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

#[cfg(test)]
mod tests {
    use super::is_unencrypted_remote;

    #[test]
    fn plain_http_is_unencrypted_unless_it_stays_on_this_computer() {
        for remote in [
            "http://sync.example.org",
            "HTTP://sync.example.org:8080/",
            "http://192.168.1.20:8080",
            "http://[2001:db8::1]:8080",
            "http://user@10.0.0.5",
            "  http://library.local  ",
        ] {
            assert!(is_unencrypted_remote(remote), "{remote}");
        }
        for local_or_secure in [
            "https://sync.example.org",
            "http://127.0.0.1:8080",
            "http://127.5.5.5",
            "http://localhost:8080/",
            "http://LOCALHOST",
            "http://app.localhost",
            "http://[::1]:8080",
            "sync.example.org",
            "",
        ] {
            assert!(!is_unencrypted_remote(local_or_secure), "{local_or_secure}");
        }
    }
}
