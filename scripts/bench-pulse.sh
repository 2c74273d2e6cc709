#!/usr/bin/env bash
# Benchmark: a whole first pulse (order + one zone update + propagation +
# finalize + store + deploy + handlers) for N certificates across the lab's
# fake hosts, against Debian's lego issuing the same certificates one after
# another (the peer baseline; issuance only, so lego is favoured). Also the
# second, no-op pulse. Prints a Markdown table for docs/benchmarks.md.
#
#   scripts/bench-pulse.sh [N...]          default: 1 10 50 200
#   LEGO_MAX=50 scripts/bench-pulse.sh     lego runs for N <= LEGO_MAX
#   BENCH_FS=root scripts/bench-pulse.sh   work in /tmp itself (see below)
#
# Each run works on a fresh ext4 image with a journal, mounted over its
# work folder, as Debian formats a bridge's disk. This machine's root
# filesystem is ext4 without a journal, and there creating a file within
# 30 s of thousands of deletions costs up to ~0.4 ms of CPU, because the
# allocator skips recently deleted inodes (recently_deleted() in
# fs/ext4/ialloc.c, checked only without a journal). Every run deletes the
# previous run's lab, so on the root filesystem each run paid for the last
# one's clean-up: t(200) varied from 0.94 to 1.57 s with the same build.
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
work=
# On an early exit, stop the lab and unmount its image (lazily: a process
# may still hold a file there for a moment).
trap '[ -n "$work" ] && { tests/lab/lab.sh down "$work/lab" --purge >/dev/null 2>&1 || true;
  mountpoint -q "$work" && umount -l "$work"; rm -rf "$work" "$work.img"; }' EXIT
for n in "${ns[@]}"; do
  work=$(mktemp -d /tmp/certbridge-bench-pulse.XXXXXX)
  if [ "${BENCH_FS:-ext4}" != root ]; then
    truncate -s 4G "$work.img"
    mkfs.ext4 -q -F "$work.img"
    mount -o loop "$work.img" "$work"
  fi
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
  if mountpoint -q "$work"; then umount "$work"; fi
  rm -rf "$work" "$work.img"
  work=
done
