#!/usr/bin/env bash
# Benchmark: `certbridge plan` on a generated fleet (default 5,000 hosts and
# 10,000 certificates). Prints wall time and peak memory for each run; the
# figures go into docs/benchmarks.md.
#
#   scripts/bench-plan.sh [HOSTS] [CERTS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-5000} certs=${2:-10000} runs=${3:-5}
[ -x /usr/bin/time ] || { echo "bench-plan: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
cargo build --release --quiet --bin certbridge --example gen_fleet
dir=$(mktemp -d /tmp/certbridge-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
target/release/examples/gen_fleet "$dir" "$hosts" "$certs"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "fleet: $hosts hosts, $certs certificates"
for i in $(seq "$runs"); do
  /usr/bin/time -f "run $i: wall %e s, peak RSS %M KiB, exit %x" \
    target/release/certbridge -q --config "$dir/certbridge.yaml" plan --output json >/dev/null
done
/usr/bin/time -f "human output: wall %e s, peak RSS %M KiB" \
  target/release/certbridge -q --config "$dir/certbridge.yaml" plan >/dev/null
