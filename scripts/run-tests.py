#!/usr/bin/env python3
"""Runs every test binary of a meson build and prints one closing line.

Each Catch2 binary is run as meson registered it (with -w NoTests, so a
filter that matches nothing fails). Test cases are counted from Catch2's own
summary; a binary that dies without one counts as one failed case.
"""
import argparse
import json
import re
import subprocess
import sys
import time

SUMMARY_ALL = re.compile(r"All tests passed \(\d+ assertions? in (\d+) test cases?\)")
SUMMARY_MIXED = re.compile(r"test cases:\s+(\d+)\s+\|\s+(\d+) passed\s+\|\s+(\d+) failed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("builddir", help="meson build directory")
    ap.add_argument("--only", help="run only test binaries whose name contains this")
    args = ap.parse_args()

    tests = json.loads(subprocess.run(["meson", "introspect", args.builddir, "--tests"],
                                      check=True, capture_output=True, text=True).stdout)
    if args.only:
        tests = [t for t in tests if args.only in t["name"]]
    if not tests:
        print("no test binaries found", file=sys.stderr)
        print("0 passed, 1 failed")
        return 1

    passed = failed = 0
    for t in tests:
        start = time.monotonic()
        proc = subprocess.run(t["cmd"], cwd=t.get("workdir") or None, capture_output=True, text=True,
                              env=None if not t.get("env") else {**__import__("os").environ, **t["env"]},
                              timeout=t.get("timeout") or 1800)
        out = proc.stdout + proc.stderr
        took = time.monotonic() - start
        m_all, m_mixed = SUMMARY_ALL.search(out), SUMMARY_MIXED.search(out)
        if m_all and proc.returncode == 0:
            p, f = int(m_all.group(1)), 0
        elif m_mixed:
            p, f = int(m_mixed.group(2)), int(m_mixed.group(3))
            f = max(f, 1 if proc.returncode != 0 else 0)
        else:
            p, f = 0, 1
        if f:
            sys.stdout.write(out)
        print(f"{t['name']:<12} {p} passed, {f} failed  ({took:.1f} s)")
        passed += p
        failed += f
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
