#!/usr/bin/env bash
# Instruction counts of axle-bench workloads under callgrind: repeatable on
# a noisy machine, so this is how a change that must not move the hot path
# is checked (compare the counts before and after, same binary flags).
#
#   bench/callgrind.sh [BUILD_DIR]      default: /tmp/axle-callgrind-build
#   WORKLOADS="yield_many ping_pong" ITERS=3 bench/callgrind.sh
#
# Builds axle with --buildtype=release in BUILD_DIR (unless NO_BUILD=1) and
# prints one line per workload: name, flavour, instructions (Ir).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
B="${1:-/tmp/axle-callgrind-build}"
WORKLOADS="${WORKLOADS:-yield_many spawn_many_local ping_pong chained_spawn}"
MODE="${MODE:---current}"
ITERS="${ITERS:-3}"
if [[ -z "${NO_BUILD:-}" ]]; then
  if [[ ! -f "$B/build.ninja" ]]; then
    meson setup "$B" "$REPO" --buildtype=release -Dtests=disabled \
      -Dexamples=disabled -Dbenchmarks=enabled -Dsanitizers=disabled >/dev/null
  fi
  meson compile -C "$B" bench/axle-bench >/dev/null
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for w in $WORKLOADS; do
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.$w" \
    "$B/bench/axle-bench" "$w" $MODE --iters "$ITERS" --warmup 0 \
    >/dev/null 2>"$out/log.$w"
  ir=$(sed -nE 's/^==[0-9]+== Collected : ([0-9]+)/\1/p' "$out/log.$w")
  printf '%-28s %-10s %s\n' "$w" "$MODE" "$ir"
done
