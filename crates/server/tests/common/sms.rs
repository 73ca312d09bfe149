//! A test SMS provider: a small python3 `http.server` process shaped like
//! Twilio's Messages API, started per test on a loopback port and killed
//! when dropped. It writes every request it gets as one JSON line (method,
//! path, Authorization header, content type, form fields) to a file, and
//! answers by the number a text is to:
//!
//! - ending in 0500: 500 the first time, then accepted;
//! - ending in 0400: 400 with Twilio's error JSON (code 21211);
//! - ending in 0777: accepted after a 300 ms pause (to make sends overlap);
//! - else: 201 with `{"sid": "SM<n>", ...}`.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SCRIPT: &str = r#"
import json, sys, threading, time, urllib.parse
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

log_path = sys.argv[1]
lock = threading.Lock()
seen = {}
count = [0]

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8")
        form = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
        to = form.get("To", "")
        with lock:
            seen[to] = seen.get(to, 0) + 1
            nth = seen[to]
            count[0] += 1
            sid = "SM%032d" % count[0]
            with open(log_path, "a") as f:
                f.write(json.dumps({
                    "method": self.command,
                    "path": self.path,
                    "auth": self.headers.get("Authorization"),
                    "content_type": self.headers.get("Content-Type"),
                    "form": form,
                }) + "\n")
        if to.endswith("0777"):
            time.sleep(0.3)
        if to.endswith("0500") and nth == 1:
            return self.answer(500, {"code": 20500, "message": "Internal Server Error", "status": 500})
        if to.endswith("0400"):
            return self.answer(400, {"code": 21211, "message": "The 'To' number %s is not a valid phone number." % to,
                                     "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})
        self.answer(201, {"sid": sid, "status": "queued", "to": to, "body": form.get("Body")})

    def answer(self, status, body):
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// One request the provider got.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub auth: Option<String>,
    pub content_type: Option<String>,
    pub form: serde_json::Map<String, serde_json::Value>,
}

impl Request {
    pub fn field(&self, name: &str) -> &str {
        self.form.get(name).and_then(|v| v.as_str()).unwrap_or("")
    }
}

pub struct SmsSink {
    child: Child,
    pub url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmsSink {
    pub fn start() -> SmsSink {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("twilio.py");
        std::fs::write(&script, SCRIPT).unwrap();
        let log = dir.path().join("requests.jsonl");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs the test SMS provider");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port: u16 = line.trim().parse().unwrap_or_else(|_| panic!("the test SMS provider said {line:?}"));
        SmsSink { child, url: format!("http://127.0.0.1:{port}"), log, _dir: dir }
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter(|l| l.ends_with('}'))
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let text = |k: &str| v[k].as_str().map(str::to_string);
                Request {
                    method: text("method").unwrap_or_default(),
                    path: text("path").unwrap_or_default(),
                    auth: text("auth"),
                    content_type: text("content_type"),
                    form: v["form"].as_object().cloned().unwrap_or_default(),
                }
            })
            .collect()
    }

    /// Wait until at least `n` requests came.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Request> {
        let start = Instant::now();
        loop {
            let got = self.requests();
            if got.len() >= n {
                return got;
            }
            assert!(start.elapsed() < timeout, "{} of {n} SMS requests within {timeout:?}: {got:?}", got.len());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SmsSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
