#!/usr/bin/env bash
# Run a command under its own D-Bus session with an unlocked gnome-keyring
# (Secret Service), so everything that opens a laptop store finds a real
# keyring, as on a person's desktop (crates/core/src/store/key.rs). The
# keyring's files live in a throwaway folder, never the user's own keyring.
#
#   bash scripts/with-keyring.sh cargo test -p circles-cli
#
# Already inside such a session (CIRCLES_TEST_KEYRING set): runs the command as is.
set -euo pipefail
if [ -n "${CIRCLES_TEST_KEYRING:-}" ]; then
  exec "$@"
fi
command -v dbus-run-session >/dev/null || { echo "dbus-run-session not found (Debian package dbus; scripts/setup.sh installs it)" >&2; exit 1; }
command -v gnome-keyring-daemon >/dev/null || { echo "gnome-keyring-daemon not found (Debian package gnome-keyring; scripts/setup.sh installs it)" >&2; exit 1; }
keyring_home="$(mktemp -d -t circles-keyring.XXXXXX)"
trap 'rm -rf "$keyring_home"' EXIT
export CIRCLES_TEST_KEYRING="$keyring_home"
# Inside the session: start the daemon with its files in keyring_home, unlock
# its login keyring with a throwaway password, then run the command.
dbus-run-session -- bash -c '
  set -euo pipefail
  mkdir -p "$CIRCLES_TEST_KEYRING/data" "$CIRCLES_TEST_KEYRING/run"
  chmod 700 "$CIRCLES_TEST_KEYRING/run"
  echo circles-test | XDG_DATA_HOME="$CIRCLES_TEST_KEYRING/data" XDG_RUNTIME_DIR="$CIRCLES_TEST_KEYRING/run" \
    gnome-keyring-daemon --unlock --components=secrets >/dev/null
  # The daemon takes the Secret Service name after it forked: wait for it,
  # or D-Bus would start another one (with the user'"'"'s own keyring files).
  for _ in $(seq 1 100); do
    if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"; then
      exec "$@"
    fi
    sleep 0.1
  done
  echo "gnome-keyring-daemon did not take the Secret Service name on the test D-Bus session" >&2
  exit 1
' with-keyring "$@"
