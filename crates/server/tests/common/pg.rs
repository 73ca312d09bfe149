//! A private PostgreSQL cluster for one test binary: initdb + pg_ctl in a
//! temporary folder, listening only on a unix socket in that folder (no TCP
//! port to collide with anything), started on first use and removed when the
//! test binary exits (atexit; a watchdog process removes it too if the
//! binary is killed). As root (CI), PostgreSQL refuses to run, so it runs as
//! the `postgres` user that Debian's package creates.
//!
//! Missing PostgreSQL binaries fail the test loudly: they are part of the
//! test environment (scripts/setup.sh installs Debian's `postgresql`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

pub struct Cluster {
    root: PathBuf,
    bin: PathBuf,
    port: u16,
    admin: Mutex<postgres::Client>,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// The template every test database is copied from (already migrated).
const TEMPLATE: &str = "circles_template";

fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CIRCLES_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "\n\nPostgreSQL is not installed: the server tests run every case on SQLite AND on PostgreSQL, \
             and found no /usr/lib/postgresql/*/bin/initdb (set CIRCLES_PG_BIN to its folder if it is elsewhere).\n\
             Install it with `apt-get install -y postgresql` (scripts/setup.sh does).\n"
        ),
    }
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// Run a PostgreSQL program, as `postgres` when we are root.
fn pg_command(bin: &Path, program: &str) -> Command {
    let path = bin.join(program);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(path);
        c
    } else {
        Command::new(path)
    }
}

fn run(mut command: Command, what: &str) {
    let out = command.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn chown_to_postgres(path: &Path) {
    if !is_root() {
        return;
    }
    let name = std::ffi::CString::new("postgres").unwrap();
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(!pw.is_null(), "PostgreSQL must run as the `postgres` user when tests run as root, and there is none (Debian's postgresql package creates it)");
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
}

extern "C" fn stop_at_exit() {
    if let Some(c) = CLUSTER.get() {
        c.stop();
    }
}

impl Cluster {
    pub fn get() -> &'static Cluster {
        CLUSTER.get_or_init(Cluster::start)
    }

    fn start() -> Cluster {
        let bin = bin_dir();
        let root = tempfile::Builder::new().prefix("circles-pg-").tempdir().unwrap().keep();
        chown_to_postgres(&root);
        let data = root.join("data");
        let mut initdb = pg_command(&bin, "initdb");
        initdb.arg("-D").arg(&data).args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"]);
        run(initdb, "initdb");
        // Any port number will do: there is no TCP listener, only the socket file in our folder.
        let port = 20_000 + (std::process::id() % 40_000) as u16;
        // Tests trade durability for speed (nothing survives the cluster
        // anyway); CIRCLES_PG_DURABLE=1 (the load test) keeps the defaults.
        let durable = std::env::var("CIRCLES_PG_DURABLE").is_ok_and(|v| v == "1");
        let speed = if durable { "" } else { "-c fsync=off -c synchronous_commit=off -c full_page_writes=off" };
        let options = format!(
            "-p {port} -c listen_addresses='' -c unix_socket_directories='{}' {speed} -c max_connections=400 -c shared_buffers=128MB",
            root.display()
        );
        let mut pg_ctl = pg_command(&bin, "pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(root.join("postgres.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"]);
        run(pg_ctl, "pg_ctl start");
        // If this process dies without running atexit (SIGKILL, abort), a
        // watchdog stops the cluster and removes its folder.
        let stop = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {runuser} {bin}/pg_ctl -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {root}",
            pid = std::process::id(),
            runuser = if is_root() { "runuser -u postgres --" } else { "" },
            bin = bin.display(),
            data = data.display(),
            root = root.display(),
        );
        let _ = Command::new("sh")
            .args(["-c", &stop])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        unsafe {
            libc::atexit(stop_at_exit);
        }
        let admin_url = format!("postgresql:///postgres?user=postgres&host={}&port={port}", root.display());
        let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to the test cluster: {e}"));
        admin.batch_execute(&format!("CREATE DATABASE {TEMPLATE}")).unwrap();
        let cluster = Cluster { root, bin, port, admin: Mutex::new(admin) };
        // Migrate the template once; every test database is a copy of it.
        drop(circles_server::PgStorage::open(&cluster.url(TEMPLATE)).unwrap());
        cluster
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgresql:///{db}?user=postgres&host={}&port={}", self.root.display(), self.port)
    }

    /// A new database, already migrated; returns its name.
    pub fn create_db(&self) -> String {
        let name = format!("t{}", NEXT_DB.fetch_add(1, Ordering::SeqCst));
        let mut admin = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE} STRATEGY FILE_COPY")).unwrap();
        name
    }

    pub fn drop_db(&self, name: &str) {
        let mut admin = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }

    fn stop(&self) {
        let mut pg_ctl = pg_command(&self.bin, "pg_ctl");
        pg_ctl.arg("-D").arg(self.root.join("data")).args(["-m", "immediate", "stop"]);
        let _ = pg_ctl.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
