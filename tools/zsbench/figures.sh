#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The exit-path lab's figures for the README (zsbench): K processes die at once on zram,
# each strategy's exit time, memory back and CPU against sync, fallbacks; and the
# kernel's own zram swap as reference when root and /dev/zram0 is free.
# usage: tools/zsbench/figures.sh [--quick] OUTDIR   (writes OUTDIR/zsbench.json)
set -euo pipefail
quick=0
[ "${1:-}" = --quick ] && { quick=1; shift; }
out=${1:?usage: figures.sh [--quick] OUTDIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${ZSMEM_BUILD:-$root/build/release}/tools/zsbench/zsbench
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ $quick = 1 ]; then
	"$bin" -k 2 -m 4 -r 1 -K 0 -S sync,percpu --real -o - -q -j "$tmp/lab.json" >/dev/null
	for w in nice normal; do
		"$bin" -k 2 -m 4 -r 2 -K 0 -S sync,percpu -H 1 -W $w -o - -q \
			-j "$tmp/contention-$w.json" >/dev/null
	done
else
	"$bin" -c "${ZSMEM_CORPUS64:?set ZSMEM_CORPUS64}" -k 3 -m 64 -r 3 \
		-S sync,lockfree,v3-plain,percpu -K 0 --real -o - -q -j "$tmp/lab.json" >/dev/null
	# Issue 10's contention study: 3 exits, sync vs percpu, quiet and under 2 spinning
	# processes (as many as the CPUs here), repetitions interleaved; the default
	# normal workers against nice-19 ones (opt-in), each with its own sync.
	for w in nice normal; do
		"$bin" -c "$ZSMEM_CORPUS64" -k 3 -m 64 -r 21 -K 0 -S sync,percpu -H 2 -W $w \
			-o - -q -j "$tmp/contention-$w.json" >/dev/null
	done
	if [ "$(id -u)" -eq 0 ] && [ -e /sys/block/zram0/disksize ] &&
	   [ "$(cat /sys/block/zram0/disksize)" = 0 ]; then
		"$bin" --kernel -c "$ZSMEM_CORPUS64" -k 3 -m 64 -r 1 -S sync,percpu -K 0 -o - -q \
			-j "$tmp/kernel.json" >/dev/null
	fi
fi
python3 - "$tmp" "$out/zsbench.json" <<'PY'
import json, os, sys
tmp, dst = sys.argv[1], sys.argv[2]
lab = json.load(open(f"{tmp}/lab.json"))
kern = json.load(open(f"{tmp}/kernel.json")) if os.path.exists(f"{tmp}/kernel.json") else None
cont = {w: json.load(open(f"{tmp}/contention-{w}.json"))
        for w in ("nice", "normal") if os.path.exists(f"{tmp}/contention-{w}.json")}
json.dump({"bench": "zsbench", "lab": lab, "kernel": kern, "contention": cont},
          open(dst, "w"), indent=1)
print("### The exit-path lab (`zsbench`)\n")
print(f"{lab['k']} processes x {lab['mib_per_process']} MiB die at once on {lab['backend']}/"
      f"{lab['compressor']}, pages from {lab['source']}, {lab['repetitions']} repetitions (medians).\n")
print("| strategy | exit ns/page | vs sync | memory back / sync's exit | total CPU vs sync | sync fallbacks |")
print("| --- | --- | --- | --- | --- | --- |")
for s in lab["strategies"]:
    name = f"**{s['name']}**" if s["name"] == "percpu" else s["name"]
    print(f"| {name} ({s['what']}) | {s['exit_ns_per_page']:.1f} | {s['exit_ratio_sync']:.3f} "
          f"| {s['memory_back_ratio_sync_exit']:.2f} | {s['cpu_ratio_sync']:.2f} | {s['fallbacks_max']} |")
real = lab.get("real") or {}
if real.get("ran"):
    print(f"\nReal processes (`--real`): {real['k']} processes run zsbench's child under "
          f"`zsmem-run --max-resident {real['cap_mib']:g}M`, each filling {real['mib_per_process']} MiB "
          f"of the same pages, then end at once; plain = no launcher. Medians of "
          f"{real['repetitions']}. exit: each frees its buffer (the region drops every "
          f"compressed copy through the launcher's free path), then exits; kill: SIGKILL. "
          f"The kernel frees a dead process's pages, the pool's with the rest, before it "
          f"reports the exit, so memory is back at \"all exited\".\n")
    print("| strategy | end | RssAnon held, MiB | free() returned, ms | all exited, ms |")
    print("| --- | --- | --- | --- | --- |")
    for r in real["rows"]:
        fr = f"{r['free_ms']:.2f}" if "free_ms" in r else "-"
        print(f"| {r['strategy']} | {r['end']} | {r['rss_anon_mib']:.1f} | {fr} | {r['exit_ms']:.2f} |")
elif real:
    print(f"\nReal processes skipped: {real.get('skipped', '?')}")
k = (kern or {}).get("kernel") or {}
if k.get("ran"):
    print(f"\nThe kernel as reference (`--kernel`, {kern['k']} x {kern['mib_per_process']} MiB, "
          f"zram0 swap, {k['compressor']}): reaped in {k['reap_ms']:.1f} ms, "
          f"{k['reap_ns_per_page_all']:.0f} ns per page of all, "
          f"{kern.get('kernel_reap_ratio_sync_all_exit', float('nan')):.2f}x this lab's sync all-exit "
          f"time in the same run.")
elif kern:
    print(f"\nKernel reference skipped: {k.get('skipped', '?')}")
if cont:
    any_run = next(iter(cont.values()))
    c0 = any_run["contention"]
    print(f"\nUnder CPU contention (`-H {c0['hog_processes']}`: {c0['hog_processes']} processes "
          f"of their own session spin from the deaths until memory is back, every other "
          f"repetition; {any_run['k']} x {any_run['mib_per_process']} MiB, "
          f"{c0['repetitions']} repetitions of each condition). Speed-up: sync's exit time "
          f"over percpu's in the same repetition, median [min-max]; the workers' scheduling "
          f"is `-W`.\n")
    print("| workers | condition | exit speed-up | all-exit speed-up | percpu exit ms | "
          "memory back ms (max) | memory back / sync's all-exit | fallbacks |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    def sp(x, f="{:.1f}"):
        return f"{f.format(x['median'])} [{f.format(x['min'])}-{f.format(x['max'])}]"
    for w, run in cont.items():
        for s in run["contention"]["strategies"]:
            if s["name"] != "percpu":
                continue
            for cond in ("quiet", "hog"):
                x = s[cond]
                name = f"**{w}** (default)" if w == "normal" else w
                print(f"| {name} | {cond} | {sp(x['exit_speedup'])} | "
                      f"{sp(x['all_exit_speedup'])} | {sp(x['exit_ms'], '{:.2f}')} | "
                      f"{x['memory_back_ms']['median']:.0f} ({x['memory_back_ms']['max']:.0f}) | "
                      f"{x['memory_back_ratio_sync_all_exit']['median']:.2f} | {x['fallbacks_max']} |")
PY
