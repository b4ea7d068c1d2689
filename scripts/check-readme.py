#!/usr/bin/env python3
"""Check that the first ```c block of README.md is examples/readme.c.

usage: check-readme.py README.md examples/readme.c
"""
import re
import sys


def main(readme, example):
    with open(readme, encoding='utf-8') as f:
        m = re.search(r'^```c\n(.*?)^```$', f.read(), re.S | re.M)
    with open(example, encoding='utf-8') as f:
        code = f.read()
    if not m:
        print(f'{readme}: no ```c block')
        return 1
    if m.group(1) != code:
        print(f'the first C block of {readme} differs from {example}: '
              'keep them the same program')
        return 1
    print(f'{readme} shows {example} ({len(code.splitlines())} lines)')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[2]))
