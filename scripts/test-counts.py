#!/usr/bin/env python3
"""Count test results in a meson test log (meson-logs/testlog*.json).

Prints "PASSED FAILED".  A Check suite counts its cases (from the
"N%: Checks: C, Failures: F, Errors: E" line it prints); any other test, or
a Check suite that died before printing it, counts as one.  A test that
failed although Check reported no failing case (valgrind or a sanitizer
failed it at exit) adds one failure.

With --failures, prints instead, for each test that failed, its name, its
result and the lines of its output that say why (Check's failing cases,
sanitizer and valgrind reports, the last lines), so that the end of a CI
log names what failed even when the middle of the log is cut.
"""
import json
import re
import sys

CHECK = re.compile(r'\d+%: Checks: (\d+), Failures: (\d+), Errors: (\d+)')


def main(path):
    passed = failed = 0
    with open(path, encoding='utf-8') as f:
        for line in f:
            if not line.strip():
                continue
            t = json.loads(line)
            ok = t.get('result') in ('OK', 'EXPECTEDFAIL', 'SKIP')
            m = CHECK.search(t.get('stdout') or '')
            if m:
                n, fl, er = (int(x) for x in m.groups())
                passed += n - fl - er
                failed += fl + er
                if not ok and fl + er == 0:
                    failed += 1
            elif ok:
                passed += 1
            else:
                failed += 1
    print(passed, failed)


WHY = re.compile(r'(:[FE]:|ThreadSanitizer|AddressSanitizer|LeakSanitizer|'
                 r'runtime error:|SUMMARY:|ERROR SUMMARY: [1-9]|'
                 r'definitely lost: [1-9]|Assertion|panicked|timeout)')


def failures(path, limit=12):
    with open(path, encoding='utf-8') as f:
        for line in f:
            if not line.strip():
                continue
            t = json.loads(line)
            if t.get('result') in ('OK', 'EXPECTEDFAIL', 'SKIP'):
                continue
            out = ((t.get('stdout') or '') + (t.get('stderr') or '')).splitlines()
            print('--- %s: %s (%.1fs)' % (t.get('name'), t.get('result'),
                                         t.get('duration') or 0))
            why = [l for l in out if WHY.search(l)]
            seen = set()
            for l in why[:limit] + out[-6:]:
                if l not in seen:
                    seen.add(l)
                    print('    ' + l[:200])


if __name__ == '__main__':
    if sys.argv[1] == '--failures':
        failures(sys.argv[2])
    else:
        main(sys.argv[1])
