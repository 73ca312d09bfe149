//! Where mail goes, from `--mail-url`: an SMTP server (`smtp://` plain, for
//! a local sink or relay; `smtp+starttls://`, upgraded with STARTTLS;
//! `smtps://`, TLS from the first byte; `user:password@` to authenticate,
//! percent-encoded) or a folder (`file:///path/dir`) where each message is
//! written as `<outbox id>.eml`, for development. Sending one message says
//! whether a failure is worth retrying.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use percent_encoding::percent_decode_str;

use super::MailError;
use crate::storage::ClaimedMail;

const SCHEMES: &str = "use smtp://, smtp+starttls://, smtps:// or file://";

/// How an SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// None: for a sink or relay on this machine or a private network.
    Plain,
    /// Plain, then upgraded with STARTTLS (required).
    StartTls,
    /// TLS from the start ("implicit TLS", usually port 465).
    Tls,
}

/// A parsed `--mail-url`.
#[derive(Clone, PartialEq, Eq)]
pub enum MailUrl {
    Smtp {
        host: String,
        port: u16,
        security: Security,
        credentials: Option<(String, String)>,
    },
    /// Write each message as an `.eml` file into this folder.
    Folder(PathBuf),
}

impl std::fmt::Debug for MailUrl {
    /// Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl MailUrl {
    pub fn parse(text: &str) -> Result<MailUrl, MailError> {
        let bad = |why: String| MailError::BadUrl(why);
        let Some((scheme, _)) = text.split_once("://") else {
            return Err(bad(format!("`{text}` is not a URL; {SCHEMES}")));
        };
        let security = match scheme.to_ascii_lowercase().as_str() {
            "smtp" => Security::Plain,
            "smtp+starttls" => Security::StartTls,
            "smtps" => Security::Tls,
            "file" => {
                let url = url::Url::parse(text).map_err(|e| bad(format!("`{text}`: {e}")))?;
                if url.host_str().is_some_and(|h| !h.is_empty() && h != "localhost") {
                    return Err(bad(format!(
                        "`{text}`: a file:// URL names a folder on this machine: file:///path/dir"
                    )));
                }
                let dir =
                    url.to_file_path().map_err(|()| bad(format!("`{text}` names no folder: file:///path/dir")))?;
                return Ok(MailUrl::Folder(dir));
            }
            _ => return Err(bad(format!("unknown scheme `{scheme}`; {SCHEMES}"))),
        };
        let url = url::Url::parse(text).map_err(|e| bad(format!("`{}`: {e}", redact(text))))?;
        let host =
            url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| bad(format!("`{}` names no host", redact(text))))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        if url.query().is_some() || url.fragment().is_some() || !matches!(url.path(), "" | "/") {
            return Err(bad(format!("`{}`: a mail URL is only scheme://[user:password@]host[:port]", redact(text))));
        }
        let port = url.port().unwrap_or(match security {
            Security::Plain => 25,
            Security::StartTls => 587,
            Security::Tls => 465,
        });
        let decode = |s: &str| percent_decode_str(s).decode_utf8().map(|c| c.into_owned());
        let credentials = if url.username().is_empty() {
            None
        } else {
            let user = decode(url.username()).map_err(|_| bad("the user name is not UTF-8".into()))?;
            let password = decode(url.password().unwrap_or("")).map_err(|_| bad("the password is not UTF-8".into()))?;
            Some((user, password))
        };
        Ok(MailUrl::Smtp { host, port, security, credentials })
    }

    /// For messages and logs: without the password.
    pub fn describe(&self) -> String {
        match self {
            MailUrl::Folder(dir) => format!("the folder {} (.eml files)", dir.display()),
            MailUrl::Smtp { host, port, security, credentials } => {
                let scheme = match security {
                    Security::Plain => "smtp",
                    Security::StartTls => "smtp+starttls",
                    Security::Tls => "smtps",
                };
                let user = credentials.as_ref().map_or(String::new(), |(u, _)| format!("{u}@"));
                format!("{scheme}://{user}{host}:{port}")
            }
        }
    }
}

/// A URL as it may be shown: the password replaced.
fn redact(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => text.to_string(),
    }
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth trying again later (server down, 4xx, timeout, full disk).
    Transient(String),
    /// Never going to work (5xx, an address the server refuses).
    Permanent(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Transient(e) | SendError::Permanent(e) => f.write_str(e),
        }
    }
}

enum Sink {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(PathBuf),
}

/// A configured way out, with the sender's address.
pub struct Transport {
    sink: Sink,
    from: Mailbox,
    describe: String,
}

impl Transport {
    /// `from` is `address` or `Name <address>`; `timeout` bounds each SMTP
    /// command. A folder is created if missing.
    pub fn new(url: &MailUrl, from: &str, timeout: Duration) -> Result<Transport, MailError> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| MailError::BadAddress(from.to_string(), format!("{e}; e.g. circles@example.org")))?;
        let sink = match url {
            MailUrl::Folder(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| MailError::BadUrl(format!("cannot create the folder {}: {e}", dir.display())))?;
                Sink::Folder(dir.clone())
            }
            MailUrl::Smtp { host, port, security, credentials } => {
                let tls = |host: &str| {
                    TlsParameters::new(host.to_string())
                        .map_err(|e| MailError::BadUrl(format!("cannot set up TLS for {host}: {e}")))
                };
                let tls = match security {
                    Security::Plain => Tls::None,
                    Security::StartTls => Tls::Required(tls(host)?),
                    Security::Tls => Tls::Wrapper(tls(host)?),
                };
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
                    .port(*port)
                    .tls(tls)
                    .timeout(Some(timeout));
                if let Some((user, password)) = credentials {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                Sink::Smtp(builder.build())
            }
        };
        Ok(Transport { sink, from, describe: url.describe() })
    }

    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// Send one claimed message. Ok once the SMTP server accepted it (or
    /// its file is in place).
    pub async fn send(&self, mail: &ClaimedMail) -> Result<(), SendError> {
        let message = build_message(&self.from, mail)?;
        match &self.sink {
            Sink::Smtp(smtp) => match smtp.send(message).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(SendError::Permanent(format!("the SMTP server refused it: {e}"))),
                Err(e) => Err(SendError::Transient(smtp_error(&e))),
            },
            Sink::Folder(dir) => {
                let bytes = message.formatted();
                let dir = dir.clone();
                let name = format!("{}.eml", mail.id);
                tokio::task::spawn_blocking(move || write_eml(&dir, &name, &bytes))
                    .await
                    .map_err(|e| SendError::Transient(e.to_string()))?
            }
        }
    }
}

/// The error with its causes (lettre's own text is often just "network error").
fn smtp_error(e: &lettre::transport::smtp::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Written whole, then renamed: a file named `.eml` is complete, and a
/// message written again (after a crash) replaces its own file.
fn write_eml(dir: &std::path::Path, name: &str, bytes: &[u8]) -> Result<(), SendError> {
    let partial = dir.join(format!(".{name}.partial"));
    let write = || -> std::io::Result<()> {
        std::fs::write(&partial, bytes)?;
        std::fs::File::open(&partial)?.sync_all()?;
        std::fs::rename(&partial, dir.join(name))
    };
    write().map_err(|e| SendError::Transient(format!("cannot write {}: {e}", dir.join(name).display())))
}

/// The MIME message: text (and HTML as its alternative), then attachments.
/// Its Message-ID is made from the outbox id, the same at every attempt.
pub fn build_message(from: &Mailbox, mail: &ClaimedMail) -> Result<Message, SendError> {
    let to: Mailbox =
        mail.to.parse().map_err(|e| SendError::Permanent(format!("`{}` is not an email address: {e}", mail.to)))?;
    let builder = Message::builder().from(from.clone()).to(to).subject(mail.subject.clone()).message_id(Some(format!(
        "<{}@{}>",
        mail.id,
        from.email.domain()
    )));
    let text_part = match &mail.html {
        Some(html) => MultiPart::alternative_plain_html(mail.text.clone(), html.clone()),
        None if mail.attachments.is_empty() => {
            return builder
                .singlepart(SinglePart::plain(mail.text.clone()))
                .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")));
        }
        None => MultiPart::mixed().singlepart(SinglePart::plain(mail.text.clone())),
    };
    let body = if mail.attachments.is_empty() {
        text_part
    } else {
        let mut mixed = match &mail.html {
            Some(_) => MultiPart::mixed().multipart(text_part),
            None => text_part,
        };
        for a in &mail.attachments {
            let content_type = ContentType::parse(&a.content_type).map_err(|e| {
                SendError::Permanent(format!("attachment {} has a bad content type {}: {e}", a.name, a.content_type))
            })?;
            mixed = mixed.singlepart(Attachment::new(a.name.clone()).body(a.content.clone(), content_type));
        }
        mixed
    };
    builder.multipart(body).map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_defaults_and_decoded_credentials() {
        assert_eq!(
            MailUrl::parse("smtp://127.0.0.1:2525").unwrap(),
            MailUrl::Smtp { host: "127.0.0.1".into(), port: 2525, security: Security::Plain, credentials: None }
        );
        assert_eq!(
            MailUrl::parse("smtp+starttls://me%40lib.org:p%40ss%3Aw@mail.lib.org").unwrap(),
            MailUrl::Smtp {
                host: "mail.lib.org".into(),
                port: 587,
                security: Security::StartTls,
                credentials: Some(("me@lib.org".into(), "p@ss:w".into())),
            }
        );
        let MailUrl::Smtp { port, security, .. } = MailUrl::parse("smtps://u:p@mail.lib.org").unwrap() else {
            panic!("smtps is SMTP")
        };
        assert_eq!((port, security), (465, Security::Tls));
        assert_eq!(MailUrl::parse("file:///tmp/mail").unwrap(), MailUrl::Folder("/tmp/mail".into()));
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let err = |u: &str| MailUrl::parse(u).unwrap_err().to_string();
        assert_eq!(
            err("smpt://localhost"),
            "unknown scheme `smpt`; use smtp://, smtp+starttls://, smtps:// or file://"
        );
        assert!(err("localhost:25").contains("is not a URL"), "{}", err("localhost:25"));
        assert!(err("smtp://").contains("no host"), "{}", err("smtp://"));
        assert!(err("smtp://h:99999").contains("invalid port"), "{}", err("smtp://h:99999"));
        assert!(err("smtp://u:secret@h/x?tls=1").contains("u:***@h"), "{}", err("smtp://u:secret@h/x?tls=1"));
        assert!(err("file://server/share").contains("this machine"));
    }

    #[test]
    fn descriptions_never_show_the_password() {
        let url = MailUrl::parse("smtps://me:secret@mail.lib.org").unwrap();
        assert_eq!(url.describe(), "smtps://me@mail.lib.org:465");
        assert!(!format!("{url:?}").contains("secret"));
    }
}
