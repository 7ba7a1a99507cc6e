#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# zswap figures for the README (zswap_bench): store rate, the exiting threads'
# invalidate cost synchronous vs deferred, memory release, CPU.
# usage: bench/zswap/figures.sh [--quick] OUTDIR   (writes OUTDIR/zswap.json)
set -euo pipefail
quick=0
[ "${1:-}" = --quick ] && { quick=1; shift; }
out=${1:?usage: figures.sh [--quick] OUTDIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${ZSMEM_BUILD:-$root/build/release}/bench/zswap/zswap_bench
mkdir -p "$out"
if [ $quick = 1 ]; then
	"$bin" -n 1024 -t 2 -r 1 -q | grep '^{' | tail -1 >"$out/zswap.json"
else
	"$bin" -c "${ZSMEM_CORPUS64:?set ZSMEM_CORPUS64}" -t 2 -r 5 -q | grep '^{' | tail -1 >"$out/zswap.json"
fi
python3 - "$out/zswap.json" <<'PY'
import json, sys
z = json.load(open(sys.argv[1]))
print("### zswap (`zswap_bench`)\n")
print(f"{z['pages']} pages from {z['source']}, {z['threads']} threads, {z['rounds']} rounds (medians), "
      f"{z['compressor']}.\n")
print("| mode | store MB/s | invalidate ns/page (exiting thread) | vs sync | memory released ms | vs sync "
      "| CPU vs sync | fallbacks |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for m in z["modes"]:
    print(f"| {m['mode']} | {4096e3 / m['store_ns_per_page']:.0f} | {m['invalidate_ns_per_page']:.0f} "
          f"| {m['invalidate_speedup_vs_sync']:.2f}x | {m['release_ms']:.2f} | "
          f"{m['release_speedup_vs_sync']:.2f}x | {m['cpu_ratio_vs_sync']:.2f} | {m['fallbacks']} |")
PY
