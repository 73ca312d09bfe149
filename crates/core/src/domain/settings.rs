//! Preferences of this installation (not synced): the interface language and
//! the server address offered when signing in. Kept in the store's `meta`
//! table so they travel with the data folder.

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result, Rule};
use crate::store::{meta, Store};

/// Interface languages with translations in the app.
pub const UI_LANGUAGES: [&str; 3] = ["en", "es", "pt"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Settings {
    /// "en", "es" or "pt"; empty: follow the system's language.
    pub language: String,
    /// The server offered on the sign-in form, e.g. "https://sync.example.org".
    pub server_url: String,
}

impl Settings {
    pub fn validate(&self) -> Result<()> {
        if !self.language.is_empty() && !UI_LANGUAGES.contains(&self.language.as_str()) {
            return Err(CoreError::invalid(
                "settings",
                "language",
                Rule::Language,
                format!("\"{}\" is not an interface language; use en, es or pt", self.language),
            ));
        }
        let server_url = self.server_url.trim();
        if server_url.is_empty() {
            return Ok(());
        }
        crate::domain::validate::url("settings", "server_url", server_url)
    }
}

impl Store {
    pub fn settings(&self) -> Result<Settings> {
        Ok(Settings {
            language: meta::get(&self.conn, meta::UI_LANGUAGE)?.unwrap_or_default(),
            server_url: meta::get(&self.conn, meta::UI_SERVER_URL)?.unwrap_or_default(),
        })
    }

    pub fn save_settings(&mut self, settings: &Settings) -> Result<()> {
        settings.validate()?;
        let tx = self.conn.transaction()?;
        meta::set(&tx, meta::UI_LANGUAGE, &settings.language)?;
        meta::set(&tx, meta::UI_SERVER_URL, settings.server_url.trim().trim_end_matches('/'))?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_bad_values_are_refused_without_change() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        assert_eq!(store.settings().unwrap(), Settings::default());
        let good = Settings { language: "es".into(), server_url: "https://sync.example.org/".into() };
        store.save_settings(&good).unwrap();
        assert_eq!(store.settings().unwrap().server_url, "https://sync.example.org");
        let err = store.save_settings(&Settings { language: "fr".into(), server_url: String::new() }).unwrap_err();
        assert_eq!(err.field(), Some("language"));
        let err = store.save_settings(&Settings { language: "en".into(), server_url: "ftp://x".into() }).unwrap_err();
        assert_eq!(err.field(), Some("server_url"));
        assert_eq!(store.settings().unwrap().language, "es");
        // No server yet is fine: the app works offline.
        store.save_settings(&Settings { language: "pt".into(), server_url: String::new() }).unwrap();
        assert_eq!(store.settings().unwrap(), Settings { language: "pt".into(), server_url: String::new() });
    }
}
