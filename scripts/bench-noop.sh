#!/usr/bin/env bash
# Benchmark (issue 7): a no-op pulse on HOSTS hosts, each a real sshd (and
# nginx) of the lab in its own mount namespace, one certificate per host.
# A first pulse issues and deploys everything; then RUNS pulses that find
# nothing to do are timed with /usr/bin/time (wall, peak RSS). Prints a
# Markdown table row for docs/benchmarks.md.
#
#   scripts/bench-noop.sh [HOSTS] [RUNS]     default: 100 5
#
# Run as root on Debian 12 (the lab needs it).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
hosts=${1:-100}
runs=${2:-5}

tests/lab/lab.sh install >/dev/null
cargo build --release --locked --quiet --bin certbridge --example gen_fleet
bin=$repo/target/release/certbridge
work=$(mktemp -d /tmp/certbridge-bench-noop.XXXXXX)
cleanup() {
  tests/lab/lab.sh down "$work/lab" --purge >/dev/null 2>&1 || true
  rm -rf "$work"
}
# KEEP=PID keeps the lab (and work dir) while PID lives, to look inside.
[ -n "${KEEP:-}" ] || trap cleanup EXIT

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Debian $(cat /etc/debian_version)"
target/release/examples/gen_fleet "$work/fleet" "$hosts" "$hosts" 2>/dev/null
tests/lab/wire-fleet.sh spec "$bin" "$work/fleet/certbridge.yaml" >"$work/spec"
tests/lab/lab.sh up "$work/lab" "$work/spec" --owner "${KEEP:-$$}" >"$work/lab-up.log" 2>&1 ||
  { cat "$work/lab-up.log" >&2; exit 1; }
config=$(CERTBRIDGE_LAB_ORDERS=4 tests/lab/wire-fleet.sh config "$bin" "$work/fleet/certbridge.yaml" "$work/lab" "$work/out")

"$bin" -q --config "$config" --output json pulse >"$work/first.json" || true
done_=$(jq '[.certificates[] | select(.outcome == "issued")] | length' "$work/first.json")
[ "$done_" = "$hosts" ] || { echo "bench-noop: the first pulse deployed only $done_ of $hosts" >&2; exit 1; }

walls=() rss=()
for _ in $(seq "$runs"); do
  /usr/bin/time -f '%e %M' -o "$work/time" "$bin" -q --config "$config" --output json pulse >"$work/noop.json"
  acted=$(jq '[.certificates[] | select(.outcome != "kept")] | length' "$work/noop.json")
  read -r w m <"$work/time"
  walls+=("$w") rss+=("$((m / 1024))")
  [ "$acted" = 0 ] || { echo "bench-noop: a no-op pulse acted on $acted certificates" >&2; jq -c '[.certificates[].outcome] | group_by(.) | map({(.[0]): length}) | add' "$work/noop.json" >&2; exit 1; }
done
jq -c .stage_seconds "$work/noop.json"
[ -z "${KEEP:-}" ] || echo "kept: $work (config $config)"
# The floor: one plain ssh command per host, as many at once as certbridge
# connects (ssh.max_hosts, 32 in the lab), reading a file's checksum.
# (xargs gives each ssh /dev/null as stdin.)
(
  set -a; . "$work/lab/lab.env"; set +a
  /usr/bin/time -f '%e' -o "$work/ssh-time" bash -c '
    jq -r ".hosts[].ssh_port" "$1/lab/lab.json" | xargs -P 32 -I{} ssh -i "$LAB_SSH_KEY" \
      -o UserKnownHostsFile="$LAB_KNOWN_HOSTS" -o BatchMode=yes -p {} root@127.0.0.1 \
      "sha256sum /etc/hostname >/dev/null"' _ "$work"
)
ssh_loop=$(cat "$work/ssh-time")
sorted=$(printf '%s\n' "${walls[@]}" | sort -n)
echo
echo "| hosts | certificates | no-op pulse wall, $runs runs (s) | median (s) | peak RSS (MB) | plain ssh loop, 32 at once (s) |"
echo "|---:|---:|---:|---:|---:|---:|"
echo "| $hosts | $hosts | $(head -1 <<<"$sorted")–$(tail -1 <<<"$sorted") | $(sed -n "$(((runs + 1) / 2))p" <<<"$sorted") | $(printf '%s\n' "${rss[@]}" | sort -n | tail -1) | $ssh_loop |"
