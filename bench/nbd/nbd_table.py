#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Prints the README's markdown table from bench/nbd's JSON (nbd_table.py OUTDIR/nbd.json).
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
rows.append(("server RSS per stored byte, lz4 (after disconnect, above the empty-disk floor)",
             f(z["rss_per_byte"], 3), f(sp["rss_per_byte"], 3), f(l["rss_per_byte"], 3),
             "<= 0.40", yes(l["rss_per_byte"] <= 0.40)))
rows.append(("server RSS per stored byte, zstd (same)", f(z["rss_per_byte"], 3),
             f(sp["rss_per_byte"], 3), f(zz["rss_per_byte"], 3), "<= 0.18",
             yes(zz["rss_per_byte"] <= 0.18)))
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
print(f"({r['nbdkit']}, {mib:.0f} MiB, medians of {r['reps']} interleaved runs, disk "
      f"{r['disk'] >> 20} MiB, load average at start {' '.join(r['loadavg'])}; server CPU "
      f"seconds for the nbdcopy write: zstd {z['server_cpu_s_write']:.2f}, sparse "
      f"{sp['server_cpu_s_write']:.2f}, zsmem {l['server_cpu_s_write']:.2f}; read: "
      f"{z['server_cpu_s_read']:.2f}, {sp['server_cpu_s_read']:.2f}, {l['server_cpu_s_read']:.2f}.)")
