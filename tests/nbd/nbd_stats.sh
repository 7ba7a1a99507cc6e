#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# stats=FILE: SIGUSR1 writes mm_stat, io_stat and bd_stat in the kernel's format (one
# line each, fields right-aligned in 8 columns; io_stat's third field is the kernel's
# constant 0), the server keeps serving, the figures follow the writes, and the file
# is written again at exit.
source "$(dirname "$0")/nbd_lib.sh"
need nbdkit
find_nbdsh

st=$T/stats
start_server st size=16M stats="$st"
[ -e "$st" ] && [ ! -s "$st" ] || fail "stats file not created empty at start-up"

# 1000 non-zero pages: 900 text-like, 100 filled with one word (same-filled).
nbdsh -u "$URI" -c '
import struct
for i in range(1000):
    page = struct.pack("<Q", i + 1) * 512 if i % 10 == 0 else (b"page %d of the heap, " % i) * 300
    h.pwrite(page[:4096], i * 4096)
'
wait_stats() {	# wait_stats GEN: until the file has changed since generation GEN
	local i
	for i in $(seq 100); do
		[ -s "$st" ] && [ "$(stat -c %Y.%s.%i "$st")" != "$1" ] && return 0
		sleep 0.1
	done
	fail "no stats written within 10 s"
}
kill -USR1 "$PID"
wait_stats none
alive "$PID" || fail "SIGUSR1 killed the server"
cat "$st"
[ "$(wc -l <"$st")" -eq 3 ] || fail "expected 3 lines"
sed -n 1p "$st" | grep -Eq '^( {0,7}[0-9]{1,20}| [0-9]{8,20})( +[0-9]+){8}$' || fail "mm_stat format"
sed -n 1p "$st" | grep -Eq '^(.{8} ){8}.{8}$' || fail "mm_stat not in 8-column fields"
sed -n 2p "$st" | grep -Eq '^.{8} .{8} 0 .{8}$' || fail "io_stat format"
sed -n 3p "$st" | grep -Eq '^.{8} .{8} .{8}$' || fail "bd_stat format"
read -r orig compr used limit maxused same compacted huge hugesince < <(sed -n 1p "$st")
[ "$orig" -eq $((1000 * 4096)) ] || fail "orig_data_size $orig, expected $((1000 * 4096))"
[ "$same" -eq 100 ] || fail "same_pages $same, expected 100"
[ "$compr" -gt 0 ] && [ "$compr" -lt $((900 * 4096 / 4)) ] || fail "compr_data_size $compr"
[ "$used" -ge "$compr" ] && [ "$maxused" -ge "$used" ] && [ "$limit" -eq 0 ] ||
	fail "mem_used_total / mem_used_max / mem_limit inconsistent"

# Trim everything, ask again: the figures fall.
gen=$(stat -c %Y.%s.%i "$st")
nbdsh -u "$URI" -c 'h.trim(16 << 20, 0); h.flush()'
kill -USR1 "$PID"
wait_stats "$gen"
read -r orig compr _ < <(sed -n 1p "$st")
[ "$orig" -eq 0 ] && [ "$compr" -eq 0 ] || fail "after trim: orig $orig compr $compr"

# At exit: written again (after one more write).
nbdsh -u "$URI" -c 'h.pwrite(b"x" * 4096, 0)'
gen=$(stat -c %Y.%s.%i "$st")
stop_server
[ "$(stat -c %Y.%s.%i "$st")" != "$gen" ] || fail "stats not written at exit"
read -r orig _ < <(sed -n 1p "$st")
[ "$orig" -eq 4096 ] || fail "exit stats: orig_data_size $orig, expected 4096"
check_log st
echo PASS
