#!/usr/bin/env bash
# Build and start the Circles desktop app on the DEMO, in the demo's own folder.
#
#   bash scripts/run-app.sh                    # the demo folder of the default data folder
#   bash scripts/run-app.sh --data-dir DIR     # the demo folder of DIR (DIR/demo)
#   bash scripts/run-app.sh --no-demo          # the real data folder, as a person opens it
#
# The demo lives in its own folder (<data folder>/demo, or $CIRCLES_DEMO_DIR),
# never in the person's real one: the app (`circles-app --demo`) opens that
# folder, loading the demo first if it is empty, and shows the demo banner;
# "Leave the demo" goes to the real folder. A demo folder never signs in or syncs.
# Needs a display (X11 or Wayland).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

data_dir_args=()
demo=1
while [ $# -gt 0 ]; do
  case "$1" in
    --data-dir) [ $# -ge 2 ] || die "--data-dir needs a folder"; data_dir_args=(--data-dir "$2"); shift 2 ;;
    --data-dir=*) data_dir_args=(--data-dir "${1#--data-dir=}"); shift ;;
    --no-demo) demo=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
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

app="$target_dir/debug/circles-app"

app_args=("${data_dir_args[@]}")
if [ "$demo" -eq 1 ]; then
  # The app opens the demo's own folder (DIR/demo of the data folder, or
  # $CIRCLES_DEMO_DIR), loading the demo there if it is empty; the real data
  # folder is not opened until "Leave the demo".
  app_args+=(--demo)
fi

section "Start Circles"
echo "$app ${app_args[*]}"
exec "$app" "${app_args[@]}"
