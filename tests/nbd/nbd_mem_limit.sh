#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mem_limit: incompressible writes past it fail with ENOSPC; everything stored before
# reads back intact; an overwrite that does not fit leaves the old page; after trims
# (deferred frees drained by the retry) writes succeed again.
source "$(dirname "$0")/nbd_lib.sh"
need nbdkit
find_nbdsh

for free in deferred sync; do
	start_server ml size=64M mem_limit=4M free=$free
	nbdsh -u "$URI" -c '
import errno, random
rnd = random.Random(3)
stored = {}
full = False
text = (b"compressible page " * 228)[:4096]
for i in range(32):
    h.pwrite(text, (60 << 20) + i * 4096)
for i in range(0, 60 << 20, 65536):
    data = rnd.randbytes(65536)
    try:
        h.pwrite(data, i)
        stored[i] = data
    except nbd.Error as e:
        assert e.errnum == errno.ENOSPC, f"write at {i}: {e} (errno {e.errnum}), expected ENOSPC"
        full = True
        break
assert full, "60 MiB of random data fitted in mem_limit=4M"
assert 2 << 20 <= len(stored) * 65536 <= 4 << 20, f"stored {len(stored) * 65536} bytes"
for i, data in stored.items():
    assert h.pread(65536, i) == data, f"stored data at {i} lost after ENOSPC"
# A compressible page overwritten with random data that does not fit keeps its data.
failed = 0
for i in range(32):
    off = (60 << 20) + i * 4096
    try:
        h.pwrite(rnd.randbytes(4096), off)
        failed = -1
        break
    except nbd.Error as e:
        assert e.errnum == errno.ENOSPC
        assert h.pread(4096, off) == text, "old page lost by a failed overwrite"
        failed += 1
assert failed > 0, "overwrites past the limit did not fail"
# Trim half of what is stored: new writes fit again.
keys = sorted(stored)
for i in keys[::2]:
    h.trim(65536, i)
for i in keys[::2][:4]:
    data = rnd.randbytes(65536)
    h.pwrite(data, i)
    stored[i] = data
for i in keys[1::2] + keys[::2][:4]:
    assert h.pread(65536, i) == stored[i], f"data at {i} lost"
print("ok", len(stored))
' || fail "mem_limit (free=$free)"
	stop_server
	check_log ml
done
echo PASS
