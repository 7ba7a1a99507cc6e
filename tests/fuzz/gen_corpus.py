#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpora tests/fuzz/corpus/<harness>/seed-NN (deterministic).

Every byte string is a valid input (the harnesses decode any byte into an op), so a seed
is a config pair chosen to cover each mode, followed by random op bytes. The first seeds
walk the config byte's fields one by one; the rest draw them at random.
"""
import os
import random
import sys

SEEDS = 24
HERE = os.path.dirname(os.path.abspath(__file__))


def configs(name, rng):
    """Config byte pairs: every mode / compressor / flag at least once."""
    out = []
    if name == "zsmalloc":
        for mode in range(6):            # none, grouped, plain, v2, per class, sync
            for chain in (0, 3):
                out.append((chain | (mode << 3) | (0x04 if mode % 2 else 0), rng.randrange(32)))
    elif name == "zram":
        for mode in range(6):            # sync, grouped, plain, v2, per class, deferred zspage free
            for comp in range(3):
                out.append((mode | (comp << 3) | 0x20 | (0x40 if comp == 2 else 0), 3 | (mode & 4)))
    else:
        for comp in range(3):
            for flags in range(4):       # deferred invalidate, shrinker
                out.append((comp | (flags << 2) | ((comp + flags) % 4) << 5, rng.choice((0, 50, 90))))
    while len(out) < SEEDS:
        out.append((rng.randrange(256), rng.randrange(256)))
    return out[:SEEDS]


def main():
    rng = random.Random(12)
    for name in ("zsmalloc", "zram", "zswap"):
        d = os.path.join(HERE, "corpus", name)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            if f.startswith("seed-"):
                os.unlink(os.path.join(d, f))
        for i, (c0, c1) in enumerate(configs(name, rng)):
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(48, 640)))
            with open(os.path.join(d, "seed-%02d" % i), "wb") as f:
                f.write(bytes((c0, c1)) + body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
