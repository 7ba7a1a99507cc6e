#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# zram throughput and density, ours against the kernel's zram0, for the README.
# usage: bench/zram/figures.sh [--quick] OUTDIR   (writes OUTDIR/zram.json, prints markdown)
# Environment (scripts/figures.sh sets them): ZSMEM_BUILD (build dir, default
# build/release), ZSMEM_CORPUS64 (the Python corpus), ZSMEM_CORPUS_NODE and
# ZSMEM_CORPUS_JAVA (192 MiB of other runtimes' heaps; rows skipped when unset).
# The kernel rows need root and a free /dev/zram0 (disksize 0); zram_bench resets it.
set -euo pipefail
quick=0
[ "${1:-}" = --quick ] && { quick=1; shift; }
out=${1:?usage: figures.sh [--quick] OUTDIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${ZSMEM_BUILD:-$root/build/release}/bench/zram/zram_bench
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

kernel=()
if [ $quick = 0 ] && [ "$(id -u)" -eq 0 ] && [ -e /sys/block/zram0/disksize ] &&
   [ "$(cat /sys/block/zram0/disksize)" = 0 ]; then
	kernel=(--kernel)
fi
run() {	# label, zram_bench args...
	local label=$1; shift
	"$bin" "$@" >"$tmp/$label.txt"
	grep '^{' "$tmp/$label.txt" | tail -1 >"$tmp/$label.json"
	echo "$label" >>"$tmp/labels"
}
if [ $quick = 1 ]; then
	run generator -m 4 -a lz4 -t 1 -r 1 --no-prefault
else
	c64=${ZSMEM_CORPUS64:?set ZSMEM_CORPUS64}
	run python64 -c "$c64" -m 64 -a lz4,lzo -t 1,2 -r 5 --no-prefault "${kernel[@]}"
	[ -n "${ZSMEM_CORPUS_NODE:-}" ] &&
		run node192 -c "$ZSMEM_CORPUS_NODE" -m 192 -a lz4 -t 1 -r 5 --no-prefault "${kernel[@]}"
	[ -n "${ZSMEM_CORPUS_JAVA:-}" ] &&
		run java192 -c "$ZSMEM_CORPUS_JAVA" -m 192 -a lz4 -t 1 -r 5 --no-prefault "${kernel[@]}"
fi
python3 - "$tmp" "$out/zram.json" "${#kernel[@]}" <<'PY'
import json, sys
tmp, dst, kernel = sys.argv[1], sys.argv[2], sys.argv[3] != "0"
runs = []
for label in open(f"{tmp}/labels").read().split():
    runs.append({"corpus": label, "result": json.load(open(f"{tmp}/{label}.json"))})
json.dump({"bench": "zram", "kernel_rows": kernel, "runs": runs}, open(dst, "w"), indent=1)

def fmt(x, f="{:.0f}"):
    return "-" if x is None else f.format(x)

print("### zram vs the kernel's zram0 (`zram_bench`)\n")
if not kernel:
    print("(no kernel rows: needs root and a free /dev/zram0)\n")
print("| corpus | algo, threads | write MB/s ours / kernel (ratio) | read MB/s ours / kernel (ratio) "
      "| writer-thread faults ours / without prefault | write CPU s ours / no-prefault / kernel "
      "| used / compressed ours / kernel | RSS / compressed |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for run in runs:
    res = run["result"]["results"]
    by = {}
    for r in res:
        by.setdefault((r["algo"], r["threads"]), {})[r["impl"]] = r
    for (algo, thr), d in by.items():
        z, n, k = d.get("zsmem"), d.get("zsmem-nopf"), d.get("kernel")
        if k and "skipped" in k:
            k = None
        def pair(key):
            a = z[key]
            if not k:
                return fmt(a)
            return f"{a:.0f} / {k[key]:.0f} ({a / k[key]:.2f}x)"
        cpu = f"{z['write_cpu_s']:.3f} / {n['write_cpu_s']:.3f}" if n else f"{z['write_cpu_s']:.3f}"
        if k:
            cpu += f" / {k['write_cpu_s']:.3f}"
        flt = f"{z['writer_faults']:.0f} / {n['writer_faults']:.0f}" if n else f"{z['writer_faults']:.0f}"
        used = f"{z['used_over_compr']:.3f}" + (f" / {k['used_over_compr']:.3f}" if k else "")
        print(f"| {run['corpus']} | {algo}, {thr} | {pair('write_mbps')} | {pair('read_mbps')} | {flt} "
              f"| {cpu} | {used} | {z['rss_over_compr']:.3f} |")
print("\nMedians over the repetitions; ours and the kernel interleaved in one run. Writer-thread "
      "faults: minor page faults of the thread calling zram_write_page (exact, from "
      "getrusage). RSS / compressed: what the process RSS grew by during the write phase "
      "(smaps_rollup), metadata included, over the compressed bytes.")
PY
