#!/usr/bin/env bash
# Build the cargo-fuzz targets in fuzz/ (nightly) and run each for
# FUZZ_SECONDS (default 20) from a copy of its committed corpus in
# fuzz/corpus/<target>/, so runs never grow the repository. A crash fails
# loudly with the input that caused it; turn that input into a #[test] in
# circles-core and fix the bug (see fuzz/README.md).
#
#   scripts/fuzz.sh                   every target, FUZZ_SECONDS each
#   FUZZ_SECONDS=300 scripts/fuzz.sh pull_page
#
# Built without a sanitizer (the targets are safe Rust; SQLite's C is not
# instrumented either way) but with debug assertions and overflow checks,
# into fuzz/target/, away from the workspace's target directory. Built cheaply
# (fuzz/Cargo.toml's [profile.release]: opt-level 1, 16 codegen units, no
# LTO): a full optimisation of circles-server's dependencies cost CI minutes
# that 20 s runs do not win back. --codegen-units must be given here: without
# it cargo-fuzz forces -Ccodegen-units=1 through RUSTFLAGS, over the profile.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

seconds="${FUZZ_SECONDS:-20}"
fuzz_dir="$repo/fuzz"
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(cd "$fuzz_dir/fuzz_targets" && ls -- *.rs | sed 's/\.rs$//')
fi

command -v cargo-fuzz >/dev/null || die "cargo-fuzz not found (scripts/setup.sh installs it: cargo install cargo-fuzz --locked)"
cargo +nightly --version >/dev/null 2>&1 || die "no nightly toolchain (rustup toolchain install nightly --profile minimal)"

build_flags=(--sanitizer none --debug-assertions --codegen-units 16)
echo "--- build: cargo +nightly fuzz build ${build_flags[*]}"
built=$(date +%s)
(cd "$repo" && cargo +nightly fuzz build "${build_flags[@]}")
echo "built in $(($(date +%s) - built))s"
bin_dir="$fuzz_dir/target/x86_64-unknown-linux-gnu/release"

work="$(mktemp -d -t circles-fuzz.XXXXXX)"
trap 'rm -rf "$work"' EXIT
failed=()
for target in "${targets[@]}"; do
  [ -d "$fuzz_dir/corpus/$target" ] || die "no corpus for $target: add fuzz/corpus/$target/ with a few real inputs"
  echo "--- $target: ${seconds}s"
  cp -r "$fuzz_dir/corpus/$target" "$work/corpus-$target"
  mkdir -p "$work/artifacts-$target"
  # Keep crashing inputs where a person can find them after the run.
  artifacts="$fuzz_dir/artifacts/$target"
  if ! "$bin_dir/$target" "$work/corpus-$target" \
    -max_total_time="$seconds" -artifact_prefix="$work/artifacts-$target/" \
    -print_final_stats=1 -close_fd_mask=1 2>"$work/$target.log"; then
    tail -n 40 "$work/$target.log"
    mkdir -p "$artifacts"
    cp "$work/artifacts-$target"/* "$artifacts/" 2>/dev/null || true
    echo "CRASH in $target; the input is kept in: $(ls -d "$artifacts"/* 2>/dev/null | tr '\n' ' ')"
    echo "reproduce: cargo +nightly fuzz run ${build_flags[*]} $target <that file>"
    failed+=("$target")
    continue
  fi
  grep -E '^stat::number_of_executed_units|^Done ' "$work/$target.log" || true
done

[ "${#failed[@]}" -eq 0 ] || die "fuzzing found crashes in: ${failed[*]} (inputs in fuzz/artifacts/)"
echo "no crashes in ${#targets[@]} targets, ${seconds}s each"
