#!/usr/bin/env bash
# Fill a fake host's certificate filesystem, and undo it:
#
#   host-fault-disk.sh fill LABDIR HOST   a 64 KiB tmpfs holding a copy of the host's
#                                         /etc/letsencrypt-certs, filled to the last
#                                         byte, mounted over it in the host's namespace
#   host-fault-disk.sh free LABDIR HOST   unmount it again (idempotent)
#
# Services keep reading what they read before (the copy has the same
# files, owners and modes); any new write fails with ENOSPC.
set -euo pipefail

die() { echo "host-fault-disk.sh: $*" >&2; exit 1; }
[ $# = 3 ] || die "usage: host-fault-disk.sh fill|free LABDIR HOST"
action=$1 dir=$2 host=$3
pidfile=$dir/hosts/$host/ns.pid
[ -s "$pidfile" ] || die "no namespace pid file for $host in $dir"
pid=$(tr -dc 0-9 <"$pidfile")
[ -d "/proc/$pid" ] || die "the namespace holder of $host ($pid) is not running"

in_ns() { nsenter -t "$pid" -m -- /bin/sh -ec "$1"; }

case "$action" in
fill)
  in_ns '
    [ "$(findmnt -n -o FSTYPE /etc/letsencrypt-certs | tail -n 1)" != tmpfs ] || { echo "already full" >&2; exit 1; }
    d=/etc/certbridge-lab/tmp/full-disk
    mkdir -p "$d"
    mount -t tmpfs -o size=64k certbridge-full-disk "$d"
    cp -a /etc/letsencrypt-certs/. "$d/"
    chown --reference=/etc/letsencrypt-certs "$d"
    chmod --reference=/etc/letsencrypt-certs "$d"
    dd if=/dev/zero of="$d/.filler" bs=4k 2>/dev/null || true
    mount --bind "$d" /etc/letsencrypt-certs
    umount "$d"
    avail=$(df -Pk /etc/letsencrypt-certs | awk "NR == 2 { print \$4 }")
    [ "$avail" = 0 ] || { echo "the tmpfs still has $avail KiB free" >&2; exit 1; }'
  ;;
free)
  in_ns '
    if [ "$(findmnt -n -o FSTYPE /etc/letsencrypt-certs | tail -n 1)" = tmpfs ]; then
      umount /etc/letsencrypt-certs
    fi'
  ;;
*) die "usage: host-fault-disk.sh fill|free LABDIR HOST" ;;
esac
