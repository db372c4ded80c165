#!/bin/sh
# Debian's chromium for the browser tests (Playwright cannot download browsers here).
set -e
command -v chromium >/dev/null 2>&1 && exit 0
echo "installing chromium for the browser tests ..." >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null 2>&1
