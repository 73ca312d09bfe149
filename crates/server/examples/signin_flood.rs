//! Sign-in flood: 1,000 wrong sign-ins at once against a real
//! `circles-server` process (SQLite, loopback), while another user pulls.
//! Reports the server's peak memory (/proc/PID/status VmHWM), its memory
//! once the flood is over (VmRSS), how the sign-ins were answered, and the
//! other user's pull latency during the flood (p50/p99) beside the same
//! pulls on a quiet server. Three floods, each on a fresh server process:
//!
//! - distinct emails from one address (the address throttle answers);
//! - one email from 1,000 addresses (the account throttle answers);
//! - distinct emails from 1,000 addresses (every sign-in checks a password:
//!   only the bound on hashes at once keeps memory flat).
//!
//! Addresses are told to the server in X-Forwarded-For, which it trusts
//! because it runs with --trust-proxy (as behind a reverse proxy).
//!
//!     cargo build --workspace --locked --bins --examples
//!     target/debug/examples/signin_flood        # or: --flood 200 --server-bin PATH --sign-in-hashes 4

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use circles_core::sync::wire::PROTOCOL_HEADER;
use clap::Parser;

const PASSWORD: &str = "correct horse battery";

#[derive(Parser)]
struct Args {
    /// Wrong sign-ins sent at once.
    #[arg(long, default_value_t = 1000)]
    flood: usize,
    /// The circles-server binary (default: the one next to this example's folder).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Passed to `serve --sign-in-hashes` (default: the server's, the number of cores).
    #[arg(long)]
    sign_in_hashes: Option<u32>,
    /// Pulls timed on the quiet server, before each flood.
    #[arg(long, default_value_t = 100)]
    quiet_pulls: usize,
    /// Floods to run: one-address, one-email, many-addresses.
    #[arg(long, default_value = "one-address,one-email,many-addresses", value_delimiter = ',')]
    floods: Vec<String>,
    /// Serve with no sign-in flags: for a server built before sign-in throttling
    /// (which takes every address as the connection's).
    #[arg(long)]
    no_server_flags: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Flood {
    EmailsFromOneAddress,
    OneEmailFromManyAddresses,
    EmailsFromManyAddresses,
}

impl Flood {
    fn named(name: &str) -> Flood {
        match name {
            "one-address" => Flood::EmailsFromOneAddress,
            "one-email" => Flood::OneEmailFromManyAddresses,
            "many-addresses" => Flood::EmailsFromManyAddresses,
            other => panic!("no flood named {other}: one-address, one-email or many-addresses"),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Flood::EmailsFromOneAddress => "distinct emails, one address",
            Flood::OneEmailFromManyAddresses => "one email, distinct addresses",
            Flood::EmailsFromManyAddresses => "distinct emails, distinct addresses",
        }
    }

    /// The email and the X-Forwarded-For of the i-th sign-in.
    fn sign_in(self, i: usize) -> (String, Option<String>) {
        let address = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        match self {
            Flood::EmailsFromOneAddress => (format!("guess{i}@example.org"), None),
            Flood::OneEmailFromManyAddresses => ("victim@example.org".into(), Some(address)),
            Flood::EmailsFromManyAddresses => (format!("guess{i}@example.org"), Some(address)),
        }
    }
}

struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(bin: &PathBuf, args: &Args) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite:{}", dir.path().join("server.sqlite").display());
        for (email, name) in [("reader@example.org", "Reader"), ("victim@example.org", "Victim")] {
            let added = Command::new(bin)
                .args(["--db", &db, "user", "add", "--email", email, "--name", name])
                .env("CIRCLES_PASSWORD", PASSWORD)
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(added.success(), "circles-server user add failed");
        }
        let mut command = Command::new(bin);
        command.args(["--db", &db, "serve", "--listen", "127.0.0.1:0"]);
        if !args.no_server_flags {
            command.arg("--trust-proxy");
        }
        if let Some(n) = args.sign_in_hashes {
            command.args(["--sign-in-hashes", &n.to_string()]);
        }
        let mut child =
            command.env("RUST_LOG", "error").stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().strip_prefix("listening on ").expect("the server's first line").to_string();
        Server { child, url, _dir: dir }
    }

    /// A line of /proc/PID/status, in MiB.
    fn memory_mib(&self, field: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let kib: f64 = status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        kib / 1024.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

async fn sign_in(
    http: &reqwest::Client,
    url: &str,
    email: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> (u16, serde_json::Value) {
    let body = serde_json::json!({
        "email": email, "password": password, "device_name": "flood", "device_id": "flood-device",
    });
    let mut request = http.post(format!("{url}/v1/login")).header(PROTOCOL_HEADER, "1").json(&body);
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or_default())
        }
        Err(_) => (0, serde_json::Value::Null),
    }
}

/// One pull of the reader's (an empty log: the session check and the pull
/// query every sync makes); its time, or None if it failed.
async fn pull(http: &reqwest::Client, url: &str, token: &str) -> Option<Duration> {
    let started = Instant::now();
    let response = http
        .get(format!("{url}/v1/pull?cursor=0&limit=1000"))
        .header(PROTOCOL_HEADER, "1")
        .bearer_auth(token)
        .send()
        .await
        .ok()?;
    let ok = response.status().is_success();
    let _ = response.bytes().await;
    ok.then(|| started.elapsed())
}

fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

async fn run(args: &Args, bin: &PathBuf, flood: Flood) -> String {
    let server = Server::start(bin, args);
    let url = server.url.clone();
    // One connection per sign-in: a flood of separate clients.
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let reader = reqwest::Client::new();
    let (status, body) = sign_in(&reader, &url, "reader@example.org", PASSWORD, Some("192.0.2.1")).await;
    assert_eq!(status, 200, "the reader signs in: {body}");
    let token = body["token"].as_str().unwrap().to_string();

    let mut quiet = Vec::new();
    for _ in 0..args.quiet_pulls {
        quiet.extend(pull(&reader, &url, &token).await);
    }
    quiet.sort();
    let rss_before = server.memory_mib("VmRSS:");

    let flooding = Arc::new(AtomicBool::new(true));
    let pulls = {
        let (reader, url, token, flooding) = (reader.clone(), url.clone(), token.clone(), flooding.clone());
        tokio::spawn(async move {
            let mut times = Vec::new();
            let mut failed = 0;
            while flooding.load(Ordering::Relaxed) {
                match pull(&reader, &url, &token).await {
                    Some(t) => times.push(t),
                    None => failed += 1,
                }
            }
            (times, failed)
        })
    };
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.flood)
        .map(|i| {
            let (http, url) = (http.clone(), url.clone());
            let (email, forwarded_for) = flood.sign_in(i);
            tokio::spawn(async move {
                let (status, body) = sign_in(&http, &url, &email, "not the password", forwarded_for.as_deref()).await;
                (status, body["code"].as_str().unwrap_or("").to_string())
            })
        })
        .collect();
    let mut answers = std::collections::BTreeMap::<String, usize>::new();
    for task in tasks {
        let (status, code) = task.await.unwrap();
        *answers.entry(format!("{status} {code}")).or_default() += 1;
    }
    let flood_time = started.elapsed();
    flooding.store(false, Ordering::Relaxed);
    let (mut during, failed_pulls) = pulls.await.unwrap();
    during.sort();
    let peak = server.memory_mib("VmHWM:");
    let rss_after = server.memory_mib("VmRSS:");
    let answers: Vec<String> = answers.iter().map(|(k, n)| format!("{n}x {k}")).collect();
    format!(
        "| {} | {} | {:.1} s | {:.0} | {:.0} | {:.0} | {:.1} / {:.1} | {:.1} / {:.1} | {}{} |",
        flood.describe(),
        answers.join(", "),
        flood_time.as_secs_f64(),
        rss_before,
        peak,
        rss_after,
        percentile_ms(&quiet, 0.5),
        percentile_ms(&quiet, 0.99),
        percentile_ms(&during, 0.5),
        percentile_ms(&during, 0.99),
        during.len(),
        if failed_pulls > 0 { format!(" ({failed_pulls} failed)") } else { String::new() },
    )
}

fn main() {
    let args = Args::parse();
    let bin = args.server_bin.clone().unwrap_or_else(|| {
        let exe = std::env::current_exe().unwrap();
        exe.parent().unwrap().parent().unwrap().join("circles-server")
    });
    assert!(bin.exists(), "{} is missing: cargo build --workspace --bins first", bin.display());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    println!("{} wrong sign-ins at once; server {}", args.flood, bin.display());
    println!();
    println!(
        "| flood | answers | all answered in | RSS before MiB | peak RSS MiB | RSS after MiB | pull p50/p99 ms, quiet | pull p50/p99 ms, during | pulls during |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for name in &args.floods {
        println!("{}", runtime.block_on(run(&args, &bin, Flood::named(name))));
    }
}
