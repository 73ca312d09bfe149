#!/usr/bin/env bash
# Package the already built circles-server binary as a .deb with Debian's own
# tools (dpkg-deb, dpkg-shlibdeps from dpkg-dev), into
# target/debian/circles-server_<version>-1_<arch>.deb. Builds nothing:
# scripts/package.sh builds the binary first and then runs this.
#
#   bash scripts/server-deb.sh           target/release/circles-server, stripped
#   bash scripts/server-deb.sh --debug   target/debug/circles-server as it is
#
# What the package holds (docs/install.md, "The server as a systemd service"):
#   usr/bin/circles-server                          the binary (755)
#   etc/circles/server.toml                         packaging/server/server.toml, a conffile
#   usr/lib/systemd/system/circles-server.service   packaging/server/, enabled and
#                                                   started on install where systemd runs
#   usr/share/doc/circles-server/                   install.md, deploy.md (docs/), copyright
# and the maintainer scripts that enable, start, stop and purge the unit: the
# snippets debhelper's dh_installsystemd generates, guarded so that they do
# nothing harmful in a chroot or container without systemd.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo"

profile=release
for arg in "$@"; do
  case "$arg" in
    --debug) profile=debug ;;
    -h | --help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $arg (see --help)" ;;
  esac
done
for cmd in dpkg-deb dpkg-shlibdeps strip md5sum; do
  command -v "$cmd" >/dev/null ||
    die "$cmd not found: scripts/setup.sh installs it (Debian packages dpkg-dev, binutils)"
done

name=circles-server
# The Debian revision -1: the package's own version (the file name pattern
# scripts/test-package.sh and docs/install.md use).
version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml)-1"
[ "$version" != -1 ] || die "no version in Cargo.toml's [workspace.package]"
license="$(sed -n '/^\[workspace.package\]/,/^\[/s/^license *= *"\(.*\)"/\1/p' Cargo.toml)"
[ -n "$license" ] || die "no license in Cargo.toml's [workspace.package]"
arch="$(dpkg --print-architecture)"
binary="$target_dir/$profile/$name"
[ -x "$binary" ] || die "$binary is missing: build it first (scripts/package.sh does)"
deb="$target_dir/debian/${name}_${version}_${arch}.deb"

mkdir -p "$target_dir/debian"
root="$(mktemp -d "$target_dir/debian/$name.XXXXXX")"
trap 'rm -rf "$root"' EXIT
chmod 755 "$root" # mktemp's 700 would be the package's root folder's mode
doc="usr/share/doc/$name"
install -d -m 755 "$root/DEBIAN" "$root/usr/bin" "$root/etc/circles" \
  "$root/usr/lib/systemd/system" "$root/$doc"

# The files. The release profile already strips symbols (Cargo.toml); strip
# also drops what is left for the linker and the .comment/.note sections, as
# Debian's dh_strip does. A debug package keeps its debug info for backtraces.
if [ "$profile" = release ]; then
  strip --strip-unneeded --remove-section=.comment --remove-section=.note \
    -o "$root/usr/bin/$name" "$binary"
  chmod 755 "$root/usr/bin/$name"
else
  install -m 755 "$binary" "$root/usr/bin/$name"
fi
install -m 644 packaging/server/server.toml "$root/etc/circles/server.toml"
install -m 644 packaging/server/circles-server.service "$root/usr/lib/systemd/system/"
install -m 644 docs/install.md docs/deploy.md "$root/$doc/"
cat >"$root/$doc/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: $name
Copyright: Circles contributors
License: $license
EOF
chmod 644 "$root/$doc/copyright"

# The shared libraries the binary links, as dpkg-shlibdeps resolves them to
# Debian packages (it wants a debian/control in its working folder). libgcc-s1
# is left out: every Debian system has it (cargo-deb did the same).
shlibs="$(mktemp -d)"
trap 'rm -rf "$root" "$shlibs"' EXIT
mkdir "$shlibs/debian"
touch "$shlibs/debian/control"
depends="$(cd "$shlibs" && dpkg-shlibdeps -O -xlibgcc-s1 "$root/usr/bin/$name" |
  sed -n 's/^shlibs:Depends=//p')"
[ -n "$depends" ] || die "dpkg-shlibdeps found no dependencies for $binary"

# Installed-Size in KiB, counted as dpkg-gencontrol does: each file rounded up
# to a whole KiB, one KiB for each folder.
installed_size="$(find "$root" -mindepth 1 -path "$root/DEBIAN" -prune -o \
  \( -type f -printf '%s\n' -o -printf '1024\n' \) |
  awk '{ kib += int(($1 + 1023) / 1024) } END { print kib }')"

cat >"$root/DEBIAN/control" <<EOF
Package: $name
Version: $version
Architecture: $arch
Section: net
Priority: optional
Maintainer: Circles contributors
Installed-Size: $installed_size
Depends: $depends
Description: The Circles sync server
 The sync server of Circles, the offline-first app for learning circle
 facilitators: the facilitators' laptops push and pull their circles through
 it. Runs as the systemd service circles-server (its own dynamic user, data in
 /var/lib/circles-server), configured in /etc/circles/server.toml.
EOF
# dpkg keeps a conffile's local edits across upgrades and removes it on purge.
echo /etc/circles/server.toml >"$root/DEBIAN/conffiles"

# The maintainer scripts: dh_installsystemd's snippets (debhelper's autoscripts
# postinst-systemd-enable, postinst-systemd-restart, prerm-systemd-restart,
# postrm-systemd, postrm-systemd-reload-only) for one unit that is enabled,
# started on install and restarted on upgrade. deb-systemd-helper (package
# init-system-helpers, always present) keeps the enable state whether or not
# systemd runs; systemctl and deb-systemd-invoke are only called where it runs
# (/run/systemd/system exists), so installing in a container works.
unit=circles-server.service
cat >"$root/DEBIAN/postinst" <<EOF
#!/bin/sh
set -e
if [ "\$1" = "configure" ] || [ "\$1" = "abort-upgrade" ] || [ "\$1" = "abort-deconfigure" ] || [ "\$1" = "abort-remove" ] ; then
	# This will only remove masks created by d-s-h on package removal.
	deb-systemd-helper unmask $unit >/dev/null || true

	# was-enabled defaults to true, so new installations run enable.
	if deb-systemd-helper --quiet was-enabled $unit; then
		# Enables the unit on first installation, creates new
		# symlinks on upgrades if the unit file has changed.
		deb-systemd-helper enable $unit >/dev/null || true
	else
		# Update the statefile to add new symlinks (if any), which need to be
		# cleaned up on purge. Also remove old symlinks.
		deb-systemd-helper update-state $unit >/dev/null || true
	fi
fi
if [ "\$1" = "configure" ] || [ "\$1" = "abort-upgrade" ] || [ "\$1" = "abort-deconfigure" ] || [ "\$1" = "abort-remove" ] ; then
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		# An upgrade (\$2: the old version) restarts the running service.
		if [ -n "\$2" ]; then
			_dh_action=restart
		else
			_dh_action=start
		fi
		deb-systemd-invoke \$_dh_action $unit >/dev/null || true
	fi
fi
EOF
cat >"$root/DEBIAN/prerm" <<EOF
#!/bin/sh
set -e
# Stopped on removal only: an upgrade restarts it in the new postinst.
if [ -d /run/systemd/system ] && [ "\$1" = remove ]; then
	deb-systemd-invoke stop $unit >/dev/null || true
fi
EOF
cat >"$root/DEBIAN/postrm" <<EOF
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
if [ "\$1" = "remove" ]; then
	if [ -x "/usr/bin/deb-systemd-helper" ]; then
		deb-systemd-helper mask $unit >/dev/null || true
	fi
fi

if [ "\$1" = "purge" ]; then
	if [ -x "/usr/bin/deb-systemd-helper" ]; then
		deb-systemd-helper purge $unit >/dev/null || true
		deb-systemd-helper unmask $unit >/dev/null || true
	fi
fi
EOF
chmod 755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

# md5sums of every shipped file but the conffile (dpkg tracks that one's
# checksum itself), as dh_md5sums writes them; `dpkg --verify` reads it.
(cd "$root" && find . -path ./DEBIAN -prune -o -type f ! -path ./etc/circles/server.toml -printf '%P\n' |
  LC_ALL=C sort | xargs md5sum) >"$root/DEBIAN/md5sums"
chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

# Files owned by root whoever builds it; the commit's time as the archive's
# time, so the same commit gives the same package. A debug package is big
# (debug info) and only installed by CI: fast compression.
compression=()
[ "$profile" = debug ] && compression=(-Zgzip -z1)
rm -f "$target_dir/debian/${name}"_*.deb
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}" \
  dpkg-deb --root-owner-group "${compression[@]}" --build "$root" "$deb" >/dev/null
echo "$deb"
