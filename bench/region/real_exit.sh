#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/region/real_exit.sh [--quick] OUTDIR
# K real processes (python3 holding a large bytearray) under zsmem-run with their cold
# memory evicted into their regions, ended at once, strategy by strategy: plain (no
# launcher), deferred free, synchronous free; ended by SIGKILL (the kernel tears the
# address space down: no per-object free runs in user space) and by a normal exit (the
# interpreter frees the buffer: munmap -> the region drops every compressed copy through
# the chosen free path). Measures when every process is reaped and when MemAvailable is
# back (machine-wide: noisy on a shared machine). Writes OUTDIR/region_real_exit.json
# and prints a markdown table.
set -euo pipefail
quick=0
if [[ "${1:-}" == "--quick" ]]; then
	quick=1
	shift
fi
out=${1:?usage: real_exit.sh [--quick] OUTDIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build/release}
launcher=$build/tools/zsmem-run/zsmem-run
if [[ ! -x "$launcher" ]]; then
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$build" --target zsmem-run zsmem-run-launcher -j"$(nproc)" >/dev/null
fi
mkdir -p "$out"
py=$(python3 -c 'import sys; print(sys.executable)')
python3 - "$out/region_real_exit.json" "$launcher" "$py" "$quick" <<'PY'
import json, os, signal, subprocess, sys, time

outf, launcher, py, quick = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
MiB = 1 << 20
K = 2 if quick else 4
size = (16 if quick else 64) * MiB
cap = size // 4
worker = f"""
import sys
b = bytearray(b''.join(b'%07d,' % i for i in range({size} // 8)))
sys.stdout.write('ready\\n'); sys.stdout.flush()
sys.stdin.read(1)
"""

def memavail():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024

def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0

def target_pid(p, launched):
    """The python process: the launcher's child, or p itself."""
    if not launched:
        return p.pid
    for _ in range(1000):
        try:
            kids = open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()
        except OSError:
            kids = []
        if kids:
            return int(kids[0])
        time.sleep(0.005)
    raise SystemExit("real_exit.sh: no child under the launcher")

rows = []
for strategy, pre in (("plain", []),
                      ("deferred", [launcher, "--max-resident", str(cap), "--"]),
                      ("sync", [launcher, "--max-resident", str(cap), "--sync-free", "--"])):
    for how in ("kill", "exit"):
        procs = [subprocess.Popen(pre + [py, "-c", worker], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True) for _ in range(K)]
        pids = [target_pid(p, bool(pre)) for p in procs]
        for p in procs:
            if p.stdout.readline().strip() != "ready":
                raise SystemExit(f"real_exit.sh: a {strategy} worker failed")
        time.sleep(1.0)          # the reclaimers bring each process to its cap
        held = sum(rss(pid) for pid in pids)
        m0 = memavail()
        t0 = time.monotonic()
        if how == "kill":
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
        else:
            for p in procs:
                p.stdin.write("x")
                p.stdin.flush()
        for p in procs:
            p.wait()
        t_exit = time.monotonic() - t0
        t_back = None
        while time.monotonic() - t0 < 5.0:
            if memavail() >= m0 + 0.9 * held:
                t_back = time.monotonic() - t0
                break
            time.sleep(0.001)
        rows.append({"strategy": strategy, "end": how, "k": K, "held_mib": held / MiB,
                     "exit_ms": t_exit * 1e3,
                     "memory_back_ms": None if t_back is None else t_back * 1e3})

json.dump({"tool": "region_real_exit", "quick": quick, "k": K, "size_mib": size / MiB,
           "cap_mib": cap / MiB, "runs": rows}, open(outf, "w"), indent=1)
print(f"{K} python3 processes, {size // MiB} MiB buffer each, cap {cap // MiB} MiB each (one run each; "
      "memory back = MemAvailable up by 90% of their RSS, machine-wide):\n")
print("| strategy | end | RSS held | all reaped | memory back |")
print("|---|---|---|---|---|")
for r in rows:
    mb = "> 5000 ms" if r["memory_back_ms"] is None else f"{r['memory_back_ms']:.1f} ms"
    print(f"| {r['strategy']} | {r['end']} | {r['held_mib']:.0f} MiB | {r['exit_ms']:.1f} ms | {mb} |")
PY
