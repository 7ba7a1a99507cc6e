#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
Context switches and server CPU per request under fio (4 KiB, iodepth 16), zsmem's
plugin against nbdkit's memory plugin (allocator=sparse), servers side by side in one
run, runs interleaved.

Where do a server's context switches come from: the plugin's own threads (zsmalloc's
prefault thread, the deferred-free workers, the plugin's service thread) or nbdkit's
connection threads (socket reader, workers)? The threads alive before the first client
(after the fill's client has gone, so nbdkit's connection threads have exited) are the
server's own: the main thread and every thread the plugin started. Threads created
later serve the fio connection. The voluntary and involuntary switch counts of
/proc/PID/task/*/status are sampled while fio runs (a connection's threads take their
counts with them when they exit), over a window in the middle of the run, and divided
by the requests fio completed in that window (its mean IOPS x the window).

--baseline PLUGIN adds an older build of the plugin as zsmem-base, interleaved with the
others. Prints one line per run and a median summary:
  own_v / own_nv    switches per request of the plugin's (and nbdkit's main) threads
  conn_v / conn_nv  switches per request of the connection threads
  cpu_us            server user + system CPU microseconds per request
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nbd_bench  # noqa: E402  (Server, cpu_s)


def tids(pid):
    return {int(p.rsplit("/", 1)[1]) for p in glob.glob(f"/proc/{pid}/task/*")}


def switches(pid, own):
    """{'own_v', 'own_nv', 'conn_v', 'conn_nv'} summed over the live threads."""
    c = dict.fromkeys(("own_v", "own_nv", "conn_v", "conn_nv"), 0)
    for tid in tids(pid):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                lines = f.read().splitlines()
        except OSError:
            continue	# exited between the listing and the read
        who = "own" if tid in own else "conn"
        for line in lines:
            if line.startswith("voluntary_ctxt_switches:"):
                c[who + "_v"] += int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches:"):
                c[who + "_nv"] += int(line.split()[1])
    return c


def measure(srv, own, rw, size, runtime, window):
    fio = subprocess.Popen(
        ["fio", "--name=c", "--ioengine=nbd", f"--uri={srv.uri}", f"--rw={rw}", "--bs=4k",
         "--iodepth=16", "--numjobs=1", f"--size={size}", "--time_based",
         f"--runtime={runtime}", "--buffer_compress_percentage=50", "--refill_buffers",
         "--randrepeat=0", "--output-format=json"],
        stdout=subprocess.PIPE, text=True)
    time.sleep((runtime - window) / 2)
    c0, u0, t0 = switches(srv.proc.pid, own), nbd_bench.cpu_s(srv.proc.pid), time.monotonic()
    time.sleep(window)
    c1, u1, t1 = switches(srv.proc.pid, own), nbd_bench.cpu_s(srv.proc.pid), time.monotonic()
    out = fio.communicate()[0]
    if fio.returncode:
        raise SystemExit(f"fio {rw} failed")
    job = json.loads(out[out.index("{"):])["jobs"][0]
    iops = job["write" if "write" in rw else "read"]["iops"]
    n = iops * (t1 - t0)
    r = {k: (c1[k] - c0[k]) / n for k in c0}
    r["cpu_us"] = (u1 - u0) * 1e6 / n
    r["iops"] = iops
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--corpus", default="/tmp/corpus64.bin")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--runtime", type=int, default=4)
    ap.add_argument("--baseline", help="another build of the plugin, measured in the same "
                    "run as zsmem-base (before/after)")
    a = ap.parse_args()
    if a.runtime < 2:
        raise SystemExit("--runtime: at least 2 seconds")
    size_mib = (os.path.getsize(a.corpus) + (1 << 20) - 1) >> 20
    disk = [f"size={size_mib}M"]
    tmp = tempfile.mkdtemp(prefix="zsmem-nbd-ctxsw.")
    servers, own = {}, {}
    try:
        kinds = [("zsmem-lz4", a.plugin, disk)]
        if a.baseline:
            kinds.append(("zsmem-base", a.baseline, disk))
        kinds.append(("sparse", "memory", disk + ["allocator=sparse"]))
        for name, plugin, args in kinds:
            s = nbd_bench.Server(tmp, name, args, plugin)
            servers[name] = s
            subprocess.run(["nbdcopy", a.corpus, s.uri], check=True)
            time.sleep(0.3)		# the fill's connection threads exit
            own[name] = tids(s.proc.pid)
        runs = {}
        for rep in range(a.reps):
            for rw in ("randwrite", "randread"):
                for name, s in servers.items():
                    r = measure(s, own[name], rw, f"{size_mib}M", a.runtime,
                                a.runtime - 1.5)
                    runs.setdefault((rw, name), []).append(r)
                    print(f"{rw:9} {name:10} iops {r['iops']:7.0f} " +
                          " ".join(f"{k} {r[k]:.3f}" for k in
                                   ("own_v", "own_nv", "conn_v", "conn_nv", "cpu_us")),
                          flush=True)
        print("medians:")
        for (rw, name), rs in runs.items():
            print(f"{rw:9} {name:10} " + " ".join(
                f"{k} {statistics.median(r[k] for r in rs):.3f}" for k in
                ("iops", "own_v", "own_nv", "conn_v", "conn_nv", "cpu_us")))
    finally:
        for s in servers.values():
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
