#!/usr/bin/env bash
# Make a fake host hang mid-transfer, and undo it:
#
#   host-fault-freeze.sh stop LABDIR HOST   SIGSTOP every process below the host's sshd
#   host-fault-freeze.sh cont LABDIR HOST   SIGCONT them again (idempotent)
#
# Only the sessions are frozen, not the listening sshd, so the test's own
# ssh still gets in; a frozen session accepts bytes into its socket buffer
# and answers nothing, as a host with a stuck disk or a dead NIC would.
# `stop` prints the PIDs it froze and fails if there was no session.
set -euo pipefail

die() { echo "host-fault-freeze.sh: $*" >&2; exit 1; }
[ $# = 3 ] || die "usage: host-fault-freeze.sh stop|cont LABDIR HOST"
action=$1 dir=$2 host=$3
pidfile=$dir/hosts/$host/ssh/sshd.pid
[ -s "$pidfile" ] || die "no sshd pid file for $host in $dir"
listener=$(tr -dc 0-9 <"$pidfile")
[ -d "/proc/$listener" ] || die "the sshd of $host ($listener) is not running"

descendants() { # pid
  local c
  for c in $(pgrep -P "$1" || true); do
    echo "$c"
    descendants "$c"
  done
}

case "$action" in
stop)
  frozen=""
  # Again until nothing new shows up: a session may fork while we stop it.
  while :; do
    new=""
    for p in $(descendants "$listener"); do
      case " $frozen " in *" $p "*) ;; *) new="$new $p" ;; esac
    done
    [ -n "$new" ] || break
    # shellcheck disable=SC2086
    kill -STOP $new 2>/dev/null || true
    frozen="$frozen$new"
  done
  [ -n "$frozen" ] || die "$host has no SSH session to freeze"
  echo $frozen
  ;;
cont)
  pids=$(descendants "$listener")
  # shellcheck disable=SC2086
  [ -z "$pids" ] || kill -CONT $pids 2>/dev/null || true
  ;;
*) die "usage: host-fault-freeze.sh stop|cont LABDIR HOST" ;;
esac
