# Shared helpers for scripts/*.sh (sourced, not run).
# shellcheck shell=bash

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
export PATH="$HOME/.cargo/bin:$PATH"

_step_started=0
section() {
  local now
  now=$(date +%s)
  if [ "$_step_started" -ne 0 ]; then
    printf '    (%ss)\n' "$((now - _step_started))"
  fi
  _step_started=$now
  printf '\n==> %s\n' "$*"
}

die() {
  printf '\nERROR: %s\n' "$*" >&2
  exit 1
}

# Build ui/ into ui/dist. Vite output is deterministic, so the new build is made
# aside and only swapped in when it differs: an unchanged UI keeps ui/dist's
# timestamps and cargo does not re-embed it (src-tauri/build.rs watches ui/dist).
build_ui() {
  local fresh="$repo/ui/node_modules/.cache/circles-dist"
  rm -rf "$fresh"
  (cd "$repo/ui" && npx --no-install vite build --logLevel warn --outDir "$fresh" --emptyOutDir)
  if [ -d "$repo/ui/dist" ] && diff -rq "$fresh" "$repo/ui/dist" >/dev/null 2>&1; then
    rm -rf "$fresh"
    echo "ui/dist is up to date"
  else
    rm -rf "$repo/ui/dist"
    mv "$fresh" "$repo/ui/dist"
    echo "ui/dist rebuilt"
  fi
}

# Build every workspace binary (circles-app with the embedded UI, circles CLI).
# Always the whole workspace, like `cargo test --workspace`, so both select the
# same features and share one set of compiled dependencies.
build_rust() {
  (cd "$repo" && cargo build --workspace --locked)
}
