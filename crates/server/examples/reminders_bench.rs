//! Reminders benchmark (issue 15, item 6): 10,000 reminders due at once
//! (default 100 published circles x 100 learners who agreed to messages,
//! one meeting each, its reminder due), on SQLite and on PostgreSQL (a
//! private cluster in a temporary folder with PostgreSQL's durable
//! defaults, as the load test starts it). Prints figures; asserts only
//! that every reminder arrived.
//!
//!     CARGO_TARGET_DIR=/work/bench-target cargo build --release -p circles-server --bins --example reminders_bench
//!     /work/bench-target/release/examples/reminders_bench   # or: --circles 10 --backends sqlite
//!
//! Setup (not timed): accounts straight into the database; a facilitator's
//! replica writes the circles and their meetings and syncs them through a
//! `serve` process without mail; the learners are pushed through the same
//! protocol (`/v1/push`, a circle's 100 learners per batch), as a laptop
//! pushes them. Then, timed: `circles-server reminders run --now T` (queue
//! every reminder: plan, compose, outbox rows), and a `serve` process with
//! its mail worker at its default settings (batches of 10, each message
//! recorded as sent on its own) sending to a real SMTP server (aiosmtpd,
//! storing each message in a maildir) until all have arrived: time,
//! messages per second, and the `serve` process's peak RSS (VmHWM).

#[path = "../tests/common/pg.rs"]
#[allow(dead_code)]
mod pg;
#[path = "../tests/common/smtp.rs"]
#[allow(dead_code)]
mod smtp;

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Days, TimeZone, Utc};
use circles_core::hlc::{wall_clock_millis, Hlc};
use circles_core::schema::{self, FieldKind};
use circles_core::sync::engine::sync_once;
use circles_core::sync::http::HttpTransport;
use circles_core::sync::wire::{LoginRequest, PushOutcome, PushRequest, PushResponse, WireChange, PROTOCOL_HEADER};
use circles_core::{CircleInput, CircleStatus, Store, TeamRole};
use circles_server::{auth, Database};
use clap::Parser;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";
const PUBLIC: &str = "https://circles.example.org";

#[derive(Parser)]
struct Args {
    /// Published circles, one meeting each.
    #[arg(long, default_value_t = 100)]
    circles: usize,
    /// Learners per circle, all of whom agreed to messages.
    #[arg(long, default_value_t = 100)]
    learners: usize,
    /// Backends to run: sqlite, postgres.
    #[arg(long, default_value = "sqlite,postgres", value_delimiter = ',')]
    backends: Vec<String>,
    /// Give up waiting for the mail after this many seconds.
    #[arg(long, default_value_t = 1800)]
    max_seconds: u64,
}

fn server_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("circles-server");
    assert!(bin.exists(), "{} is missing: build with --bins as well", bin.display());
    bin
}

/// `circles-server --db DB serve ...`, once it listens; its address.
fn serve(db: &str, args: &[&str]) -> (Child, String) {
    let mut child = Command::new(server_bin())
        .args(["--db", db, "serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").expect("the server's first line").to_string();
    (child, url)
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}

/// Peak resident memory of a process (VmHWM), in MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// Messages in the sink's maildir (counted, not read).
fn received(sink: &smtp::SmtpSink) -> usize {
    let maildir = sink.dir.path().join("maildir");
    ["new", "cur"].iter().map(|d| std::fs::read_dir(maildir.join(d)).map(|e| e.count()).unwrap_or(0)).sum()
}

/// Every field of a new learner, in schema order, as a laptop pushes it.
fn learner_row(device: &str, counter: &mut u32, (n, circle): (usize, &str), i: usize) -> Vec<WireChange> {
    let row = uuid::Uuid::now_v7().to_string();
    let given = [
        ("circle_id", json!(circle)),
        ("name", json!(format!("Learner {i}"))),
        ("email", json!(format!("learner{i}.circle{n}@example.org"))),
        ("consent", json!(1)),
        ("waitlisted_at", json!("")),
    ];
    schema::LEARNERS
        .fields
        .iter()
        .map(|field| {
            let value = given.iter().find(|(f, _)| f == field).map(|(_, v)| v.clone()).unwrap_or_else(|| {
                match schema::field_kind(&schema::LEARNERS, field).expect("a schema field") {
                    FieldKind::Timestamp => json!(Utc::now().to_rfc3339()),
                    kind => kind.plain_value(),
                }
            });
            *counter += 1;
            WireChange {
                change_id: uuid::Uuid::now_v7().to_string(),
                table: schema::LEARNERS.name.into(),
                row_id: row.clone(),
                field: field.to_string(),
                value,
                hlc: Hlc { millis: wall_clock_millis(), counter: *counter },
                device_id: device.into(),
                base_seq: None,
            }
        })
        .collect()
}

fn run(args: &Args, backend: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let db = match backend {
        "sqlite" => format!("sqlite:{}", dir.path().join("server.sqlite").display()),
        "postgres" => {
            let cluster = pg::Cluster::get();
            cluster.url(&cluster.create_db())
        }
        other => panic!("unknown backend {other} (sqlite or postgres)"),
    };
    let total = args.circles * args.learners;
    let t0 = Instant::now();
    let storage = Database::parse(&db).open().unwrap();
    storage.add_user("fatima@example.org", "Fatima", &auth::hash_password(PASSWORD).unwrap()).unwrap();
    let team = storage.add_team("Riverbend Public Library").unwrap();
    storage.add_team_member(&team, "fatima@example.org", TeamRole::Member).unwrap();
    drop(storage);

    // The circles and meetings from a replica, the learners pushed.
    let (setup, url) = serve(&db, &[]);
    let login = |device: &str| {
        HttpTransport::new(&url, None)
            .unwrap()
            .login(&LoginRequest {
                email: "fatima@example.org".into(),
                password: PASSWORD.into(),
                device_name: "bench".into(),
                device_id: device.into(),
            })
            .unwrap()
            .token
    };
    let laptop_dir = tempfile::tempdir().unwrap();
    let mut laptop = Store::open_in_with(laptop_dir.path(), &circles_core::benchmark_key_source()).unwrap();
    let transport = HttpTransport::new(&url, Some(login(laptop.device_id()))).unwrap();
    sync_once(&mut laptop, &transport, &mut |_| {}).unwrap();
    let date = Utc::now().date_naive().checked_add_days(Days::new(10)).unwrap();
    let mut circles = Vec::new();
    for c in 0..args.circles {
        let mut input = CircleInput::new(format!("Public Speaking {c}"), "America/Chicago", "18:30", 90);
        input.team_id = Some(team.clone());
        input.status = CircleStatus::Published;
        input.venue.name = "Riverbend Library, room 2".into();
        let circle = laptop.create_circle(&input, None).unwrap();
        laptop.add_meeting(&circle, date, None).unwrap();
        circles.push(circle);
    }
    sync_once(&mut laptop, &transport, &mut |_| {}).unwrap();
    let device = "bench-pusher";
    let token = login(device);
    let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(300)).build().unwrap();
    let mut counter = 0;
    for (n, circle) in circles.iter().enumerate() {
        let changes: Vec<WireChange> =
            (0..args.learners).flat_map(|i| learner_row(device, &mut counter, (n, circle.as_str()), i)).collect();
        let batch = PushRequest { batch_id: uuid::Uuid::now_v7().to_string(), batch_seq: n as i64 + 1, changes };
        let answer = http
            .post(format!("{url}/v1/push"))
            .bearer_auth(&token)
            .header(PROTOCOL_HEADER, "1")
            .json(&batch)
            .send()
            .unwrap();
        let status = answer.status();
        let body: Value = answer.json().unwrap();
        assert!(status.is_success(), "push refused: {status} {body}");
        let response: PushResponse = serde_json::from_value(body).unwrap();
        assert!(response.results.iter().all(|r| r.outcome == PushOutcome::Applied), "a learner was not applied");
    }
    stop(setup);
    let setup_time = t0.elapsed();
    eprintln!("{backend}: {} circles, {total} learners written in {:.1} s", args.circles, setup_time.as_secs_f64());

    // Queue: one `reminders run` at the reminder's time.
    let tz = circles_core::schedule::parse_time_zone("America/Chicago").unwrap();
    let start = tz.from_local_datetime(&date.and_hms_opt(18, 30, 0).unwrap()).unwrap().with_timezone(&Utc);
    let due = (start - chrono::Duration::hours(47)).to_rfc3339();
    let t = Instant::now();
    let (ok, said, queue_rss) = measured(
        Command::new(server_bin())
            .args(["--db", &db, "reminders", "run", "--now", &due, "--public-url", PUBLIC])
            .env("RUST_LOG", "warn"),
    );
    let queue_time = t.elapsed();
    assert!(ok, "reminders run failed: {said}");
    assert_eq!(said.trim(), format!("{total} reminder(s) queued"));

    // Send: a server with mail on, its default worker, to the SMTP server.
    let sink = smtp::SmtpSink::start();
    let t = Instant::now();
    let (server, _) = serve(&db, &["--mail-url", &sink.url(), "--mail-from", smtp::FROM, "--public-url", PUBLIC]);
    let pid = server.id();
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    let mut last_report = Instant::now();
    loop {
        let n = received(&sink);
        if n >= total {
            break;
        }
        assert!(Instant::now() < deadline, "{n} of {total} arrived within {} s", args.max_seconds);
        if last_report.elapsed() > Duration::from_secs(30) {
            eprintln!("{backend}: {n} of {total} after {:.0} s", t.elapsed().as_secs_f64());
            last_report = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let send_time = t.elapsed();
    let rss = peak_rss_mib(pid);
    // The outbox agrees, and nothing more arrives.
    let storage = Database::parse(&db).open().unwrap();
    let wait = Instant::now();
    while smtp::state_counts(&storage).get("sent") != Some(&total) {
        assert!(wait.elapsed() < Duration::from_secs(60), "the outbox did not record every message as sent");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    let arrived = received(&sink);
    stop(server);
    let rate = total as f64 / send_time.as_secs_f64();
    format!(
        "| {backend} | {total} | {:.1} s ({:.0}/s), peak RSS {queue_rss:.0} MiB | {:.1} s | {rate:.0} msg/s | {rss:.0} MiB | {} |",
        queue_time.as_secs_f64(),
        total as f64 / queue_time.as_secs_f64(),
        send_time.as_secs_f64(),
        arrived - total,
    )
}

/// Run a command to its end: success, its output, its peak RSS in MiB
/// (from wait4's rusage). wait4 reaps the child, so std's `wait` is not called.
#[allow(clippy::zombie_processes)]
fn measured(command: &mut Command) -> (bool, String, f64) {
    use std::io::Read;
    let mut child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 reaps our own child, which
    // `child` is then never waited for again.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4");
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    (ok, out, usage.ru_maxrss as f64 / 1024.0)
}

fn main() {
    let args = Args::parse();
    // As the load test: PostgreSQL with its durable defaults.
    std::env::set_var("CIRCLES_PG_DURABLE", "1");
    let mut rows = Vec::new();
    for backend in &args.backends {
        rows.push(run(&args, backend));
        eprintln!("{}", rows.last().unwrap());
    }
    println!("| backend | reminders | `reminders run` (queue) | `serve` until all received | throughput | `serve` peak RSS | duplicates |");
    println!("|---|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
}
