//! Sync benchmarks, each side by side with its floor: raw SQLite writing the
//! same number of rows in one transaction. Prints figures; asserts nothing.
//!
//! cargo run --release -p circles-server --example sync_bench
//! (SYNC_BENCH_ONLY_PUSH=1: the push runs only, e.g. under `perf record`)

use std::sync::Arc;
use std::time::{Duration, Instant};

use circles_core::sync::engine::sync_once;
use circles_core::sync::http::HttpTransport;
use circles_core::sync::wire::LoginRequest;
use circles_core::{CourseInput, Store};
use circles_server::{auth, SqliteStorage, Storage};

fn start_server(dir: &std::path::Path) -> (String, Arc<SqliteStorage>) {
    let storage = Arc::new(SqliteStorage::open(&dir.join("server.sqlite")).unwrap());
    storage.add_user("bench@example.org", "Bench", &auth::hash_password("bench-password").unwrap()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let served: Arc<dyn Storage> = storage.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            circles_server::serve(listener, served, std::future::pending()).await.unwrap();
        });
    });
    (format!("http://{}", rx.recv().unwrap()), storage)
}

fn client(url: &str) -> (tempfile::TempDir, Store, HttpTransport) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_with(dir.path(), &circles_core::benchmark_key_source()).unwrap();
    let login = HttpTransport::new(url, None)
        .unwrap()
        .login(&LoginRequest {
            email: "bench@example.org".into(),
            password: "bench-password".into(),
            device_name: "bench".into(),
            device_id: store.device_id().into(),
        })
        .unwrap();
    let transport = HttpTransport::new(url, Some(login.token)).unwrap();
    (dir, store, transport)
}

/// Raw SQLite: `rows` rows of (id, table, row, field, value) in one transaction.
fn floor(rows: usize) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = rusqlite::Connection::open(dir.path().join("floor.sqlite")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.execute_batch("CREATE TABLE t (id TEXT PRIMARY KEY, tbl TEXT, row_id TEXT, field TEXT, value TEXT)").unwrap();
    let start = Instant::now();
    let tx = conn.transaction().unwrap();
    {
        let mut stmt = tx.prepare("INSERT INTO t VALUES (?1, 'courses', ?2, 'title', ?3)").unwrap();
        for i in 0..rows {
            stmt.execute(rusqlite::params![
                uuid::Uuid::now_v7().to_string(),
                format!("row-{}", i / 11),
                format!("\"Course {i}\"")
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
    start.elapsed()
}

fn courses(store: &mut Store, changes: usize) {
    // A new course records 11 field changes.
    for i in 0..changes.div_ceil(11) {
        store.create_course(&CourseInput::new(format!("Course {i}"))).unwrap();
    }
}

fn report(what: &str, changes: u64, took: Duration, floor: Option<Duration>) {
    let ms = took.as_secs_f64() * 1000.0;
    match floor {
        Some(f) => {
            let f_ms = f.as_secs_f64() * 1000.0;
            println!("| {what} | {changes} | {ms:.1} ms | {f_ms:.1} ms | {:.1}x |", ms / f_ms);
        }
        None => println!("| {what} | {changes} | {ms:.2} ms | - | - |"),
    }
}

/// The middle of `runs` timings.
fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// How many times the push (and its floor) is measured: one run on a
/// shared 2-core machine can be a fifth off.
const PUSH_RUNS: usize = 5;

fn main() {
    println!("| benchmark | changes | Circles | raw SQLite floor | ratio |");
    println!("|---|---|---|---|---|");

    // Push 10,000 changes: each run a fresh server and laptop.
    let mut pushes = Vec::new();
    let mut floors = Vec::new();
    let mut last = None;
    for _ in 0..PUSH_RUNS {
        let server_dir = tempfile::tempdir().unwrap();
        let (url, _storage) = start_server(server_dir.path());
        let (a_dir, mut a, a_t) = client(&url);
        courses(&mut a, 10_000);
        let pending = a.pending_count().unwrap();
        let start = Instant::now();
        let r = sync_once(&mut a, &a_t, &mut |_| {}).unwrap();
        pushes.push(start.elapsed());
        assert_eq!(r.pushed, pending);
        floors.push(floor(pending as usize));
        last = Some((server_dir, url, a_dir, a, a_t, pending));
    }
    let (_server_dir, url, _a_dir, mut a, a_t, pending) = last.unwrap();
    report(
        &format!("push 10,000 changes (sync: push + pull back; median of {PUSH_RUNS})"),
        pending,
        median(pushes.clone()),
        Some(median(floors.clone())),
    );
    let push_runs = format!(
        "Push runs: {}; their floors: {}.",
        pushes.iter().map(|d| ms(*d)).collect::<Vec<_>>().join(", "),
        floors.iter().map(|d| ms(*d)).collect::<Vec<_>>().join(", ")
    );
    // SYNC_BENCH_ONLY_PUSH=1: stop here (to profile the push on its own).
    if std::env::var_os("SYNC_BENCH_ONLY_PUSH").is_some() {
        println!("\n{push_runs}");
        return;
    }

    // Bring the server to 100,000 rows, then time a fresh laptop's first sync.
    courses(&mut a, 100_000 - pending as usize);
    sync_once(&mut a, &a_t, &mut |_| {}).unwrap();
    let (_b_dir, mut b, b_t) = client(&url);
    let start = Instant::now();
    let r = sync_once(&mut b, &b_t, &mut |_| {}).unwrap();
    let initial = start.elapsed();
    report("initial pull (fresh laptop)", r.pulled, initial, Some(floor(r.pulled as usize)));

    // Incremental: 100 changes on A, then B picks them up.
    courses(&mut a, 100);
    let start = Instant::now();
    sync_once(&mut a, &a_t, &mut |_| {}).unwrap();
    let r = sync_once(&mut b, &b_t, &mut |_| {}).unwrap();
    report(
        "incremental sync of ~100 changes (A pushes, B pulls)",
        r.pulled,
        start.elapsed(),
        Some(floor(r.pulled as usize)),
    );

    // No-op sync round trips.
    let runs = 50;
    let start = Instant::now();
    for _ in 0..runs {
        sync_once(&mut b, &b_t, &mut |_| {}).unwrap();
    }
    report("no-op sync (mean of 50)", 0, start.elapsed() / runs, None);
    println!("\n{push_runs}");
}
