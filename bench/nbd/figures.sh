#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/nbd/figures.sh [--quick] OUTDIR
# Runs the NBD benchmark (zsmem's nbdkit plugin against nbdkit's memory plugin with
# allocator=zstd and allocator=sparse, one run, same clients, same pages), writes
# OUTDIR/nbd.json and prints the README's markdown table built from it.
# Full run: the 192 MiB heap corpus (/tmp/corpus192.bin; generated pages when it is
# missing), medians of 3. --quick: 8 MiB, one repetition, 1 s of fio (a smoke run).
set -euo pipefail
quick=0
if [ "${1:-}" = "--quick" ]; then quick=1; shift; fi
out=${1:?usage: figures.sh [--quick] OUTDIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"

for c in nbdkit nbdcopy fio; do
	command -v "$c" >/dev/null || { echo "figures.sh: $c is not installed" >&2; exit 77; }
done
py=""
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null && "$p" -c 'import nbd' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || { echo "figures.sh: python3-libnbd (nbdsh) is not installed" >&2; exit 77; }

build=${ZSMEM_BUILD_DIR:-$root/build/release}
plugin=$build/src/nbd/nbdkit-zsmem-plugin.so
if [ ! -f "$plugin" ] || [ -z "${ZSMEM_BUILD_DIR:-}" ]; then
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$build" -j"$(nproc)" --target nbdkit-zsmem-plugin >/dev/null
fi

args=(--plugin "$plugin")
corpus=${ZSMEM_CORPUS:-/tmp/corpus192.bin}
gen=$out/nbd-pages.bin
mib=192
[ $quick = 1 ] && { mib=8; args+=(--mib 8 --reps 1 --fio-runtime 1); }
if [ ! -f "$corpus" ]; then
	# No corpus: page-like generated data (text, integers, zero, same-filled, random).
	ZSMEM_NBD_PLUGIN=$plugin bash -c "source '$root/tests/nbd/nbd_lib.sh'; NBDPY=$py \
		gen_pages '$gen' $mib 1; trap - EXIT; rm -rf \"\$T\""
	corpus=$gen
fi
"$py" "$root/bench/nbd/nbd_bench.py" "${args[@]}" --corpus "$corpus" >"$out/nbd.json"
rm -f "$gen"
"$py" - "$out/nbd.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["servers"]
z, sp, l, zz = s["memory-zstd"], s["memory-sparse"], s["zsmem-lz4"], s["zsmem-zstd"]

def yes(ok):
    return "**met**" if ok else "not met"

def f(x, d=0):
    return f"{x:,.{d}f}"

mib = r["bytes"] / 2**20
rows = []
rows.append((f"`nbdcopy` write of {mib:.0f} MiB ({'heap corpus' if 'corpus' in r['corpus'] else 'generated pages'}), MB/s",
             f(z["write_mbs"]), f(sp["write_mbs"]), f(l["write_mbs"]),
             f">= 3x zstd, >= 1.5x sparse: {l['write_mbs']/z['write_mbs']:.2f}x, {l['write_mbs']/sp['write_mbs']:.2f}x",
             yes(l["write_mbs"] >= 3 * z["write_mbs"] and l["write_mbs"] >= 1.5 * sp["write_mbs"])))
rows.append(("`nbdcopy --no-extents` read back, MB/s", f(z["read_mbs"]), f(sp["read_mbs"]), f(l["read_mbs"]),
             f">= sparse: {l['read_mbs']/sp['read_mbs']:.2f}x", yes(l["read_mbs"] >= sp["read_mbs"])))
rows.append(("4 KiB writes (`nbdcopy --request-size=4096`), MB/s", f(z["write4k_mbs"]), f(sp["write4k_mbs"]),
             f(l["write4k_mbs"]), f">= 5x zstd: {l['write4k_mbs']/z['write4k_mbs']:.2f}x",
             yes(l["write4k_mbs"] >= 5 * z["write4k_mbs"])))
rows.append(("`fio` 4 KiB randwrite / randread, iodepth 16, IOPS",
             f"{f(z['fio_randwrite_iops'])} / {f(z['fio_randread_iops'])}",
             f"{f(sp['fio_randwrite_iops'])} / {f(sp['fio_randread_iops'])}",
             f"{f(l['fio_randwrite_iops'])} / {f(l['fio_randread_iops'])}",
             f">= sparse on both: {l['fio_randwrite_iops']/sp['fio_randwrite_iops']:.2f}x / {l['fio_randread_iops']/sp['fio_randread_iops']:.2f}x",
             yes(l["fio_randwrite_iops"] >= sp["fio_randwrite_iops"] and l["fio_randread_iops"] >= sp["fio_randread_iops"])))
rows.append(("server RSS per stored byte (after disconnect, above the empty-disk floor)",
             f(z["rss_per_byte"], 3), f(sp["rss_per_byte"], 3),
             f"{f(l['rss_per_byte'], 3)} lz4, {f(zz['rss_per_byte'], 3)} zstd",
             "<= 0.40 lz4, <= 0.18 zstd",
             yes(l["rss_per_byte"] <= 0.40 and zz["rss_per_byte"] <= 0.18)))
rows.append(("RSS after random 4 KiB overwrites of the filled disk / after its sequential fill",
             f"{z['overwrite_ratio']:.2f}x", f"{sp['overwrite_ratio']:.2f}x", f"{l['overwrite_ratio']:.2f}x",
             "<= 1.1x", yes(l["overwrite_ratio"] <= 1.1)))
def trim(x):
    t = x["trim_back_to_floor_s"]
    if t is not None:
        return f"at the floor in {t:.2f} s"
    return (f"{x['rss_before_trim_kib'] / 1024:.0f} -> {x['rss_after_trim_kib'] / 1024:.0f} MiB "
            f"after 1 s (floor {x['rss_floor_kib'] / 1024:.0f})")
rows.append(("4 KiB trims of everything written: RSS back to the empty-disk floor (+1 MiB + slot table)",
             trim(z), trim(sp), trim(l), "within 1 s",
             yes(l["trim_back_to_floor_s"] is not None and l["trim_back_to_floor_s"] <= 1.0)))
print("| measure | nbdkit memory allocator=zstd | allocator=sparse | zsmem | goal | |")
print("| --- | --- | --- | --- | --- | --- |")
for row in rows:
    print("| " + " | ".join(row) + " |")
print()
print(f"({r['nbdkit']}, {mib:.0f} MiB, medians of {r['reps']}, disk {r['disk'] >> 20} MiB, "
      f"load average at start {' '.join(r['loadavg'])}.)")
PY
