#!/usr/bin/env python3
"""Writes one seed of the gate fuzz target: a stored and a next binary schema.

The seed is the stored schema's size as four little-endian bytes, then the
two schemas (tests/fuzz/targets.hpp).
"""
import struct
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: make_gate_seed.py OUTPUT STORED.bfbs NEXT.bfbs")
    output, stored, nxt = sys.argv[1:]
    with open(stored, "rb") as f:
        a = f.read()
    with open(nxt, "rb") as f:
        b = f.read()
    with open(output, "wb") as f:
        f.write(struct.pack("<I", len(a)) + a + b)


if __name__ == "__main__":
    main()
