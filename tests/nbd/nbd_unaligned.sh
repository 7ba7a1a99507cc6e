#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# nbdsh: unaligned reads and writes across page boundaries, trims, zeroes with each flag
# (may trim or NO_HOLE, with and without FAST_ZERO) and extents after each, against a model; on a disk
# of whole pages and on one whose size is not a multiple of 4096, for both free modes.
source "$(dirname "$0")/nbd_lib.sh"
need nbdkit
find_nbdsh

for args in "size=1M" "size=1000000 free=sync" "size=300000 compressor=zstd"; do
	start_server un $args
	SEED=${#args} nbdsh --base-allocation -u "$URI" -c "$(cat "$HERE/nbd_unaligned.py")" ||
		fail "nbdsh script failed on $args"
	stop_server
	check_log un
done
echo PASS
