#!/usr/bin/env bash
# Every benchmark of docs/benchmarks.md, one after another, on a quiet
# machine (about 45 minutes on 2 cores). Run as root on Debian 12.
#   scripts/bench-peers.sh   whole pulse against lego pipelines; writes
#                            docs/bench/peers.csv and the SVG plots
#   bench-pulse.sh 1 200 …   issuance of 200 certificates against 1 (3 pairs)
#   bench-noop.sh 100 5      no-op pulse on 100 hosts
#   bench-plan.sh            plan on 5,000 hosts / 10,000 certificates
set -euo pipefail
cd "$(dirname "$0")"
./bench-peers.sh 1 10 50 100 200
CERTBRIDGE_LAB_ORDERS=8 LEGO_MAX=0 ./bench-pulse.sh 1 200 1 200 1 200
./bench-noop.sh 100 5
./bench-plan.sh 5000 10000 5
