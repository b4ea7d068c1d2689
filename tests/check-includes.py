#!/usr/bin/env python3
"""The layering rule of src/ (docs/internals.md, "The map"): each folder may
include internal headers only from the folders the table below allows.

    tests/check-includes.py SRC_DIR            exit 1 on a forbidden include
    tests/check-includes.py SRC_DIR --map      print who includes what

An internal include is `#include "<folder>/<file>.h"`; public headers
(`"axle/..."`, <...>) are allowed everywhere."""
import os
import re
import sys

# folder -> the internal headers it may include: a folder prefix ("core/")
# allows every header in it, a full path allows that one header.  The most
# specific folder of a file decides (runtime/task/ before runtime/).
ALLOWED = {
    "core/": ["core/"],
    "time/": ["core/", "time/"],              # the wheel and the futures
    "runtime/task/": ["core/", "runtime/task/",
                      "runtime/sched.h"],      # the harness: one seam up
    "runtime/": ["core/", "runtime/",
                 "time/wheel.h",               # the scheduler drives wheels
                 "time/keeper.h"],             # and starts their keeper
    "task/": ["core/", "task/"],
    "sync/": ["core/", "sync/"],
    "io/": ["core/", "io/"],
    # The desktop adapters: the public API only, as any toolkit's would be.
    "glib/": [],
    "win32/": [],
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(rel):
    best = None
    for f in ALLOWED:
        if rel.startswith(f) and (best is None or len(f) > len(best)):
            best = f
    return best


def main():
    src = sys.argv[1]
    show_map = "--map" in sys.argv[2:]
    bad = []
    for root, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, src).replace(os.sep, "/")
            with open(path, encoding="utf-8") as fh:
                incs = [i for i in INCLUDE.findall(fh.read())
                        if not i.startswith("axle/")]
            if show_map:
                print("%-28s %s" % (rel, " ".join(incs)))
            folder = folder_of(rel)
            if folder is None:
                bad.append("%s: in no known folder (add it to ALLOWED)" % rel)
                continue
            for inc in incs:
                if "/" not in inc:
                    bad.append("%s: includes \"%s\" without its folder" %
                               (rel, inc))
                elif not any(inc == a or (a.endswith("/") and
                                          inc.startswith(a))
                             for a in ALLOWED[folder]):
                    bad.append("%s: may not include \"%s\" (%s may include "
                               "only %s)" % (rel, inc, folder,
                                             ", ".join(ALLOWED[folder])))
    for b in bad:
        print("check-includes: " + b, file=sys.stderr)
    if not show_map:
        print("check-includes: %s" % ("%d forbidden includes" % len(bad)
                                      if bad else "every include is allowed"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
