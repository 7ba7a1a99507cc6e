#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Deferred free figures for the README: push cost, grouped drain vs sync, the exit burst
# of slot indexes, and the object burst (issue 10's row) from zsd_bench; zs_free_batch
# against one-by-one frees from zs_batch_speed.
# usage: bench/deferred/figures.sh [--quick] OUTDIR   (writes OUTDIR/deferred.json)
set -euo pipefail
quick=0
[ "${1:-}" = --quick ] && { quick=1; shift; }
out=${1:?usage: figures.sh [--quick] OUTDIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${ZSMEM_BUILD:-$root/build/release}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ $quick = 1 ]; then
	"$build/bench/deferred/zsd_bench" --handles 4096 --reps 1 --runs 2000 --burst-mult 1 >"$tmp/zsd.txt"
	bs_args=(-n 5000 -r 1 -c 512)
else
	"$build/bench/deferred/zsd_bench" --handles 65536 --reps 3 >"$tmp/zsd.txt"
	bs_args=(-r 5)
fi
grep '^{' "$tmp/zsd.txt" | tail -1 >"$tmp/zsd.json"
# zs_batch_speed: a test program before issue 11, a benchmark after; either place.
bs=$(find "$build" -type f -name zs_batch_speed -perm -u+x | head -1)
: >"$tmp/bs.txt"
if [ -n "$bs" ]; then
	"$bs" "${bs_args[@]}" -o 1 >"$tmp/bs1.txt" 2>&1 || true
	"$bs" "${bs_args[@]}" -o 2 >"$tmp/bs2.txt" 2>&1 || true
fi
python3 - "$tmp" "$out/deferred.json" <<'PY'
import json, re, sys
tmp, dst = sys.argv[1], sys.argv[2]
z = json.load(open(f"{tmp}/zsd.json"))
def speedup(path):
    """zs_batch_speed's 'ratio zs_free / zs_free_batch, ORDER wall Wx cpu Cx' line."""
    try:
        txt = open(path).read()
    except OSError:
        return None
    m = re.search(r'ratio zs_free / zs_free_batch.*wall\s+([0-9.]+)x\s+cpu\s+([0-9.]+)x', txt)
    return {"wall": float(m.group(1)), "cpu": float(m.group(2))} if m else None
bs = {"alloc_order": speedup(f"{tmp}/bs1.txt"), "random_order": speedup(f"{tmp}/bs2.txt")}
json.dump({"bench": "deferred", "zsd_bench": z, "zs_batch_speed": bs}, open(dst, "w"), indent=1)
g = lambda k: z.get(k)
print("### Deferred free (`zsd_bench`)\n")
print("| measure | value | goal |")
print("| --- | --- | --- |")
print(f"| push, rseq per-CPU path (median ns) | {g('push_rseq_ns'):.2f} | <= 5 |")
print(f"| push, fallback (CAS, `no_rseq`) | {g('push_fallback_ns'):.2f} | |")
print(f"| push into v2's array | {g('push_v2_ns'):.2f} | |")
print(f"| {g('handles')} handles, pool emptied: `zs_free` one by one / grouped drain (ns per handle) "
      f"| {g('sync_ns_per_handle'):.0f} / {g('grouped_ns_per_handle'):.0f}: "
      f"**{g('grouped_speedup_vs_sync'):.2f}x** | >= 1.3x |")
print(f"| same, pool shared with as many survivors | {g('sync_ns_per_handle_shared'):.0f} / "
      f"{g('grouped_ns_per_handle_shared'):.0f}: **{g('grouped_speedup_vs_sync_shared'):.2f}x** | >= 1.3x |")
print(f"| exit burst, {g('burst_threads')} threads x 49,152 slots: fallbacks with growth / floor only "
      f"| {g('burst_fallbacks')} / {g('burst_fallbacks_no_growth')} (spare high {g('burst_spare_high')} pages) | 0 |")
ob = g("objburst_push_cpu_ns")
if ob is not None:
    print(f"| object burst: {g('objburst_objects'):,} objects of 200-3,200 B ({g('objburst_mult')}x the "
          f"{g('objburst_floor')}-page floor), ops API: push CPU / wall ns per object "
          f"| {ob:.1f} / {g('objburst_push_wall_ns'):.1f} | <= 15 CPU |")
    print(f"| same objects, sync `zs_free` CPU / wall ns | {g('objburst_sync_cpu_ns'):.0f} / "
          f"{g('objburst_sync_wall_ns'):.0f}: push **{g('objburst_speedup_cpu'):.1f}x** cheaper in CPU | >= 20x |")
    pf = g('objburst_push_faults')
    print(f"| object burst: fallbacks, spare pool high water (pages), page faults taken by the pusher "
          f"| {g('objburst_fallbacks')}, {g('objburst_spare_high')}, "
          f"{'-' if pf is None else f'{pf:.0f}'} | 0, -, - |")
print(f"| lost values | {g('lost')} | 0 |")
ao, ro = bs["alloc_order"], bs["random_order"]
if ao and ro:
    print(f"\n`zs_batch_speed`: one-by-one `zs_free` over `zs_free_batch`, wall / CPU: "
          f"{ao['wall']:.2f}x / {ao['cpu']:.2f}x in allocation order, "
          f"{ro['wall']:.2f}x / {ro['cpu']:.2f}x in random order.")
PY
