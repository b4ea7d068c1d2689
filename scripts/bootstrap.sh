#!/bin/bash
# Installs what axle needs on Debian/Ubuntu, and only what is missing.
# Uses sudo only when not root.  Idempotent: a second run installs nothing.
#
# usage: scripts/bootstrap.sh [demo|test|windows]...
#   demo     compiler, meson, ninja, pkg-config, libuv  (default)
#   test     demo + Check, g++, clang, valgrind + windows, and the desktop
#            tests' GLib, GTK 4, Xvfb and xdotool
#   windows  mingw-w64, wine, cmake, dpkg-dev (the Windows cross build)
set -euo pipefail
[ $# -eq 0 ] && set -- demo

pkgs=()
for p in "$@"; do
  case $p in
    demo) pkgs+=(gcc libc6-dev meson ninja-build pkg-config libuv1-dev python3) ;;
    test) pkgs+=(gcc libc6-dev meson ninja-build pkg-config libuv1-dev python3 libhttp-parser-dev
                 check libsubunit-dev g++ clang valgrind
                 mingw-w64 wine wine64 cmake dpkg-dev
                 libglib2.0-dev libgtk-4-dev xvfb xdotool) ;;
    windows) pkgs+=(meson ninja-build pkg-config python3 mingw-w64 wine wine64
                    cmake dpkg-dev) ;;
    *) echo "bootstrap: unknown profile '$p' (demo, test, windows)" >&2; exit 2 ;;
  esac
done
# The sanitizer runtimes (libasan, libubsan, libtsan) come with gcc's
# libgcc-N-dev; make sure the one of the installed gcc is there.
if [[ " $* " == *" test "* ]] && command -v gcc >/dev/null; then
  pkgs+=("libgcc-$(gcc -dumpversion | cut -d. -f1)-dev")
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    [[ " ${missing[*]-} " == *" $p "* ]] || missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: everything for '$*' is installed"
  exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "bootstrap: not root and no sudo: install ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "bootstrap: installing ${missing[*]}"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
echo "bootstrap: done"
