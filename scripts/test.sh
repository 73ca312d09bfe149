#!/usr/bin/env bash
# Everything CI checks, from a clean clone: setup, formatting, the UI's lint,
# type check and unit tests, clippy, unit and integration tests of the whole
# workspace, a short run of each fuzz target (fuzz/), then the desktop app
# driven in its real window under Xvfb (tests/e2e), then the packages: the
# app's .deb installed, its binary driven, removed; the server's .deb
# (scripts/test-package.sh, as root). Fails loudly; never skips.
#
# Screenshots and logs of the e2e run: test-output/e2e/ (packages: test-output/package/)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
started=$(date +%s)
cd "$repo"

if [ -z "${CIRCLES_TEST_KEYRING:-}" ]; then
  section "Setup (scripts/setup.sh)"
  bash "$repo/scripts/setup.sh"
  # Everything below (cargo test, fuzz, the window tests, the packages) runs
  # under one D-Bus session with an unlocked gnome-keyring, started here,
  # so every laptop store the tests open is encrypted with a key from a real
  # keyring (crates/core/src/store/key.rs).
  section "A D-Bus session with an unlocked gnome-keyring (scripts/with-keyring.sh)"
  exec bash "$repo/scripts/with-keyring.sh" bash "$repo/scripts/test.sh" "$@"
fi
echo "keyring: gnome-keyring on D-Bus session $DBUS_SESSION_BUS_ADDRESS"

section "Rust: format (cargo fmt --check)"
cargo fmt --all --check || die "not formatted: run cargo fmt --all"

section "UI: lint (ESLint)"
(cd ui && npm run lint)

section "UI: type check (svelte-check)"
(cd ui && npx --no-install svelte-check --tsconfig ./tsconfig.json --threshold warning --output human)

section "UI: unit tests (Vitest)"
(cd ui && npx --no-install vitest run)

section "UI: build (ui/dist, embedded into circles-app)"
build_ui

section "Rust: build the workspace (circles-app, circles CLI)"
build_rust

section "Rust: clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

section "Rust: tests (cargo test --workspace)"
cargo test --workspace --locked

# Brief runs here (CI's time); scripts/fuzz.sh and scripts/schemathesis.sh
# alone run longer by default.
export FUZZ_SECONDS="${FUZZ_SECONDS:-10}" SCHEMATHESIS_SECONDS="${SCHEMATHESIS_SECONDS:-30}"
section "Fuzz: $(ls fuzz/fuzz_targets/*.rs | wc -l) targets, ${FUZZ_SECONDS}s each (scripts/fuzz.sh)"
bash "$repo/scripts/fuzz.sh"

section "API: Schemathesis against a real circles-server and its /openapi.json (${SCHEMATHESIS_SECONDS}s)"
bash "$repo/scripts/schemathesis.sh"

section "End to end: the app window under Xvfb (tauri-driver + WebKitWebDriver)"
command -v xvfb-run >/dev/null || die "xvfb-run not found (Debian package xvfb; scripts/setup.sh installs it)"
command -v WebKitWebDriver >/dev/null || die "WebKitWebDriver not found (Debian package webkit2gtk-driver)"
command -v tauri-driver >/dev/null || die "tauri-driver not found (cargo install tauri-driver --locked --version '^2')"
rm -rf "$repo/test-output/e2e"
mkdir -p "$repo/test-output/e2e"
# installed.test.mjs drives the installed package: scripts/test-package.sh runs it.
e2e_tests=()
for f in tests/e2e/*.test.mjs; do
  [ "$f" = tests/e2e/installed.test.mjs ] || e2e_tests+=("$f")
done
e2e_home="$(mktemp -d -t circles-e2e-home.XXXXXX)"
trap 'rm -rf "$e2e_home"' EXIT
mkdir -p "$e2e_home/data" "$e2e_home/config" "$e2e_home/cache" "$e2e_home/tmp"
# A throwaway per-user environment: nothing touches the real user's folders, the
# tests' data folders are made under it, and CIRCLES_DATA_DIR is cleared so only
# each test's --data-dir counts (and the demo lives beside it, in DIR/demo).
if ! env -u CIRCLES_DATA_DIR -u CIRCLES_DEMO_DIR TMPDIR="$e2e_home/tmp" \
  XDG_DATA_HOME="$e2e_home/data" XDG_CONFIG_HOME="$e2e_home/config" XDG_CACHE_HOME="$e2e_home/cache" \
  CIRCLES_APP="$target_dir/debug/circles-app" \
  CIRCLES_CLI="$target_dir/debug/circles" \
  CIRCLES_SERVER="$target_dir/debug/circles-server" \
  TAURI_DRIVER="$(command -v tauri-driver)" \
  E2E_OUTPUT_DIR="$repo/test-output/e2e" \
  timeout --kill-after=30 900 \
  xvfb-run -a -s '-screen 0 1280x800x24' \
  node --test --test-concurrency=1 --test-reporter=spec --test-timeout=300000 "${e2e_tests[@]}"; then
  echo "--- last lines of test-output/e2e/tauri-driver-*.log (tauri-driver, WebKitWebDriver, the app)"
  tail -n 60 "$repo"/test-output/e2e/tauri-driver-*.log || true
  die "the end-to-end test failed (screenshots and logs: test-output/e2e/)"
fi
ls -l "$repo/test-output/e2e"

section "Packages: the app's .deb installed, driven and removed; the server's .deb (scripts/test-package.sh)"
bash "$repo/scripts/test-package.sh"

section "Done"
echo "all checks passed in $(( $(date +%s) - started ))s"
