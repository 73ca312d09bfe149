//! The sync transport over HTTP(S), blocking (the CLI calls it directly; the
//! desktop app from a blocking task).

use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::sync::engine::{SyncError, Transport};
use crate::sync::wire::{
    DeviceRenewal, ErrorBody, Hello, LoginRequest, LoginResponse, PullResponse, PushRequest, PushResponse,
    PROTOCOL_HEADER, PROTOCOL_VERSION,
};

pub struct HttpTransport {
    base: String,
    /// Replaced when the server gives this replica a new device identity.
    token: std::sync::Mutex<Option<String>>,
    client: reqwest::blocking::Client,
}

impl HttpTransport {
    /// `base` is the server address, e.g. `https://circles.example.org`.
    pub fn new(base: &str, token: Option<String>) -> Result<Self, SyncError> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(SyncError::Refused {
                status: 0,
                code: "bad_server_url".into(),
                message: format!("\"{base}\" is not a server address starting with https:// or http://"),
            });
        }
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| SyncError::Unreachable(e.to_string()))?;
        Ok(HttpTransport { base, token: std::sync::Mutex::new(token), client })
    }

    pub fn login(&self, request: &LoginRequest) -> Result<LoginResponse, SyncError> {
        self.send(self.client.post(self.url("/v1/login")).json(request))
    }

    /// Revoke this transport's token on the server.
    pub fn logout(&self) -> Result<(), SyncError> {
        let _: serde_json::Value = self.send(self.authorized(self.client.post(self.url("/v1/logout"))))?;
        Ok(())
    }

    /// An authorized GET of the API (`path` from `/v1/...`).
    pub(crate) fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, SyncError> {
        self.send(self.authorized(self.client.get(self.url(path))))
    }

    pub(crate) fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T, SyncError> {
        self.send(self.authorized(self.client.post(self.url(path)).json(body)))
    }

    pub(crate) fn put_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T, SyncError> {
        self.send(self.authorized(self.client.put(self.url(path)).json(body)))
    }

    /// An authorized DELETE; its answer (often none) is not needed.
    pub(crate) fn delete(&self, path: &str) -> Result<(), SyncError> {
        let _: serde_json::Value = self.send(self.authorized(self.client.delete(self.url(path))))?;
        Ok(())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn authorized(&self, request: reqwest::blocking::RequestBuilder) -> reqwest::blocking::RequestBuilder {
        match &*self.token.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    fn send<T: DeserializeOwned>(&self, request: reqwest::blocking::RequestBuilder) -> Result<T, SyncError> {
        let response = request
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .send()
            .map_err(|e| SyncError::Unreachable(e.to_string()))?;
        let status = response.status();
        let body = response.bytes().map_err(|e| SyncError::Unreachable(e.to_string()))?;
        if status.is_success() {
            // 204 No Content (a delete): read as JSON null.
            let body: &[u8] = if body.is_empty() { b"null" } else { &body };
            return serde_json::from_slice(body).map_err(|e| SyncError::Refused {
                status: status.as_u16(),
                code: "bad_response".into(),
                message: format!("the server's answer could not be read: {e}"),
            });
        }
        let error: ErrorBody = serde_json::from_slice(&body).unwrap_or_else(|_| ErrorBody {
            code: "http_error".into(),
            message: format!("HTTP {status}: {}", String::from_utf8_lossy(&body).chars().take(200).collect::<String>()),
            refused: None,
        });
        Err(SyncError::Refused { status: status.as_u16(), code: error.code, message: error.message })
    }
}

impl Transport for HttpTransport {
    fn hello(&self) -> Result<Hello, SyncError> {
        self.send(self.client.get(self.url("/v1/hello")))
    }

    fn push(&self, batch: &PushRequest) -> Result<PushResponse, SyncError> {
        self.send(self.authorized(self.client.post(self.url("/v1/push")).json(batch)))
    }

    fn pull(&self, cursor: i64, conflict_cursor: i64, limit: usize) -> Result<PullResponse, SyncError> {
        let query = [
            ("cursor", cursor.to_string()),
            ("conflict_cursor", conflict_cursor.to_string()),
            ("limit", limit.to_string()),
        ];
        self.send(self.authorized(self.client.get(self.url("/v1/pull")).query(&query)))
    }

    /// The new token is used from now on.
    fn renew_device(&self) -> Result<DeviceRenewal, SyncError> {
        let renewal: DeviceRenewal = self.send(self.authorized(self.client.post(self.url("/v1/device/renew"))))?;
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some(renewal.token.clone());
        Ok(renewal)
    }
}
