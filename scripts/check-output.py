#!/usr/bin/env python3
"""Run a program and compare its standard output with an expected file.

usage: check-output.py EXPECTED -- COMMAND [ARGS...]

Each line of EXPECTED must match one output line, in order:
  - a plain line matches exactly (trailing spaces and CR are ignored);
  - 're:PATTERN' matches when the Python regular expression matches the
    whole line;
  - '...' matches any number of lines (including none).
The program must also exit with status 0.  Its standard error is passed
through.  Used by examples/meson.build.
"""
import re
import subprocess
import sys
import time


def matches(expected, got):
    """Return True when the list of output lines matches the patterns."""
    memo = {}

    def m(i, j):
        key = (i, j)
        if key in memo:
            return memo[key]
        if i == len(expected):
            r = j == len(got)
        elif expected[i] == '...':
            r = any(m(i + 1, k) for k in range(j, len(got) + 1))
        elif j == len(got):
            r = False
        else:
            pat = expected[i]
            if pat.startswith('re:'):
                ok = re.fullmatch(pat[3:], got[j]) is not None
            else:
                ok = pat == got[j]
            r = ok and m(i + 1, j + 1)
        memo[key] = r
        return r

    return m(0, 0)


def main(argv):
    if len(argv) < 4 or argv[2] != '--':
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1], encoding='utf-8') as f:
        expected = [l.rstrip() for l in f.read().splitlines()]
    start = time.monotonic()
    proc = subprocess.run(argv[3:], stdout=subprocess.PIPE, check=False)
    took = time.monotonic() - start
    out = proc.stdout.decode('utf-8', 'replace').replace('\r\n', '\n')
    got = [l.rstrip() for l in out.splitlines()]
    sys.stdout.write(out)
    if proc.returncode != 0:
        rc = proc.returncode
        how = (f'was killed by signal {-rc}' if rc < 0 else
               f'exited with status {rc} (0x{rc:x})')
        print(f'check-output: {argv[3]} {how} after {took:.3f} s, '
              f'having written {len(out)} bytes to stdout')
        return 1
    if not matches(expected, got):
        print('check-output: the output does not match ' + argv[1])
        print('--- expected')
        print('\n'.join(expected))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
