#!/usr/bin/env sh
# Writes the zwave-js server's configuration with new network keys, readable by its owner only:
#   deploy/zwave/make-config.sh /etc/hearth/zwave-server.json
# The keys are the network's secrets: back them up (hearth backup, issue 11) and never paste them anywhere.
# Refuses to overwrite an existing file: new keys would lock out every securely included device.
set -eu
out=${1:?usage: make-config.sh FILE}
[ -e "$out" ] && { echo "$out exists; keeping its keys" >&2; exit 1; }
key() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
umask 077
cat > "$out" <<JSON
{
  "storage": {"cacheDir": "/var/lib/hearth/zwave"},
  "securityKeys": {"S0_Legacy": "$(key)", "S2_Unauthenticated": "$(key)", "S2_Authenticated": "$(key)",
                   "S2_AccessControl": "$(key)"},
  "logConfig": {"enabled": true, "level": "info", "logToFile": false},
  "enableStatistics": false
}
JSON
echo "wrote $out"
