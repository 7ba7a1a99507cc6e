#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Round trips through the plugin with real clients, on generated pages (text, integers,
# zero, same-filled and random pages): nbdcopy in and out (4 connections, large and
# 4 KiB requests), qemu-img convert in and compare, nbdinfo's view of the export
# (size, block sizes, multi-conn, trim/zero/fast-zero/extents), and a map whose zero
# holes match the zero pages of the data.
source "$(dirname "$0")/nbd_lib.sh"
need nbdkit nbdcopy nbdinfo qemu-img cmp
find_nbdsh

gen_pages "$T/in.img" 24 1
start_server rt size=32M
nbdinfo --json "$URI" >"$T/info.json"
"$NBDPY" - "$T/info.json" <<'PY' || fail "nbdinfo: wrong export properties"
import json, sys
e = json.load(open(sys.argv[1]))["exports"][0]
want = {"export-size": 32 << 20, "can_multi_conn": True, "can_trim": True, "can_zero": True,
        "can_fast_zero": True, "can_flush": True, "can_fua": True,
        "is_read_only": False, "block_size_minimum": 1, "block_size_preferred": 4096,
        "block_size_maximum": 32 << 20}
bad = {k: (e.get(k), v) for k, v in want.items() if e.get(k) != v}
if "base:allocation" not in e.get("contexts", []):
    bad["contexts"] = (e.get("contexts"), "base:allocation")
if bad:
    print("mismatch (got, want):", bad)
    sys.exit(1)
PY

# nbdcopy: a fresh disk reads as zeros; write, read back, compare.
nbdcopy "$URI" "$T/zeros.img"
cmp "$T/zeros.img" <(head -c 32M /dev/zero) || fail "a fresh disk does not read as zeros"
nbdcopy -C 4 "$T/in.img" "$URI"
nbdcopy -C 4 "$URI" "$T/out.img"
cmp -n $((24 << 20)) "$T/in.img" "$T/out.img" || fail "nbdcopy round trip differs"
# 4 KiB requests, into the second half (a different offset than the first copy).
nbdcopy --request-size=4096 "$T/in.img" "$URI"
nbdcopy --request-size=4096 "$URI" "$T/out4k.img"
cmp -n $((24 << 20)) "$T/in.img" "$T/out4k.img" || fail "4 KiB nbdcopy round trip differs"

# qemu-img: convert a raw image in, compare both ways.
qemu-img convert -n -f raw -O raw "$T/in.img" "$URI"
qemu-img compare -f raw -F raw "$T/in.img" "$URI" ||
	{ head -c 32M /dev/zero >"$T/pad"; fail "qemu-img compare differs"; }
qemu-img convert -f raw -O raw "$URI" "$T/q.img"
cmp -n $((24 << 20)) "$T/in.img" "$T/q.img" || fail "qemu-img convert out differs"

# The map: every zero page of the data must be inside a zero extent, and every
# non-zero page inside a data extent.
nbdinfo --map --json "$URI" >"$T/map.json"
"$NBDPY" - "$T/map.json" "$T/in.img" <<'PY' || fail "extents do not match the data"
import json, sys
m = json.load(open(sys.argv[1]))
data = open(sys.argv[2], "rb").read()
size = 32 << 20
kinds = bytearray(size // 4096)
for e in m:
    for p in range(e["offset"] // 4096, (e["offset"] + e["length"]) // 4096):
        kinds[p] = e["type"]
for p in range(size // 4096):
    page = data[p * 4096:(p + 1) * 4096]
    zero = not page or page.count(0) == 4096
    if zero and kinds[p] != 3:
        sys.exit(f"page {p} is zero but its extent type is {kinds[p]}")
    if not zero and kinds[p] & 2:
        sys.exit(f"page {p} holds data but its extent says zero ({kinds[p]})")
PY
stop_server
check_log rt
echo PASS
