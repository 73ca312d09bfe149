//! Load test: N facilitators (default 1,000), each with their own account,
//! device token and circle (12 meetings, 10 learners), sync a realistic week
//! at once: attendance for a meeting, the meeting marked held with its head
//! count, a feedback, and a few edits (62 changes in one push), then pull
//! what is new. Against 1 and then 2 real `circles-server` processes (no
//! proxy: every request goes to a server picked at random), on SQLite and on
//! PostgreSQL (a private cluster in a temporary folder, started here with
//! PostgreSQL's durable defaults). Loopback only; bounded in facilitators
//! and in time.
//!
//!     cargo build --release -p circles-server --bins --examples
//!     target/release/examples/load_test            # or: --facilitators 200 --servers 2 --backends postgres
//!
//! Reports throughput, p50/p95/p99 latency, errors and the servers' peak RSS
//! (/proc/PID/status VmHWM) as Markdown table rows for BENCHMARKS.md.
//! Accounts and tokens are made directly in the database (password hashing
//! is not what is measured); each facilitator's circle is pushed and pulled
//! once before the clock starts (their earlier weeks).

#[path = "../tests/common/pg.rs"]
#[allow(dead_code)]
mod pg;

use std::collections::HashMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use circles_core::hlc::{wall_clock_millis, Hlc};
use circles_core::schema::{self, FieldKind, TableDef};
use circles_core::sync::wire::{PullResponse, PushOutcome, PushRequest, PushResponse, WireChange, PROTOCOL_HEADER};
use circles_server::{auth, Database};
use clap::Parser;
use rand::Rng;
use serde_json::{json, Value};

#[derive(Parser)]
struct Args {
    /// Simulated facilitators.
    #[arg(long, default_value_t = 1000)]
    facilitators: usize,
    /// Clients syncing at the same time.
    #[arg(long, default_value_t = 32)]
    workers: usize,
    /// Server process counts to run, e.g. "1,2".
    #[arg(long, default_value = "1,2", value_delimiter = ',')]
    servers: Vec<usize>,
    /// Backends to run: sqlite, postgres.
    #[arg(long, default_value = "sqlite,postgres", value_delimiter = ',')]
    backends: Vec<String>,
    /// Give up on a run after this many seconds of load.
    #[arg(long, default_value_t = 120)]
    max_seconds: u64,
}

/// What a facilitator's laptop knows.
struct Facilitator {
    device: String,
    token: String,
    circle: String,
    meetings: Vec<String>,
    learners: Vec<String>,
    /// Server seq of each (row, field) version the laptop has seen.
    seqs: HashMap<(String, String), i64>,
    cursor: i64,
    counter: u32,
}

impl Facilitator {
    fn change(&mut self, table: &TableDef, row: &str, field: &str, value: Value) -> WireChange {
        self.counter += 1;
        WireChange {
            change_id: uuid::Uuid::now_v7().to_string(),
            table: table.name.into(),
            row_id: row.into(),
            field: field.into(),
            value,
            hlc: Hlc { millis: wall_clock_millis(), counter: self.counter },
            device_id: self.device.clone(),
            base_seq: self.seqs.get(&(row.to_string(), field.to_string())).copied(),
        }
    }

    /// Every field of a new row, in schema order (parent reference first),
    /// with `given` values and valid defaults for the rest.
    fn row(&mut self, table: &TableDef, row: &str, given: &[(&str, Value)]) -> Vec<WireChange> {
        table
            .fields
            .iter()
            .map(|field| {
                let value = given.iter().find(|(f, _)| f == field).map(|(_, v)| v.clone()).unwrap_or_else(|| {
                    match schema::field_kind(table, field).expect("a schema field") {
                        FieldKind::Timestamp => json!(chrono::Utc::now().to_rfc3339()),
                        kind => kind.plain_value(),
                    }
                });
                self.change(table, row, field, value)
            })
            .collect()
    }

    /// The circle, its meetings and learners: what earlier weeks synced.
    fn first_batch(&mut self) -> PushRequest {
        let circle = self.circle.clone();
        let mut changes = self.row(
            &schema::CIRCLES,
            &circle,
            &[
                ("name", json!(format!("Public Speaking {}", self.device))),
                ("description", json!("Speak with confidence, one week at a time")),
                ("city", json!("Chicago")),
                ("language", json!("en")),
                ("duration_minutes", json!(90)),
            ],
        );
        for (i, m) in self.meetings.clone().iter().enumerate() {
            let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap() + chrono::Duration::weeks(i as i64);
            changes.extend(self.row(
                &schema::MEETINGS,
                m,
                &[
                    ("circle_id", json!(circle)),
                    ("local_date", json!(date.to_string())),
                    ("local_time", json!("18:30")),
                ],
            ));
        }
        for (i, l) in self.learners.clone().iter().enumerate() {
            changes.extend(self.row(
                &schema::LEARNERS,
                l,
                &[
                    ("circle_id", json!(circle)),
                    ("name", json!(format!("Learner {i}"))),
                    ("email", json!(format!("learner{i}@example.org"))),
                    ("consent", json!(1)),
                ],
            ));
        }
        PushRequest { batch_id: uuid::Uuid::now_v7().to_string(), batch_seq: 1, changes }
    }

    /// One week: attendance for the first meeting, held with a head count,
    /// a feedback, and three edits.
    fn week_batch(&mut self) -> PushRequest {
        let meeting = self.meetings[0].clone();
        let mut changes = Vec::new();
        for (i, l) in self.learners.clone().iter().enumerate() {
            let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("{meeting}/{l}").as_bytes()).to_string();
            let mark = ["present", "present", "late", "present", "absent"][i % 5];
            changes.extend(self.row(
                &schema::ATTENDANCE,
                &id,
                &[("meeting_id", json!(meeting)), ("learner_id", json!(l)), ("mark", json!(mark))],
            ));
        }
        changes.push(self.change(&schema::MEETINGS, &meeting, "status", json!("held")));
        changes.push(self.change(&schema::MEETINGS, &meeting, "head_count", json!(self.learners.len())));
        let feedback =
            uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("feedback/{meeting}").as_bytes()).to_string();
        changes.extend(self.row(
            &schema::MEETING_FEEDBACK,
            &feedback,
            &[
                ("meeting_id", json!(meeting)),
                ("rating", json!(4)),
                ("reflection", json!("Good energy; the warm-up ran long.")),
                ("next_week_note", json!("Start with the two-minute talks.")),
            ],
        ));
        let (l3, l5, m1) = (self.learners[3].clone(), self.learners[5].clone(), self.meetings[1].clone());
        changes.push(self.change(&schema::LEARNERS, &l3, "email", json!("learner3.new@example.org")));
        changes.push(self.change(&schema::LEARNERS, &l5, "goals", json!("Speak at the library board meeting")));
        changes.push(self.change(&schema::MEETINGS, &m1, "notes", json!("Bring the timer")));
        PushRequest { batch_id: uuid::Uuid::now_v7().to_string(), batch_seq: 2, changes }
    }

    fn learn(&mut self, batch: &PushRequest, response: &PushResponse) {
        for (c, r) in batch.changes.iter().zip(&response.results) {
            if let Some(seq) = r.seq {
                self.seqs.insert((c.row_id.clone(), c.field.clone()), seq);
            }
        }
    }
}

#[derive(Default)]
struct Stats {
    latencies: Mutex<Vec<Duration>>,
    errors: AtomicU64,
    requests: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Stats {
    fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.first_error.lock().unwrap().get_or_insert(what);
    }
}

struct Servers {
    children: Vec<Child>,
    urls: Vec<String>,
}

impl Servers {
    fn start(db: &str, n: usize) -> Servers {
        let exe = std::env::current_exe().unwrap();
        let bin: PathBuf = exe.parent().unwrap().parent().unwrap().join("circles-server");
        assert!(bin.exists(), "{} is missing: cargo build --release -p circles-server first", bin.display());
        let mut children = Vec::new();
        let mut urls = Vec::new();
        for _ in 0..n {
            let mut child = Command::new(&bin)
                .args(["--db", db, "serve", "--listen", "127.0.0.1:0"])
                .env("RUST_LOG", "warn")
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            let mut line = String::new();
            std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
            urls.push(line.trim().strip_prefix("listening on ").expect("the server's first line").to_string());
            children.push(child);
        }
        Servers { children, urls }
    }

    /// Peak resident memory of each server (VmHWM), in MiB.
    fn peak_rss_mib(&self) -> Vec<f64> {
        self.children
            .iter()
            .map(|c| {
                let status = std::fs::read_to_string(format!("/proc/{}/status", c.id())).unwrap_or_default();
                let kb: f64 = status
                    .lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0.0);
                kb / 1024.0
            })
            .collect()
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
            let _ = c.wait();
        }
    }
}

struct Worker<'a> {
    http: reqwest::blocking::Client,
    urls: &'a [String],
    stats: &'a Stats,
    timed: bool,
}

impl Worker<'_> {
    fn send(&self, request: impl Fn(&str) -> reqwest::blocking::RequestBuilder) -> Option<Value> {
        let url = &self.urls[rand::thread_rng().gen_range(0..self.urls.len())];
        let started = Instant::now();
        let result = request(url).header(PROTOCOL_HEADER, "1").send().and_then(|r| {
            let status = r.status();
            r.json::<Value>().map(|body| (status, body))
        });
        let elapsed = started.elapsed();
        if self.timed {
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            self.stats.latencies.lock().unwrap().push(elapsed);
        }
        match result {
            Ok((status, body)) if status.is_success() => Some(body),
            Ok((status, body)) => {
                self.stats.error(format!("{status} {body}"));
                None
            }
            Err(e) => {
                self.stats.error(e.to_string());
                None
            }
        }
    }

    fn push(&self, f: &mut Facilitator, batch: &PushRequest) -> bool {
        let Some(body) = self.send(|url| self.http.post(format!("{url}/v1/push")).bearer_auth(&f.token).json(batch))
        else {
            return false;
        };
        let response: PushResponse = serde_json::from_value(body).expect("a push response");
        if response.results.iter().any(|r| r.outcome != PushOutcome::Applied) {
            self.stats.error(format!("batch {} of {}: not every change applied", batch.batch_seq, f.device));
            return false;
        }
        f.learn(batch, &response);
        true
    }

    fn pull_all(&self, f: &mut Facilitator) -> bool {
        loop {
            let Some(body) = self.send(|url| {
                self.http.get(format!("{url}/v1/pull?cursor={}&limit=1000", f.cursor)).bearer_auth(&f.token)
            }) else {
                return false;
            };
            let page: PullResponse = serde_json::from_value(body).expect("a pull response");
            for c in &page.changes {
                f.seqs.insert((c.change.row_id.clone(), c.change.field.clone()), c.seq);
            }
            f.cursor = page.cursor;
            if !page.has_more {
                return true;
            }
        }
    }

    /// The week's sync, as the app does it: hello, push, pull.
    fn week(&self, f: &mut Facilitator) -> bool {
        if self.send(|url| self.http.get(format!("{url}/v1/hello"))).is_none() {
            return false;
        }
        let batch = f.week_batch();
        self.push(f, &batch) && self.pull_all(f)
    }
}

/// Run `job` over every facilitator with `workers` threads; returns how many succeeded.
fn run_all(
    facilitators: &[Mutex<Facilitator>],
    workers: usize,
    deadline: Instant,
    make: impl Fn() -> Worker<'static> + Sync,
    job: impl Fn(&Worker<'_>, &mut Facilitator) -> bool + Sync,
) -> usize {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let worker = make();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= facilitators.len() || Instant::now() > deadline {
                        return;
                    }
                    if job(&worker, &mut facilitators[i].lock().unwrap()) {
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    done.load(Ordering::SeqCst)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn run(args: &Args, backend: &str, servers: usize) -> String {
    let dir = tempfile::tempdir().unwrap();
    let db = match backend {
        "sqlite" => format!("sqlite:{}", dir.path().join("server.sqlite").display()),
        "postgres" => {
            let cluster = pg::Cluster::get();
            cluster.url(&cluster.create_db())
        }
        other => panic!("unknown backend {other} (sqlite or postgres)"),
    };
    let t0 = Instant::now();
    // Accounts and tokens, straight into the database.
    let storage = Database::parse(&db).open().unwrap();
    let hash = auth::hash_password("correct horse battery").unwrap();
    let facilitators: Vec<Mutex<Facilitator>> = (0..args.facilitators)
        .map(|i| {
            let user =
                storage.add_user(&format!("facilitator{i}@example.org"), &format!("Facilitator {i}"), &hash).unwrap();
            let device = format!("laptop-{i}");
            let token = auth::new_token();
            storage.create_token(&user, &device, "laptop", &auth::token_hash(&token), "127.0.0.1").unwrap();
            let id = || uuid::Uuid::now_v7().to_string();
            Mutex::new(Facilitator {
                device,
                token,
                circle: id(),
                meetings: (0..12).map(|_| id()).collect(),
                learners: (0..10).map(|_| id()).collect(),
                seqs: HashMap::new(),
                cursor: 0,
                counter: 0,
            })
        })
        .collect();
    drop(storage);
    eprintln!("{backend} x{servers}: {} accounts in {:.1} s", args.facilitators, t0.elapsed().as_secs_f64());

    let servers_up = Servers::start(&db, servers);
    let urls: &'static [String] = Box::leak(servers_up.urls.clone().into_boxed_slice());
    let stats: &'static Stats = Box::leak(Box::default());
    let make = |timed| {
        move || Worker {
            http: reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
            urls,
            stats,
            timed,
        }
    };
    // Earlier weeks (not timed): every circle pushed, then every laptop
    // caught up (its cursor at the end of the log: what it had not pulled
    // yet is other people's circles, which it may not see, and accounts it
    // would have pulled in an earlier sync).
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    let ready = run_all(&facilitators, args.workers, deadline, make(false), |w, f| {
        let batch = f.first_batch();
        w.push(f, &batch)
    });
    assert_eq!(ready, facilitators.len(), "setup failed: {:?}", stats.first_error.lock().unwrap());
    eprintln!("{backend} x{servers}: circles pushed after {:.1} s", t0.elapsed().as_secs_f64());
    let end =
        facilitators.iter().map(|f| f.lock().unwrap().seqs.values().copied().max().unwrap_or(0)).max().unwrap_or(0);
    let ready = run_all(&facilitators, args.workers, deadline, make(false), |w, f| {
        // A first pull from 0 (one change) records the laptop's circle as
        // part of its stream, as its first real sync did; then it is at the end.
        w.send(|url| w.http.get(format!("{url}/v1/pull?cursor=0&limit=1")).bearer_auth(&f.token)).is_some() && {
            f.cursor = end;
            w.pull_all(f)
        }
    });
    assert_eq!(ready, facilitators.len(), "setup failed: {:?}", stats.first_error.lock().unwrap());

    eprintln!("{backend} x{servers}: laptops caught up after {:.1} s", t0.elapsed().as_secs_f64());
    // The week, timed.
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    let synced = run_all(&facilitators, args.workers, deadline, make(true), |w, f| w.week(f));
    let elapsed = started.elapsed();
    let rss = servers_up.peak_rss_mib();
    if let Some(secs) = std::env::var("LOAD_TEST_PAUSE").ok().and_then(|v| v.parse().ok()) {
        eprintln!("pausing {secs} s: the database is {db}");
        std::thread::sleep(Duration::from_secs(secs));
    }
    // Server-side time per route, from each process's /metrics.
    for url in urls {
        let text = reqwest::blocking::get(format!("{url}/metrics")).and_then(|r| r.text()).unwrap_or_default();
        let mut per_route: Vec<String> = Vec::new();
        for line in text.lines().filter(|l| l.starts_with("circles_http_request_duration_seconds_sum")) {
            let route = line.split('"').nth(1).unwrap_or("?");
            let sum: f64 = line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
            let count_line = format!("circles_http_request_duration_seconds_count{{route=\"{route}\"}}");
            let count: f64 = text
                .lines()
                .find(|l| l.starts_with(&count_line))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(1.0);
            per_route.push(format!("{route} {count:.0} x {:.1} ms", sum / count * 1000.0));
        }
        eprintln!("{backend} x{servers}: {url} mean server time: {}", per_route.join(", "));
    }
    drop(servers_up);

    let mut latencies = stats.latencies.lock().unwrap().clone();
    latencies.sort();
    let requests = stats.requests.load(Ordering::Relaxed);
    let errors = stats.errors.load(Ordering::Relaxed);
    if let Some(e) = stats.first_error.lock().unwrap().as_ref() {
        eprintln!("first error: {e}");
    }
    format!(
        "| {backend} | {servers} | {synced}/{} | {:.2} s | {:.0} syncs/s ({:.0} req/s) | {:.1} | {:.1} | {:.1} | {:.1} | {errors} | {} |",
        facilitators.len(),
        elapsed.as_secs_f64(),
        synced as f64 / elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        rss.iter().map(|m| format!("{m:.0}")).collect::<Vec<_>>().join(" + "),
    )
}

fn main() {
    let args = Args::parse();
    // Measure PostgreSQL as it would run in production: fsync on.
    std::env::set_var("CIRCLES_PG_DURABLE", "1");
    println!(
        "{} facilitators, {} concurrent clients, weekly sync = hello + push (62 changes) + pull",
        args.facilitators, args.workers
    );
    println!();
    println!("| backend | servers | synced | time | throughput | p50 ms | p95 ms | p99 ms | max ms | errors | server peak RSS MiB |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for backend in &args.backends {
        for &servers in &args.servers {
            println!("{}", run(&args, backend, servers));
        }
    }
}
