#!/usr/bin/env python3
"""Compile (and run) every C code block of a Markdown guide.

usage: check-guide.py GUIDE.md --cc 'CC ARGS' [--cxx 'CXX ARGS']
                      [--cflags '...'] [--libs '...'] [--keep DIR]

Every ```c block is compiled against axle with -Wall -Wextra -Werror:
  - a block with `int main(` or `AX_MAIN(` is linked and run; it must exit
    with status 0, and when the line before its ```text result block is
    `<!-- output -->`, its standard output must equal that block;
  - any other block is compiled with -c (unused static functions allowed).
With --cxx, each block is also compiled (and run, with the same check) as
C++11 and C++17: the guide's code is meant for C++ programs too.
A block preceded by `<!-- continues -->` is appended to the block before it
(the two are compiled as one file), so a guide can build a program up in
steps.  A block that does not include <axle.h> itself gets the prelude below.
```rust and other blocks are ignored.  Used by examples/meson.build.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile

PRELUDE = """#include <axle.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
"""

WARN = ['-std=c11', '-D_GNU_SOURCE', '-Wall', '-Wextra', '-Werror',
        '-Wshadow', '-Wstrict-prototypes', '-Wmissing-prototypes',
        '-Wno-unused-function', '-Wno-unused-parameter']
# C++: what a C++ program that includes axle compiles with (-Wextra's
# missing-field-initializers is why C's `= {0}` becomes AX_ZERO(type)).
CXX_WARN = ['-D_GNU_SOURCE', '-Wall', '-Wextra', '-Werror', '-Wshadow',
            '-Wno-unused-function', '-Wno-unused-parameter']
CXX_STDS = ['c++11', 'c++17']


def blocks(text):
    """Yield (line, lang, body, marks, output) for each fenced block."""
    lines = text.split('\n')
    i = 0
    found = []
    while i < len(lines):
        m = re.match(r'^```(\w*)\s*$', lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(1), i
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != '```':
            j += 1
        body = '\n'.join(lines[i + 1:j]) + '\n'
        k = start - 1
        while k >= 0 and lines[k].strip() == '':
            k -= 1
        mark = lines[k].strip() if k >= 0 else ''
        found.append({'line': start + 1, 'lang': lang, 'body': body,
                      'mark': mark})
        i = j + 1
    return found


def expected_output(bs, n):
    """The marked ```text block right after block n, or None."""
    for nb in bs[n + 1:]:
        if nb['lang'] == 'c':
            break
        if nb['lang'] == 'text' and nb['mark'] == '<!-- output -->':
            return nb['body']
        break
    return None


def check(where, label, cmd, exe, is_prog, want):
    """Compile with cmd, run exe if is_prog; return an error text or None."""
    r = subprocess.run(cmd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, check=False)
    if r.returncode != 0:
        return '%s: does not compile as %s:\n%s' % (
            where, label, r.stdout.decode(errors='replace'))
    if not is_prog:
        return None
    try:
        r = subprocess.run([exe], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        return '%s: timed out (%s)' % (where, label)
    out = r.stdout.decode(errors='replace')
    if r.returncode != 0:
        return '%s: exited with %d (%s)\n%s%s' % (
            where, r.returncode, label, out,
            r.stderr.decode(errors='replace'))
    if want is not None and out.rstrip('\n') != want.rstrip('\n'):
        return '%s: output differs (%s)\n--- got\n%s--- expected\n%s' % (
            where, label, out, want)
    return None


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument('guide')
    ap.add_argument('--cc', required=True)
    ap.add_argument('--cxx', help='also compile and run each block as C++')
    ap.add_argument('--cflags', default='')
    ap.add_argument('--libs', default='')
    ap.add_argument('--keep')
    a = ap.parse_args(argv[1:])
    with open(a.guide, encoding='utf-8') as f:
        bs = blocks(f.read())
    cc = shlex.split(a.cc)
    cxx = shlex.split(a.cxx) if a.cxx else None
    cflags = shlex.split(a.cflags)
    libs = shlex.split(a.libs)
    work = a.keep or tempfile.mkdtemp(prefix='guide-')
    os.makedirs(work, exist_ok=True)
    failed = 0
    checked = 0
    builds_done = 0
    prev_src = None
    for n, b in enumerate(bs):
        if b['lang'] != 'c':
            continue
        src = b['body']
        if b['mark'] == '<!-- continues -->' and prev_src is not None:
            src = prev_src + '\n' + src
        prev_src = src
        full = src if '<axle.h>' in src else PRELUDE + src
        name = os.path.join(work, 'block-%d' % b['line'])
        is_prog = re.search(r'\bint main\s*\(|^AX_MAIN\(', src, re.M)
        want = expected_output(bs, n)
        checked += 1
        where = '%s:%d' % (a.guide, b['line'])
        # (label, compiler and flags, source file, executable)
        builds = [('C', cc + WARN, name + '.c', name)]
        for std in (CXX_STDS if cxx else []):
            builds.append(('C++ (-std=%s)' % std, cxx + ['-std=' + std] +
                           CXX_WARN, name + '.cc', name + '-' + std))
        for label, comp, path, exe in builds:
            with open(path, 'w', encoding='utf-8') as f:
                f.write(full)
            cmd = comp + cflags + [path]
            cmd += ['-o', exe] + libs if is_prog else ['-c', '-o', exe + '.o']
            builds_done += 1
            err = check(where, label, cmd, exe, is_prog, want)
            if err is not None:
                failed += 1
                print(err)
    print('%d C blocks checked %s: %d builds, %d failed' % (
        checked, 'as C, C++11 and C++17' if cxx else 'as C', builds_done,
        failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
