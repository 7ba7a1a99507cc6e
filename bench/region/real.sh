#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/region/real.sh [--quick] OUTDIR
# Real programs under zsmem-run (tools/zsmem-run): python3 building a large dict and
# node filling a big heap of typed arrays, each run plain, under the launcher without a
# cap, and under the launcher with max_resident = 1/4 of its working set. Records the
# peak RSS (the process tree's ru_maxrss: it includes the compressed pool, which lives
# in the process), the run time and the region's statistics (peak pool pages, peak
# compressed bytes, evictions, refaults); writes OUTDIR/region_real.json and prints the
# README's markdown table. --quick: a seconds-long smoke run. No goal is checked here.
set -euo pipefail
quick=0
if [[ "${1:-}" == "--quick" ]]; then
	quick=1
	shift
fi
out=${1:?usage: real.sh [--quick] OUTDIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build/release}
launcher=$build/tools/zsmem-run/zsmem-run
if [[ ! -x "$launcher" ]]; then
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$build" --target zsmem-run zsmem-run-launcher -j"$(nproc)" >/dev/null
fi
mkdir -p "$out"
# The interpreter itself, not a version manager's shell shim (its shells would run too).
py=$(python3 -c 'import sys; print(sys.executable)')
node=$(command -v node || true)
python3 - "$out/region_real.json" "$launcher" "$py" "$node" "$quick" <<'PY'
import json, os, re, resource, subprocess, sys, time

outf, launcher, py, node, quick = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "1"
MiB = 1 << 20
ws = (16 if quick else 512) * MiB           # the programs' working set, about
cap = ws // 4

# python: a dict of small objects (keys, str values) whose table and arenas hold ~ws,
# then a pass reading every value (the cold part faults back).
n_py = ws // 190
py_prog = f"""
d = {{i: 'x%08d' % i * 4 for i in range({n_py})}}
s = 0
for v in d.values():
    s += len(v)
print(s)
"""
# node: ArrayBuffer stores (malloc'd by node, so placed) of ws bytes, filled with
# compressible numbers, then a pass reading every 97th element.
node_prog = f"""
const bufs = []; let s = 0;
for (let i = 0; i < {ws // (8 * MiB)}; i++) {{
  const a = new Float64Array(1 << 20);
  for (let j = 0; j < a.length; j++) a[j] = (j % 1000) * i;
  bufs.push(a);
}}
for (const a of bufs) for (let j = 0; j < a.length; j += 97) s += a[j];
console.log(s);
"""

def run_one(cmd):
    """Runs cmd in a fresh child; returns wall time, CPU time (user + system, all its
    threads: less disturbed than wall time on a shared machine), max RSS (KiB), stdout,
    stderr."""
    probe = ("import resource, subprocess, sys, time, json\n"
             "t = time.monotonic()\n"
             "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
             "w = time.monotonic() - t\n"
             "ru = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
             "print(json.dumps({'rc': p.returncode, 'wall_s': w, 'maxrss_kib': ru.ru_maxrss,"
             " 'cpu_s': ru.ru_utime + ru.ru_stime,"
             " 'out': p.stdout, 'err': p.stderr}))\n")
    r = subprocess.run([sys.executable, "-c", probe] + cmd, capture_output=True, text=True, check=True)
    return json.loads(r.stdout)

def stats_of(err):
    best = None
    for line in err.splitlines():
        if line.startswith("zsmem-run: pid="):
            kv = dict(x.split("=", 1) for x in line[len("zsmem-run: "):].split())
            kv = {k: int(v) for k, v in kv.items()}
            if best is None or kv["placed_bytes"] > best["placed_bytes"]:
                best = kv
    return best

progs = [("python3 dict", [py, "-c", py_prog])]
if node:
    progs.append(("node typed arrays", [node, "-e", node_prog]))
rows = []
for name, cmd in progs:
    res = {}
    for mode, pre in (("plain", []),
                      ("launcher, no cap", [launcher, "--max-resident", "0", "--stats", "--"]),
                      ("launcher, cap", [launcher, "--max-resident", str(cap), "--stats", "--"])):
        r = run_one(pre + cmd)
        if r["rc"] != 0:
            sys.exit(f"real.sh: {name} ({mode}) exited {r['rc']}: {r['err'][-2000:]}")
        res[mode] = r
    base_out = res["plain"]["out"].strip()
    for mode, r in res.items():
        st = stats_of(r["err"]) if mode != "plain" else None
        row = {"program": name, "mode": mode, "wall_s": r["wall_s"],
               "maxrss_mib": r["maxrss_kib"] / 1024, "same_output": r["out"].strip() == base_out,
               "time_vs_plain": r["wall_s"] / res["plain"]["wall_s"],
               "cpu_s": r["cpu_s"], "cpu_vs_plain": r["cpu_s"] / res["plain"]["cpu_s"],
               "cap_mib": cap / MiB if mode == "launcher, cap" else None}
        if st:
            row.update({"placed_mib": st["placed_bytes"] / MiB,
                        "peak_resident_mib": st["peak_resident_pages"] * 4096 / MiB,
                        "peak_evicted_mib": st["peak_evicted_pages"] * 4096 / MiB,
                        "peak_pool_mib": st["peak_pool_pages"] * 4096 / MiB,
                        "peak_compr_mib": st["peak_compr_bytes"] / MiB,
                        "evictions": st["evictions"], "faults": st["faults"],
                        "refaults": st["refaults"], "readahead_pages": st.get("readahead_pages", 0),
                        "user_mode_only": bool(st["user_mode_only"])})
        rows.append(row)

doc = {"tool": "region_real", "quick": quick, "working_set_mib": ws / MiB, "cap_mib": cap / MiB,
       "python": py, "node": node or None, "runs": rows}
json.dump(doc, open(outf, "w"), indent=1)

def f(v, fmt, unit=" MiB"):
    return "" if v is None else format(v, fmt) + unit
print(f"Real programs under zsmem-run (working set ~{ws // MiB} MiB, cap {cap // MiB} MiB, lz4, one run each):\n")
print("| program | run | time | vs plain | peak RSS | placed | peak resident | peak evicted | peak pool | evictions | refaults | same output |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['program']} | {r['mode']} | {r['wall_s']:.2f} s | {r['time_vs_plain']:.2f}x | "
          f"{r['maxrss_mib']:.0f} MiB | {f(r.get('placed_mib'), '.0f')} | "
          f"{f(r.get('peak_resident_mib'), '.0f')} | {f(r.get('peak_evicted_mib'), '.0f')} | "
          f"{f(r.get('peak_pool_mib'), '.0f')} | {r.get('evictions', '')} | {r.get('refaults', '')} | "
          f"{'yes' if r['same_output'] else '**no**'} |")
PY
