#!/bin/bash
# axle's whole test suite, as CI runs it (.ci/run calls exactly this).
# Installs what is missing, then, each in its own build directory under
# $AXLE_CI_DIR (default: _ci/ in the tree, ignored by git):
#   gcc     -Werror build; meson test: plain, --setup=asan, --setup=tsan,
#           --setup=valgrind
#   clang   -Werror build; meson test (plain)
#   consumer  axle as a meson subproject and through pkg-config
#   windows   mingw-w64 cross build, tests under wine
# and prints one line per stage and the totals.  Exit status 0 only when
# every stage passed.  AXLE_STAGES="gcc clang" runs a subset.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
O=${AXLE_CI_DIR:-$ROOT/_ci}
STAGES=${AXLE_STAGES:-"gcc clang consumer windows"}
mkdir -p "$O"
rm -f "$O/failures.txt"   # why each failed stage failed, printed at the end
T0=$SECONDS
RESULTS=()           # "stage|status|seconds|passed|failed"
PASSED=0 FAILED=0

banner() { printf '\n======== %s ========\n' "$*"; }
record() {           # record NAME STATUS SECONDS PASSED FAILED
  RESULTS+=("$1|$2|$3|$4|$5")
  PASSED=$((PASSED + $4)); FAILED=$((FAILED + $5))
}
# Runs `meson test` in build dir $2 with extra args, counts Check cases
# from the test log (a test without Check output counts as one).
mtest() {            # mtest NAME BUILDDIR [meson test args...]
  local name=$1 dir=$2 t=$SECONDS rc=0 counts log
  shift 2
  banner "$name: meson test $*"
  meson test -C "$dir" --print-errorlogs "$@" || rc=$?
  log="$dir/meson-logs/testlog.json"
  for a in "$@"; do case $a in --setup=*) log="$dir/meson-logs/testlog-${a#--setup=}.json" ;; esac; done
  counts=$(python3 "$ROOT/scripts/test-counts.py" "$log" 2>/dev/null || echo "0 1")
  # shellcheck disable=SC2086
  set -- $counts
  [ "$rc" -ne 0 ] && [ "$2" -eq 0 ] && set -- "$1" 1
  if [ "$rc" -ne 0 ]; then
    { echo "== $name"
      python3 "$ROOT/scripts/test-counts.py" --failures "$log" 2>&1 | head -n 80
    } >>"$O/failures.txt"
  fi
  record "$name" "$([ $rc -eq 0 ] && echo ok || echo FAIL)" $((SECONDS - t)) "$1" "$2"
}
build() {            # build NAME BUILDDIR [meson setup args...]; env CC/CXX
  local name=$1 dir=$2 t=$SECONDS
  shift 2
  banner "$name: build"
  rm -rf "$dir"
  if meson setup "$dir" "$ROOT" --werror --wrap-mode=nodownload "$@" \
     && meson compile -C "$dir"; then
    record "$name build" ok $((SECONDS - t)) 0 0; return 0
  fi
  record "$name build" FAIL $((SECONDS - t)) 0 1; return 1
}
script() {           # script NAME COMMAND...: a stage that prints "N passed, N failed"
  local name=$1 t=$SECONDS rc=0 out p f
  shift
  banner "$name"
  out=$("$@" 2>&1) || rc=$?
  echo "$out"
  p=$(echo "$out" | sed -nE 's/.* ([0-9]+) passed, ([0-9]+) failed$/\1/p' | tail -n1)
  f=$(echo "$out" | sed -nE 's/.* ([0-9]+) passed, ([0-9]+) failed$/\2/p' | tail -n1)
  p=${p:-0}; f=${f:-0}
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  if [ "$rc" -ne 0 ]; then
    { echo "== $name (last lines)"; echo "$out" | tail -n 25; } >>"$O/failures.txt"
  fi
  record "$name" "$([ $rc -eq 0 ] && echo ok || echo FAIL)" $((SECONDS - t)) "$p" "$f"
}

banner "packages"
t=$SECONDS
if "$ROOT/scripts/bootstrap.sh" test; then
  record "packages" ok $((SECONDS - t)) 0 0
else
  record "packages" FAIL $((SECONDS - t)) 0 1
fi

for stage in $STAGES; do
  case $stage in
    gcc)
      if CC=gcc CXX=g++ build gcc "$O/gcc" -Dtests=enabled -Dexamples=enabled \
           -Dbenchmarks=enabled -Dsanitizers=enabled; then
        mtest "gcc plain" "$O/gcc"
        mtest "gcc asan" "$O/gcc" --setup=asan
        mtest "gcc tsan" "$O/gcc" --setup=tsan
        mtest "gcc valgrind" "$O/gcc" --setup=valgrind
      fi ;;
    clang)
      if CC=clang CXX=clang++ build clang "$O/clang" -Dtests=enabled \
           -Dexamples=enabled -Dbenchmarks=enabled -Dsanitizers=disabled; then
        mtest "clang plain" "$O/clang"
      fi ;;
    consumer) script "consumer" "$ROOT/.ci/consumer.sh" "$O/consumer" ;;
    windows) script "windows" "$ROOT/.ci/windows.sh" "$O/windows" ;;
    *) echo "unknown stage $stage"; record "$stage" FAIL 0 0 1 ;;
  esac
done

if [ -s "$O/failures.txt" ]; then
  banner "failures"
  cat "$O/failures.txt"
fi
banner "summary ($((SECONDS - T0)) s)"
status=0
for r in "${RESULTS[@]}"; do
  IFS='|' read -r n s sec p f <<<"$r"
  [ "$s" = ok ] || status=1
  printf '  %-16s %-4s %5ss  %5s checks passed, %s failed\n' "$n" "$s" "$sec" "$p" "$f"
done
[ "$FAILED" -eq 0 ] || status=1
echo "axle: $PASSED passed, $FAILED failed"
exit $status
