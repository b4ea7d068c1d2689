#!/usr/bin/env python3
"""Count test results in a meson test log (meson-logs/testlog*.json).

Prints "PASSED FAILED".  A Check suite counts its cases (from the
"N%: Checks: C, Failures: F, Errors: E" line it prints); any other test, or
a Check suite that died before printing it, counts as one.  A test that
failed although Check reported no failing case (valgrind or a sanitizer
failed it at exit) adds one failure.
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


if __name__ == '__main__':
    main(sys.argv[1])
