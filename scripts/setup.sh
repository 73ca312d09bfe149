#!/usr/bin/env bash
# Install what building, running and testing Circles needs. Idempotent and fast
# when everything is present (no apt-get update, no npm install then).
#
#   Debian 12 packages: WebKitGTK (Tauri), Xvfb, WebKitWebDriver, ImageMagick,
#   D-Bus and gnome-keyring (a real keyring for the tests)...
#   rustfmt and clippy (rustup), tauri-driver (cargo install), nightly and
#   cargo-fuzz (the fuzz targets), the UI's npm
#   packages (npm ci in ui/), and aiosmtpd (PyPI, in a venv) for the mail tests.
#
# Needs root or sudo only when Debian packages are missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APT_PACKAGES=(
  build-essential pkg-config file libssl-dev
  # dpkg-deb, dpkg-shlibdeps and strip: the server's .deb (scripts/server-deb.sh)
  dpkg-dev binutils
  libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev
  xvfb xauth webkit2gtk-driver imagemagick
  postgresql
  python3-venv curl
  # A real keyring for the tests (scripts/with-keyring.sh): the laptop's
  # store key lives in the Secret Service (crates/core/src/store/key.rs);
  # libdbus-1-dev for the keyring crate's D-Bus client.
  dbus dbus-daemon dbus-bin gnome-keyring libdbus-1-dev
  # pdftotext and pdftoppm: the window tests read PDFs back and render their pages.
  poppler-utils
)

echo "--- Debian packages"
missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "all present"
else
  echo "missing: ${missing[*]}"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "need root or sudo to install: ${missing[*]}"
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi

echo "--- Toolchains"
command -v cargo >/dev/null || die "cargo not found: install Rust (rustup) first"
command -v node >/dev/null || die "node not found: Node.js 20.19+ is needed to build the UI"
node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  if (maj < 20 || (maj === 20 && min < 19)) {
    console.error(`Node.js ${process.versions.node} is too old: the UI (Vite 8) needs 20.19+ or 22.12+`);
    process.exit(1);
  }' || exit 1
echo "cargo $(cargo --version | cut -d" " -f2), rustc $(rustc --version | cut -d" " -f2), node $(node --version), npm $(npm --version)"

echo "--- rustfmt and clippy"
if cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1; then
  echo "present: $(cargo fmt --version), $(cargo clippy --version)"
else
  command -v rustup >/dev/null || die "cargo fmt / cargo clippy missing and no rustup to add them (rustfmt, clippy components)"
  rustup component add rustfmt clippy
fi

echo "--- tauri-driver"
if cargo install --list | grep -q '^tauri-driver v2\.'; then
  echo "present: $(cargo install --list | grep '^tauri-driver ')"
else
  cargo install tauri-driver --locked --version '^2'
fi

echo "--- nightly toolchain and cargo-fuzz (scripts/fuzz.sh)"
if cargo +nightly --version >/dev/null 2>&1; then
  echo "present: $(cargo +nightly --version)"
else
  command -v rustup >/dev/null || die "no nightly toolchain and no rustup to add it (the fuzz targets need nightly)"
  rustup toolchain install nightly --profile minimal
fi
if cargo fuzz --version >/dev/null 2>&1; then
  echo "present: $(cargo fuzz --version | head -n 1)"
else
  cargo install cargo-fuzz --locked
fi

echo "--- aiosmtpd (the SMTP server the mail tests send to; crates/server/tests/common/smtp.rs)"
AIOSMTPD_VERSION=1.4.6
aiosmtpd_venv="${CIRCLES_AIOSMTPD_VENV:-$HOME/.cache/circles/aiosmtpd-$AIOSMTPD_VERSION}"
if [ -x "$aiosmtpd_venv/bin/python" ] && "$aiosmtpd_venv/bin/python" -m aiosmtpd --version >/dev/null 2>&1; then
  echo "present: $("$aiosmtpd_venv/bin/python" -m aiosmtpd --version) in $aiosmtpd_venv"
else
  command -v python3 >/dev/null || die "python3 is needed for aiosmtpd"
  python3 -m venv "$aiosmtpd_venv" || die "python3 -m venv failed: install the Debian package python3-venv"
  "$aiosmtpd_venv/bin/pip" install --quiet "aiosmtpd==$AIOSMTPD_VERSION"
  echo "installed aiosmtpd $AIOSMTPD_VERSION into $aiosmtpd_venv"
fi

echo "--- npm packages (ui/)"
stamp="$repo/ui/node_modules/.circles-setup-stamp"
want="$(sha256sum "$repo/ui/package-lock.json" | cut -d' ' -f1) node-$(node --version)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "up to date"
else
  (cd "$repo/ui" && npm ci --no-audit --no-fund)
  echo "$want" >"$stamp"
fi
