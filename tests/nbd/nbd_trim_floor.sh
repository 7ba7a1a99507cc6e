#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Trimming everything written gives the memory back: after a fill over 4 connections
# (nbdcopy: 64 worker threads) and 4 KiB trims of every page, the server's RSS returns
# to within 1 MiB + the slot table of what it was on the empty disk (measured after a
# warm-up client, as bench/nbd does). The regression: 3-4 MiB stayed for good (glibc
# arenas of the worker threads, zsmalloc's handle chunks and descriptors kept for the
# pool's life, freed pages on zsmalloc's dirty list), whatever the wait.
# The device the trims emptied is replaced by a fresh one: the stats file's cumulative
# counters (notify_free, mem_used_max) carry over, and the disk keeps working.
# Under ASan the RSS check is left out (its allocator keeps freed memory in
# quarantine); the rest runs.
source "$(dirname "$0")/nbd_lib.sh"
need nbdkit nbdcopy
find_nbdsh

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status"; }
st=$T/stats
start_server tf size=128M stats="$st"

# Warm-up: code paged in, and nbdcopy's 4 connections' worker threads made once, so that
# the stacks glibc caches for them are in the empty-disk figure too (without this the
# fill's extra threads ate the margin on a loaded machine, once).
gen_pages "$T/warm" 1 3
nbdcopy "$T/warm" "$URI"
nbdsh -u "$URI" -c '
buf = (b"warm-up page " * 316)[:4096]
for p in range(256):
    h.pwrite(buf, p * 4096)
h.pread(256 * 4096, 0)
h.trim(256 * 4096, 0)
h.flush()
'
sleep 1
fresh=$(rss)
gen_pages "$T/pages" 48 7
nbdcopy "$T/pages" "$URI"
filled=$(rss)
echo "RSS: fresh $fresh KiB, filled $filled KiB"
[ "$filled" -gt $((fresh + 8192)) ] || fail "the fill took no memory ($fresh -> $filled KiB)"

# 4 KiB trims of every page written, 16 in flight, as bench/nbd does.
nbdsh -u "$URI" -c '
for p in range(48 * 256):
    h.aio_trim(4096, p * 4096)
    while h.aio_in_flight() >= 16:
        h.poll(-1)
while h.aio_in_flight() > 0:
    h.poll(-1)
'
floor=$((fresh + 1024 + 128 * 256 * 16 / 1024))
now=$(rss)
if [ -z "${ZSMEM_NBD_PRELOAD:-}" ]; then
	for i in $(seq 100); do
		now=$(rss)
		[ "$now" -le "$floor" ] && break
		sleep 0.1
	done
	echo "RSS after the trims: $now KiB (floor $floor KiB)"
	[ "$now" -le "$floor" ] || fail "RSS stayed at $now KiB after trimming everything (floor $floor KiB)"
else
	sleep 2
	echo "RSS after the trims: $now KiB (ASan: not checked)"
fi

# The counters carried over, the disk is empty and still works.
kill -USR1 "$PID"
for i in $(seq 100); do [ -s "$st" ] && break; sleep 0.1; done
[ -s "$st" ] || fail "no stats written"
cat "$st"
read -r orig compr used _ maxused _ < <(sed -n 1p "$st")
read -r _ _ _ notify < <(sed -n 2p "$st")
[ "$orig" -eq 0 ] && [ "$compr" -eq 0 ] || fail "after the trims: orig $orig compr $compr"
[ "$maxused" -gt $((8 << 20)) ] || fail "mem_used_max $maxused lost"
[ "$notify" -ge $((48 * 256 + 256)) ] || fail "notify_free $notify lost"
nbdsh -u "$URI" -c '
assert h.pread(4096, 0) == bytes(4096)
page = (b"after the trims " * 256)[:4096]
h.pwrite(page, 5 << 20)
assert h.pread(4096, 5 << 20) == page
assert h.pread(4096, 6 << 20) == bytes(4096)
'
stop_server
check_log tf
echo PASS
