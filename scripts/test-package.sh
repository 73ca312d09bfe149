#!/usr/bin/env bash
# The packages as a person and an administrator get them (scripts/test.sh runs
# this after the e2e tests; needs root, as CI runs):
#   1. builds the debug-profile packages (scripts/package.sh --debug: reuses
#      target/debug, so after scripts/test.sh it only bundles);
#   2. installs the app's .deb with apt-get, checks its binary, menu entry and
#      icon, drives the installed binary in its real window on a fresh home
#      (tests/e2e/installed.test.mjs, under Xvfb), removes the package and
#      checks the binary is gone while the person's data is byte-for-byte kept;
#   3. installs the server's .deb, checks its files, verifies its systemd unit
#      (systemd-analyze verify), runs the installed binary and asks /healthz,
#      then removes and purges it.
# Leaves the machine as it found it: both packages are removed even on failure.
#
# Screenshots and logs: test-output/package/
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
started=$(date +%s)
cd "$repo"

[ "$(id -u)" -eq 0 ] || die "run as root: it installs and removes packages (CI runs as root)"
for cmd in apt-get dpkg xvfb-run WebKitWebDriver tauri-driver systemd-analyze curl python3; do
  command -v "$cmd" >/dev/null || die "$cmd not found (scripts/setup.sh installs what is needed)"
done
dpkg-query -W -f='${Status}' circles 2>/dev/null | grep -q "install ok installed" &&
  die "the circles package is already installed here: remove it first (apt-get remove circles)"
dpkg-query -W -f='${Status}' circles-server 2>/dev/null | grep -q "install ok installed" &&
  die "the circles-server package is already installed here: remove it first (apt-get remove circles-server)"

out="$repo/test-output/package"
rm -rf "$out"
mkdir -p "$out"
work="$(mktemp -d -t circles-package.XXXXXX)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  dpkg-query -W -f='${Status}' circles 2>/dev/null | grep -q "install ok installed" && apt-get remove -y circles >/dev/null
  dpkg-query -W -f='${Status}' circles-server 2>/dev/null | grep -q "ok installed" && dpkg --purge circles-server >/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

section "Build the debug packages (scripts/package.sh --debug)"
bash "$repo/scripts/package.sh" --debug
version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml)"
app_deb="$(ls "$target_dir"/debug/bundle/deb/Circles_"${version}"_*.deb)"
server_deb="$(ls "$target_dir"/debian/circles-server_"${version}"-*_*.deb)"

section "App: install $(basename "$app_deb") (apt-get)"
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$app_deb"
[ "$(dpkg-query -W -f='${Version}' circles)" = "$version" ] || die "installed version is not $version"
dpkg-query -W -f='${Depends}\n' circles | tee "$out/app-depends.txt" | grep -q 'libwebkit2gtk-4.1-0' ||
  die "the .deb does not declare libwebkit2gtk-4.1-0"
# The encrypted store links libcrypto (SQLCipher) and talks to the keyring over D-Bus.
for dep in libssl3 libdbus-1-3; do
  grep -q "$dep" "$out/app-depends.txt" || die "the .deb does not declare $dep"
done
[ -x /usr/bin/circles-app ] || die "/usr/bin/circles-app is missing"
desktop=/usr/share/applications/Circles.desktop
[ -f "$desktop" ] || die "the menu entry $desktop is missing"
cp "$desktop" "$out/"
for line in "Name=Circles" "Exec=circles-app" "Icon=circles-app" "Categories=Education;Office;" "Type=Application"; do
  grep -qx "$line" "$desktop" || die "$desktop lacks the line: $line"
done
grep -q '^Comment=.\+' "$desktop" || die "$desktop has no Comment"
for size in 32x32 128x128; do
  icon="/usr/share/icons/hicolor/$size/apps/circles-app.png"
  [ -f "$icon" ] || die "the icon $icon is missing"
done
echo "binary, menu entry and icons installed"

section "App: the installed binary in its window on a fresh home (tests/e2e/installed.test.mjs)"
home="$work/home"
mkdir -p "$home/.local/share" "$home/.config" "$home/.cache" "$home/tmp"
if ! env -u CIRCLES_DATA_DIR HOME="$home" TMPDIR="$home/tmp" \
  XDG_DATA_HOME="$home/.local/share" XDG_CONFIG_HOME="$home/.config" XDG_CACHE_HOME="$home/.cache" \
  CIRCLES_APP=/usr/bin/circles-app \
  CIRCLES_CLI="$target_dir/debug/circles" \
  TAURI_DRIVER="$(command -v tauri-driver)" \
  E2E_OUTPUT_DIR="$out" \
  timeout --kill-after=30 300 \
  xvfb-run -a -s '-screen 0 1280x800x24' \
  node --test --test-concurrency=1 --test-reporter=spec --test-timeout=240000 tests/e2e/installed.test.mjs; then
  tail -n 60 "$out"/tauri-driver-*.log || true
  die "the installed app's window test failed (screenshots and logs: test-output/package/)"
fi
[ -f "$home/.local/share/circles/circles.sqlite" ] || die "no store in the per-user data folder after the test"

# The window test's processes (WebKit's among them) may still be writing their
# caches for a moment after it ends: wait until none runs with this home.
for _ in $(seq 150); do
  grep -qsxz "HOME=$home" /proc/[0-9]*/environ 2>/dev/null || break
  sleep 0.1
done
if grep -lsxz "HOME=$home" /proc/[0-9]*/environ 2>/dev/null; then
  die "processes of the window test still run 15 s after it ended (listed above)"
fi
# Every file the person has (store, WebKit's data and cache), with its checksum.
fingerprint() { (cd "$home" && find . -path ./tmp -prune -o -type f -print0 | sort -z | xargs -0 sha256sum); }
fingerprint >"$out/home-before-remove.txt"

section "App: remove (apt-get remove)"
DEBIAN_FRONTEND=noninteractive apt-get remove -y circles
[ ! -e /usr/bin/circles-app ] || die "/usr/bin/circles-app is still there after removal"
[ ! -e "$desktop" ] || die "$desktop is still there after removal"
fingerprint >"$out/home-after-remove.txt"
diff -u "$out/home-before-remove.txt" "$out/home-after-remove.txt" || die "removing the package changed the person's files"
echo "binary gone; the person's $(wc -l <"$out/home-after-remove.txt") files are unchanged (same paths, same checksums)"

section "Server: install $(basename "$server_deb") (dpkg -i)"
dpkg -i "$server_deb"
for f in /usr/bin/circles-server /etc/circles/server.toml /usr/lib/systemd/system/circles-server.service; do
  [ -e "$f" ] || die "$f is missing"
done
dpkg-query -W -f='${Conffiles}\n' circles-server | grep -q '/etc/circles/server.toml' ||
  die "/etc/circles/server.toml is not a conffile"
systemd-analyze verify /usr/lib/systemd/system/circles-server.service
echo "systemd-analyze verify: no complaints"
if [ -d /run/systemd/system ]; then
  systemctl is-enabled circles-server
fi

section "Server: the installed binary serves /healthz"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
/usr/bin/circles-server --db "$work/server.sqlite" serve --listen "127.0.0.1:$port" >"$out/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >"$out/healthz.txt" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$out/server.log"; die "circles-server exited"; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/healthz" || { cat "$out/server.log"; die "no answer from /healthz"; }
echo
kill "$server_pid"
wait "$server_pid" || true
server_pid=""

section "Server: remove and purge"
dpkg -r circles-server
[ ! -e /usr/bin/circles-server ] || die "/usr/bin/circles-server is still there after removal"
[ -e /etc/circles/server.toml ] || die "removal (not purge) must keep the config file"
dpkg --purge circles-server
[ ! -e /etc/circles/server.toml ] || die "purge left /etc/circles/server.toml"

section "Done"
echo "the packages passed in $(($(date +%s) - started))s"
