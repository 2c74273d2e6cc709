#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this script):
# installs the lab's Debian packages if missing, checks formatting and lints,
# then runs every test, end-to-end lab tests included. Run as root on
# Debian 12. Nothing is skipped: a missing component fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "test.sh: $1 is missing: $2" >&2; exit 1; }; }
need cargo "install the Rust toolchain (rustup, Rust 1.89 or newer)"
if [ "$(id -u)" != 0 ]; then
  echo "test.sh: the lab (BIND, Pebble, sshd in mount namespaces) needs root" >&2
  exit 1
fi

echo "== lab packages"
tests/lab/lab.sh install

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy -D warnings"
cargo clippy --locked --all-targets -- -D warnings

echo "== cargo test (unit, CLI, snapshots, lab end-to-end)"
status=0
cargo test --locked -- --test-threads="${CERTBRIDGE_TEST_THREADS:-2}" || status=$?

echo "== contrib/check.sh (service units, logrotate, completions, man pages, Prometheus)"
contrib/check.sh || status=$?

# Belt and braces: a lab whose test process died is stopped by its watchdog;
# reap anything left so the machine is clean either way.
tests/lab/lab.sh reap || true
exit "$status"
