#!/usr/bin/env bash
# Installs the peers the test suite talks to (Debian packages, the zwave-js npm packages), when missing.
# Idempotent; run from the repository's root (make test does).
set -euo pipefail
need=()
# dbus and the headers build dbus-python (python-dbusmock, the BLE tests); chromium is the web page tests' browser;
# systemd and udev give systemd-analyze and udevadm, which check the deploy units and rules.
for pkg in sqlite3 socat mosquitto mosquitto-clients dbus libdbus-1-dev libglib2.0-dev pkg-config chromium systemd udev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The real zwave-js driver and its server, with zwave-js's simulated controller (pinned in package-lock.json).
peers=tests/peers/zwave
if [ -f "$peers/package-lock.json" ] && [ ! -x "$peers/node_modules/.bin/zwave-server" ]; then
  command -v npm >/dev/null || { echo "npm is needed for the Z-Wave test peer (Node.js 20 or newer)" >&2; exit 1; }
  npm ci --prefix "$peers" --no-audit --no-fund --loglevel=error
fi
