#!/bin/bash
# Cross-compiles axle for Windows (x86-64) with mingw-w64 and runs its tests
# under wine, with libuv and Check built from Debian's own source packages
# (after shared/recipes/windows-cross.sh).
#
# usage: .ci/windows.sh [BUILDDIR]        (default: _ci/windows in the tree)
#
# libuv and Check are built once and cached outside the tree, in
# $AXLE_WIN_CACHE (default ~/.cache/axle-windows); delete it to rebuild.
# Nothing under /etc is changed: deb-src lives in a private apt config.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$ROOT/_ci/windows}
C=${AXLE_WIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/axle-windows}
P="$C/prefix"
t0=$SECONDS; step() { echo "== windows [$((SECONDS - t0))s] $*"; }

step "packages"
"$ROOT/scripts/bootstrap.sh" windows

HOST=x86_64-w64-mingw32
KEY="recipe-3 $($HOST-gcc -dumpversion) $(dpkg-query -W -f='${Version}' gcc-mingw-w64-x86-64 2>/dev/null || true)"
if [ -f "$P/.stamp" ] && [ "$(cat "$P/.stamp")" = "$KEY" ]; then
  step "libuv and Check for Windows: cached in $P"
else
  step "deb-src through a private apt config (no change to /etc)"
  rm -rf "$C/apt" "$C/src" "$C/b-uv" "$C/b-check" "$P"
  mkdir -p "$C"/apt/lists/partial "$C"/apt/cache/archives/partial "$C"/apt/parts "$C/src"
  # The archive apt already uses, as deb-src: Debian's or Ubuntu's deb822
  # file, else the one-line sources.list entries.
  found=
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/ubuntu.sources; do
    if [ -f "$f" ]; then
      sed -E 's/^Types:.*/Types: deb-src/' "$f" > "$C/apt/parts/src.sources"; found=1; break
    fi
  done
  if [ -z "$found" ]; then
    grep -hE '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' > "$C/apt/parts/src.list"
  fi
  cat > "$C/apt/apt.conf" <<CONF
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$C/apt/parts";
Dir::State::Lists "$C/apt/lists";
Dir::Cache "$C/apt/cache";
CONF
  APT_CONFIG="$C/apt/apt.conf" apt-get update -qq
  (cd "$C/src" && APT_CONFIG="$C/apt/apt.conf" apt-get source -qq libuv1 check 2>/dev/null)

  cat > "$C/mingw64.cmake" <<T
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER $HOST-gcc)
set(CMAKE_RC_COMPILER $HOST-windres)
set(CMAKE_FIND_ROOT_PATH /usr/$HOST)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
T
  step "build libuv"
  cmake -S "$(echo "$C"/src/libuv1-1.*/)" -B "$C/b-uv" -DCMAKE_TOOLCHAIN_FILE="$C/mingw64.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DLIBUV_BUILD_TESTS=OFF -DLIBUV_BUILD_BENCH=OFF \
    -DCMAKE_INSTALL_PREFIX="$P" >"$C/b-uv.log"
  cmake --build "$C/b-uv" -j"$(nproc)" >>"$C/b-uv.log" && cmake --install "$C/b-uv" >>"$C/b-uv.log"
  step "build Check"
  cmake -S "$(echo "$C"/src/check-0.*/)" -B "$C/b-check" -DCMAKE_TOOLCHAIN_FILE="$C/mingw64.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DCHECK_ENABLE_TESTS=OFF -DCMAKE_INSTALL_PREFIX="$P" \
    -DCMAKE_C_FLAGS=-D__USE_MINGW_ANSI_STDIO=1 >"$C/b-check.log"
  cmake --build "$C/b-check" -j"$(nproc)" >>"$C/b-check.log" && cmake --install "$C/b-check" >>"$C/b-check.log"
  # CMake's check.pc names a library that does not exist.
  sed -i 's/-lcheck_pic/-lcheck/' "$P/lib/pkgconfig/check.pc"
  # Check formats its messages with %jd and friends: it is built above with
  # mingw's C99 printf, and its header must say so (`printf` means the
  # Microsoft dialect to mingw's gcc, and -Wformat then rejects %jd).
  sed -i 's/CK_ATTRIBUTE_FORMAT(printf,/CK_ATTRIBUTE_FORMAT(gnu_printf,/' "$P/include/check.h"
  # meson picks import libraries first; without them it links statically.
  # libuv's CMake names its static library libuv_a.a: give it the name its
  # libuv.pc links (-luv), whose Libs also list the Windows system libraries.
  rm -f "$P/lib/libcheck.dll.a" "$P/lib/libuv.dll.a"
  mv "$P/lib/libuv_a.a" "$P/lib/libuv.a"
  echo "$KEY" > "$P/.stamp"
  rm -rf "$C/b-uv" "$C/b-check" "$C/src" "$C/apt"
fi

step "meson cross build"
cat > "$C/cross.ini" <<X
[binaries]
c = '$HOST-gcc'
cpp = '$HOST-g++'
ar = '$HOST-ar'
strip = '$HOST-strip'
windres = '$HOST-windres'
pkgconfig = 'pkg-config'
exe_wrapper = 'wine'

[properties]
pkg_config_libdir = '$P/lib/pkgconfig'

[built-in options]
c_args = ['-D__USE_MINGW_ANSI_STDIO=1']
# Self-contained .exe files (no libwinpthread/libgcc DLL to find).
c_link_args = ['-static']
cpp_link_args = ['-static']

[host_machine]
system = 'windows'
cpu_family = 'x86_64'
cpu = 'x86_64'
endian = 'little'
X
# A wine prefix of this run's own, inside the build directory: a shared one
# would share its wineserver with any other run on the machine, whose
# `wineserver -k` below would kill this run's tests (and a run killed while
# it updated the prefix would leave it half-written for the next).
# mscoree/mshtml off: no Mono/Gecko install prompt on the first wineboot.
# WINEDEBUG keeps wine's own error messages, so that a test that fails
# inside wine says why.
rm -rf "$C/wineprefix"   # where earlier versions of this script kept it
export WINEPREFIX="$B/wineprefix" WINEDEBUG=-all,err+all WINEARCH=win64 WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY
rm -rf "$B"
# A static library: the test programs then need no DLL on wine's path.
meson setup "$B" "$ROOT" --cross-file "$C/cross.ini" -Ddefault_library=static \
  -Dtests=enabled -Dexamples=enabled -Dbenchmarks=disabled --werror --wrap-mode=nodownload >"$B.setup.log" 2>&1 \
  || { cat "$B.setup.log"; exit 1; }
grep -A12 '^axle' "$B.setup.log" | sed -n '1,30p'
meson compile -C "$B" >"$B.build.log" 2>&1 || { cat "$B.build.log"; exit 1; }

step "wine prefix in $WINEPREFIX"
# A wineboot that fails is reported, not fatal (it was not before): the
# tests then say what does not work.
wineboot -i >"$B/wineboot.log" 2>&1 || { echo "wineboot -i: status $?"; cat "$B/wineboot.log"; }
timeout 60 wineserver -w || wineserver -k || true
# One wineserver for the whole suite, and wine's own processes (services,
# the desktop) started now, with no test's stdout or stderr: the first
# program to need them starts them otherwise, they inherit its pipes, and
# meson waits for those pipes to close until the test times out.
wineserver -p || true   # (fails only if one still runs: it serves then)
wineboot >>"$B/wineboot.log" 2>&1 </dev/null || { echo "wineboot: status $?"; cat "$B/wineboot.log"; }

step "tests under wine"
rc=0
meson test -C "$B" --print-errorlogs --timeout-multiplier 3 || rc=$?
# A test that meson killed on timeout can leave its Windows process behind;
# the server is this run's own, so killing it touches nothing else.
wineserver -k || true
step "done (exit $rc)"
echo "windows: $(python3 "$ROOT/scripts/test-counts.py" "$B/meson-logs/testlog.json" | sed 's/ / passed, /') failed"
exit $rc
