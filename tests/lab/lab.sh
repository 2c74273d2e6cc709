#!/usr/bin/env bash
# certbridge end-to-end lab: BIND (signing zone + parent zones with the
# _acme-challenge CNAMEs), Pebble, and fake hosts (sshd + nginx, each in its own
# mount namespace with its own /etc/letsencrypt-certs).
#
#   lab.sh install
#   lab.sh up DIR SPEC [--port-base N] [--owner PID] [--validity S]
#                      [--nonce-reject PCT] [--authz-reuse PCT]
#   lab.sh down DIR [--purge]
#   lab.sh status DIR
#   lab.sh reap [ROOT]
#
# Everything a lab writes lives under DIR. Processes are tracked by pid files
# and, for fake hosts, by their mount namespace, so `down` finds every
# process (nginx workers, ssh sessions) even if a pid file is missing.
set -euo pipefail

LAB_SH=$(readlink -f "${BASH_SOURCE[0]}")
LAB_LIB=$(dirname "$LAB_SH")
LAB_ROOT_DEFAULT=/tmp/certbridge-lab
WAIT_S=${CERTBRIDGE_LAB_WAIT:-20}

die() { echo "lab.sh: $*" >&2; exit 1; }
log() { echo "lab.sh: $*" >&2; }

# ---------------------------------------------------------------- install

# command -> Debian package that provides it
INSTALL_MAP=(
  pebble:pebble named:bind9 named-checkzone:bind9-utils rndc:bind9-utils
  rndc-confgen:bind9-utils dig:bind9-dnsutils /usr/sbin/sshd:openssh-server
  ssh:openssh-client ssh-keygen:openssh-client ssh-keyscan:openssh-client
  scp:openssh-client nginx:nginx-light openssl:openssl lego:lego curl:curl
  jq:jq unshare:util-linux flock:util-linux
  # contrib/check.sh: the service units, logrotate, completions, man pages
  # and the Prometheus outputs against the real tools.
  systemd-analyze:systemd logrotate:logrotate man:man-db zsh:zsh fish:fish
  promtool:prometheus prometheus-node-exporter:prometheus-node-exporter
  /usr/bin/time:time
)

missing_cmds() {
  local e
  for e in "${INSTALL_MAP[@]}"; do
    command -v "${e%%:*}" >/dev/null 2>&1 || echo "$e"
  done
}

cmd_install() {
  local miss pkgs created_policy=0
  miss=$(missing_cmds)
  if [ -z "$miss" ]; then log "install: all components present"; return 0; fi
  pkgs=$(printf '%s\n' $miss | sed 's/.*://' | sort -u | tr '\n' ' ')
  log "install: missing $(printf '%s\n' $miss | sed 's/:.*//' | tr '\n' ' ')-> apt-get install $pkgs"
  # Package postinsts (openssh-server, nginx, bind9) would start system
  # daemons on ports 22/80/53; policy-rc.d exit 101 forbids that.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $pkgs >&2 || rc=$?
  if [ "$rc" != 0 ]; then
    # A fresh machine may have no package lists yet.
    log "install: apt-get install failed; apt-get update and one retry"
    rc=0
    apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $pkgs >&2 || rc=$?
  fi
  if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  [ "$rc" = 0 ] || log "install: apt-get failed with status $rc"
  miss=$(missing_cmds)
  if [ -n "$miss" ]; then
    local e
    for e in $miss; do
      echo "lab.sh: MISSING component: ${e%%:*} (Debian package ${e#*:})" >&2
    done
    exit 1
  fi
  log "install: all components present"
}

need_all() {
  local miss
  miss=$(missing_cmds)
  [ -z "$miss" ] && return 0
  local e
  for e in $miss; do
    echo "lab.sh: MISSING component: ${e%%:*} (Debian package ${e#*:}); run: lab.sh install" >&2
  done
  exit 1
}

# ---------------------------------------------------------------- ports

# Ports in use on this network namespace, from /proc (no ss/netstat needed).
# TCP: anything but TIME_WAIT (06), which does not block a SO_REUSEADDR bind.
used_ports() {
  # mawk has no strtonum: convert the hex port by hand.
  awk 'function hex(s,  i, n) { n = 0; for (i = 1; i <= length(s); i++)
                                  n = n * 16 + index("0123456789ABCDEF", substr(s, i, 1)) - 1; return n }
       FNR > 1 { split($2, a, ":"); if (FILENAME ~ /tcp/ && $4 == "06") next; print hex(a[2]) }' \
    /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null | sort -un
}

# All ports of a lab at base $1 with $2 hosts.
lab_ports() {
  local b=$1 n=$2 i
  seq "$b" $((b + 6))
  for ((i = 0; i < n; i++)); do echo $((b + 20 + 2 * i)) $((b + 21 + 2 * i)); done | tr ' ' '\n'
}

busy_ports() { # base nhosts -> prints the busy ones
  comm -12 <(lab_ports "$1" "$2" | sort -u) <(used_ports | sort -u)
}

pick_base() { # nhosts
  local k b lock j free
  # Ports come in blocks of 200 (90 hosts); a bigger lab takes several
  # consecutive blocks (the benchmarks' 100-host fleet).
  local blocks=$(((20 + 2 * $1 + 199) / 200))
  mkdir -p "$LAB_ROOT_DEFAULT/.locks"
  for ((k = 0; k < 60; k++)); do
    b=$((20000 + 200 * ((k + $$) % (61 - blocks))))
    # A base whose lock is held belongs to a Rust Lab that may not have bound
    # its ports yet.
    free=1
    for ((j = 0; j < blocks; j++)); do
      lock="$LAB_ROOT_DEFAULT/.locks/port-$((b + 200 * j)).lock"
      flock -n "$lock" true 2>/dev/null || free=0
    done
    if [ "$free" = 1 ] && [ -z "$(busy_ports "$b" "$1")" ]; then
      echo "$b"; return 0
    fi
  done
  die "no free port block found (tried 60 bases from 20000)"
}

# ---------------------------------------------------------------- spec

# Globals filled by parse_spec.
SIGNING_ZONE="" SECONDARY=no
declare -a NAMES=() MODES=() HOSTS=() HOST_CERTS=() HOST_GROUP=() ZONE_RECORDS=()

parse_spec() {
  local f=$1 line kw a b rest i
  [ -r "$f" ] || die "spec file $f not readable"
  set -f # names may be wildcards: never glob them
  local n=0
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    line=${line%%#*}
    read -r kw a b rest <<<"$line" || true
    case "$kw" in
      "") ;;
      signing_zone) SIGNING_ZONE=${a%.} ;;
      dns_secondary)
        case "$a" in yes|no) SECONDARY=$a ;; *) die "$f:$n: dns_secondary must be yes or no" ;; esac ;;
      name)
        [ -n "$a" ] || die "$f:$n: name needs NAME MODE"
        case "$b" in apex|label|elsewhere) ;; *) die "$f:$n: mode must be apex, label or elsewhere, got '$b'" ;; esac
        # x and *.x share _acme-challenge.x: one CNAME, so one mode.
        local key=${a#\*.}
        for i in "${!NAMES[@]}"; do
          if [ "${NAMES[$i]#\*.}" = "$key" ] && [ "${MODES[$i]}" != "$b" ]; then
            die "$f:$n: _acme-challenge.$key is both ${MODES[$i]} and $b"
          fi
        done
        NAMES+=("${a%.}"); MODES+=("$b") ;;
      host)
        [ -n "$a" ] || die "$f:$n: host needs NAME"
        local certs="" grp=true w
        for w in $b $rest; do
          if [ "$w" = nogroup ]; then grp=false; else certs="$certs $w"; fi
        done
        for i in "${HOSTS[@]}"; do [ "$i" != "$a" ] || die "$f:$n: host $a listed twice"; done
        HOSTS+=("$a"); HOST_CERTS+=("${certs# }"); HOST_GROUP+=("$grp") ;;
      zone_record)
        # Any extra record (CAA, a CNAME pointing elsewhere) in the parent
        # zone of OWNER, as written: `zone_record OWNER TYPE RDATA...`.
        [ -n "$a" ] && [ -n "$b" ] && [ -n "$rest" ] || die "$f:$n: zone_record needs OWNER TYPE RDATA"
        ZONE_RECORDS+=("${a%.}. IN $b $rest") ;;
      *) die "$f:$n: unknown keyword '$kw'" ;;
    esac
  done <"$f"
  set +f
  [ -n "$SIGNING_ZONE" ] || die "$f: no signing_zone"
}

# Registered domain = last two labels.
parent_of() { awk -F. '{ if (NF >= 2) print $(NF-1) "." $NF; else print $0 }' <<<"$1"; }

# ---------------------------------------------------------------- processes

# Our own mount namespace and init's: never kill by these (safety net if a
# namespace was recorded before unshare took effect).
SELF_NS=$(readlink /proc/self/ns/mnt)
INIT_NS=$(readlink /proc/1/ns/mnt 2>/dev/null || echo none)

# Zombies count as gone (an `up` that fails reaps its children late).
alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# pid from file if that process is alive and its command line mentions $2.
pid_if_ours() { # pidfile needle
  local p
  [ -s "$1" ] || return 1
  p=$(tr -dc '0-9' <"$1")
  alive "$p" || return 1
  tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$2" || return 1
  echo "$p"
}

# Is process $1 inside the namespace of host dir $2? Namespace ids are
# recycled within seconds once a namespace dies, so an id alone could name
# another lab's host: check that /etc/certbridge-lab is this host's lab dir.
# (mountinfo's root field is relative to the filesystem, hence the suffix.)
ns_is_host() { # pid hostdir
  awk -v want="$2/lab" '$5 == "/etc/certbridge-lab" {
      if (length($4) > 1 && substr(want, length(want) - length($4) + 1) == $4) found = 1 }
    END { exit !found }' "/proc/$1/mountinfo" 2>/dev/null
}

pids_in_ns() { # ns-id hostdir
  local ns=$1 pids
  [ -n "$ns" ] && [ "$ns" != "$SELF_NS" ] && [ "$ns" != "$INIT_NS" ] || return 0
  # One find for all of /proc: a readlink per process is slow on busy hosts.
  pids=$(find /proc/[0-9]*/ns/mnt -maxdepth 0 -printf '%p %l\n' 2>/dev/null |
    awk -v ns="$ns" '$2 == ns { split($1, a, "/"); print a[3] }' || true)
  [ -n "$pids" ] || return 0
  ns_is_host "${pids%%$'\n'*}" "$2" || return 0
  echo "$pids"
}

# All processes of lab DIR, the watchdog excluded.
lab_pids() {
  local dir=$1 h p ns
  pid_if_ours "$dir/pebble/pebble.pid" "$dir/pebble" || true
  pid_if_ours "$dir/bind/named.run.pid" "$dir/bind/" || true
  pid_if_ours "$dir/bind2/named.run.pid" "$dir/bind2/" || true
  for h in "$dir"/hosts/*/; do
    [ -d "$h" ] || continue
    h=${h%/}
    ns=""
    [ -s "$h/mntns" ] && ns=$(cat "$h/mntns")
    if p=$(pid_if_ours "$h/ns.pid" "$h"); then
      echo "$p"
      [ -n "$ns" ] || ns=$(readlink "/proc/$p/ns/mnt" 2>/dev/null || true)
    fi
    pids_in_ns "$ns" "$h"
  done
}

# Our daemons are orphans of PID 1, which here reaps zombies only about once
# a second; wait (at most 3 s, best effort) so `ps` is clean when down returns.
reaped() {
  local t p z
  for ((t = 0; t < 30; t++)); do
    z=0
    for p in "$@"; do [ -e "/proc/$p" ] && z=1; done
    [ "$z" = 0 ] && return 0
    sleep 0.1
  done
  return 0
}

# TERM, wait up to 5 s, KILL, wait until gone.
kill_wait() {
  local pids=("$@") t p left
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  gone_within_5s && { reaped "${pids[@]}"; return 0; }
  log "SIGKILL ${left[*]}"
  kill -KILL "${left[@]}" 2>/dev/null || true
  gone_within_5s && { reaped "${pids[@]}"; return 0; }
  log "processes survived SIGKILL: ${left[*]}"
  return 1
}

# Poll `pids` (of the caller) for 5 s; `left` holds the survivors.
gone_within_5s() {
  for ((t = 0; t < 50; t++)); do
    left=()
    for p in "${pids[@]}"; do alive "$p" && left+=("$p"); done
    [ ${#left[@]} -eq 0 ] && return 0
    sleep 0.1
  done
  return 1
}

do_down() { # dir  (no locking: callers hold DIR/lab.lock)
  local dir=$1 w pids round
  # The watchdog leads its own process group (setsid): kill the group so its
  # `sleep` goes too. Skipped when the watchdog itself runs this.
  if [ -z "${CERTBRIDGE_LAB_WATCHDOG:-}" ] && w=$(pid_if_ours "$dir/watchdog.pid" "_watchdog $dir "); then
    kill -TERM -- "-$w" 2>/dev/null || kill -TERM "$w" 2>/dev/null || true
    kill_wait "$w" || true
  fi
  # Repeat: an sshd session may fork while we kill.
  for round in 1 2 3; do
    mapfile -t pids < <(lab_pids "$dir" | sort -un)
    [ ${#pids[@]} -gt 0 ] || break
    kill_wait "${pids[@]}" || true
  done
  mapfile -t pids < <(lab_pids "$dir" | sort -un)
  [ ${#pids[@]} -eq 0 ] || { log "down $dir: still running: ${pids[*]}"; return 1; }
  # Forget namespace ids now that they are dead: they will be recycled.
  rm -f "$dir"/hosts/*/mntns
  return 0
}

with_lock() { # dir cmd...
  local dir=$1; shift
  exec 9>>"$dir/lab.lock"
  flock 9
  "$@"
}

cmd_down() {
  local dir="" purge=0 a
  for a in "$@"; do
    case "$a" in --purge) purge=1 ;; *) dir=$a ;; esac
  done
  [ -n "$dir" ] || die "usage: lab.sh down DIR [--purge]"
  [ -d "$dir" ] || { log "down: $dir does not exist"; return 0; }
  dir=$(readlink -f "$dir")
  local t0=$SECONDS
  with_lock "$dir" do_down "$dir"
  if [ "$purge" = 1 ]; then
    # Only remove what looks like a lab dir.
    if [ -e "$dir/lab.lock" ]; then rm -rf "$dir"; fi
  fi
  log "down $dir done ($((SECONDS - t0)) s)"
}

cmd_status() {
  local dir=${1:?usage: lab.sh status DIR} p h running=0
  dir=$(readlink -f "$dir")
  [ -d "$dir" ] || die "$dir does not exist"
  [ -f "$dir/lab.json" ] && jq -r '"lab \(.dir): ports \(.port_base)+, acme \(.acme_directory), dns \(.dns)"' "$dir/lab.json"
  if p=$(pid_if_ours "$dir/watchdog.pid" "_watchdog $dir "); then echo "watchdog   pid $p (owner $(cat "$dir/owner.pid" 2>/dev/null))"; fi
  if p=$(pid_if_ours "$dir/bind/named.run.pid" "$dir/bind/"); then echo "named      pid $p"; running=1; fi
  if p=$(pid_if_ours "$dir/bind2/named.run.pid" "$dir/bind2/"); then echo "named2     pid $p"; running=1; fi
  if p=$(pid_if_ours "$dir/pebble/pebble.pid" "$dir/pebble"); then echo "pebble     pid $p"; running=1; fi
  for h in "$dir"/hosts/*/; do
    [ -d "$h" ] || continue
    h=${h%/}
    local pids
    pids=$(pids_in_ns "$(cat "$h/mntns" 2>/dev/null)" "$h" | tr '\n' ' ')
    if [ -n "$pids" ]; then running=1; fi
    echo "host $(basename "$h"): ${pids:-not running}"
  done
  if [ "$running" = 1 ]; then echo "state: running"; else echo "state: stopped"; fi
}

cmd_reap() {
  local root=${1:-$LAB_ROOT_DEFAULT} d rc=0
  [ -d "$root" ] || return 0
  for d in "$root"/*/; do
    [ -e "$d/lab.lock" ] || continue
    "$LAB_SH" down "${d%/}" || rc=1
  done
  return $rc
}

# ---------------------------------------------------------------- watchdog

# Start time (clock ticks since boot) of a live, non-zombie process; fails
# otherwise. Parsed after the last ')' since comm may contain spaces.
proc_start() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  set -- $s
  [ "$1" != Z ] || return 1
  echo "${20}"
}

cmd_watchdog() { # dir owner owner-starttime
  local dir=$1 owner=$2 start=$3
  export CERTBRIDGE_LAB_WATCHDOG=1
  # Compare start time too: a recycled pid must not keep the lab alive.
  while [ "$(proc_start "$owner")" = "$start" ]; do
    sleep 1
  done
  echo "$(date +%s.%N) owner $owner gone, tearing down" >&2
  "$LAB_SH" down "$dir" || true
  rm -f "$dir/watchdog.pid"
}

# ---------------------------------------------------------------- up

wait_for() { # what logfile cmd...
  local what=$1 logf=$2 t0
  shift 2
  t0=$(date +%s%N)
  while ! "$@" >/dev/null 2>&1; do
    if (( ($(date +%s%N) - t0) / 1000000000 >= WAIT_S )); then
      log "timeout after ${WAIT_S}s waiting for $what; last lines of $logf:"
      tail -n 30 "$logf" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.05
  done
  if [ -n "${CERTBRIDGE_LAB_TIMING:-}" ]; then log "$what: ready after $((($(date +%s%N) - t0) / 1000000)) ms"; fi
}

# Start a daemon in its own session, detached from our stdio (the Rust side
# reads our stdout to EOF) and from the lab lock (fd 9).
spawn() { # pidfile logfile cmd...
  local pidf=$1 logf=$2
  shift 2
  setsid "$@" </dev/null >>"$logf" 2>&1 9>&- &
  echo $! >"$pidf"
}

write_zone_files() {
  local dir=$1 z=$SIGNING_ZONE i p parents
  cat >"$dir/bind/$z.db" <<EOF
\$TTL 10
@ IN SOA ns1.$z. hostmaster.$z. ( 1 10 10 600 5 )
@ IN NS ns1.$z.
ns1 IN A 127.0.0.1
EOF
  parents=$( {
      for i in "${NAMES[@]}"; do parent_of "${i#\*.}"; done
      for i in "${ZONE_RECORDS[@]}"; do parent_of "${i%%. *}"; done
      if [ "$(parent_of "$z")" != "$z" ]; then parent_of "$z"; fi
    } | sort -u)
  PARENT_ZONES=($parents)
  for p in "${PARENT_ZONES[@]}"; do
    {
      echo "\$TTL 60"
      echo "@ IN SOA ns1.$p. hostmaster.$p. ( 1 60 60 600 30 )"
      echo "@ IN NS ns1.$p."
      echo "ns1 IN A 127.0.0.1"
      case "$z" in *".$p")
        echo "$z. IN NS ns1.$z."
        echo "ns1.$z. IN A 127.0.0.1" ;;
      esac
      local seen=" " key target
      for i in "${!NAMES[@]}"; do
        key=${NAMES[$i]#\*.}
        [ "$(parent_of "$key")" = "$p" ] || continue
        case "$seen" in *" $key "*) continue ;; esac
        seen="$seen$key "
        case "${MODES[$i]}" in
          apex) target="$z." ;;
          label) target="$key.$z." ;;
          elsewhere) target="ns1.$p." ;;  # outside the signing zone (fault tests)
        esac
        echo "_acme-challenge.$key. IN CNAME $target"
      done
      for i in "${ZONE_RECORDS[@]}"; do
        if [ "$(parent_of "${i%%. *}")" = "$p" ]; then echo "$i"; fi
      done
    } >"$dir/bind/$p.db"
  done
}

write_named_conf() {
  local dir=$1 b=$2 z=$SIGNING_ZONE p
  {
    cat <<EOF
include "$dir/bind/rndc.key";
options {
  directory "$dir/bind";
  pid-file "$dir/bind/named.pid";
  session-keyfile "$dir/bind/session.key";
  listen-on port $b { 127.0.0.1; };
  listen-on-v6 { none; };
  // G1: Pebble only sees CNAME->TXT if this server answers recursively.
  recursion yes;
  allow-recursion { 127.0.0.1; };
  allow-query { any; };
  allow-transfer { 127.0.0.1; };
  dnssec-validation no;
  notify no;
};
controls { inet 127.0.0.1 port $((b + 1)) allow { 127.0.0.1; } keys { "rndc-key"; }; };
logging {
  channel l { file "$dir/bind/named.log"; severity info; print-time yes; };
  category default { l; };
  category lame-servers { null; };
};
// G2: no allow-update here, or 'rndc reload' refuses the zone.
EOF
    if [ "$SECONDARY" = yes ]; then
      # notify-delay 0: tests wait for the secondary; BIND's 5 s default
      # would only add time.
      echo "zone \"$z\" { type primary; file \"$dir/bind/$z.db\"; notify explicit; notify-delay 0; also-notify { 127.0.0.1 port $((b + 6)); }; };"
    else
      echo "zone \"$z\" { type primary; file \"$dir/bind/$z.db\"; };"
    fi
    for p in "${PARENT_ZONES[@]}"; do
      echo "zone \"$p\" { type primary; file \"$dir/bind/$p.db\"; };"
    done
  } >"$dir/bind/named.conf"
  if [ "$SECONDARY" = yes ]; then
    cat >"$dir/bind2/named.conf" <<EOF
options {
  directory "$dir/bind2";
  pid-file "$dir/bind2/named.pid";
  session-keyfile "$dir/bind2/session.key";
  listen-on port $((b + 6)) { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  allow-query { any; };
  // Retry a failed transfer within seconds, not minutes; refreshes still
  // come from NOTIFY, as in production.
  min-retry-time 1;
  max-retry-time 5;
  dnssec-validation no;
  notify no;
};
controls { };
logging { channel l { file "$dir/bind2/named.log"; severity info; print-time yes; }; category default { l; }; };
zone "$z" { type secondary; file "$dir/bind2/$z.db"; primaries { 127.0.0.1 port $b; }; allow-notify { 127.0.0.1; }; };
EOF
  fi
}

make_pebble() {
  local dir=$1 b=$2 validity=$3 d=$1/pebble
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=certbridge-lab CA $(basename "$dir")" -keyout "$d/ca.key" -out "$d/ca.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost \
    -keyout "$d/key.pem" -out "$d/srv.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$d/srv.ext"
  openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 3650 -out "$d/cert.pem" -extfile "$d/srv.ext" 2>/dev/null
  jq -n --arg l "127.0.0.1:$((b + 2))" --arg m "127.0.0.1:$((b + 3))" \
    --arg c "$d/cert.pem" --arg k "$d/key.pem" --argjson h $((b + 4)) --argjson t $((b + 5)) \
    --argjson v "$validity" \
    '{pebble: {listenAddress: $l, managementListenAddress: $m, certificate: $c, privateKey: $k,
      httpPort: $h, tlsPort: $t, ocspResponderURL: "", externalAccountBindingRequired: false,
      certificateValidityPeriod: $v}}' >"$d/pebble-config.json"
}

setup_host() { # dir idx name certs group b
  local dir=$1 i=$2 name=$3 certs=$4 grp=$5 b=$6 h gid
  h="$dir/hosts/$name"
  mkdir -p "$h/certs" "$h/lab/sites" "$h/lab/tmp" "$h/ssh"
  ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$h/ssh/host_ed25519_key"
  # Per-host /etc/group: with or without a letsencrypt group.
  grep -v '^letsencrypt:' /etc/group >"$h/group"
  if [ "$grp" = true ]; then
    gid=$(awk -F: '$1 == "letsencrypt" { print $3 }' /etc/group)
    if [ -z "$gid" ]; then
      gid=$(awk -F: '{ u[$3] = 1 } END { for (g = 990; g > 100; g--) if (!u[g]) { print g; exit } }' /etc/group)
    fi
    echo "letsencrypt:x:$gid:" >>"$h/group"
    # Like OpenDev's install role: root:letsencrypt 2750.
    chown "0:$gid" "$h/certs"
    chmod 2750 "$h/certs"
  else
    chown 0:0 "$h/certs"
    chmod 0755 "$h/certs"
  fi
  local ssh_port=$((b + 20 + 2 * i)) https_port=$((b + 21 + 2 * i))
  cat >"$h/ssh/sshd_config" <<EOF
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $h/ssh/host_ed25519_key
PidFile $h/ssh/sshd.pid
AuthorizedKeysFile $dir/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# Key files live under /tmp; sshd's ownership checks would refuse them.
StrictModes no
PrintMotd no
Subsystem sftp internal-sftp
EOF
  echo "[127.0.0.1]:$ssh_port $(cut -d' ' -f1,2 "$h/ssh/host_ed25519_key.pub")" >>"$dir/ssh/known_hosts"
  # Everything below is seen inside the namespace as /etc/certbridge-lab.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=certbridge-lab placeholder" -keyout "$h/lab/placeholder.key" \
    -out "$h/lab/placeholder.pem" 2>/dev/null
  printf 'HOST=%q\nHTTPS_PORT=%q\nCERTS=%q\n' "$name" "$https_port" "$certs" >"$h/lab/host.env"
  install -m 755 "$LAB_LIB/host-reload-nginx.sh" "$h/lab/reload-nginx"
  install -m 755 "$LAB_LIB/host-record.sh" "$h/lab/record"
  : >"$h/lab/handler.log"
  local L=/etc/certbridge-lab
  cat >"$h/lab/nginx.conf" <<EOF
worker_processes 1;
pid $L/nginx.pid;
error_log $L/nginx-error.log;
events { worker_connections 128; }
http {
  access_log $L/nginx-access.log;
  client_body_temp_path $L/tmp/body;
  proxy_temp_path $L/tmp/proxy;
  fastcgi_temp_path $L/tmp/fastcgi;
  uwsgi_temp_path $L/tmp/uwsgi;
  scgi_temp_path $L/tmp/scgi;
  default_type text/plain;
  server {
    listen 127.0.0.1:$https_port ssl default_server;
    server_name _;
    ssl_certificate $L/placeholder.pem;
    ssl_certificate_key $L/placeholder.key;
    return 200 "placeholder $name\n";
  }
  include $L/sites/*.conf;
}
EOF
}

start_host() { # dir name
  local h="$1/hosts/$2"
  # root's home as on a fresh host: this machine's own ~/.bashrc (a pyenv
  # init, say) would run for every command certbridge sends.
  mkdir -p "$h/home"
  chmod 0700 "$h/home"
  # unshare and sh exec in place, so the recorded pid is the sshd itself.
  spawn "$h/ns.pid" "$h/start.log" unshare --mount --propagation private -- /bin/sh -ec '
    mount --bind "$1/certs" /etc/letsencrypt-certs
    mount --bind "$1/lab" /etc/certbridge-lab
    mount --bind "$1/group" /etc/group
    mount --bind "$1/home" /root
    nginx -c /etc/certbridge-lab/nginx.conf -e /etc/certbridge-lab/nginx-error.log
    exec /usr/sbin/sshd -D -f "$1/ssh/sshd_config" -E "$1/ssh/sshd.log"' sh "$h"
}

host_ns_recorded() { # hostdir
  local p ns
  p=$(tr -dc '0-9' <"$1/ns.pid")
  ns=$(readlink "/proc/$p/ns/mnt" 2>/dev/null) || return 1
  [ "$ns" != "$SELF_NS" ] || return 1
  # sshd writes its pid file only after the mounts and nginx are done.
  [ -s "$1/ssh/sshd.pid" ] || return 1
  echo "$ns" >"$1/mntns"
}

ssh_true() { # dir port
  ssh -i "$1/ssh/client_key" -o UserKnownHostsFile="$1/ssh/known_hosts" -o StrictHostKeyChecking=yes \
    -o BatchMode=yes -o ConnectTimeout=2 -p "$2" root@127.0.0.1 true
}

tls_ok() { # port
  openssl s_client -connect "127.0.0.1:$1" -servername placeholder </dev/null 2>/dev/null | grep -q 'BEGIN CERTIFICATE'
}

write_outputs() { # dir b
  local dir=$1 b=$2 i hosts='[]' names='[]' key target sec=null
  for i in "${!HOSTS[@]}"; do
    hosts=$(jq --arg n "${HOSTS[$i]}" --argjson s $((b + 20 + 2 * i)) --argjson t $((b + 21 + 2 * i)) \
      --arg c "${HOST_CERTS[$i]}" --argjson g "${HOST_GROUP[$i]}" --arg d "$dir/hosts/${HOSTS[$i]}" \
      '. + [{name: $n, address: "127.0.0.1", ssh_port: $s, https_port: $t,
             certs: ($c | split(" ") | map(select(. != ""))), group: $g, dir: $d}]' <<<"$hosts")
  done
  for i in "${!NAMES[@]}"; do
    key=${NAMES[$i]#\*.}
    case "${MODES[$i]}" in
      apex) target=$SIGNING_ZONE ;;
      label) target="$key.$SIGNING_ZONE" ;;
      elsewhere) target="ns1.$(parent_of "$key")" ;;
    esac
    names=$(jq --arg n "${NAMES[$i]}" --arg m "${MODES[$i]}" --arg c "_acme-challenge.$key" --arg t "$target" \
      '. + [{name: $n, mode: $m, cname: $c, target: $t}]' <<<"$names")
  done
  if [ "$SECONDARY" = yes ]; then sec="\"127.0.0.1:$((b + 6))\""; fi
  jq -n --arg dir "$dir" --argjson b "$b" --argjson sec "$sec" --arg z "$SIGNING_ZONE" \
    --argjson hosts "$hosts" --argjson names "$names" \
    --argjson parents "$(printf '%s\n' "${PARENT_ZONES[@]}" | jq -R . | jq -s .)" \
    --argjson validity "$VALIDITY" --argjson nr "$NONCE_REJECT" --argjson ar "$AUTHZ_REUSE" \
    '{dir: $dir, port_base: $b,
      dns: "127.0.0.1:\($b)", dns_port: $b, dns_secondary: $sec,
      rndc_port: ($b + 1), rndc_key: "\($dir)/bind/rndc.key",
      signing_zone: $z, zone_file: "\($dir)/bind/\($z).db", parent_zones: $parents,
      acme_directory: "https://127.0.0.1:\($b + 2)/dir", acme_ca: "\($dir)/pebble/ca.pem",
      pebble_management: "https://127.0.0.1:\($b + 3)",
      validity: $validity, nonce_reject: $nr, authz_reuse: $ar,
      ssh_client_key: "\($dir)/ssh/client_key", known_hosts: "\($dir)/ssh/known_hosts",
      check_command: "named-checkzone {zone} {file}",
      reload_command: "rndc -s 127.0.0.1 -p \($b + 1) -k \($dir)/bind/rndc.key reload {zone}",
      names: $names, hosts: $hosts}' >"$dir/lab.json.tmp"
  mv "$dir/lab.json.tmp" "$dir/lab.json"
  # Shell form of the same, for the demo and lego-issue.sh.
  jq -r '
    def kv(k; v): "\(k)=\(v | tostring | @sh)";
    kv("LAB_DIR"; .dir), kv("LAB_PORT_BASE"; .port_base), kv("LAB_DNS"; .dns),
    kv("LAB_DNS_PORT"; .dns_port), kv("LAB_DNS_SECONDARY"; .dns_secondary // ""),
    kv("LAB_RNDC_PORT"; .rndc_port), kv("LAB_RNDC_KEY"; .rndc_key),
    kv("LAB_SIGNING_ZONE"; .signing_zone), kv("LAB_ZONE_FILE"; .zone_file),
    kv("LAB_ACME_DIRECTORY"; .acme_directory), kv("LAB_ACME_CA"; .acme_ca),
    kv("LAB_PEBBLE_MANAGEMENT"; .pebble_management),
    kv("LAB_SSH_KEY"; .ssh_client_key), kv("LAB_KNOWN_HOSTS"; .known_hosts),
    kv("LAB_CHECK_COMMAND"; .check_command), kv("LAB_RELOAD_COMMAND"; .reload_command),
    kv("LAB_HOSTS"; [.hosts[].name] | join(" ")),
    (.hosts | to_entries[] | kv("LAB_HOST_\(.key)_NAME"; .value.name),
       kv("LAB_HOST_\(.key)_SSH_PORT"; .value.ssh_port), kv("LAB_HOST_\(.key)_HTTPS_PORT"; .value.https_port))
  ' "$dir/lab.json" >"$dir/lab.env"
}

UP_DIR="" UP_DONE=0
up_cleanup() {
  local rc=$?
  if [ "$UP_DONE" = 0 ] && [ -n "$UP_DIR" ]; then
    log "up failed (status $rc); tearing down $UP_DIR (logs kept)"
    do_down "$UP_DIR" || true
  fi
}

cmd_up() {
  local dir="" spec="" b="" owner="" a
  VALIDITY=3600 NONCE_REJECT=0 AUTHZ_REUSE=0
  while [ $# -gt 0 ]; do
    a=$1; shift
    case "$a" in
      --port-base) b=${1:?--port-base N}; shift ;;
      --owner) owner=${1:?--owner PID}; shift ;;
      --validity) VALIDITY=${1:?--validity S}; shift ;;
      --nonce-reject) NONCE_REJECT=${1:?--nonce-reject PCT}; shift ;;
      --authz-reuse) AUTHZ_REUSE=${1:?--authz-reuse PCT}; shift ;;
      -*) die "up: unknown option $a" ;;
      *) if [ -z "$dir" ]; then dir=$a; elif [ -z "$spec" ]; then spec=$a; else die "up: extra argument $a"; fi ;;
    esac
  done
  [ -n "$dir" ] && [ -n "$spec" ] || die "usage: lab.sh up DIR SPEC [--port-base N] [--owner PID] [--validity S] [--nonce-reject PCT] [--authz-reuse PCT]"
  local n
  for n in "$VALIDITY" "$NONCE_REJECT" "$AUTHZ_REUSE" ${b:+"$b"} ${owner:+"$owner"}; do
    [[ "$n" =~ ^[0-9]+$ ]] || die "up: '$n' is not a number"
  done
  need_all
  [ "$(id -u)" = 0 ] || die "up: must run as root (mount namespaces, sshd)"
  parse_spec "$spec"
  local nh=${#HOSTS[@]}
  ((nh <= 240)) || die "up: at most 240 hosts"
  [ -n "$b" ] || b=$(pick_base "$nh")
  local busy
  busy=$(busy_ports "$b" "$nh" | tr '\n' ' ')
  [ -z "$busy" ] || die "up: port(s) already in use for base $b: $busy"

  mkdir -p "$dir"
  dir=$(readlink -f "$dir")
  if lab_pids "$dir" | grep -q .; then die "up: a lab is already running in $dir"; fi
  exec 9>>"$dir/lab.lock"
  flock 9
  UP_DIR=$dir
  trap up_cleanup EXIT
  local t0
  t0=$(date +%s%N)
  rm -rf "$dir/bind" "$dir/bind2" "$dir/pebble" "$dir/ssh" "$dir/hosts" "$dir/lego" "$dir/lab.json" "$dir/lab.env"
  mkdir -p "$dir/bind" "$dir/pebble" "$dir/ssh" "$dir/hosts"
  if [ "$SECONDARY" = yes ]; then mkdir -p "$dir/bind2"; fi
  cp "$spec" "$dir/spec.txt"

  # Watchdog first, so even an `up` that dies half-way is cleaned up.
  if [ -n "$owner" ]; then
    local st
    st=$(proc_start "$owner") || die "up: owner $owner is not running"
    echo "$owner" >"$dir/owner.pid"
    setsid "$LAB_SH" _watchdog "$dir" "$owner" "$st" </dev/null >>"$dir/watchdog.log" 2>&1 9>&- &
    echo $! >"$dir/watchdog.pid"
  fi

  # -- files
  rndc-confgen -a -c "$dir/bind/rndc.key" -k rndc-key >/dev/null
  write_zone_files "$dir"
  write_named_conf "$dir" "$b"
  named-checkconf "$dir/bind/named.conf" >&2
  make_pebble "$dir" "$b" "$VALIDITY"
  ssh-keygen -q -t ed25519 -N '' -C certbridge-lab -f "$dir/ssh/client_key"
  cp "$dir/ssh/client_key.pub" "$dir/ssh/authorized_keys"
  : >"$dir/ssh/known_hosts"
  local i
  for i in "${!HOSTS[@]}"; do
    setup_host "$dir" "$i" "${HOSTS[$i]}" "${HOST_CERTS[$i]}" "${HOST_GROUP[$i]}" "$b"
  done
  mkdir -p /run/sshd /etc/letsencrypt-certs /etc/certbridge-lab

  if [ -n "${CERTBRIDGE_LAB_TIMING:-}" ]; then log "files written after $((($(date +%s%N) - t0) / 1000000)) ms"; fi
  # -- start everything, then wait for all of it (starts overlap)
  spawn "$dir/bind/named.run.pid" "$dir/bind/named.out" named -f -c "$dir/bind/named.conf"
  PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=$NONCE_REJECT PEBBLE_AUTHZREUSE=$AUTHZ_REUSE \
    spawn "$dir/pebble/pebble.pid" "$dir/pebble/pebble.log" \
    pebble -config "$dir/pebble/pebble-config.json" -dnsserver "127.0.0.1:$b"
  for i in "${!HOSTS[@]}"; do start_host "$dir" "${HOSTS[$i]}"; done

  local z=$SIGNING_ZONE
  wait_for "named on 127.0.0.1:$b" "$dir/bind/named.log" \
    sh -c "dig @127.0.0.1 -p $b +time=1 +tries=1 +short SOA $z | grep -q ns1"
  if [ "$SECONDARY" = yes ]; then
    # Only now: a secondary whose first transfer fails backs off for long.
    spawn "$dir/bind2/named.run.pid" "$dir/bind2/named.out" named -f -c "$dir/bind2/named.conf"
    wait_for "secondary named on 127.0.0.1:$((b + 6))" "$dir/bind2/named.log" \
      sh -c "dig @127.0.0.1 -p $((b + 6)) +time=1 +tries=1 +short SOA $z | grep -q ns1"
  fi
  wait_for "rndc on 127.0.0.1:$((b + 1))" "$dir/bind/named.log" \
    rndc -s 127.0.0.1 -p $((b + 1)) -k "$dir/bind/rndc.key" status
  wait_for "pebble on 127.0.0.1:$((b + 2))" "$dir/pebble/pebble.log" \
    curl -sf --cacert "$dir/pebble/ca.pem" "https://127.0.0.1:$((b + 2))/dir"
  wait_for "pebble management on 127.0.0.1:$((b + 3))" "$dir/pebble/pebble.log" \
    curl -sf --cacert "$dir/pebble/ca.pem" "https://127.0.0.1:$((b + 3))/roots/0"
  # Hosts in parallel: an ssh handshake alone takes ~0.3 s here.
  local checks=() p failed=0
  for i in "${!HOSTS[@]}"; do
    (
      h="$dir/hosts/${HOSTS[$i]}"
      wait_for "host ${HOSTS[$i]} namespace" "$h/start.log" host_ns_recorded "$h"
      wait_for "sshd of ${HOSTS[$i]} on 127.0.0.1:$((b + 20 + 2 * i))" "$h/ssh/sshd.log" \
        ssh_true "$dir" $((b + 20 + 2 * i))
      wait_for "nginx of ${HOSTS[$i]} on 127.0.0.1:$((b + 21 + 2 * i))" "$h/lab/nginx-error.log" \
        tls_ok $((b + 21 + 2 * i))
    ) &
    checks+=($!)
  done
  for p in "${checks[@]}"; do wait "$p" || failed=1; done
  [ "$failed" = 0 ] || die "up: some host did not come up (see above)"
  write_outputs "$dir" "$b"
  UP_DONE=1
  log "up $dir: base $b, ${#HOSTS[@]} host(s), ready in $((($(date +%s%N) - t0) / 1000000)) ms"
  echo "$dir/lab.json"
}

# ---------------------------------------------------------------- main

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case "$cmd" in
    install) cmd_install ;;
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    reap) cmd_reap "$@" ;;
    _watchdog) cmd_watchdog "$@" ;;
    *) die "usage: lab.sh install | up DIR SPEC [opts] | down DIR [--purge] | status DIR | reap [ROOT]" ;;
  esac
}

main "$@"
