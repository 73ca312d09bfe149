//! Newer versions of the app: the release a server announces (checked once,
//! here, for the server's options), kept in the store from the last pull so
//! the notice shows offline, and compared with the running app's version
//! (semantic versions) for the CLI and the app alike.

use crate::error::{CoreError, Result, Rule};
use crate::store::{meta, Store};
use crate::sync::wire::AppRelease;

impl AppRelease {
    /// A release as a server is told it: a semantic version and an http(s)
    /// download address, each refused with a clear message.
    pub fn new(latest_version: &str, download_url: &str) -> Result<AppRelease> {
        let latest_version = latest_version.trim();
        semver::Version::parse(latest_version).map_err(|e| {
            CoreError::invalid(
                "app release",
                "latest_version",
                Rule::Choice,
                format!("\"{latest_version}\" is not a version such as 1.2.0 ({e})"),
            )
        })?;
        let download_url = download_url.trim();
        crate::domain::validate::url("app release", "download_url", download_url)?;
        Ok(AppRelease { latest_version: latest_version.to_string(), download_url: download_url.to_string() })
    }

    /// Whether this release is newer than `running` (the app's own
    /// version). Unreadable versions are never "newer": no false notice.
    pub fn is_newer_than(&self, running: &str) -> bool {
        match (semver::Version::parse(&self.latest_version), semver::Version::parse(running.trim())) {
            (Ok(latest), Ok(running)) => latest > running,
            _ => false,
        }
    }
}

impl Store {
    /// Keep what the server said in its last pull (nothing: forget it).
    pub(crate) fn remember_app_release(&self, release: Option<&AppRelease>) -> Result<()> {
        match release {
            Some(r) => {
                meta::set(&self.conn, meta::APP_LATEST_VERSION, &r.latest_version)?;
                meta::set(&self.conn, meta::APP_DOWNLOAD_URL, &r.download_url)
            }
            None => {
                meta::delete(&self.conn, meta::APP_LATEST_VERSION)?;
                meta::delete(&self.conn, meta::APP_DOWNLOAD_URL)
            }
        }
    }

    /// The release to tell the person about: the last one a server
    /// announced, if it is newer than `running`.
    pub fn newer_release(&self, running: &str) -> Result<Option<AppRelease>> {
        let (Some(latest_version), Some(download_url)) =
            (self.meta(meta::APP_LATEST_VERSION)?, self.meta(meta::APP_DOWNLOAD_URL)?)
        else {
            return Ok(None);
        };
        let release = AppRelease { latest_version, download_url };
        Ok(release.is_newer_than(running).then_some(release))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_semantic_versions() {
        let r = AppRelease::new("1.10.0", "https://example.org/circles").unwrap();
        assert!(r.is_newer_than("1.9.3"));
        assert!(!r.is_newer_than("1.10.0"));
        assert!(!r.is_newer_than("2.0.0"));
        assert!(r.is_newer_than("1.10.0-beta.1"), "a pre-release is older than its release");
        assert!(!r.is_newer_than("not a version"));
    }

    #[test]
    fn a_bad_release_is_refused_clearly() {
        let err = AppRelease::new("1.2", "https://example.org").unwrap_err();
        assert!(err.to_string().contains("\"1.2\" is not a version such as 1.2.0"), "{err}");
        let err = AppRelease::new("1.2.0", "ftp://example.org").unwrap_err();
        assert_eq!(err.rule(), Some(Rule::Url), "{err}");
        assert!(AppRelease::new("1.2.0", "").is_err());
    }

    #[test]
    fn the_last_announced_release_is_kept_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        assert_eq!(store.newer_release("0.1.0").unwrap(), None);
        let r = AppRelease::new("0.2.0", "https://example.org/dl").unwrap();
        store.remember_app_release(Some(&r)).unwrap();
        assert_eq!(store.newer_release("0.1.0").unwrap(), Some(r));
        assert_eq!(store.newer_release("0.2.0").unwrap(), None);
        store.remember_app_release(None).unwrap();
        assert_eq!(store.newer_release("0.1.0").unwrap(), None);
    }
}
