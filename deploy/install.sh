#!/usr/bin/env bash
# Installs Hearth as a systemd service on Debian 12 or Raspberry Pi OS (bookworm). Run it as root from a checkout:
#
#   sudo deploy/install.sh --extras zigbee,rts            # Hearth with the extras of your radios, started
#   sudo deploy/install.sh --extras zwave --with-zwave    # and the zwave-js server as its own service
#   deploy/install.sh --root /tmp/scratch                 # lay out every file under /tmp/scratch, touch nothing else
#
# What it does: a system user "hearth" (no login, in the dialout group), a virtual environment in /opt/hearth/venv
# with Hearth installed, /etc/hearth/hearth.toml from the example (an existing one is kept), /var/lib/hearth (0750),
# the systemd unit, the udev rules that name the radio sticks, the serial drivers loaded at boot; then
# systemctl daemon-reload and enable --now. Running it again changes only what differs: it is also the upgrade.
#
# With --root DIR (or DESTDIR=DIR) every file goes under DIR and the steps that would change this machine
# (useradd, chown, modprobe, udevadm, systemctl, the first token) are printed instead of run. The virtual
# environment made there refers to DIR: it is for inspection and tests, not to be copied to a device.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")

usage() {
  cat <<EOF
usage: deploy/install.sh [--root DIR] [--source WHEEL_OR_DIR] [--extras LIST] [--with-zwave] [--no-start]
                         [--python PYTHON] [--pip-arg ARG]...
  --root DIR       lay out the files under DIR and change nothing else on this machine (default: \$DESTDIR, else /)
  --source PATH    a Hearth wheel (.whl) or source folder to install (default: this checkout, $repo)
  --extras LIST    extras for your radios and services, comma-separated: zigbee,zwave,rts,ble,cloud,bridge
  --with-zwave     also the zwave-js server (Node.js 20 or newer): /opt/hearth-zwave, its config with new
                   network keys (/etc/hearth/zwave-server.json, kept if present) and hearth-zwave.service
  --no-start       install and enable nothing to run now (start later: systemctl enable --now hearth)
  --python PYTHON  the Python (3.11 or newer) of the virtual environment (default: python3)
  --pip-arg ARG    passed to pip install, repeatable (e.g. --pip-arg=--no-index --pip-arg=--find-links=/wheels)
EOF
}

ROOT=${DESTDIR:-}
SOURCE=$repo
EXTRAS=""
WITH_ZWAVE=0
START=1
PYTHON=python3
PIP_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=${2:?--root needs a folder}; shift 2 ;;
    --root=*) ROOT=${1#*=}; shift ;;
    --source) SOURCE=${2:?--source needs a wheel or folder}; shift 2 ;;
    --source=*) SOURCE=${1#*=}; shift ;;
    --extras) EXTRAS=${2:?--extras needs a list}; shift 2 ;;
    --extras=*) EXTRAS=${1#*=}; shift ;;
    --with-zwave) WITH_ZWAVE=1; shift ;;
    --no-start) START=0; shift ;;
    --python) PYTHON=${2:?--python needs an interpreter}; shift 2 ;;
    --python=*) PYTHON=${1#*=}; shift ;;
    --pip-arg) PIP_ARGS+=("${2:?--pip-arg needs an argument}"); shift 2 ;;
    --pip-arg=*) PIP_ARGS+=("${1#*=}"); shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; echo "install.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

# The places on the target. $R prefixes them: empty on the machine itself, the scratch root otherwise.
VENV=/opt/hearth/venv
ETC=/etc/hearth
DATA=/var/lib/hearth
UNITS=/etc/systemd/system
RULES=/etc/udev/rules.d
MODULES=/etc/modules-load.d
ZWAVE=/opt/hearth-zwave

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

if [ -n "$ROOT" ]; then
  mkdir -p "$ROOT"
  R=$(cd "$ROOT" && pwd)
  [ "$R" != / ] || R=""
else
  R=""
fi
# Runs a command that changes this machine, or only prints it when laying out a scratch root.
on_host() {
  if [ -n "$R" ]; then note "(scratch root, not run) $*"; else "$@"; fi
}

# ----------------------------------------------------------------------------- checks, before changing anything
if [ -z "$R" ] && [ "$(id -u)" -ne 0 ]; then
  die "run as root (sudo deploy/install.sh ...), or with --root DIR to lay out the files somewhere else"
fi
if [ -r /etc/os-release ]; then
  # shellcheck disable=SC1091
  os_id=$(. /etc/os-release && echo "${ID:-}:${VERSION_ID:-}")
  case "$os_id" in
    debian:12|raspbian:12) ;;
    *) note "warning: made for Debian 12 and Raspberry Pi OS (bookworm); this is ${os_id}: going on" ;;
  esac
fi
command -v "$PYTHON" >/dev/null || die "$PYTHON not found: apt install python3 python3-venv"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "Hearth needs Python 3.11 or newer; $PYTHON is $("$PYTHON" -V 2>&1)"
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || die "the venv module is missing: apt install python3-venv"
case "$EXTRAS" in
  *[!a-z,]*) die "--extras takes names separated by commas, e.g. zigbee,rts (got: $EXTRAS)" ;;
esac
SOURCE=$(cd "$(dirname "$SOURCE")" && echo "$(pwd)/$(basename "$SOURCE")") || die "no such source: $SOURCE"
if [ -d "$SOURCE" ]; then
  [ -f "$SOURCE/pyproject.toml" ] || die "$SOURCE is not a Hearth source folder (no pyproject.toml)"
elif [ "${SOURCE%.whl}" = "$SOURCE" ] || [ ! -f "$SOURCE" ]; then
  die "--source must be a Hearth wheel (.whl) or source folder: $SOURCE"
fi
if [ "$WITH_ZWAVE" = 1 ]; then
  command -v node >/dev/null && command -v npm >/dev/null \
    || die "--with-zwave needs Node.js 20 or newer and npm (apt install nodejs npm, or NodeSource's packages)"
  node_major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$node_major" -ge 20 ] || die "--with-zwave needs Node.js 20 or newer; this is $(node --version)"
fi

# ----------------------------------------------------------------------------- helpers that change only what differs
# A folder with a mode (and, on the machine itself, an owner).
folder() {  # MODE PATH [OWNER:GROUP]
  local mode=$1 path=$2 owner=${3:-}
  if [ ! -d "$R$path" ]; then
    install -d -m "$mode" "$R$path"
    note "made $path"
  elif [ "$(stat -c %a "$R$path")" != "${mode#0}" ]; then
    chmod "$mode" "$R$path"
    note "set $path to mode $mode"
  fi
  if [ -n "$owner" ]; then
    if [ -n "$R" ]; then
      note "(scratch root, not run) chown $owner $path"
    elif [ "$(stat -c %U:%G "$path")" != "$owner" ]; then
      chown "$owner" "$path"
    fi
  fi
}

# A file copied from the checkout, replaced only when its content or mode differs.
put() {  # SOURCE MODE PATH
  local src=$1 mode=$2 dest=$3
  if ! cmp -s "$src" "$R$dest"; then
    install -m "$mode" "$src" "$R$dest"
    note "installed $dest"
    return 0
  fi
  if [ "$(stat -c %a "$R$dest")" != "${mode#0}" ]; then
    chmod "$mode" "$R$dest"
    note "set $dest to mode $mode"
  fi
  return 0
}

# ----------------------------------------------------------------------------- the user
say "user hearth (system, no login, group dialout for the serial ports)"
if [ -n "$R" ]; then
  note "(scratch root, not run) useradd --system --user-group --home-dir $DATA --no-create-home --shell /usr/sbin/nologin --groups dialout hearth"
elif ! getent passwd hearth >/dev/null; then
  getent group dialout >/dev/null || groupadd --system dialout
  useradd --system --user-group --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin --groups dialout hearth
  note "made user hearth"
elif [[ " $(id -nG hearth) " != *" dialout "* ]]; then
  usermod -a -G dialout hearth
  note "added hearth to dialout"
fi

# ----------------------------------------------------------------------------- folders
say "folders"
# The system's own folders: made when missing (in a scratch root), never changed.
mkdir -p "$R/opt" "$R/var/lib" "$R$UNITS" "$R$RULES" "$R$MODULES"
folder 0755 /opt/hearth
folder 0755 "$ETC"
# systemd's StateDirectory= makes it too (same owner and mode); made here for the first token below.
folder 0750 "$DATA" hearth:hearth

# ----------------------------------------------------------------------------- Hearth in its virtual environment
say "Hearth in $VENV"
if [ ! -x "$R$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$R$VENV"
  note "made the virtual environment"
fi
extras=${EXTRAS:+[$EXTRAS]}
constraints=()
if [ -d "$SOURCE" ]; then
  spec="$SOURCE$extras"        # a folder is built and installed every time: its code may have changed
  # The versions the project was tested with (make lock); a wheel brings only its own ranges.
  [ -f "$SOURCE/constraints.txt" ] && constraints=(-c "$SOURCE/constraints.txt")
else
  spec="hearth$extras @ file://$SOURCE"   # a wheel of the installed version is left as it is
fi
"$R$VENV/bin/python" -m pip install --disable-pip-version-check --quiet ${constraints[@]+"${constraints[@]}"} \
  ${PIP_ARGS[@]+"${PIP_ARGS[@]}"} "$spec"
note "Hearth $("$R$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("hearth"))')${extras} from $(basename "$SOURCE")"

# ----------------------------------------------------------------------------- configuration
say "configuration in $ETC"
if [ -e "$R$ETC/hearth.toml" ]; then
  note "kept the existing $ETC/hearth.toml"
else
  # Readable by the service's group only: it may name password files and hosts.
  install -m 0640 "$repo/config/hearth.example.toml" "$R$ETC/hearth.toml"
  note "installed $ETC/hearth.toml (every setting with its default: enable your drivers in it)"
  on_host chgrp hearth "$ETC/hearth.toml"
fi

# ----------------------------------------------------------------------------- units, udev rules, drivers at boot
say "systemd unit, udev rules, serial drivers at boot"
put "$here/systemd/hearth.service" 0644 "$UNITS/hearth.service"
put "$here/udev/99-hearth-radios.rules" 0644 "$RULES/99-hearth-radios.rules"
put "$here/modules-load/hearth.conf" 0644 "$MODULES/hearth.conf"

# ----------------------------------------------------------------------------- the zwave-js server
if [ "$WITH_ZWAVE" = 1 ]; then
  say "zwave-js server in $ZWAVE"
  folder 0755 "$ZWAVE"
  put "$here/zwave/package.json" 0644 "$ZWAVE/package.json"
  put "$here/zwave/package-lock.json" 0644 "$ZWAVE/package-lock.json"
  # npm ci empties node_modules first: run it only when the pinned versions differ from what is there.
  if ! cmp -s "$R$ZWAVE/package-lock.json" "$R$ZWAVE/node_modules/.hearth-package-lock.json" \
      || [ ! -x "$R$ZWAVE/node_modules/.bin/zwave-server" ]; then
    npm ci --prefix "$R$ZWAVE" --omit=dev --no-audit --no-fund --loglevel=error
    cp "$R$ZWAVE/package-lock.json" "$R$ZWAVE/node_modules/.hearth-package-lock.json"
    note "installed the pinned zwave-js server"
  fi
  if [ -e "$R$ETC/zwave-server.json" ]; then
    note "kept the existing $ETC/zwave-server.json (its network keys)"
  else
    sh "$here/zwave/make-config.sh" "$R$ETC/zwave-server.json" >/dev/null
    note "made $ETC/zwave-server.json with new network keys (mode 0600): back it up"
    on_host chown hearth:hearth "$ETC/zwave-server.json"
  fi
  put "$here/zwave/hearth-zwave.service" 0644 "$UNITS/hearth-zwave.service"
fi

# ----------------------------------------------------------------------------- this machine: drivers, udev, systemd
say "applying"
on_host modprobe -a usbserial cdc_acm
on_host udevadm control --reload-rules
on_host udevadm trigger --subsystem-match=tty --action=add
on_host systemctl daemon-reload

# The first admin token, made now (so that the first start does not print one into the journal) and shown once.
if [ ! -e "$R$DATA/hearth.db" ]; then
  if [ -n "$R" ]; then
    note "(scratch root, not run) runuser -u hearth -- $VENV/bin/hearth token create --scope admin --label admin"
  else
    token=$(cd "$DATA" && runuser -u hearth -- env HEARTH_STORE__DATA_DIR="$DATA" \
      "$VENV/bin/hearth" token create --config "$ETC/hearth.toml" --scope admin --label admin)
    say "first admin token (shown once; keep it):"
    printf '    %s\n' "$token"
  fi
fi

services=(hearth)
[ "$WITH_ZWAVE" = 1 ] && services=(hearth-zwave hearth)
if [ "$START" = 1 ]; then
  if [ -z "$R" ]; then
    (cd "$DATA" && runuser -u hearth -- env HEARTH_STORE__DATA_DIR="$DATA" \
      "$VENV/bin/hearth" check-config --config "$ETC/hearth.toml") \
      || die "$ETC/hearth.toml is not valid (above); fix it, then: systemctl enable --now ${services[*]}"
  fi
  on_host systemctl enable "${services[@]}"
  # restart: starts them, or after an upgrade makes the running ones take the new code and units.
  on_host systemctl restart "${services[@]}"
else
  note "not started (--no-start); later: systemctl enable --now ${services[*]}"
fi

say "done"
cat <<EOF
    configuration:  $ETC/hearth.toml   (check it: sudo -u hearth $VENV/bin/hearth check-config --config $ETC/hearth.toml)
    data:           $DATA   (the TLS certificate clients trust: $DATA/tls/cert.pem)
    radio sticks:   /dev/hearth-zigbee, /dev/hearth-zwave, /dev/hearth-rts (see deploy/README.md)
    logs:           journalctl -u hearth -f
EOF
