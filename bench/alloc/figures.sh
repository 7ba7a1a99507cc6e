#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# zsmalloc density for the README (zs_alloc_bench): the Python corpus at 192 MiB against
# other allocators, and the other runtimes' heaps (issue 10's density goals: pool pages
# <= 1.03x the compressed bytes, RSS with all metadata <= 1.05x).
# usage: bench/alloc/figures.sh [--quick] OUTDIR   (writes OUTDIR/alloc.json)
set -euo pipefail
quick=0
[ "${1:-}" = --quick ] && { quick=1; shift; }
out=${1:?usage: figures.sh [--quick] OUTDIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${ZSMEM_BUILD:-$root/build/release}/bench/alloc/zs_alloc_bench
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() {	# label, zs_alloc_bench args...
	local label=$1; shift
	"$bin" "$@" >"$tmp/$label.txt"
	grep '^{' "$tmp/$label.txt" | tail -1 >"$tmp/$label.json"
	echo "$label" >>"$tmp/labels"
}
if [ $quick = 1 ]; then
	run generator -m 4 -a zsmalloc,zsmalloc-c16,zsmalloc-dense,glibc
else
	run python192 -c "${ZSMEM_CORPUS:-${ZSMEM_CORPUS64:?set ZSMEM_CORPUS64}}" -m 192
	[ -n "${ZSMEM_CORPUS_NODE:-}" ] && run node192 -c "$ZSMEM_CORPUS_NODE" -m 192 -a zsmalloc,zsmalloc-c16,zsmalloc-dense
	[ -n "${ZSMEM_CORPUS_JAVA:-}" ] && run java192 -c "$ZSMEM_CORPUS_JAVA" -m 192 -a zsmalloc,zsmalloc-c16,zsmalloc-dense
	run python64 -c "$ZSMEM_CORPUS64" -a zsmalloc,zsmalloc-c16,zsmalloc-dense
fi
python3 - "$tmp" "$out/alloc.json" <<'PY'
import json, sys
tmp, dst = sys.argv[1], sys.argv[2]
runs = [{"corpus": l, "result": json.load(open(f"{tmp}/{l}.json"))}
        for l in open(f"{tmp}/labels").read().split()]
json.dump({"bench": "alloc", "runs": runs}, open(dst, "w"), indent=1)
print("### zsmalloc density (`zs_alloc_bench`)\n")
print("| corpus | allocator | after fill | after freeing a random half | after giving memory back "
      "| pool + metadata / compressed | RSS / compressed after fill | median ns alloc / free (warm) |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for run in runs:
    for a in run["result"]["allocators"]:
        if not a.get("ok", True):
            continue
        zs = "pool_bytes_fill" in a
        meta = f"{(a['pool_bytes_fill'] + a['meta_bytes']) / a['compressed_bytes']:.3f}" if zs else "-"
        rss = a["rss_delta_fill"] / a["compressed_bytes"]
        print(f"| {run['corpus']} | {a['name']} | {a['ratio_fill']:.4f} | {a['ratio_half']:.3f} "
              f"| {a['ratio_back']:.3f} ({a['back_by']}) | {meta} | {rss:.3f} "
              f"| {a['ns_per_alloc_warm']:.1f} / {a['ns_per_free_warm']:.1f} |")
print("\nMemory held / compressed bytes live (zsmalloc: pool pages; others: RSS). Metadata: "
      "zspage descriptors, handle tables, the page source's arrays (`meta_bytes`). RSS / "
      "compressed: the process RSS growth over the fill, everything included.")
PY
