//! A real SMTP server process for tests: aiosmtpd (PyPI) storing every
//! message it accepts in a maildir, started per test on a loopback port and
//! killed when dropped. It lives in a venv that scripts/setup.sh makes
//! (`~/.cache/circles/aiosmtpd-<version>`, or CIRCLES_AIOSMTPD_VENV); a
//! missing venv fails the test with what to run, never skips it.
//!
//! A slow one (`SmtpSink::start_slow`) waits before it answers each message's
//! DATA (and before it stores it), as a distant or busy mail server does: a
//! server killed while sending to it is killed mid-message, mid-batch.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use circles_server::Storage;

/// Keep in step with scripts/setup.sh.
pub const AIOSMTPD_VERSION: &str = "1.4.6";

fn python() -> PathBuf {
    let venv = match std::env::var("CIRCLES_AIOSMTPD_VENV") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
            .join(format!(".cache/circles/aiosmtpd-{AIOSMTPD_VERSION}")),
    };
    let python = venv.join("bin/python");
    if !python.exists() {
        panic!(
            "\n\nThe SMTP test server is missing: the mail tests send through a real aiosmtpd {AIOSMTPD_VERSION} \
             process and found no {}.\nRun scripts/setup.sh (it makes that venv from PyPI), or set \
             CIRCLES_AIOSMTPD_VENV to a venv with aiosmtpd installed.\n",
            python.display()
        );
    }
    python
}

/// The sender of the tests' mail.
pub const FROM: &str = "Circles <circles@example.org>";

/// `serve` flags mailing `url`, for fast tests: short backoff, lease (3 s:
/// a killed server's messages are taken over soon) and poll.
pub fn mail_flags(url: &str) -> Vec<String> {
    [
        "--mail-url",
        url,
        "--mail-from",
        FROM,
        "--mail-backoff-ms",
        "300",
        "--mail-lease-ms",
        "3000",
        "--mail-poll-ms",
        "100",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Wait until `done` (panics after `timeout`, saying `what`).
pub fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "not within {timeout:?}: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How many outbox messages are in each state (pending, sending, sent, failed).
pub fn state_counts(storage: &Arc<dyn Storage>) -> HashMap<&'static str, usize> {
    let mut counts = HashMap::new();
    for m in storage.mail_summaries(None, 100_000).unwrap() {
        *counts.entry(m.state.as_str()).or_insert(0) += 1;
    }
    counts
}

/// A loopback port free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One message as the SMTP server stored it.
#[derive(Debug, Clone)]
pub struct Received {
    pub raw: String,
}

impl Received {
    /// The first header of that name (unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\n\n").next().unwrap_or("");
        let mut lines = head.lines().peekable();
        while let Some(line) = lines.next() {
            if let Some((key, value)) = line.split_once(':') {
                if key.eq_ignore_ascii_case(name) {
                    let mut value = value.trim().to_string();
                    while lines.peek().is_some_and(|l| l.starts_with([' ', '\t'])) {
                        value.push(' ');
                        value.push_str(lines.next().unwrap().trim());
                    }
                    return Some(value);
                }
            }
        }
        None
    }
}

pub struct SmtpSink {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        SmtpSink::start_on(free_port())
    }

    /// On a given port (e.g. one a server was told to use before the SMTP
    /// server was up); returns once it accepts connections.
    pub fn start_on(port: u16) -> SmtpSink {
        SmtpSink::spawn(port, None)
    }

    /// One that waits `delay` before it answers (and stores) each message.
    pub fn start_slow(delay: Duration) -> SmtpSink {
        SmtpSink::spawn(free_port(), Some(delay))
    }

    fn spawn(port: u16, delay: Option<Duration>) -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("maildir");
        let mut command = Command::new(python());
        let handler = match delay {
            None => "aiosmtpd.handlers.Mailbox",
            Some(delay) => {
                // aiosmtpd's Mailbox, waiting before each DATA is answered.
                std::fs::write(dir.path().join("slow_mailbox.py"), SLOW_MAILBOX).unwrap();
                command.env("PYTHONPATH", dir.path()).env("CIRCLES_SMTP_DELAY_MS", delay.as_millis().to_string());
                "slow_mailbox.SlowMailbox"
            }
        };
        let mut child = command
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", handler])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let start = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("aiosmtpd exited at start ({status}); is port {port} taken?");
            }
            assert!(start.elapsed() < Duration::from_secs(20), "aiosmtpd did not listen on {port} within 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpSink { child, port, dir }
    }

    /// The value of `--mail-url` for it.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Received> {
        let maildir = self.dir.path().join("maildir");
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(maildir.join(sub)) else { continue };
            for entry in entries.flatten() {
                if let Ok(raw) = std::fs::read_to_string(entry.path()) {
                    out.push(Received { raw: raw.replace("\r\n", "\n") });
                }
            }
        }
        out
    }

    /// Wait until at least `n` messages arrived (panics after `timeout`).
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            assert!(start.elapsed() < timeout, "{} of {n} messages arrived within {timeout:?}", messages.len());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The slow sink's handler (a module on PYTHONPATH).
const SLOW_MAILBOX: &str = "\
import asyncio
import os

from aiosmtpd.handlers import Mailbox


class SlowMailbox(Mailbox):
    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(int(os.environ['CIRCLES_SMTP_DELAY_MS']) / 1000)
        return await super().handle_DATA(server, session, envelope)
";

/// A header's value with RFC 2047 encoded words (`=?utf-8?b?...?=`, as
/// lettre writes non-ASCII subjects) decoded; the space between two encoded
/// words is not part of the text.
pub fn decoded_header(mail: &Received, name: &str) -> Option<String> {
    use base64::Engine;
    let raw = mail.header(name)?;
    let mut out = String::new();
    let mut previous_encoded = false;
    for (i, word) in raw.split(' ').enumerate() {
        let lower = word.to_ascii_lowercase();
        if lower.starts_with("=?utf-8?b?") && word.ends_with("?=") {
            let bytes = base64::engine::general_purpose::STANDARD.decode(&word[10..word.len() - 2]).ok()?;
            if i > 0 && !previous_encoded {
                out.push(' ');
            }
            out.push_str(&String::from_utf8(bytes).ok()?);
            previous_encoded = true;
        } else {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(word);
            previous_encoded = false;
        }
    }
    Some(out)
}

/// The text of a message's attachment named `name` (base64 or plain), or None.
pub fn attachment(mail: &Received, name: &str) -> Option<String> {
    use base64::Engine;
    let at = mail.raw.find(&format!("filename=\"{name}\""))?;
    let part_start = mail.raw[..at].rfind("\n--")?;
    let headers = &mail.raw[part_start..at];
    let body_start = at + mail.raw[at..].find("\n\n")? + 2;
    let body_end = body_start + mail.raw[body_start..].find("\n--")?;
    let body = &mail.raw[body_start..body_end];
    let base64 = headers.to_ascii_lowercase().contains("base64")
        || mail.raw[at..body_start].to_ascii_lowercase().contains("base64");
    if base64 {
        let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD.decode(compact).ok()?;
        return String::from_utf8(bytes).ok();
    }
    Some(body.to_string())
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
