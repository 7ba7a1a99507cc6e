# SPDX-License-Identifier: MIT
# nbdsh script (run with --base-allocation; `h` is the connected handle): random
# unaligned writes, reads, trims and zeroes of every flag combination against a model,
# checking the bytes after each operation and the extents of the whole disk: a page is
# a hole reading as zeros (type 3) exactly when its content is all zeros, else data (0).
import errno
import os
import random

import nbd

PAGE = 4096
size = h.get_size()
model = bytearray(size)
rnd = random.Random(int(os.environ.get("SEED", "7")))
pages = (size + PAGE - 1) // PAGE
stats = {"ENOTSUP": 0, "fast_ok": 0}


def page_zero(p):
    return not any(model[p * PAGE:min(size, (p + 1) * PAGE)])


def check_bytes(off, n, what):
    got = h.pread(n, off)
    if got != bytes(model[off:off + n]):
        bad = next(i for i in range(n) if got[i] != model[off + i])
        raise SystemExit(f"{what}: byte {off + bad} reads {got[bad]}, expected {model[off + bad]}")


def check_extents(what):
    kinds = []

    def cb(ctx, offset, entries, err):
        if ctx != nbd.CONTEXT_BASE_ALLOCATION:
            return 0
        for i in range(0, len(entries), 2):
            kinds.append((offset, entries[i], entries[i + 1]))
            offset += entries[i]
        return 0

    pos = 0
    while pos < size:
        start = len(kinds)
        h.block_status(size - pos, pos, cb)
        pos = kinds[-1][0] + kinds[-1][1] if len(kinds) > start else size
    for off, ln, fl in kinds:
        for p in range(off // PAGE, (off + ln + PAGE - 1) // PAGE):
            want = 3 if page_zero(p) else 0
            if fl != want:
                raise SystemExit(f"{what}: page {p} extent type {fl}, expected {want}")


def rand_range(maxlen):
    off = rnd.randrange(size)
    n = rnd.randrange(1, min(maxlen, size - off) + 1)
    # Half the time start or end on a page boundary.
    if rnd.random() < 0.25:
        off -= off % PAGE
    if rnd.random() < 0.25 and off + n < size:
        n += (PAGE - (off + n) % PAGE) % PAGE
        n = min(n, size - off)
    return off, n


def whole_pages(off, n):
    lo = (off + PAGE - 1) // PAGE
    hi = (off + n) // PAGE
    if off + n == size:
        hi = pages
    return lo, hi


def partial_pages(off, n):
    lo, hi = whole_pages(off, n)
    ps = set()
    for p in range(off // PAGE, (off + n - 1) // PAGE + 1):
        if not lo <= p < hi:
            ps.add(p)
    return ps


for step in range(int(os.environ.get("STEPS", "300"))):
    op = rnd.randrange(100)
    if op < 45:
        off, n = rand_range(3 * PAGE + 100)
        data = bytes(n) if rnd.random() < 0.1 else rnd.randbytes(n)
        h.pwrite(data, off)
        model[off:off + n] = data
        what = f"step {step}: write {n} at {off}"
    elif op < 60:
        off, n = rand_range(4 * PAGE)
        what = f"step {step}: read {n} at {off}"
    elif op < 72:
        off, n = rand_range(5 * PAGE)
        h.trim(n, off)
        lo, hi = whole_pages(off, n)
        if hi > lo:
            end = min(size, hi * PAGE)
            model[lo * PAGE:end] = bytes(end - lo * PAGE)
        what = f"step {step}: trim {n} at {off}"
    else:
        off, n = rand_range(5 * PAGE)
        flags = rnd.choice([0, nbd.CMD_FLAG_NO_HOLE, nbd.CMD_FLAG_FAST_ZERO,
                            nbd.CMD_FLAG_NO_HOLE | nbd.CMD_FLAG_FAST_ZERO])
        what = f"step {step}: zero {n} at {off} flags {flags}"
        # FAST_ZERO fails (ENOTSUP, nothing changed) exactly when a partial page at
        # either end holds data: zeroing it would be a read-modify-write.
        slow = any(not page_zero(p) for p in partial_pages(off, n))
        try:
            h.zero(n, off, flags)
            if flags & nbd.CMD_FLAG_FAST_ZERO:
                if slow:
                    raise SystemExit(what + ": FAST_ZERO succeeded on a partial data page")
                stats["fast_ok"] += 1
            model[off:off + n] = bytes(n)
        except nbd.Error as e:
            if not (flags & nbd.CMD_FLAG_FAST_ZERO and slow and e.errnum == errno.ENOTSUP):
                raise SystemExit(f"{what}: {e}")
            stats["ENOTSUP"] += 1
    check_bytes(max(0, off - PAGE), min(size, off + n + PAGE) - max(0, off - PAGE), what)
    check_extents(what)

check_bytes(0, size, "final")
h.flush()
check_bytes(0, size, "after flush")
check_extents("after flush")
if not stats["ENOTSUP"] or not stats["fast_ok"]:
    raise SystemExit(f"FAST_ZERO never exercised both ways: {stats}")
print("ok", stats)
