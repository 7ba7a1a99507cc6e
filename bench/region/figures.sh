#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/region/figures.sh [--quick] OUTDIR
# Runs region_bench, writes OUTDIR/region.json and prints the README's table from it.
# --quick: a seconds-long smoke run (CI); no goal is checked here.
set -euo pipefail
quick=()
if [[ "${1:-}" == "--quick" ]]; then
	quick=(--quick)
	shift
fi
out=${1:?usage: figures.sh [--quick] OUTDIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build/release}
if [[ ! -x "$build/bench/region/region_bench" ]]; then
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$build" --target region_bench -j"$(nproc)" >/dev/null
fi
mkdir -p "$out"
"$build/bench/region/region_bench" "${quick[@]}" -o "$out/region.json" >&2
python3 - "$out/region.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
def yn(ok): return "yes" if ok else "**no**"
mib = j["destroy_pages"] * 4096 / 2**20
rows = [
    ("fault on an evicted page, median (p99)", f'{j["region_fault_us"]:.1f} us ({j["region_fault_p99_us"]:.0f} us)',
     "", ""),
    ("plain first-touch write fault, median", f'{j["plain_fault_us"]:.1f} us', "", ""),
    ("region fault / plain fault", f'{j["fault_ratio"]:.2f}x', "<= 2x", yn(j["fault_ratio"] <= 2)),
    ("floor: bare userfaultfd round trip / plain fault", f'{j.get("bare_fault_ratio", 0):.2f}x'
     f' ({j.get("bare_uffd_fault_us", 0):.1f} us)', "", ""),
    ("eviction in batches of 64, per page", f'{j["evict_batch_us_per_page"]:.2f} us', "<= 6 us",
     yn(j["evict_batch_us_per_page"] <= 6)),
    ("eviction one page per call, per page", f'{j["evict_single_us_per_page"]:.2f} us', "", ""),
    (f'every byte exact, cap = 1/4 of {j["ws_pages"]*4096/2**20:.0f} MiB, {j["cap_ops"]} accesses',
     "yes" if j["bytes_exact"] else "NO", "yes", yn(j["bytes_exact"])),
    ("RssAnon over max_resident + 1.05 x compressed + 2 MiB", f'{j["rss_over_bound_bytes"]/2**20:.1f} MiB'
     f' (min slack {j["rss_min_slack_mib"]:.1f} MiB)', "0", yn(j["rss_over_bound_bytes"] == 0)),
    ("pool memory / evicted bytes (lz4)", f'{j["pool_over_evicted"]:.3f}', "~0.33", ""),
    ("pool memory / compressed bytes", f'{j["pool_over_compressed"]:.3f}', "", ""),
    (f'zsr_destroy, {mib:.0f} MiB evicted, sync free', f'{j["destroy_sync_ms"]:.1f} ms', "", ""),
    ("zsr_destroy, deferred: caller back / sync", f'{j["destroy_deferred_call_ms"]:.2f} ms ({j["destroy_call_ratio"]:.3f}x)',
     "<= 0.1x", yn(j["destroy_call_ratio"] <= 0.1)),
    ("zsr_destroy, deferred: memory back / sync", f'{j["destroy_deferred_back_ms"]:.1f} ms ({j["destroy_back_ratio"]:.2f}x)',
     "<= 1.2x", yn(j["destroy_back_ratio"] <= 1.2)),
]
print(f'Pages: {j["pages_from"]}; medians of {j["rounds"]} round(s){" (quick run)" if j["quick"] else ""}.')
print()
print("| figure | measured | goal | met |")
print("| --- | --- | --- | --- |")
for r in rows:
    print("| " + " | ".join(r) + " |")
PY

# Real programs under the launcher (tools/zsmem-run): OUTDIR/region_real.json + its table.
echo
"$root/bench/region/real.sh" "${quick[@]}" "$out"
