#!/usr/bin/env python3
"""Misuse that C can catch at compile time must not compile (include/axle/
future.h, "Rules"), and the compiler's message must name the rule.

usage: check-compile-errors.py --cc 'CC ARGS' [--cxx 'CXX ARGS'] --include DIR

Each case is a small program built on a correct one; it must fail to
compile, with the expected words in the compiler's output.  The correct
program itself must compile (so a failure is the misuse's, not the
harness's).  C cases run with --cc, C++ cases with --cxx when given."""
import argparse
import os
import shlex
import subprocess
import sys
import tempfile

GOOD = r"""
#include <axle.h>
typedef struct {
  ax_async_t co;
  ax_sleep_t nap;
  int out;
} nap_t;
typedef struct {
  ax_async_t co;
  int x;
} other_t;
AX_ASYNC(napper, nap_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_sleep(&self->nap, 10));      /* @AWAIT@ */
  self->out = 1;
  AX_END();
}
int use(nap_t *n, other_t *o);
int use(nap_t *n, other_t *o) {
  (void)o;
  return AX_FUTURE(napper, n) != NULL;     /* @FUTURE@ */
}
"""

# name, what replaces which marker (or a whole new prefix), expected words
# in C, expected words in C++ (None: that language has no such case).
CASES = [
    ("async state without co first",
     ("typedef struct {\n  ax_async_t co;\n  ax_sleep_t nap;",
      "typedef struct {\n  int first;\n  ax_async_t co;\n  ax_sleep_t nap;"),
     "must begin with its ax_async_t, named co",
     "must begin with its ax_async_t, named co"),
    ("AX_AWAIT given the struct, not its constructor",
     ("AX_AWAIT(ax_sleep(&self->nap, 10));", "AX_AWAIT(&self->nap);"),
     "AX_AWAIT_takes_an_ax_future_t_pointer_from_a_constructor",
     "ax_sleep_t"),
    ("AX_AWAIT of a misspelt constructor",
     ("AX_AWAIT(ax_sleep(&self->nap, 10));", "AX_AWAIT(ax_slep(&self->nap, 10));"),
     "ax_slep", "ax_slep"),
    ("AX_FUTURE with the state of another function",
     ("AX_FUTURE(napper, n)", "AX_FUTURE(napper, o)"),
     "AX_FUTURE_got_a_state_of_another_type", "other_t"),
    ("two awaits on one line",
     ("AX_AWAIT(ax_sleep(&self->nap, 10));      /* @AWAIT@ */",
      "AX_AWAIT(ax_sleep(&self->nap, 10)); AX_AWAIT(ax_sleep(&self->nap, 1));"),
     "duplicate case", "duplicate case"),
]

C_FLAGS = ["-std=c11", "-D_POSIX_C_SOURCE=200809L", "-fsyntax-only",
           "-Werror=implicit-function-declaration",
           "-Werror=incompatible-pointer-types"]
CXX_FLAGS = ["-std=c++11", "-fsyntax-only"]


def compile_src(cmd, flags, inc, src, suffix):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "case" + suffix)
        with open(path, "w") as f:
            f.write(src)
        p = subprocess.run(cmd + flags + ["-I" + inc, path],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        return p.returncode, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cc", required=True)
    ap.add_argument("--cxx")
    ap.add_argument("--include", required=True)
    a = ap.parse_args()
    langs = [("C", shlex.split(a.cc), C_FLAGS, ".c", 2)]
    if a.cxx:
        langs.append(("C++", shlex.split(a.cxx), CXX_FLAGS, ".cc", 3))
    passed = failed = 0
    for lang, cmd, flags, suffix, col in langs:
        rc, out = compile_src(cmd, flags, a.include, GOOD, suffix)
        if rc != 0:
            print("FAIL %s: the correct program does not compile:\n%s" %
                  (lang, out))
            failed += 1
            continue
        for case in CASES:
            name, (old, new), want = case[0], case[1], case[col]
            if want is None:
                continue
            assert old in GOOD, name
            rc, out = compile_src(cmd, flags, a.include,
                                  GOOD.replace(old, new, 1), suffix)
            if rc == 0:
                print("FAIL %s: %s: compiled" % (lang, name))
                failed += 1
            elif want not in out:
                print("FAIL %s: %s: no '%s' in:\n%s" % (lang, name, want, out))
                failed += 1
            else:
                print("ok   %s: %s" % (lang, name))
                passed += 1
    print("check-compile-errors: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
