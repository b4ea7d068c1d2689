#!/usr/bin/env python3
"""Compile (and run) every C code block of a Markdown guide.

usage: check-guide.py GUIDE.md --cc 'CC ARGS' [--cflags '...'] [--libs '...']
                      [--keep DIR]

Every ```c block is compiled against axle with -Wall -Wextra -Werror:
  - a block with `int main(` or `AX_MAIN(` is linked and run; it must exit
    with status 0, and when the line before its ```text result block is
    `<!-- output -->`, its standard output must equal that block;
  - any other block is compiled with -c (unused static functions allowed).
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
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
"""

WARN = ['-std=c11', '-D_GNU_SOURCE', '-Wall', '-Wextra', '-Werror',
        '-Wshadow', '-Wstrict-prototypes', '-Wmissing-prototypes',
        '-Wno-unused-function', '-Wno-unused-parameter']


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


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument('guide')
    ap.add_argument('--cc', required=True)
    ap.add_argument('--cflags', default='')
    ap.add_argument('--libs', default='')
    ap.add_argument('--keep')
    a = ap.parse_args(argv[1:])
    with open(a.guide, encoding='utf-8') as f:
        bs = blocks(f.read())
    cc = shlex.split(a.cc)
    cflags = shlex.split(a.cflags)
    libs = shlex.split(a.libs)
    work = a.keep or tempfile.mkdtemp(prefix='guide-')
    os.makedirs(work, exist_ok=True)
    failed = 0
    checked = 0
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
        with open(name + '.c', 'w', encoding='utf-8') as f:
            f.write(full)
        is_prog = re.search(r'\bint main\s*\(|^AX_MAIN\(', src, re.M)
        cmd = cc + WARN + cflags + [name + '.c']
        cmd += ['-o', name] + libs if is_prog else ['-c', '-o', name + '.o']
        checked += 1
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, check=False)
        if r.returncode != 0:
            failed += 1
            print('%s:%d: does not compile:\n%s' % (
                a.guide, b['line'], r.stdout.decode(errors='replace')))
            continue
        if not is_prog:
            continue
        # The ```text block after this one, when marked, is the output.
        want = None
        for nb in bs[n + 1:]:
            if nb['lang'] == 'c':
                break
            if nb['lang'] == 'text' and nb['mark'] == '<!-- output -->':
                want = nb['body']
            break
        try:
            r = subprocess.run([name], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=60,
                               check=False)
        except subprocess.TimeoutExpired:
            failed += 1
            print('%s:%d: timed out' % (a.guide, b['line']))
            continue
        out = r.stdout.decode(errors='replace')
        if r.returncode != 0:
            failed += 1
            print('%s:%d: exited with %d\n%s%s' % (
                a.guide, b['line'], r.returncode, out,
                r.stderr.decode(errors='replace')))
        elif want is not None and out.rstrip('\n') != want.rstrip('\n'):
            failed += 1
            print('%s:%d: output differs\n--- got\n%s--- expected\n%s' % (
                a.guide, b['line'], out, want))
    print('%d C blocks checked, %d failed' % (checked, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
