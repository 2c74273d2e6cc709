#!/usr/bin/env bash
# lego `--dns exec` hook for the lab: `present|cleanup FQDN VALUE`.
# lego has already followed the _acme-challenge CNAME, so FQDN is the owner
# inside the signing zone (the apex or a per-name label). Every value is kept
# (a name and its wildcard share one label), and the whole zone is rendered
# again, the way certbridge does it: strictly increasing serial, checked,
# renamed into place, `rndc reload`, then wait until BIND serves the serial.
set -euo pipefail
op=$1 fqdn=${2%.} value=$3
: "${CERTBRIDGE_LAB_DIR:?set by lego-issue.sh}"
# shellcheck disable=SC1091
. "$CERTBRIDGE_LAB_DIR/lab.env"
Z=$LAB_SIGNING_ZONE
case "$fqdn" in
  "$Z") owner=@ ;;
  *".$Z") owner=${fqdn%".$Z"} ;;
  *) echo "lego-exec-hook: $fqdn is not in signing zone $Z (CNAME missing?)" >&2; exit 1 ;;
esac
records="$LAB_DIR/bind/lego-records"
exec 8>>"$records.lock"
flock 8
touch "$records"
case "$op" in
  present) echo "$owner $value" >>"$records" ;;
  cleanup) grep -vxF -- "$owner $value" "$records" >"$records.new" || true; mv "$records.new" "$records" ;;
  *) echo "lego-exec-hook: unknown operation $op" >&2; exit 1 ;;
esac
# Serial: one more than what the file has now (someone else may have written
# it), and than anything this hook used before.
current=$(named-compilezone -q -o - "$Z" "$LAB_ZONE_FILE" 2>/dev/null | awk '$4 == "SOA" { print $7; exit }')
last=$(cat "$records.serial" 2>/dev/null || echo 0)
serial=$(( (${current:-0} > last ? ${current:-0} : last) + 1 ))
tmp=$(mktemp "$LAB_ZONE_FILE.XXXXXX")
{
  echo "\$TTL 10"
  echo "@ IN SOA ns1.$Z. hostmaster.$Z. ( $serial 10 10 600 5 )"
  echo "@ IN NS ns1.$Z."
  echo "ns1 IN A 127.0.0.1"
  while read -r o v; do echo "$o 10 IN TXT \"$v\""; done <"$records"
} >"$tmp"
chmod 644 "$tmp"
named-checkzone -q "$Z" "$tmp" || { echo "lego-exec-hook: rendered zone does not check" >&2; rm -f "$tmp"; exit 1; }
mv "$tmp" "$LAB_ZONE_FILE"
echo "$serial" >"$records.serial"
rndc -s 127.0.0.1 -p "$LAB_RNDC_PORT" -k "$LAB_RNDC_KEY" reload "$Z" >&2
# The reload may be queued: wait until the primary serves this serial.
for ((i = 0; i < 200; i++)); do
  got=$(dig @127.0.0.1 -p "$LAB_DNS_PORT" +short +time=1 +tries=1 SOA "$Z" | awk '{ print $3 }')
  [ "${got:-0}" -ge "$serial" ] && exit 0
  sleep 0.05
done
echo "lego-exec-hook: $Z serial $serial not served after 10 s" >&2
exit 1
