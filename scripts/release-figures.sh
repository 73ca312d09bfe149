#!/usr/bin/env bash
# The release figures of BENCHMARKS.md ("Release figures (issue 17)"), measured
# on the release build:
#   - the packages' sizes (scripts/package.sh: app .deb and .rpm, server .deb);
#   - the app's memory at rest on the demo: PSS and RSS summed over its
#     process tree (the app and WebKit's web and network processes) after
#     IDLE_SECONDS (10) with nothing done, under Xvfb;
#   - start-up to the Today screen on the demo (tests/e2e/startup-figures.mjs:
#     WebDriver session start to Today's meetings shown, RUNS times);
#   - the server's memory idle (fresh SQLite database, IDLE_SECONDS after it
#     answers) and its peak (VmHWM) under the load test (1,000 weekly syncs,
#     SQLite, one process: crates/server/examples/load_test.rs).
# Prints the figures as Markdown (also test-output/release-figures/figures.md).
#
# A release build of the app, the CLI, the server and its load test: long on a
# small machine. CARGO_TARGET_DIR=/somewhere keeps it apart from target/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo"
idle="${IDLE_SECONDS:-10}"
for cmd in xvfb-run WebKitWebDriver tauri-driver python3 curl; do
  command -v "$cmd" >/dev/null || die "$cmd not found (scripts/setup.sh installs what is needed)"
done
out="$repo/test-output/release-figures"
rm -rf "$out"
mkdir -p "$out"
work="$(mktemp -d -t circles-figures.XXXXXX)"
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT
rel="$target_dir/release"

# PSS and RSS (MiB) of a process and all its descendants, one JSON line.
tree_memory() {
  python3 - "$1" <<'PY'
import json, os, sys
root = int(sys.argv[1])
children = {}
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            ppid = int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        children.setdefault(ppid, []).append(int(p))
tree, todo = [], [root]
while todo:
    pid = todo.pop()
    tree.append(pid)
    todo.extend(children.get(pid, []))
procs, pss, rss = [], 0, 0
for pid in tree:
    try:
        kib = {k: int(v.split()[0]) for k, v in (l.split(":", 1) for l in open(f"/proc/{pid}/smaps_rollup") if l.startswith(("Pss:", "Rss:")))}
        name = open(f"/proc/{pid}/comm").read().strip()
    except OSError:
        continue
    p, r = kib["Pss"] // 1024, kib["Rss"] // 1024
    pss += p
    rss += r
    procs.append({"name": name, "pss_mib": p, "rss_mib": r})
print(json.dumps({"pss_mib": pss, "rss_mib": rss, "processes": procs}))
PY
}

section "Release packages (scripts/package.sh)"
bash "$repo/scripts/package.sh" | tee "$out/package.log"
app_deb="$(ls "$rel"/bundle/deb/*.deb)"
app_rpm="$(ls "$rel"/bundle/rpm/*.rpm)"
server_deb="$(ls "$target_dir"/debian/circles-server_*.deb)"

section "Release CLI (demo data) and load test"
cargo build --locked --release -p circles-cli
cargo build --locked --release -p circles-server --bins --examples

section "The app's memory at rest on the demo (${idle}s idle, under Xvfb)"
demo="$work/demo"
"$rel/circles" --data-dir "$demo" demo >/dev/null
home="$work/home"
mkdir -p "$home/data" "$home/config" "$home/cache"
export -f tree_memory
env -u CIRCLES_DATA_DIR HOME="$home" XDG_DATA_HOME="$home/data" XDG_CONFIG_HOME="$home/config" XDG_CACHE_HOME="$home/cache" \
  APP="$rel/circles-app" DEMO="$demo" IDLE="$idle" LOG="$out/app.log" \
  xvfb-run -a -s '-screen 0 1280x800x24' bash -c '
    "$APP" --data-dir "$DEMO" >"$LOG" 2>&1 &
    pid=$!
    sleep "$IDLE"
    kill -0 "$pid" || { echo "the app exited" >&2; exit 1; }
    tree_memory "$pid"
    kill "$pid"; wait "$pid" || true' >"$out/app-memory.json"
cat "$out/app-memory.json"

section "Start-up to Today on the demo (tests/e2e/startup-figures.mjs)"
env -u CIRCLES_DATA_DIR HOME="$home" XDG_DATA_HOME="$home/data" XDG_CONFIG_HOME="$home/config" XDG_CACHE_HOME="$home/cache" \
  CIRCLES_APP="$rel/circles-app" CIRCLES_CLI="$rel/circles" TAURI_DRIVER="$(command -v tauri-driver)" \
  E2E_OUTPUT_DIR="$out" RUNS="${RUNS:-5}" \
  xvfb-run -a -s '-screen 0 1280x800x24' node tests/e2e/startup-figures.mjs | tail -n 1 >"$out/startup.json"
cat "$out/startup.json"

section "The server's memory idle (${idle}s after it answers, fresh SQLite database)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
RUST_LOG=warn "$rel/circles-server" --db "$work/server.sqlite" serve --listen "127.0.0.1:$port" >"$out/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || die "the server does not answer (test-output/release-figures/server.log)"
sleep "$idle"
tree_memory "$server_pid" >"$out/server-idle.json"
kill "$server_pid"
wait "$server_pid" || true
server_pid=""
cat "$out/server-idle.json"

section "The server under the load test (1,000 weekly syncs, SQLite, one process)"
"$rel/examples/load_test" --backends sqlite --servers 1 | tee "$out/load-test.txt"

section "Figures"
python3 - "$out" "$app_deb" "$app_rpm" "$server_deb" <<'PY' | tee "$out/figures.md"
import json, os, sys
out, app_deb, app_rpm, server_deb = sys.argv[1:]
mib = lambda f: os.path.getsize(f) / 1048576
app = json.load(open(f"{out}/app-memory.json"))
start = json.load(open(f"{out}/startup.json"))
server = json.load(open(f"{out}/server-idle.json"))
row = [l for l in open(f"{out}/load-test.txt") if l.startswith("| sqlite | 1 |")][-1]
peak = row.rstrip().rstrip("|").split("|")[-1].strip()
procs = ", ".join(f"{p['name']} {p['pss_mib']}" for p in app["processes"])
print("| figure | goal | measured |")
print("|---|---|---|")
print(f"| app .deb ({os.path.basename(app_deb)}) | at most 12 MB | {mib(app_deb):.1f} MiB |")
print(f"| app .rpm ({os.path.basename(app_rpm)}) | | {mib(app_rpm):.1f} MiB |")
print(f"| server .deb ({os.path.basename(server_deb)}) | | {mib(server_deb):.1f} MiB |")
print(f"| app memory at rest on the demo, process tree (PSS / RSS) | at most 200 MB | {app['pss_mib']} / {app['rss_mib']} MiB (PSS: {procs}) |")
print(f"| start-up to Today on the demo: first / median / best of {len(start['runs'])} | under 1 s | {start['first_ms']} / {start['median_ms']} / {start['best_ms']} ms |")
print(f"| server memory idle (PSS / RSS) | | {server['pss_mib']} / {server['rss_mib']} MiB |")
print(f"| server peak RSS under the load test (SQLite, 1 process) | | {peak} MiB |")
print()
print("Load test row:")
print(row.rstrip())
PY
