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
mkdir -p "$keyring_home/data" "$keyring_home/run" "$keyring_home/services"
chmod 700 "$keyring_home/run"
# The Secret Service is started by D-Bus activation from our own service
# file: the daemon with its files in keyring_home, its login keyring unlocked
# with a throwaway password. If it quits or crashes under load, the next call
# starts it again the same way, with the same files (the keys stored so far
# kept), instead of D-Bus starting the system's default daemon, which knows
# none of them. Our service directory is listed before the standard ones, so
# it wins (dbus-daemon(1), <servicedir>).
printf '%s\n' '#!/bin/sh' \
  "export XDG_DATA_HOME='$keyring_home/data' XDG_RUNTIME_DIR='$keyring_home/run'" \
  'echo circles-test | exec gnome-keyring-daemon --unlock --foreground --components=secrets' \
  > "$keyring_home/start-keyring.sh"
chmod 755 "$keyring_home/start-keyring.sh"
printf '%s\n' '[D-BUS Service]' 'Name=org.freedesktop.secrets' "Exec=$keyring_home/start-keyring.sh" \
  > "$keyring_home/services/org.freedesktop.secrets.service"
printf '%s\n' \
  '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"' \
  ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">' \
  '<busconfig>' \
  "  <servicedir>$keyring_home/services</servicedir>" \
  '  <include>/usr/share/dbus-1/session.conf</include>' \
  '</busconfig>' \
  > "$keyring_home/session.conf"
# Inside the session: start the Secret Service, wait until it holds its
# name, then run the command.
dbus-run-session --config-file="$keyring_home/session.conf" -- bash -c '
  set -euo pipefail
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.StartServiceByName string:org.freedesktop.secrets uint32:0 >/dev/null
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
