#!/usr/bin/env bash
# Build the installable packages:
#   the desktop app: a .deb and an .rpm (the Tauri bundler, `tauri bundle` of
#     @tauri-apps/cli from ui/node_modules; settings in tauri.conf.json)
#   the server: a .deb with its systemd unit (scripts/server-deb.sh: dpkg-deb;
#     packaging/server/)
#
#   bash scripts/package.sh            release packages
#   bash scripts/package.sh --debug    debug-profile packages (CI's installed-app
#                                      test: reuses target/debug, no release build)
#   bash scripts/package.sh --app      only the app's packages
#   bash scripts/package.sh --server   only the server's package
#   bash scripts/server-deb.sh [--debug]  only the server's packaging step, from
#                                      the binary already in target/
#
# AppImage is not built (its tools are downloaded at build time). Windows
# (NSIS, MSI) and macOS (.app, .dmg) bundles are configured in tauri.conf.json
# and built on those systems: docs/install.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo"

profile=release
app=1 server=1
for arg in "$@"; do
  case "$arg" in
    --debug) profile=debug ;;
    --app) server=0 ;;
    --server) app=0 ;;
    -h | --help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $arg (see --help)" ;;
  esac
done
[ "$app" = 1 ] || [ "$server" = 1 ] || die "--app and --server together: leave both out to build both"

version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml)"
[ -n "$version" ] || die "no version in Cargo.toml's [workspace.package]"
echo "Circles $version, $profile profile, into $target_dir"
built=()

if [ "$profile" = debug ]; then
  # Once, for both packages: the workspace build of scripts/test.sh, whose
  # binaries the debug packages take (`-p circles-server` alone would pick
  # other features for shared crates and rebuild them).
  if [ "$app" = 1 ]; then
    section "UI: build (ui/dist, embedded into circles-app)"
    build_ui
  fi
  section "Rust: build the workspace (debug)"
  build_rust
fi

if [ "$app" = 1 ]; then
  [ -x ui/node_modules/.bin/tauri ] || die "the Tauri CLI is missing: run scripts/setup.sh (npm ci in ui/)"

  # The binary is built here rather than by `tauri build`, so the debug
  # packages reuse exactly what scripts/test.sh's build_rust already compiled.
  # The custom-protocol feature (circles-app's default) embeds ui/dist.
  if [ "$profile" = release ]; then
    section "UI: build (ui/dist, embedded into circles-app)"
    build_ui
    section "Rust: build circles-app (release)"
    cargo build --locked --release -p circles-app
  fi

  section "App: .deb and .rpm (tauri bundle)"
  bundle_dir="$target_dir/$profile/bundle"
  rm -rf "$bundle_dir/deb" "$bundle_dir/rpm"
  bundle_args=(bundle --bundles deb,rpm --ci)
  [ "$profile" = debug ] && bundle_args+=(--debug)
  # The npm script points the CLI at src-tauri/ (tauri.conf.json is also at the top level).
  (cd ui && npm run --silent tauri -- "${bundle_args[@]}")
  built+=("$bundle_dir"/deb/*.deb "$bundle_dir"/rpm/*.rpm)
fi

if [ "$server" = 1 ]; then
  # The debug binary is the workspace build's above; a release one is built here.
  if [ "$profile" = release ]; then
    section "Rust: build circles-server (release)"
    cargo build --locked --release -p circles-server
  fi
  section "Server: .deb (scripts/server-deb.sh, dpkg-deb)"
  server_args=()
  [ "$profile" = debug ] && server_args+=(--debug)
  built+=("$(bash "$repo/scripts/server-deb.sh" "${server_args[@]}")")
fi

section "Packages"
for f in "${built[@]}"; do
  [ -f "$f" ] || die "expected a package, found none: $f"
  printf '%8s  %s\n' "$(du -h --apparent-size "$f" | cut -f1)" "$f"
done
