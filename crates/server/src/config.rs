//! The server's settings: a TOML file (`--config FILE`, usually
//! /etc/circles/server.toml) under the command line and the environment,
//! which override it key by key. Every value is checked before anything
//! starts, and a bad one is named with its file, key and line.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::sms::SmsSettings;
use crate::Database;

/// Where the server keeps its data when neither the file nor the command line says.
pub const DEFAULT_DATABASE: &str = "circles-server.sqlite";
/// The address `serve` listens on when neither the file nor the command line says.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The keys a config file may hold, in the order the example file lists them.
pub const KEYS: &[&str] = &[
    "database",
    "listen",
    "public_url",
    "trust_proxy",
    "sign_in_hashes",
    "token_idle_days",
    "tls_cert",
    "tls_key",
    "mail",
    "sms",
];
/// The keys of its `[mail]` table.
pub const MAIL_KEYS: &[&str] = &["url", "from"];
/// The keys of its `[sms]` table.
pub const SMS_KEYS: &[&str] = &["url", "account", "token", "from"];

/// A config file's text as written: every key optional, each with where it stands.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database: Option<Spanned<String>>,
    listen: Option<Spanned<String>>,
    public_url: Option<Spanned<String>>,
    trust_proxy: Option<Spanned<bool>>,
    sign_in_hashes: Option<Spanned<i64>>,
    token_idle_days: Option<Spanned<i64>>,
    tls_cert: Option<Spanned<String>>,
    tls_key: Option<Spanned<String>>,
    mail: Option<FileMail>,
    sms: Option<FileSms>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSms {
    url: Option<Spanned<String>>,
    account: Option<Spanned<String>>,
    token: Option<Spanned<String>>,
    from: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMail {
    url: Option<Spanned<String>>,
    from: Option<Spanned<String>>,
}

/// What the command line (with its environment variables) said; `None`:
/// not given, so the file's value (or the default) holds.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub database: Option<String>,
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub trust_proxy: Option<bool>,
    pub sign_in_hashes: Option<u32>,
    pub token_idle_days: Option<u32>,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    pub mail_url: Option<String>,
    pub mail_from: Option<String>,
    pub sms_url: Option<String>,
    pub sms_account: Option<String>,
    pub sms_token: Option<String>,
    pub sms_from: Option<String>,
}

/// Mail settings (the sender that uses them reads these fields).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MailConfig {
    /// Where mail is sent from the server (e.g. smtp://host:587).
    pub url: Option<String>,
    /// The From address.
    pub from: Option<String>,
}

/// The settings the server runs with: the file's, overridden by the
/// command line, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub database: Database,
    pub listen: SocketAddr,
    /// The server's address as people reach it (behind the proxy), an
    /// absolute http(s) URL.
    pub public_url: Option<String>,
    pub trust_proxy: bool,
    /// Password checks at once (None: the number of cores).
    pub sign_in_hashes: Option<u32>,
    /// Days a token may go unused before it expires.
    pub token_idle_days: u32,
    /// Serve HTTPS with this certificate chain and key (PEM files).
    pub tls: Option<TlsFiles>,
    pub mail: MailConfig,
    /// SMS (None: off).
    pub sms: Option<SmsSettings>,
}

/// The certificate chain and private key `serve` uses for TLS.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A setting that cannot be used: where it came from, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("config {}: cannot read it: {reason}", file.display())]
    Unreadable { file: PathBuf, reason: String },
    #[error("config {}: {message} (line {line})", file.display())]
    Syntax { file: PathBuf, line: usize, message: String },
    #[error("config {}: unknown key `{key}` (line {line}); known keys: {known}", file.display())]
    UnknownKey { file: PathBuf, key: String, line: usize, known: String },
    #[error("config {}: `{key}` = {value} {problem} (line {line})", file.display())]
    BadFileValue { file: PathBuf, key: String, value: String, line: usize, problem: String },
    #[error("{flag} {value} {problem}")]
    BadArgument { flag: String, value: String, problem: String },
    #[error("{what} is half set: {missing} missing ({why})")]
    Incomplete { what: String, missing: String, why: String },
}

/// Where a value came from, for its error.
enum Source<'a> {
    File { file: &'a Path, key: &'a str, line: usize },
    Argument(&'a str),
}

impl Source<'_> {
    fn error(&self, value: impl fmt::Debug, problem: String) -> ConfigError {
        match self {
            Source::File { file, key, line } => ConfigError::BadFileValue {
                file: file.to_path_buf(),
                key: key.to_string(),
                value: format!("{value:?}"),
                line: *line,
                problem,
            },
            Source::Argument(flag) => {
                ConfigError::BadArgument { flag: flag.to_string(), value: format!("{value:?}"), problem }
            }
        }
    }
}

/// The line (from 1) a byte offset of `text` stands on.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes().iter().take(offset).filter(|b| **b == b'\n').count() + 1
}

fn unknown_key(
    file: &Path,
    text: &str,
    key: &Spanned<toml::de::DeString<'_>>,
    prefix: &str,
    known: &[&str],
) -> ConfigError {
    ConfigError::UnknownKey {
        file: file.to_path_buf(),
        key: format!("{prefix}{}", key.get_ref()),
        line: line_of(text, key.span().start),
        known: known.iter().map(|k| format!("{prefix}{k}")).collect::<Vec<_>>().join(", "),
    }
}

/// Refuse keys the server does not know, naming the first with its line
/// (serde's own refusal would not say which table's keys were expected).
fn known_keys_only(file: &Path, text: &str) -> Result<(), ConfigError> {
    let parsed = toml::de::DeTable::parse(text).map_err(|e| syntax(file, text, &e))?;
    let is_known = |key: &Spanned<toml::de::DeString<'_>>, known: &[&str]| known.iter().any(|k| *k == &**key.get_ref());
    for (key, value) in parsed.get_ref().iter() {
        if !is_known(key, KEYS) {
            return Err(unknown_key(file, text, key, "", KEYS));
        }
        for (table, known) in [("mail", MAIL_KEYS), ("sms", SMS_KEYS)] {
            if key.get_ref() == table {
                if let toml::de::DeValue::Table(inner) = value.get_ref() {
                    if let Some((key, _)) = inner.iter().find(|(k, _)| !is_known(k, known)) {
                        return Err(unknown_key(file, text, key, &format!("{table}."), known));
                    }
                }
            }
        }
    }
    Ok(())
}

/// A file TOML or serde refuses: the message, with the key of the line it
/// points at (when that line sets one).
fn syntax(file: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let line = e.span().map_or(1, |s| line_of(text, s.start));
    let key =
        text.lines().nth(line - 1).and_then(|l| l.split_once('=')).map(|(k, _)| k.trim()).filter(|k| !k.is_empty());
    let message = e.message().trim();
    ConfigError::Syntax {
        file: file.to_path_buf(),
        line,
        message: match key {
            Some(key) => format!("`{key}`: {message}"),
            None => message.to_string(),
        },
    }
}

fn read_file(file: &Path) -> Result<(String, FileConfig), ConfigError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| ConfigError::Unreadable { file: file.to_path_buf(), reason: e.to_string() })?;
    known_keys_only(file, &text)?;
    let parsed = toml::from_str(&text).map_err(|e| syntax(file, &text, &e))?;
    Ok((text, parsed))
}

/// A value from the command line if given, else from the file (with where
/// it stands there), else none.
fn pick<'a, T: Clone>(
    argument: Option<T>,
    flag: &'a str,
    file: &'a Path,
    text: &str,
    key: &'a str,
    in_file: Option<&Spanned<T>>,
) -> Option<(T, Source<'a>)> {
    match (argument, in_file) {
        (Some(v), _) => Some((v, Source::Argument(flag))),
        (None, Some(s)) => Some((s.get_ref().clone(), Source::File { file, key, line: line_of(text, s.span().start) })),
        (None, None) => None,
    }
}

fn check_database(value: &str, from: &Source<'_>) -> Result<Database, ConfigError> {
    if value.trim().is_empty() {
        return Err(from.error(value, "is empty: give a SQLite file path or a postgres:// URL".into()));
    }
    let db = Database::parse(value);
    match &db {
        Database::Postgres(url) => {
            if let Err(reason) = crate::storage::postgres::check_url(url) {
                return Err(from.error(db.describe(), format!("is not a PostgreSQL URL ({reason})")));
            }
        }
        Database::Sqlite(path) => {
            let text = path.to_string_lossy();
            if let Some((scheme, _)) = text.split_once("://") {
                return Err(from.error(
                    value,
                    format!("is neither a SQLite file path nor a postgres:// URL (unknown scheme `{scheme}`)"),
                ));
            }
        }
    }
    Ok(db)
}

fn check_listen(value: &str, from: &Source<'_>) -> Result<SocketAddr, ConfigError> {
    value.trim().parse().map_err(|_| from.error(value, "is not an address like 127.0.0.1:8080".into()))
}

/// An absolute http(s) URL with a host.
pub fn check_public_url(value: &str) -> Result<(), String> {
    let url =
        url::Url::parse(value).map_err(|e| format!("is not an absolute URL ({e}), like https://sync.example.org"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("is not an http(s) URL (scheme `{}`), like https://sync.example.org", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host, like https://sync.example.org".into());
    }
    Ok(())
}

fn check_idle_days(value: i64, from: &Source<'_>) -> Result<u32, ConfigError> {
    let range = crate::protocol::TOKEN_IDLE_DAYS;
    u32::try_from(value)
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| from.error(value, format!("is not between {} and {} days", range.start(), range.end())))
}

fn check_hashes(value: i64, from: &Source<'_>) -> Result<u32, ConfigError> {
    u32::try_from(value)
        .ok()
        .filter(|n| (1..=1024).contains(n))
        .ok_or_else(|| from.error(value, "is not between 1 and 1024".into()))
}

impl ServerConfig {
    /// The settings from `file` (if any) under the command line's `cli`,
    /// every value checked.
    pub fn load(file: Option<&Path>, cli: Overrides) -> Result<ServerConfig, ConfigError> {
        let none = PathBuf::new();
        let (text, raw) = match file {
            Some(f) => read_file(f)?,
            None => (String::new(), FileConfig::default()),
        };
        let file = file.unwrap_or(&none);
        let mail = raw.mail.unwrap_or_default();
        let sms = raw.sms.unwrap_or_default();

        let database = match pick(cli.database, "--db", file, &text, "database", raw.database.as_ref()) {
            Some((v, from)) => check_database(&v, &from)?,
            None => Database::parse(DEFAULT_DATABASE),
        };
        let listen = match pick(cli.listen, "--listen", file, &text, "listen", raw.listen.as_ref()) {
            Some((v, from)) => check_listen(&v, &from)?,
            None => DEFAULT_LISTEN.parse().expect("the default address parses"),
        };
        let public_url = match pick(cli.public_url, "--public-url", file, &text, "public_url", raw.public_url.as_ref())
        {
            Some((v, from)) => {
                check_public_url(&v).map_err(|problem| from.error(&v, problem))?;
                // Links are made by appending paths to it.
                Some(v.trim_end_matches('/').to_string())
            }
            None => None,
        };
        let hashes_in_file = raw.sign_in_hashes.as_ref();
        let sign_in_hashes = match pick(
            cli.sign_in_hashes.map(i64::from),
            "--sign-in-hashes",
            file,
            &text,
            "sign_in_hashes",
            hashes_in_file,
        ) {
            Some((v, from)) => Some(check_hashes(v, &from)?),
            None => None,
        };
        let trust_proxy = cli.trust_proxy.or(raw.trust_proxy.map(Spanned::into_inner)).unwrap_or(false);
        let text_value =
            |argument: Option<String>, flag: &'static str, key: &'static str, in_file: Option<&Spanned<String>>| {
                pick(argument, flag, file, &text, key, in_file)
                    .map(|(v, from)| if v.trim().is_empty() { Err(from.error(&v, "is empty".into())) } else { Ok(v) })
                    .transpose()
            };
        let mail = MailConfig {
            url: text_value(cli.mail_url, "--mail-url", "mail.url", mail.url.as_ref())?,
            from: text_value(cli.mail_from, "--mail-from", "mail.from", mail.from.as_ref())?,
        };
        let token_idle_days = match pick(
            cli.token_idle_days.map(i64::from),
            "--token-idle-days",
            file,
            &text,
            "token_idle_days",
            raw.token_idle_days.as_ref(),
        ) {
            Some((v, from)) => check_idle_days(v, &from)?,
            None => crate::protocol::DEFAULT_TOKEN_IDLE_DAYS,
        };
        let cert = text_value(cli.tls_cert, "--tls-cert", "tls_cert", raw.tls_cert.as_ref())?;
        let key = text_value(cli.tls_key, "--tls-key", "tls_key", raw.tls_key.as_ref())?;
        let tls = match (cert, key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert: PathBuf::from(cert), key: PathBuf::from(key) }),
            (None, None) => None,
            (Some(cert), None) => {
                return Err(ConfigError::BadArgument {
                    flag: "--tls-cert".into(),
                    value: format!("{cert:?}"),
                    problem: "needs --tls-key (tls_key) too: the certificate's private key".into(),
                })
            }
            (None, Some(key)) => {
                return Err(ConfigError::BadArgument {
                    flag: "--tls-key".into(),
                    value: format!("{key:?}"),
                    problem: "needs --tls-cert (tls_cert) too: the certificate it is the key of".into(),
                })
            }
        };
        let sms_value = |argument: Option<String>,
                         flag: &'static str,
                         key: &'static str,
                         in_file: Option<&Spanned<String>>,
                         check: fn(&str) -> Result<String, String>| {
            pick(argument, flag, file, &text, key, in_file)
                .map(|(v, from)| {
                    // The token is never shown, not even in its own error.
                    let shown = if key == "sms.token" { "<hidden>".to_string() } else { v.clone() };
                    check(&v).map_err(|problem| from.error(&shown, problem))
                })
                .transpose()
        };
        let sms = {
            use crate::sms::settings::{check_account, check_from, check_token, check_url};
            let url = sms_value(cli.sms_url, "--sms-url", "sms.url", sms.url.as_ref(), check_url)?;
            let account =
                sms_value(cli.sms_account, "--sms-account", "sms.account", sms.account.as_ref(), check_account)?;
            let token = sms_value(cli.sms_token, "--sms-token", "sms.token", sms.token.as_ref(), check_token)?;
            let from = sms_value(cli.sms_from, "--sms-from", "sms.from", sms.from.as_ref(), check_from)?;
            match (url, account, token, from) {
                (None, None, None, None) => None,
                (Some(url), Some(account), Some(token), Some(from)) => Some(SmsSettings { url, account, token, from }),
                (url, account, token, from) => {
                    let missing: Vec<&str> = [
                        (url.is_none(), "--sms-url (sms.url)"),
                        (account.is_none(), "--sms-account (sms.account)"),
                        (token.is_none(), "--sms-token (sms.token, CIRCLES_SMS_TOKEN)"),
                        (from.is_none(), "--sms-from (sms.from)"),
                    ]
                    .into_iter()
                    .filter_map(|(missing, name)| missing.then_some(name))
                    .collect();
                    return Err(ConfigError::Incomplete {
                        what: "SMS".into(),
                        missing: missing.join(", "),
                        why: "SMS needs the provider's URL, the account, its token and the number texts come from"
                            .into(),
                    });
                }
            }
        };
        Ok(ServerConfig { database, listen, public_url, trust_proxy, sign_in_hashes, token_idle_days, tls, mail, sms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, cli: Overrides) -> Result<ServerConfig, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(&path, text).unwrap();
        ServerConfig::load(Some(&path), cli).map_err(|e| {
            // The temp path differs per run; tests compare the rest.
            let s = e.to_string().replace(&path.display().to_string(), "F");
            ConfigError::Unreadable { file: PathBuf::new(), reason: s }
        })
    }

    fn message(text: &str) -> String {
        match load(text, Overrides::default()) {
            Err(ConfigError::Unreadable { reason, .. }) => reason,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn the_file_is_read_and_the_command_line_overrides_it() {
        let text = "database = \"/var/lib/circles/server.sqlite\"\nlisten = \"127.0.0.1:9000\"\n\
                    public_url = \"https://sync.example.org\"\ntrust_proxy = true\nsign_in_hashes = 4\n\
                    [mail]\nurl = \"smtp://mail.example.org:587\"\nfrom = \"Circles <circles@example.org>\"\n";
        let c = load(text, Overrides::default()).unwrap();
        assert_eq!(c.database, Database::Sqlite("/var/lib/circles/server.sqlite".into()));
        assert_eq!(c.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(c.public_url.as_deref(), Some("https://sync.example.org"));
        assert!(c.trust_proxy);
        assert_eq!(c.sign_in_hashes, Some(4));
        assert_eq!(c.mail.from.as_deref(), Some("Circles <circles@example.org>"));
        let tls = "token_idle_days = 30\ntls_cert = \"/etc/c.pem\"\ntls_key = \"/etc/k.pem\"\n";
        let c = load(tls, Overrides { token_idle_days: Some(7), ..Overrides::default() }).unwrap();
        assert_eq!(c.token_idle_days, 7);
        assert_eq!(c.tls, Some(TlsFiles { cert: "/etc/c.pem".into(), key: "/etc/k.pem".into() }));
        let cli = Overrides {
            listen: Some("0.0.0.0:80".into()),
            trust_proxy: Some(false),
            mail_url: Some("smtp://other:25".into()),
            ..Overrides::default()
        };
        let c = load(text, cli).unwrap();
        assert_eq!(c.listen, "0.0.0.0:80".parse().unwrap());
        assert!(!c.trust_proxy);
        assert_eq!(c.mail.url.as_deref(), Some("smtp://other:25"));
        assert_eq!(c.database, Database::Sqlite("/var/lib/circles/server.sqlite".into()));
    }

    #[test]
    fn no_file_means_the_defaults() {
        let c = ServerConfig::load(None, Overrides::default()).unwrap();
        assert_eq!(c.database, Database::parse(DEFAULT_DATABASE));
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!((c.public_url, c.trust_proxy, c.sign_in_hashes), (None, false, None));
        assert_eq!((c.token_idle_days, c.tls), (crate::protocol::DEFAULT_TOKEN_IDLE_DAYS, None));
    }

    #[test]
    fn bad_files_are_named_with_key_and_line() {
        assert_eq!(
            message("database = \"x.sqlite\"\nlisen = \"127.0.0.1:1\"\n"),
            "config F: unknown key `lisen` (line 2); known keys: database, listen, public_url, trust_proxy, \
             sign_in_hashes, token_idle_days, tls_cert, tls_key, mail, sms"
        );
        assert_eq!(
            message("[mail]\nurl = \"smtp://x\"\nsender = \"a@b\"\n"),
            "config F: unknown key `mail.sender` (line 3); known keys: mail.url, mail.from"
        );
        assert_eq!(
            message("\nlisten = \"nope\"\n"),
            "config F: `listen` = \"nope\" is not an address like 127.0.0.1:8080 (line 2)"
        );
        assert!(message("sign_in_hashes = 0").contains("`sign_in_hashes` = 0 is not between 1 and 1024 (line 1)"));
        assert!(message("token_idle_days = 0").contains("`token_idle_days` = 0 is not between 1 and 3650 days"));
        assert!(message("token_idle_days = 99999").contains("is not between 1 and 3650 days (line 1)"));
        assert!(message("tls_cert = \"/etc/ssl/c.pem\"").contains("needs --tls-key (tls_key) too"));
        assert!(message("tls_key = \"/etc/ssl/k.pem\"").contains("needs --tls-cert (tls_cert) too"));
        assert!(message("public_url = \"ftp://x.org\"").contains("is not an http(s) URL"));
        assert!(message("public_url = \"/sync\"").contains("is not an absolute URL"));
        assert!(message("database = \"mysql://db/x\"").contains("unknown scheme `mysql`"));
        assert!(message("database = \"postgres://u@h:notaport/db\"").contains("is not a PostgreSQL URL"));
        assert_eq!(
            message("\nlisten = 8080"),
            "config F: `listen`: invalid type: integer `8080`, expected a string (line 2)"
        );
        assert!(message("listen = ").contains("(line 1)"));
    }

    #[test]
    fn sms_is_all_four_keys_or_none_each_checked() {
        let text = "[sms]\nurl = \"https://api.twilio.com/\"\naccount = \"AC123\"\ntoken = \"s3cret\"\n\
                    from = \"+1 312 555 0143\"\n";
        let sms = load(text, Overrides::default()).unwrap().sms.unwrap();
        assert_eq!((sms.url.as_str(), sms.from.as_str()), ("https://api.twilio.com", "+13125550143"));
        let cli = Overrides { sms_token: Some("from-env".into()), ..Overrides::default() };
        assert_eq!(load(text, cli).unwrap().sms.unwrap().token, "from-env");
        assert_eq!(ServerConfig::load(None, Overrides::default()).unwrap().sms, None);
        assert_eq!(
            message("[sms]\nurl = \"https://api.twilio.com\"\nfrom = \"+13125550143\"\n"),
            "SMS is half set: --sms-account (sms.account), --sms-token (sms.token, CIRCLES_SMS_TOKEN) missing \
             (SMS needs the provider's URL, the account, its token and the number texts come from)"
        );
        assert_eq!(
            message("[sms]\n\nfrom = \"555-0143\"\n"),
            "config F: `sms.from` = \"555-0143\" is not a number in international form, like +13125550143 (line 3)"
        );
        assert!(message("[sms]\nurl = \"api.twilio.com\"")
            .contains("`sms.url` = \"api.twilio.com\" is not an absolute URL"));
        assert!(message("[sms]\naccount = \"AC/x\"").contains("`sms.account` = \"AC/x\" is not an account id"));
        let token = message("[sms]\ntoken = \" s3cret\"");
        assert!(
            token.contains("`sms.token` = \"<hidden>\" is not a token (one word, not empty) (line 2)")
                && !token.contains("s3cret"),
            "{token}"
        );
        assert!(message("[sms]\nsid = \"AC1\"")
            .contains("unknown key `sms.sid` (line 2); known keys: sms.url, sms.account, sms.token, sms.from"));
    }

    #[test]
    fn bad_arguments_are_named_by_flag() {
        let cli = Overrides { listen: Some("nope".into()), ..Overrides::default() };
        let e = ServerConfig::load(None, cli).unwrap_err();
        assert_eq!(e.to_string(), "--listen \"nope\" is not an address like 127.0.0.1:8080");
    }
}
