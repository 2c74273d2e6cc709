#!/usr/bin/env bash
# Wire a certbridge fleet (its config, inventory and handler map) to a lab.
#
#   wire-fleet.sh spec CERTBRIDGE CONFIG             > lab spec on stdout
#   wire-fleet.sh config CERTBRIDGE CONFIG LABDIR OUTDIR
#
# `spec` lists the fleet's in-scope hosts with their certificates' first
# names, and every name with its _acme-challenge layout: some point at the
# signing zone's apex (OpenDev's layout), the others at per-name labels, so
# both layouts are exercised.
#
# `config` writes OUTDIR/certbridge.yaml (JSON is YAML) pointing the same
# inventory at the lab: an extra inventory source maps each host to its
# lab sshd; ACME, DNS and SSH settings come from LABDIR/lab.json. The
# handler map keeps every handler and its `after:` order, but each action
# becomes the lab's stand-in (record a timestamp, reload the host's nginx),
# since the fake hosts run no apache or gitea. 8 orders are placed at once
# (CERTBRIDGE_LAB_ORDERS overrides) but their newOrder requests go one at a
# time (CERTBRIDGE_LAB_NEW_ORDERS): Debian's Pebble 2.4 deadlocks when two
# arrive together (one NewOrder holds a new authorization's lock while it
# waits for the store's write lock; another's FindValidAuthorization holds
# the store's read lock while it waits for that authorization).
set -euo pipefail

die() { echo "wire-fleet.sh: $*" >&2; exit 1; }
cmd=${1:-}; shift || true

check_json() { # certbridge config
  "$1" --config "$2" --output json -q check
}

case "$cmd" in
spec)
  [ $# = 2 ] || die "usage: wire-fleet.sh spec CERTBRIDGE CONFIG"
  plan=$("$1" --config "$2" --output json -q plan --force)
  zone=$(check_json "$1" "$2" | jq -r .config.dns.zone)
  echo "signing_zone $zone"
  # Apex for names several certificates share (opendev.org: one owner,
  # several values) and for openstack.org names; a per-name label for the
  # rest. All at the apex would put more values on one owner than fit a
  # 512-byte UDP answer, and Pebble's validator does not retry over TCP.
  jq -r '
    [.certificates[].domains[]] as $all
    | $all | unique[]
    | . as $n | ltrimstr("*.") as $base
    | ([$all[] | select(ltrimstr("*.") == $base)] | length) as $uses
    | "name \($n) \(if ($uses > 1 and ($n | startswith("*.") | not) and ([$all[] | select(. == $n)] | length) > 1) or ($base | endswith(".openstack.org")) then "apex" else "label" end)"' <<<"$plan"
  jq -r '.certificates | group_by(.host)[] | "host \(.[0].host) \([.[].domains[0]] | join(" "))"' <<<"$plan"
  ;;
config)
  [ $# = 4 ] || die "usage: wire-fleet.sh config CERTBRIDGE CONFIG LABDIR OUTDIR"
  bin=$(readlink -f "$(command -v "$1")") config=$(readlink -f "$2") lab=$(readlink -f "$3") out=$4
  mkdir -p "$out"; out=$(readlink -f "$out")
  [ -f "$lab/lab.json" ] || die "$lab/lab.json missing: is the lab up?"
  (cd "$(dirname "$config")" && check_json "$bin" "$config") >"$out/.check.json"
  # The lab's view of each host: its sshd on loopback.
  jq '{all: {hosts: (.hosts | map({key: .name, value: {ansible_host: .address, ansible_port: .ssh_port, ansible_user: "root"}}) | from_entries)}}' \
    "$lab/lab.json" >"$out/lab-hosts.yaml"
  jq '.handler_map | {
        actions: (.actions | map_values({run: "/etc/certbridge-lab/record {{ cert }} && /etc/certbridge-lab/reload-nginx", timeout: "60s"})),
        handlers: (.handlers | map_values({actions: .actions, after: .after}))}' \
    "$out/.check.json" >"$out/handlers.yaml"
  cat >"$out/zone.j2" <<'J2'
; {{ zone }}: the ACME signing zone of the lab. Rendered whole by certbridge.
$ORIGIN {{ zone }}.
$TTL 10
@ IN SOA ns1.{{ zone }}. hostmaster.{{ zone }}. ( {{ serial }} 10 10 600 5 )
@ IN NS ns1.{{ zone }}.
ns1 IN A 127.0.0.1
{% for record in records %}
{{ record.label }} 10 IN TXT "{{ record.value }}"
{% endfor %}
J2
  base=$(dirname "$config")
  jq --slurpfile lab "$lab/lab.json" --arg base "$base" --arg out "$out" '
    .config as $c | $lab[0] as $l
    | {
        inventory: ([$c.inventory[] | if startswith("/") then . else "\($base)/\(.)" end] + ["\($out)/lab-hosts.yaml"]),
        group: $c.group, exclude_groups: $c.exclude_groups,
        handlers: "handlers.yaml", state_dir: "state", log_file: "certbridge.log",
        acme: {directory: $l.acme_directory, staging_directory: $l.acme_directory,
               trust_roots: [$l.acme_ca], key_type: $c.acme.key_type,
               max_concurrent_orders: ($ENV.CERTBRIDGE_LAB_ORDERS // "8" | tonumber),
               max_concurrent_new_orders: ($ENV.CERTBRIDGE_LAB_NEW_ORDERS // "1" | tonumber)},
        dns: {zone: $l.signing_zone, zone_file: $l.zone_file, template: "zone.j2",
              check_command: $l.check_command, reload_command: $l.reload_command,
              nameservers: ([$l.dns] + (if $l.dns_secondary then [$l.dns_secondary] else [] end)),
              resolver: $l.dns, propagation_timeout: "30s"},
        ssh: {user: "root", identity_file: $l.ssh_client_key, known_hosts: $l.known_hosts,
              connect_timeout: "5s", max_hosts: 32},
        targets: {cert_dir: "/etc/letsencrypt-certs", owner: "root", group: "letsencrypt"}
      }' "$out/.check.json" >"$out/certbridge.yaml"
  rm -f "$out/.check.json"
  echo "$out/certbridge.yaml"
  ;;
*) die "usage: wire-fleet.sh spec|config ..." ;;
esac
