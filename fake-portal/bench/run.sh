#!/usr/bin/env bash
# Benchmark: fetch ITEMS deals from a fake portal enforcing 50 burst / 2 per second, with
# this crate's client and with fast_bitrix24 (Python, installed from PyPI into a local venv).
# Each client gets a fresh portal (a full bucket). Usage: fake-portal/bench/run.sh [ITEMS] [PORT]
set -euo pipefail
cd "$(dirname "$0")/../.."
ITEMS=${1:-300000}
PORT=${2:-18024}
WHICH=${3:-both}   # rust | python | both
VENV=fake-portal/bench/.venv

cargo build -q --release -p bitrix24-fake-portal --example bench
BENCH=target/release/examples/bench
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q fast_bitrix24
fi

run_one() {
  "$BENCH" serve "$PORT" "$ITEMS" > /tmp/bitrix24-bench-serve.log 2>&1 &
  local server=$!
  # Wait (bounded) for the portal to be ready.
  for _ in $(seq 1 600); do
    grep -q ready /tmp/bitrix24-bench-serve.log 2>/dev/null && break
    sleep 0.1
  done
  local status=0
  "$@" || status=$?
  kill "$server"
  wait "$server" 2>/dev/null || true
  return $status
}

echo "items=$ITEMS, bucket 50 burst / 2 per second"
if [ "$WHICH" != python ]; then
  run_one "$BENCH" rust "$PORT" "$ITEMS"
fi
if [ "$WHICH" != rust ]; then
  for mode in default slow; do
    run_one "$VENV/bin/python" fake-portal/bench/fast_bitrix24_bench.py "$PORT" "$ITEMS" "$mode" 2>/tmp/bitrix24-bench-python.err \
      || { echo "fast_bitrix24 ($mode) failed; last lines of its error output:"; tail -3 /tmp/bitrix24-bench-python.err; }
  done
fi
