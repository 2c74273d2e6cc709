#!/usr/bin/env bash
# Benchmark: deployment and handler fan-out to H fake hosts (one certificate
# each), against a plain sequential loop of scp + ssh per host doing the
# same work (upload four files, move them in place, reload nginx). The
# certificates are self-signed (letsencrypt_self_sign_only) so that only
# deploy and handlers are measured. Prints a Markdown table.
#
#   scripts/bench-deploy.sh [H...]        default: 4 16 64
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
hs=("$@")
[ ${#hs[@]} -gt 0 ] || hs=(4 16 64)

tests/lab/lab.sh install >/dev/null
cargo build --release --locked --quiet --bin certbridge --example gen_fleet
bin=$repo/target/release/certbridge
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo
echo "| hosts | certbridge deploy (s) | certbridge handlers (s) | whole pulse (s) | scp + ssh loop (s) | loop / certbridge (deploy + handlers) |"
echo "|---:|---:|---:|---:|---:|---:|"
for h in "${hs[@]}"; do
  work=$(mktemp -d /tmp/certbridge-bench-deploy.XXXXXX)
  target/release/examples/gen_fleet "$work/fleet" "$h" "$h" 2>/dev/null
  # No `after` chains: this measures fan-out, not a rolling restart.
  sed -i '/^    after: /d; s/^    actions: \[restart-app\]$/    actions: [reload-apache]/' "$work/fleet/handlers.yaml"
  tests/lab/wire-fleet.sh spec "$bin" "$work/fleet/certbridge.yaml" >"$work/spec"
  tests/lab/lab.sh up "$work/lab" "$work/spec" --owner $$ >/dev/null 2>&1
  config=$(tests/lab/wire-fleet.sh config "$bin" "$work/fleet/certbridge.yaml" "$work/lab" "$work/out")
  jq '.all.hosts |= map_values(. + {letsencrypt_self_sign_only: true})' "$work/out/lab-hosts.yaml" >"$work/out/lab-hosts.json"
  mv "$work/out/lab-hosts.json" "$work/out/lab-hosts.yaml"
  t0=$(now)
  "$bin" -q --config "$config" --output json pulse >"$work/pulse.json" || true
  t1=$(now)
  deploy=$(jq '.stage_seconds.deploy * 100 | round / 100' "$work/pulse.json")
  handlers=$(jq '.stage_seconds.handlers * 100 | round / 100' "$work/pulse.json")
  ok=$(jq '[.certificates[] | select(.outcome == "issued")] | length' "$work/pulse.json")
  [ "$ok" = "$h" ] || echo "WARNING: only $ok of $h deployed" >&2
  # Baseline: the same files, one host after another.
  . "$work/lab/lab.env"
  ssh_opts=(-i "$LAB_SSH_KEY" -o UserKnownHostsFile="$LAB_KNOWN_HOSTS" -o BatchMode=yes -o StrictHostKeyChecking=yes)
  l0=$(now)
  jq -r '.certificates[] | "\(.host) \(.domains[0]) \(.cert)"' "$work/pulse.json" | while read -r host first key; do
    port=$(jq -r --arg h "$host" '.hosts[] | select(.name == $h) | .ssh_port' "$work/lab/lab.json")
    v=$(cat "$work/out/state/certs/$key/current")
    src=$work/out/state/certs/$key/$v
    d=/etc/letsencrypt-certs/$first.scp
    ssh "${ssh_opts[@]}" -p "$port" root@127.0.0.1 "mkdir -p $d" </dev/null
    scp -q "${ssh_opts[@]}" -P "$port" "$src/key.pem" "$src/cert.pem" "$src/chain.pem" "$src/fullchain.pem" "root@127.0.0.1:$d/" </dev/null
    ssh "${ssh_opts[@]}" -p "$port" root@127.0.0.1 \
      "cd $d && chmod 0640 key.pem && chown -R root:letsencrypt . && sync && /etc/certbridge-lab/reload-nginx" </dev/null >/dev/null
  done
  l1=$(now)
  loop=$(secs "$l0" "$l1")
  ratio=$(awk -v l="$loop" -v d="$deploy" -v x="$handlers" 'BEGIN { printf "%.1f×", l / (d + x) }')
  echo "| $h | $deploy | $handlers | $(secs "$t0" "$t1") | $loop | $ratio |"
  tests/lab/lab.sh down "$work/lab" --purge >/dev/null 2>&1 || true
  rm -rf "$work"
done
