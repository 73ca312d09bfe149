#!/usr/bin/env bash
# Build and start the Circles desktop app.
#
#   bash scripts/run-app.sh                    # default data folder (or $CIRCLES_DATA_DIR)
#   bash scripts/run-app.sh --data-dir DIR     # another folder
#   bash scripts/run-app.sh --no-demo          # don't add demo data to an empty folder
#
# An empty data folder gets the demo circles first (`circles demo`), so there is
# something to look at. Needs a display (X11 or Wayland).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

data_dir_args=()
demo=1
while [ $# -gt 0 ]; do
  case "$1" in
    --data-dir) [ $# -ge 2 ] || die "--data-dir needs a folder"; data_dir_args=(--data-dir "$2"); shift 2 ;;
    --data-dir=*) data_dir_args=(--data-dir "${1#--data-dir=}"); shift ;;
    --no-demo) demo=0; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
done

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  die "no display: DISPLAY and WAYLAND_DISPLAY are unset, so the app window cannot open.
Run this from a desktop session, or try it on a virtual screen:
  xvfb-run -a -s '-screen 0 1280x800x24' bash scripts/run-app.sh
(bash scripts/test.sh drives the app under Xvfb and saves screenshots to test-output/e2e/)."
fi

section "Setup (scripts/setup.sh)"
bash "$repo/scripts/setup.sh"

section "Build the UI and the app"
build_ui
build_rust

cli="$target_dir/debug/circles"
app="$target_dir/debug/circles-app"

if [ "$demo" -eq 1 ]; then
  section "Demo data"
  if listing="$("$cli" "${data_dir_args[@]}" circle list --json)"; then
    if [ "$(printf '%s' "$listing" | tr -d '[:space:]')" = "[]" ]; then
      "$cli" "${data_dir_args[@]}" demo
      echo "the data folder was empty: demo circles added"
    else
      echo "the data folder already has circles: left as is"
    fi
  else
    echo "circles could not read the data folder (see above); the app will show why"
  fi
fi

section "Start Circles"
echo "$app ${data_dir_args[*]}"
exec "$app" "${data_dir_args[@]}"
