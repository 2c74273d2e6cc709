#!/bin/sh
# Installed on each fake host as /etc/certbridge-lab/record NAME: a handler
# action that only leaves a timestamped trace, for ordering tests.
set -eu
[ $# -ge 1 ] || { echo "usage: record NAME" >&2; exit 2; }
echo "$(date +%s.%N) $*" >>/etc/certbridge-lab/handler.log
