#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fio over several connections (numjobs, one NBD connection each, iodepth 8), every
# block verified with crc32c: 4 KiB random writes, then 1536-byte random writes (sub-page
# and across page boundaries, neighbours in one page in flight together), then a
# 64 KiB sequential pass with trims mixed in.
source "$(dirname "$0")/nbd_lib.sh"
need nbdkit fio
fio --enghelp 2>/dev/null | grep -qw nbd || skip "fio has no nbd engine"

start_server fio size=64M
common=(--ioengine=nbd --uri="$URI" --numjobs=4 --iodepth=8 --size=8M
	--offset_increment=16M --verify=crc32c --verify_fatal=1 --do_verify=1
	--group_reporting --output="$T/fio.out")
fio --name=rand4k --rw=randwrite --bs=4k "${common[@]}" ||
	{ cat "$T/fio.out" >&2; fail "fio 4k randwrite verify"; }
fio --name=rand1536 --rw=randwrite --bs=1536 "${common[@]}" ||
	{ cat "$T/fio.out" >&2; fail "fio 1536-byte randwrite verify"; }
fio --name=seqtrim --rw=write --bs=64k --verify=crc32c "${common[@]}" ||
	{ cat "$T/fio.out" >&2; fail "fio 64k write verify"; }
fio --name=trim --rw=randtrim --bs=64k --ioengine=nbd --uri="$URI" --numjobs=2 \
	--size=8M --output="$T/fio.out" || { cat "$T/fio.out" >&2; fail "fio randtrim"; }
grep -q "err= 0" "$T/fio.out" || { cat "$T/fio.out" >&2; fail "fio reported errors"; }
stop_server
check_log fio
echo PASS
