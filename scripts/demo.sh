#!/usr/bin/env bash
# The main job on the bundled example fleet, against a real local lab:
# BIND (the signing zone and the _acme-challenge CNAMEs), Pebble (Let's
# Encrypt's test CA), and one sshd + nginx per fake host, each in its own
# mount namespace with its own /etc/letsencrypt-certs.
#
#   scripts/demo.sh            # as root on Debian 12
#
# It installs the lab's Debian packages if missing, builds certbridge,
# starts the lab, wires inventory/ to it, shows the plan, runs a pulse,
# runs a second pulse (a no-op), and prints what every host now serves.
# The lab keeps running afterwards so you can look around; the last line
# says how to stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

command -v cargo >/dev/null || { echo "demo: cargo is missing: install the Rust toolchain (rustup, 1.89+)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "demo: run as root (the lab uses mount namespaces and system daemons)" >&2; exit 1; }

lab=${CERTBRIDGE_DEMO_DIR:-/tmp/certbridge-lab/demo}
bin=$repo/target/debug/certbridge

echo "== Installing the lab's packages (if missing)"
tests/lab/lab.sh install

echo "== Building certbridge"
cargo build --locked --quiet --bin certbridge

if [ -f "$lab/lab.json" ]; then
  echo "== Stopping the previous demo lab"
  tests/lab/lab.sh down "$lab" --purge >/dev/null 2>&1 || true
fi
mkdir -p "$(dirname "$lab")"

echo "== Starting the lab for the example fleet (inventory/)"
tests/lab/wire-fleet.sh spec "$bin" inventory/certbridge.yaml >"$lab.spec"
tests/lab/lab.sh up "$lab" "$lab.spec" >/dev/null
config=$(tests/lab/wire-fleet.sh config "$bin" inventory/certbridge.yaml "$lab" "$lab/fleet")
cb() { "$bin" --config "$config" "$@"; }

echo
echo "== certbridge plan"
cb plan
echo
echo "== certbridge pulse"
status=0
cb pulse || status=$?
echo
echo "== certbridge pulse (again: nothing is due, so nothing is ordered or uploaded)"
cb pulse | tail -1 || status=$?

echo
echo "== What every host serves now"
printf '%-30s %-28s %-34s %s\n' HOST NAME ISSUER "NOT AFTER"
jq -r '.hosts[] | .name as $h | .https_port as $p | .certs[] | "\($h) \($p) \(.)"' "$lab/lab.json" |
while read -r host port name; do
  pem=$(openssl s_client -connect "127.0.0.1:$port" -servername "$name" </dev/null 2>/dev/null |
        openssl x509 2>/dev/null || true)
  if [ -z "$pem" ]; then
    printf '%-30s %-28s %s\n' "$host" "$name" "(nothing served)"
    continue
  fi
  issuer=$(openssl x509 -noout -issuer -nameopt multiline <<<"$pem" | sed -n 's/^ *commonName *= //p')
  end=$(openssl x509 -noout -enddate <<<"$pem" | cut -d= -f2)
  printf '%-30s %-28s %-34s %s\n' "$host" "$name" "${issuer:-?}" "$end"
done
echo
echo "Store: $lab/fleet/state   Log: $lab/fleet/certbridge.log   Config: $config"
echo "Try:   $bin --config $config status"
echo "Stop the lab with: tests/lab/lab.sh down $lab"
exit "$status"
