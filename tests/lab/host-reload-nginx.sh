#!/bin/sh
# Installed on each fake host as /etc/certbridge-lab/reload-nginx: the lab's
# stand-in for "reload the web server". It serves every certificate of this
# host (host.env) whose files are present, reloads nginx, and returns only
# once nginx really serves the new files, so tests can check right after.
set -eu
L=/etc/certbridge-lab
C=/etc/letsencrypt-certs
NGINX="nginx -c $L/nginx.conf -e $L/nginx-error.log"
. "$L/host.env"
rm -f "$L"/sites/*.conf
set -f # first names may be wildcards
served=""
for first in $CERTS; do
  [ -f "$C/$first/fullchain.cer" ] && [ -f "$C/$first/$first.key" ] || continue
  cat >"$L/sites/$first.conf" <<CONF
server {
  listen 127.0.0.1:$HTTPS_PORT ssl;
  server_name $first;
  ssl_certificate $C/$first/fullchain.cer;
  ssl_certificate_key $C/$first/$first.key;
  return 200 "$first\n";
}
CONF
  served="$served $first"
done
$NGINX -t -q
# The workers before the reload: after it, old workers keep accepting for a
# moment, so a new connection can still get the old certificate until they
# are gone. Wait for that too (bounded), not only for one good answer.
master=$(cat "$L/nginx.pid" 2>/dev/null || true)
old_workers=""
[ -n "$master" ] && old_workers=$(pgrep -P "$master" 2>/dev/null | tr '\n' ' ' || true)
$NGINX -s reload
i=0
for w in $old_workers; do
  while kill -0 "$w" 2>/dev/null && [ "$(ps -o ppid= -p "$w" 2>/dev/null | tr -d ' ')" = "$master" ]; do
    i=$((i + 1))
    [ $i -lt 200 ] || { echo "reload-nginx: old worker $w still running after 10 s" >&2; exit 1; }
    sleep 0.05
  done
done
# Reload is asynchronous (new workers take over): wait until each site
# hands out the leaf that is on disk.
fp() { openssl x509 -noout -fingerprint -sha256 2>/dev/null; }
for first in $served; do
  want=$(fp <"$C/$first/fullchain.cer")
  i=0
  until [ "$(openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername "$first" </dev/null 2>/dev/null | fp)" = "$want" ]; do
    i=$((i + 1))
    [ $i -lt 200 ] || { echo "reload-nginx: $first not served after 10 s" >&2; exit 1; }
    sleep 0.05
  done
done
echo "$(date +%s.%N) reload-nginx" >>"$L/handler.log"
