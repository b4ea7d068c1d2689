#!/bin/bash
# Checks the two ways users pull axle in, as a user would:
#  1. as a meson subproject: a throwaway parent project with axle in its
#     subprojects/ calls dependency('axle') and builds and runs a program;
#  2. through pkg-config: axle built alone, `meson install --destdir`, then
#     `pkg-config --cflags --libs axle` compiles and links the same program.
# The program is examples/readme.c (the README's), so its output is known.
#
# usage: .ci/consumer.sh [WORKDIR]      (default: a fresh temporary dir)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-$(mktemp -d /tmp/axle-consumer.XXXXXX)}
rm -rf "$W" && mkdir -p "$W"
EXPECTED="$ROOT/examples/readme.expected"
ok() { echo "consumer: $*"; }

check_output() {   # check_output PROGRAM...
  local out
  out=$("$@")
  if [ "$out" != "$(cat "$EXPECTED")" ]; then
    echo "consumer: unexpected output from $*:"; echo "$out"; return 1
  fi
}

# ---- 1. subproject ---------------------------------------------------------
P="$W/parent"
mkdir -p "$P/subprojects"
# A copy, not a symlink: meson must not see the build dirs of the checkout.
(cd "$ROOT" && tar --exclude=./.git --exclude='./build*' --exclude=./_ci -cf - .) \
  | (mkdir -p "$P/subprojects/axle" && tar -xf - -C "$P/subprojects/axle")
cp "$ROOT/examples/readme.c" "$P/main.c"
cat > "$P/meson.build" <<'M'
project('axle-consumer', 'c', default_options: ['c_std=c11', 'warning_level=2'])
# uv.h needs POSIX types that strict -std=c11 hides (gnu11 needs nothing).
if host_machine.system() != 'windows'
  add_project_arguments('-D_POSIX_C_SOURCE=200809L', language: 'c')
endif
axle_dep = dependency('axle')   # found through subprojects/axle
exe = executable('consumer', 'main.c', dependencies: axle_dep)
test('consumer', exe)
M
meson setup "$W/b-sub" "$P" --werror >"$W/sub-setup.log" 2>&1 \
  || { cat "$W/sub-setup.log"; exit 1; }
# axle must build only its library there: no tests, examples, benchmarks.
if grep -qE "^ *(tests|examples|benchmarks) *: YES" "$W/sub-setup.log"; then
  echo "consumer: axle built its tests/examples/benchmarks as a subproject"; exit 1
fi
meson compile -C "$W/b-sub" >"$W/sub-build.log" 2>&1 || { cat "$W/sub-build.log"; exit 1; }
check_output "$W/b-sub/consumer"
ok "subproject dependency('axle'): built and ran"

# ---- 2. install + pkg-config ------------------------------------------------
meson setup "$W/b-inst" "$ROOT" --prefix=/usr/local -Dtests=disabled \
  -Dexamples=disabled -Dbenchmarks=disabled --werror >"$W/inst-setup.log" 2>&1 \
  || { cat "$W/inst-setup.log"; exit 1; }
meson compile -C "$W/b-inst" >"$W/inst-build.log" 2>&1 || { cat "$W/inst-build.log"; exit 1; }
D="$W/destdir"
meson install -C "$W/b-inst" --destdir "$D" >"$W/install.log" 2>&1 || { cat "$W/install.log"; exit 1; }
PCDIR=$(dirname "$(find "$D" -name axle.pc | head -n1)")
[ -f "$PCDIR/axle.pc" ] || { echo "consumer: axle.pc was not installed"; exit 1; }
for h in axle.h axle/common.h axle/future.h axle/task.h axle/runtime.h; do
  [ -f "$D/usr/local/include/$h" ] || { echo "consumer: $h was not installed"; exit 1; }
done
export PKG_CONFIG_PATH="$PCDIR" PKG_CONFIG_SYSROOT_DIR="$D"
FLAGS=$(pkg-config --cflags --libs axle)
ok "pkg-config --cflags --libs axle: $FLAGS"
# shellcheck disable=SC2086  # the flags are meant to split
${CC:-cc} -Wall -Wextra -Werror -o "$W/consumer-pc" "$ROOT/examples/readme.c" $FLAGS
LIBDIR=$(dirname "$(find "$D" -name 'libaxle.so*' | head -n1)")
LD_LIBRARY_PATH="$LIBDIR" check_output "$W/consumer-pc"
ok "pkg-config build: compiled, linked and ran"
# The installed library exports exactly what the public headers declare:
# every exported symbol must be named in include/ (ax__ helpers that the
# macros call are declared there too); the rest is hidden.
EXPORTED=$(nm -D --defined-only "$LIBDIR/libaxle.so" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sort)
UNDECLARED=$(for s in $EXPORTED; do grep -rqw -- "$s" "$ROOT/include" || echo "$s"; done)
if [ -n "$UNDECLARED" ]; then
  echo "consumer: libaxle.so exports symbols no public header declares:"; echo "$UNDECLARED"; exit 1
fi
ok "libaxle.so exports $(echo "$EXPORTED" | wc -l) symbols, all declared in include/"
echo "consumer: 2 passed, 0 failed"
