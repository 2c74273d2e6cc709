#!/usr/bin/env bash
# Benchmark (issue 7): a whole certbridge pulse (issue + one zone update +
# deploy + handlers) for N certificates across the lab's fake hosts, against
# the best pipeline a user could script from peers:
#   * Debian's lego, one certificate after another;
#   * lego, LEGO_PAR certificates at once, with a lock around zone edits
#     (tests/lab/lego-exec-hook.sh takes flock for every edit);
#   * each followed by a plain scp + ssh loop that deploys every certificate
#     and reloads nginx on its host (the same work certbridge's deploy and
#     handlers do).
# Writes docs/bench/peers.csv and the plots docs/bench/*.svg, prints a
# Markdown table for docs/benchmarks.md.
#
#   scripts/bench-peers.sh [N...]        default: 1 10 50 100 200
#   LEGO_SEQ_MAX=50   sequential lego only for N <= this (it takes ~10 s per
#                     certificate; larger N are left out, not estimated)
#   LEGO_PAR=8        lego processes at once
#
# Run as root on Debian 12 (the lab needs it). Everything runs on this one
# machine: certbridge, Pebble, BIND and every fake host share its cores.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
ns=("$@")
[ ${#ns[@]} -gt 0 ] || ns=(1 10 50 100 200)
seq_max=${LEGO_SEQ_MAX:-50}
par=${LEGO_PAR:-8}
out=$repo/docs/bench
mkdir -p "$out"

tests/lab/lab.sh install >/dev/null
cargo build --release --locked --quiet --bin certbridge --example gen_fleet
bin=$repo/target/release/certbridge
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == 0) print "-"; else printf "%.1f×", a / b }'; }
plus() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-") print "-"; else printf "%.2f", a + b }'; }

machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Debian $(cat /etc/debian_version), lego $(dpkg-query -W -f '${Version}' lego 2>/dev/null)"
echo "machine: $machine"
echo "# $machine; $(date -u +%Y-%m-%d); scripts/bench-peers.sh ${ns[*]}" >"$out/peers.csv"
echo "n,hosts,certbridge_pulse,certbridge_issue,certbridge_deploy,certbridge_handlers,certbridge_rss_mb,lego_parallel,lego_sequential,scp_ssh_deploy" >>"$out/peers.csv"
echo
echo "| N certs | hosts | certbridge pulse (s) | lego ×$par + scp/ssh (s) | lego sequential + scp/ssh (s) | speed-up vs parallel | speed-up vs sequential |"
echo "|---:|---:|---:|---:|---:|---:|---:|"

for n in "${ns[@]}"; do
  work=$(mktemp -d /tmp/certbridge-bench-peers.XXXXXX)
  hosts=$((n < 4 ? n : 4))
  target/release/examples/gen_fleet "$work/fleet" "$hosts" "$n" 2>/dev/null
  mkdir -p "$work/lego-par"
  ln -s "$repo/tests/lab/lego-issue.sh" "$work/lego-issue.sh"
  tests/lab/wire-fleet.sh spec "$bin" "$work/fleet/certbridge.yaml" >"$work/spec"
  tests/lab/lab.sh up "$work/lab" "$work/spec" --owner $$ >/dev/null 2>&1
  # Debian's Pebble 2.4 deadlocks under many concurrent new-order requests;
  # 4 at once is safe (against Let's Encrypt the default is 8).
  config=$(CERTBRIDGE_LAB_ORDERS=4 tests/lab/wire-fleet.sh config "$bin" "$work/fleet/certbridge.yaml" "$work/lab" "$work/out")

  t0=$(now)
  /usr/bin/time -f %M -o "$work/rss" "$bin" -q --config "$config" --output json pulse >"$work/pulse.json" || true
  t1=$(now)
  ok=$(jq '[.certificates[] | select(.outcome == "issued")] | length' "$work/pulse.json")
  [ "$ok" = "$n" ] || echo "WARNING: certbridge: only $ok of $n certificates issued and deployed" >&2
  stage() { jq --arg s "$1" '.stage_seconds[$s] * 100 | round / 100' "$work/pulse.json"; }
  pulse=$(secs "$t0" "$t1")
  rss=$(awk '{ printf "%.0f", $1 / 1024 }' "$work/rss")
  jq -r '.certificates[] | "\(.host) \(.domains | join(" "))"' "$work/pulse.json" >"$work/certs"

  # lego, LEGO_PAR at once. Each run gets its own --path (lego keeps one
  # account per path), the zone edits are serialised by the hook's flock.
  l0=$(now)
  nl -ba "$work/certs" | xargs -P "$par" -L 1 sh -c '
    i=$1; shift 2
    LEGO_PATH="$0/lego-par/$i" "$0/lego-issue.sh" "$0/lab" "$@" >"$0/lego-par/$i.out" 2>"$0/lego-par/$i.err" ||
      echo "lego failed for $*" >&2
  ' "$work"
  l1=$(now)
  lego_par=$(secs "$l0" "$l1")

  # The deploy loop a user would script: per certificate, upload key and
  # chain, fix modes, reload nginx on that host.
  # shellcheck disable=SC1091
  . "$work/lab/lab.env"
  ssh_opts=(-i "$LAB_SSH_KEY" -o UserKnownHostsFile="$LAB_KNOWN_HOSTS" -o BatchMode=yes -o StrictHostKeyChecking=yes)
  d0=$(now)
  i=0
  while read -r host first _; do
    i=$((i + 1))
    port=$(jq -r --arg h "$host" '.hosts[] | select(.name == $h) | .ssh_port' "$work/lab/lab.json")
    src=$work/lego-par/$i/certificates
    d=/etc/letsencrypt-certs/$first.lego
    ssh "${ssh_opts[@]}" -p "$port" root@127.0.0.1 "mkdir -p $d" </dev/null
    scp -q "${ssh_opts[@]}" -P "$port" "$src/$first.key" "$src/$first.crt" "root@127.0.0.1:$d/" </dev/null
    ssh "${ssh_opts[@]}" -p "$port" root@127.0.0.1 \
      "cd $d && chmod 0640 $first.key && chown -R root:letsencrypt . && sync && /etc/certbridge-lab/reload-nginx" </dev/null >/dev/null
  done <"$work/certs"
  d1=$(now)
  deploy_loop=$(secs "$d0" "$d1")

  lego_seq="-"
  if [ "$n" -le "$seq_max" ]; then
    s0=$(now)
    while read -r _ names; do
      # shellcheck disable=SC2086
      tests/lab/lego-issue.sh "$work/lab" $names >/dev/null 2>&1 </dev/null || echo "lego failed for $names" >&2
    done <"$work/certs"
    s1=$(now)
    lego_seq=$(secs "$s0" "$s1")
  fi

  echo "$n,$hosts,$pulse,$(stage issue),$(stage deploy),$(stage handlers),$rss,$lego_par,$lego_seq,$deploy_loop" >>"$out/peers.csv"
  par_total=$(plus "$lego_par" "$deploy_loop")
  seq_total=$(plus "$lego_seq" "$deploy_loop")
  echo "| $n | $hosts | $pulse | $par_total | $seq_total | $(ratio "$par_total" "$pulse") | $(ratio "$seq_total" "$pulse") |"
  tests/lab/lab.sh down "$work/lab" --purge >/dev/null 2>&1 || true
  rm -rf "$work"
done

python3 scripts/plot-bench.py "$out/peers.csv" "$out"
echo
echo "plots: $out/whole-pulse.svg $out/certbridge-stages.svg"
