#!/usr/bin/env bash
# Checks everything under contrib/ and the operator commands of
# docs/operations.md and docs/monitoring.md against real tools:
#
#   - the install steps of docs/operations.md, run into a scratch root;
#   - systemd-analyze verify of the service and timer (binary and man pages
#     installed in that root), and `systemctl --root enable` of the timer;
#   - logrotate -d on the shipped config, and a forced real rotation of a
#     scratch copy;
#   - the completions load in bash (and complete subcommands), zsh and fish;
#   - the man pages render without groff warnings;
#   - the metrics textfile passes `promtool check metrics` and is read by
#     node_exporter's textfile collector without a scrape error;
#   - the alert rules pass `promtool check rules` and their unit tests.
#
# Usage: contrib/check.sh [CERTBRIDGE]   (default: target/debug/certbridge,
# built with `cargo build --locked` first). Needs, from Debian: systemd,
# logrotate, man-db, zsh, fish, prometheus (promtool),
# prometheus-node-exporter, curl. A missing tool is an error, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
if [ $# -ge 1 ]; then bin=$(readlink -f "$1"); else
  cargo build --locked --quiet
  bin=$repo/target/debug/certbridge
fi
for tool in systemd-analyze systemctl logrotate man zsh fish promtool prometheus-node-exporter curl python3; do
  command -v "$tool" >/dev/null || { echo "check.sh: $tool is missing (apt-get install it)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/certbridge-contrib.XXXXXX)
exporter=
cleanup() {
  [ -n "$exporter" ] && kill "$exporter" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ok() { echo "ok: $*"; }

# --- docs/operations.md "Running it from systemd", into a scratch root ----
root=$work/root
mkdir -p "$root/usr/lib/systemd"
# The unit's dependencies (sysinit.target, ...) come from this machine.
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
install -D -m 0755 "$bin" "$root/usr/local/bin/certbridge"
install -D -m 0644 -t "$root/etc/systemd/system" contrib/systemd/certbridge.service contrib/systemd/certbridge.timer
install -D -m 0644 contrib/logrotate/certbridge "$root/etc/logrotate.d/certbridge"
"$bin" manpage --dir "$root/usr/local/share/man/man1"
mkdir -p "$root/etc/bash_completion.d" "$root/usr/local/share/zsh/site-functions" "$root/etc/fish/completions"
"$bin" completions bash >"$root/etc/bash_completion.d/certbridge"
"$bin" completions zsh >"$root/usr/local/share/zsh/site-functions/_certbridge"
"$bin" completions fish >"$root/etc/fish/completions/certbridge.fish"
ok "install steps"

MANPATH=$root/usr/local/share/man systemd-analyze verify --root="$root" \
  /etc/systemd/system/certbridge.service /etc/systemd/system/certbridge.timer
ok "systemd-analyze verify"
systemctl --root="$root" enable certbridge.timer >/dev/null 2>&1
[ -L "$root/etc/systemd/system/timers.target.wants/certbridge.timer" ]
ok "systemctl enable certbridge.timer"
grep -qx 'SuccessExitStatus=75' contrib/systemd/certbridge.service
grep -q 'EXIT_LOCKED: u8 = 75;' src/app.rs
ok "SuccessExitStatus matches the lock-busy exit code"
systemd-analyze security --offline=yes --root="$root" /etc/systemd/system/certbridge.service 2>/dev/null |
  tail -1 | sed 's/^/info: systemd-analyze security: /' || true

# --- logrotate --------------------------------------------------------------
logrotate -d -s "$work/logrotate.state" contrib/logrotate/certbridge 2>"$work/logrotate.out"
grep -q "rotating pattern: /var/log/certbridge/certbridge.log" "$work/logrotate.out"
ok "logrotate -d"
mkdir -p "$work/log"
echo "a pulse" >"$work/log/certbridge.log"
sed "s|/var/log/certbridge/certbridge.log|$work/log/certbridge.log|" contrib/logrotate/certbridge >"$work/logrotate.conf"
logrotate -f -s "$work/logrotate.state" "$work/logrotate.conf"
[ -f "$work/log/certbridge.log.1" ] && [ -f "$work/log/certbridge.log" ] && [ ! -s "$work/log/certbridge.log" ]
[ "$(stat -c '%a %U:%G' "$work/log/certbridge.log")" = "640 root:adm" ]
ok "logrotate rotates and recreates 0640 root:adm"

# --- completions ------------------------------------------------------------
subs=$("$bin" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR>1 && /^  [a-z]/ {print $1}')
[ -n "$subs" ]
got=$(bash -c 'source "$1"; COMP_WORDS=(certbridge ""); COMP_CWORD=1; _certbridge certbridge "" certbridge; printf "%s\n" "${COMPREPLY[@]}"' _ "$root/etc/bash_completion.d/certbridge")
for s in $subs; do grep -qx "$s" <<<"$got" || { echo "bash completion lacks $s" >&2; exit 1; }; done
got=$(bash -c 'source "$1"; COMP_WORDS=(certbridge status --dan); COMP_CWORD=2; _certbridge certbridge --dan status; printf "%s\n" "${COMPREPLY[@]}"' _ "$root/etc/bash_completion.d/certbridge")
grep -qx -- "--danger-zone" <<<"$got"
ok "bash completes every subcommand and status --danger-zone"
zsh -n "$root/usr/local/share/zsh/site-functions/_certbridge"
ok "zsh completion parses"
got=$(fish --no-config -c "source $root/etc/fish/completions/certbridge.fish; complete -C 'certbridge '")
for s in $subs; do grep -q "^$s" <<<"$got" || { echo "fish completion lacks $s" >&2; exit 1; }; done
ok "fish completes every subcommand"

# --- man pages --------------------------------------------------------------
for page in "$root"/usr/local/share/man/man1/*.1; do
  warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null || true)
  [ -z "$warnings" ] || { echo "$page: $warnings" >&2; exit 1; }
done
MANPATH=$root/usr/local/share/man man -w certbridge-status >/dev/null
"$bin" manpage | LC_ALL=C.UTF-8 MANWIDTH=80 man -l - | grep -q "75  another run holds the store lock"
ok "man pages render cleanly ($(ls "$root"/usr/local/share/man/man1 | wc -l) pages)"

# --- metrics: promtool and node_exporter's textfile collector -------------
textfile=$work/textfile
mkdir -p "$textfile"
"$bin" --config inventory/certbridge.yaml export metrics >"$textfile/certbridge.prom"
promtool check metrics <"$textfile/certbridge.prom"
ok "promtool check metrics"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
prometheus-node-exporter --collector.disable-defaults --collector.textfile \
  --collector.textfile.directory="$textfile" --web.listen-address="127.0.0.1:$port" \
  >"$work/node-exporter.log" 2>&1 &
exporter=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/metrics" >"$work/scrape" && break; sleep 0.1; done
grep -qx 'node_textfile_scrape_error 0' "$work/scrape"
grep -q '^certbridge_cert_deployed{cert="gitea01-main",host="gitea01.opendev.org"} 0$' "$work/scrape"
grep -q '^node_textfile_mtime_seconds{file=".*certbridge.prom"}' "$work/scrape"
ok "node_exporter reads the textfile"

# --- alert rules ------------------------------------------------------------
(cd contrib/prometheus && promtool check rules certbridge.rules.yml >/dev/null && promtool test rules certbridge.rules.test.yml >/dev/null)
ok "promtool check rules / test rules"
echo "contrib/check.sh: all checks passed"
