#!/usr/bin/env bash
# Issue one certificate for NAME... from a running lab with Debian's lego
# (DNS-01 through the lab's CNAMEs): the per-certificate peer baseline that
# certbridge's benchmarks compare against.
#   lego-issue.sh DIR NAME...   -> stdout: cert_file=PATH, key_file=PATH
# (cert_file holds the full chain, leaf first.) LEGO_PATH (default DIR/lego)
# is lego's --path: give parallel runs one each, lego keeps files there.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: lego-issue.sh DIR NAME..." >&2; exit 2; }
here=$(dirname "$(readlink -f "$0")")
dir=$(readlink -f "$1")
shift
path=${LEGO_PATH:-$dir/lego}
# shellcheck disable=SC1091
. "$dir/lab.env"
args=()
for n in "$@"; do args+=(-d "$n"); done
# --dns.disable-cp: lego's own propagation check would ask the zone's NS on
# port 53; the hook waits for the reload itself. The exec provider solves
# names one after another with a 60 s pause between them by default
# (EXEC_SEQUENCE_INTERVAL); 1 s keeps the baseline about lego, not a sleep.
CERTBRIDGE_LAB_DIR=$dir LEGO_CA_CERTIFICATES=$LAB_ACME_CA \
  EXEC_PATH=$here/lego-exec-hook.sh EXEC_POLLING_INTERVAL=1 EXEC_PROPAGATION_TIMEOUT=60 \
  EXEC_SEQUENCE_INTERVAL=1 \
  lego --accept-tos --email admin@example.org --server "$LAB_ACME_DIRECTORY" \
  --path "$path" --key-type ec256 --dns exec --dns.resolvers "$LAB_DNS" --dns.disable-cp \
  "${args[@]}" run >&2
first=${1//\*/_}
echo "cert_file=$path/certificates/$first.crt"
echo "key_file=$path/certificates/$first.key"
