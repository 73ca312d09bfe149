#!/usr/bin/env bash
# The fast loop while working: formatting, clippy, the Rust unit tests (with
# the tidy tests), then the UI's lint, unit tests and type check. Stops at the
# first problem. Needs neither Xvfb nor PostgreSQL; the integration tests and
# the window tests are scripts/test.sh's (CI's) job.
#
# Run scripts/setup.sh once first (toolchain components, ui/node_modules).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
started=$(date +%s)
cd "$repo"

[ -d ui/node_modules ] || die "ui/node_modules is missing: run scripts/setup.sh (or: cd ui && npm ci) first"

section "Rust: format (cargo fmt --check; fix with: cargo fmt --all)"
cargo fmt --all --check || die "not formatted: run cargo fmt --all"

# circles-app embeds ui/dist at compile time; clippy and the tests only need it to exist.
if [ ! -f ui/dist/index.html ]; then
  section "UI: build (ui/dist, needed to compile circles-app)"
  build_ui
fi

section "Rust: clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

section "Rust: unit and tidy tests (cargo test --workspace --lib)"
# Under a D-Bus session with gnome-keyring: the app's unit tests open real stores.
bash scripts/with-keyring.sh cargo test --workspace --locked --lib

section "UI: lint (ESLint)"
(cd ui && npm run lint)

section "UI: unit tests (Vitest)"
(cd ui && npx --no-install vitest run)

section "UI: type check (svelte-check)"
(cd ui && npx --no-install svelte-check --tsconfig ./tsconfig.json --threshold warning --output human)

section "Done"
echo "all fast checks passed in $(( $(date +%s) - started ))s"
