#!/usr/bin/env bash
# Benchmark: a whole first pulse (order + one zone update + propagation +
# finalize + store + deploy + handlers) for N certificates across the lab's
# fake hosts, against Debian's lego issuing the same certificates one after
# another (the peer baseline; issuance only, so lego is favoured). Also the
# second, no-op pulse. Prints a Markdown table for docs/benchmarks.md.
#
#   scripts/bench-pulse.sh [N...]          default: 1 10 50 200
#   LEGO_MAX=50 scripts/bench-pulse.sh     lego runs for N <= LEGO_MAX
#
# Run as root on Debian 12 (the lab needs it).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
ns=("$@")
[ ${#ns[@]} -gt 0 ] || ns=(1 10 50 200)
lego_max=${LEGO_MAX:-50}

tests/lab/lab.sh install >/dev/null
cargo build --release --locked --quiet --bin certbridge --example gen_fleet
bin=$repo/target/release/certbridge
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
echo
echo "| N certs | names | hosts | pulse (s) | of which issuance (s) | deploy (s) | handlers (s) | orders | propagation (s) | no-op pulse (s) | lego sequential (s) | lego / issuance |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in "${ns[@]}"; do
  work=$(mktemp -d /tmp/certbridge-bench-pulse.XXXXXX)
  hosts=$(( n < 4 ? n : 4 ))
  target/release/examples/gen_fleet "$work/fleet" "$hosts" "$n" 2>/dev/null
  tests/lab/wire-fleet.sh spec "$bin" "$work/fleet/certbridge.yaml" >"$work/spec"
  tests/lab/lab.sh up "$work/lab" "$work/spec" --owner $$ >/dev/null 2>&1
  config=$(tests/lab/wire-fleet.sh config "$bin" "$work/fleet/certbridge.yaml" "$work/lab" "$work/out")
  t0=$(now)
  "$bin" -q --config "$config" --output json pulse >"$work/pulse.json" || true
  t1=$(now)
  "$bin" -q --config "$config" --output json pulse >"$work/noop.json" || true
  t2=$(now)
  orders=$(jq '.orders.created' "$work/pulse.json")
  ok=$(jq '[.certificates[] | select(.outcome == "issued")] | length' "$work/pulse.json")
  [ "$ok" = "$n" ] || echo "WARNING: only $ok of $n certificates issued and deployed" >&2
  prop=$(jq '.dns.outcome.propagation_seconds // 0 | . * 100 | round / 100' "$work/pulse.json")
  names=$(jq '.summary.domains' "$work/pulse.json")
  stage() { jq --arg s "$1" '.stage_seconds[$s] * 100 | round / 100' "$work/pulse.json"; }
  issue=$(stage issue) deploy=$(stage deploy) handlers=$(stage handlers)
  pulse=$(secs "$t0" "$t1")
  noop=$(secs "$t1" "$t2")
  lego="-" ratio="-"
  if [ "$n" -le "$lego_max" ]; then
    l0=$(now)
    jq -r '.certificates[] | .domains | join(" ")' "$work/pulse.json" | while read -r -a names_; do
      tests/lab/lego-issue.sh "$work/lab" "${names_[@]}" >/dev/null 2>&1
    done
    l1=$(now)
    lego=$(secs "$l0" "$l1")
    ratio=$(awk -v l="$lego" -v p="$issue" 'BEGIN { printf "%.1f×", l / p }')
  fi
  echo "| $n | $names | $hosts | $pulse | $issue | $deploy | $handlers | $orders | $prop | $noop | $lego | $ratio |"
  tests/lab/lab.sh down "$work/lab" --purge >/dev/null 2>&1 || true
  rm -rf "$work"
done
