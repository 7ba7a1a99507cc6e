#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# backing=FILE: with mem_limit reached, pages are written back to the file to make room,
# so writes past the limit succeed, read back intact, and bd_stat counts the blocks.
source "$(dirname "$0")/nbd_lib.sh"
need nbdkit
find_nbdsh

start_server wb size=32M mem_limit=2M backing="$T/backing" stats="$T/stats"
nbdsh -u "$URI" -c '
import random
rnd = random.Random(5)
stored = {}
for i in range(0, 12 << 20, 65536):
    data = rnd.randbytes(65536) if i % (1 << 20) else (b"text %d " % i) * 10000
    data = data[:65536]
    h.pwrite(data, i)
    stored[i] = data
for i, data in stored.items():
    assert h.pread(65536, i) == data, f"data at {i} lost"
print("ok")
' || fail "writes past mem_limit with a backing file"
kill -USR1 "$PID"
for i in $(seq 100); do [ -s "$T/stats" ] && break; sleep 0.1; done
read -r bd_count bd_reads bd_writes < <(sed -n 3p "$T/stats")
echo "bd_stat: $bd_count $bd_reads $bd_writes"
[ "$bd_count" -gt 256 ] && [ "$bd_writes" -ge "$bd_count" ] && [ "$bd_reads" -gt 0 ] ||
	fail "bd_stat does not show the writeback: $(cat "$T/stats")"
[ "$(stat -c %s "$T/backing")" -gt $((1 << 20)) ] || fail "backing file not written"
stop_server
check_log wb
echo PASS
