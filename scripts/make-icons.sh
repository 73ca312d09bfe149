#!/usr/bin/env bash
# Regenerate the app icons in src-tauri/icons/ from src-tauri/icons/icon.svg
# (ImageMagick). Tauri needs RGBA PNGs, hence PNG32.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo/src-tauri/icons"
command -v convert >/dev/null || die "ImageMagick's convert not found (Debian package imagemagick)"
convert -background none -density 384 icon.svg -resize 512x512 PNG32:icon.png
convert icon.png -resize 32x32 PNG32:32x32.png
convert icon.png -resize 128x128 PNG32:128x128.png
convert icon.png -resize 256x256 PNG32:128x128@2x.png
convert icon.png -define icon:auto-resize=256,128,64,48,32,16 icon.ico
ls -l
