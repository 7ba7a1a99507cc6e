#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
The zsmem nbdkit plugin against nbdkit's memory plugin (allocator=zstd and
allocator=sparse), side by side in one run, with the same clients and the same pages.

For each server (fresh for each measure group), over a Unix socket:
  write_mbs      nbdcopy of the corpus into the disk (default request size, 4 connections)
  read_mbs       nbdcopy of the disk to null: with --no-extents (every byte is read)
  write4k_mbs    nbdcopy --request-size=4096 of the corpus
  fio_randwrite / fio_randread   fio --ioengine=nbd, bs=4k, iodepth=16, one job, on the
                 filled disk, fio's compressible buffers (buffer_compress_percentage=50);
                 one filled server of each kind, runs interleaved across them, medians
  rss_per_byte   (server RSS after the fill - RSS of the fresh server) / corpus bytes,
                 measured after the client disconnected (nbdkit's request buffers are
                 freed with their connection's threads)
  overwrite_ratio  RSS after rewriting every page of the filled disk with another corpus
                 page in random order, 4 KiB requests, then a flush and 1 s idle, over
                 the RSS after the sequential fill (both minus the fresh RSS)
  trim_floor     RSS after 4 KiB trims of everything written: the time until it is back
                 within 1 MiB + the slot table (16 bytes per 4 KiB of disk, touched by the
                 writes) of the empty-disk floor, and where it stood then (or 1 s after
                 the last trim). The floor: the server's RSS after a warm-up client wrote,
                 read and trimmed 1 MiB and disconnected (code paged in, nbdkit's thread
                 arenas made), the same for every server.
Timings are medians of --reps runs, interleaved across the servers; the server's CPU
seconds (user + system) for each nbdcopy pass are recorded beside them. Prints one JSON
object. --baseline PLUGIN adds another build of the plugin (an older commit) as
zsmem-lz4-base, with every measure, interleaved with the others: before/after in one run.
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import nbd

PAGE = 4096


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Server:
    def __init__(self, tmp, name, args, plugin, env=None):
        self.sock = os.path.join(tmp, name + ".sock")
        self.log = open(os.path.join(tmp, name + ".log"), "w")
        cmd = ["nbdkit", "-f", "--log=stderr", "-U", self.sock, plugin] + args
        self.proc = subprocess.Popen(cmd, stderr=self.log, env=env)
        for _ in range(300):
            if os.path.exists(self.sock):
                break
            if self.proc.poll() is not None:
                raise SystemExit(f"nbdkit {' '.join(args)} exited")
            time.sleep(0.05)
        self.uri = f"nbd+unix:///?socket={self.sock}"
        self.warm_up()
        self.fresh = settle(self, 0.5)

    def warm_up(self):
        """The empty-disk floor is measured after one client has written, read and
        trimmed 1 MiB and gone: code paths paged in, nbdkit's thread arenas made."""
        h = nbd.NBD()
        # The socket file appears at bind(), a moment before nbdkit listens.
        for attempt in range(300):
            try:
                h.connect_uri(self.uri)
                break
            except nbd.Error:
                if attempt == 299 or self.proc.poll() is not None:
                    raise
                time.sleep(0.05)
                h = nbd.NBD()
        buf = bytearray((b"warm-up page " * 316)[:PAGE])
        for p in range(256):
            h.pwrite(buf, p * PAGE)
        h.pread(256 * PAGE, 0)
        h.trim(256 * PAGE, 0)
        h.flush()
        h.shutdown()

    def rss(self):
        return rss_kib(self.proc.pid)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def cpu_s(pid):
    """User + system CPU seconds of a process so far (noise-free next to the timings)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(cmd):
    t = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t


def fio(uri, rw, runtime, size):
    out = subprocess.run(
        ["fio", "--name=b", "--ioengine=nbd", f"--uri={uri}", f"--rw={rw}", "--bs=4k",
         "--iodepth=16", "--numjobs=1", f"--size={size}", "--time_based",
         f"--runtime={runtime}", "--buffer_compress_percentage=50", "--refill_buffers",
         "--randrepeat=0", "--output-format=json"],
        check=True, capture_output=True, text=True).stdout
    job = json.loads(out[out.index("{"):])["jobs"][0]
    return job["write" if "write" in rw else "read"]["iops"]


def settle(srv, seconds):
    """Waits for the server's RSS to stop moving (deferred frees, compaction)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.1)
    return srv.rss()


def overwrite_random(uri, corpus, pages, seed):
    """Rewrites every page with another corpus page, in random order, 16 in flight."""
    h = nbd.NBD()
    h.connect_uri(uri)
    order = list(range(pages))
    random.Random(seed).shuffle(order)
    with open(corpus, "rb") as f:
        data = f.read(pages * PAGE)
    inflight = []
    for k, p in enumerate(order):
        src = order[(k + 1) % pages]
        buf = nbd.Buffer.from_bytearray(bytearray(data[src * PAGE:(src + 1) * PAGE]))
        inflight.append(h.aio_pwrite(buf, p * PAGE))
        while h.aio_in_flight() >= 16:
            h.poll(-1)
    while h.aio_in_flight() > 0:
        h.poll(-1)
    h.flush()
    h.shutdown()


def trim_all(uri, pages):
    h = nbd.NBD()
    h.connect_uri(uri)
    for p in range(pages):
        h.aio_trim(PAGE, p * PAGE)
        while h.aio_in_flight() >= 16:
            h.poll(-1)
    while h.aio_in_flight() > 0:
        h.poll(-1)
    h.shutdown()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--corpus", default="/tmp/corpus192.bin")
    ap.add_argument("--mib", type=int, default=0, help="use only this much of the corpus")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--fio-runtime", type=int, default=5)
    ap.add_argument("--gen", help="generated pages file to use when the corpus is missing")
    ap.add_argument("--baseline", help="another build of the plugin, measured in the same run "
                    "as zsmem-lz4-base (before/after comparisons)")
    a = ap.parse_args()

    corpus = a.corpus if os.path.exists(a.corpus) else a.gen
    if not corpus or not os.path.exists(corpus):
        raise SystemExit("no corpus and no generated pages")
    tmp = tempfile.mkdtemp(prefix="zsmem-nbd-bench.")
    try:
        run(a, corpus, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(a, corpus, tmp):
    src = os.path.join(tmp, "corpus.bin")
    size = os.path.getsize(corpus)
    if a.mib:
        size = min(size, a.mib << 20)
    size -= size % PAGE
    with open(corpus, "rb") as fi, open(src, "wb") as fo:
        fo.write(fi.read(size))
    pages = size // PAGE
    disk = ((size + (64 << 20) - 1) // (64 << 20) + 1) * (64 << 20)
    slot_table_kib = disk // PAGE * 16 // 1024

    servers = {
        "memory-zstd": ("memory", [f"size={disk}", "allocator=zstd"]),
        "memory-sparse": ("memory", [f"size={disk}", "allocator=sparse"]),
        "zsmem-lz4": (a.plugin, [f"size={disk}"]),
        "zsmem-zstd": (a.plugin, [f"size={disk}", "compressor=zstd"]),
    }
    if a.baseline:
        servers["zsmem-lz4-base"] = (a.baseline, [f"size={disk}"])
    res = {"corpus": corpus, "bytes": size, "disk": disk, "reps": a.reps,
           "nbdkit": subprocess.run(["nbdkit", "--version"], capture_output=True,
                                    text=True).stdout.strip(),
           "loadavg": open("/proc/loadavg").read().split()[:3], "servers": {}}
    mb = size / 1e6
    n = 0
    thr = {name: {"w": [], "rd": [], "w4": [], "cpu_w": [], "cpu_rd": []} for name in servers}
    # Throughput: repetitions interleaved across the servers (A B C D, A B C D, ...), so
    # that a change of the machine's load hits them alike; a fresh server per write.
    for rep in range(a.reps):
        for name, (plugin, args) in servers.items():
            r = res["servers"].setdefault(name, {})
            t = thr[name]
            full = name != "zsmem-zstd"	# zstd: only the memory figure
            if not full and rep:
                continue
            s = Server(tmp, f"{name}{n}", args, plugin)
            n += 1
            try:
                c0 = cpu_s(s.proc.pid)
                t["w"].append(mb / timed(["nbdcopy", src, s.uri]))
                t["cpu_w"].append(cpu_s(s.proc.pid) - c0)
                if rep == 0:
                    time.sleep(0.5)
                    r["rss_fresh_kib"] = s.fresh
                    r["rss_fill_kib"] = settle(s, 1.0)
                    r["rss_per_byte"] = (r["rss_fill_kib"] - s.fresh) * 1024 / size
                if full:
                    c0 = cpu_s(s.proc.pid)
                    t["rd"].append(mb / timed(["nbdcopy", "--no-extents", s.uri, "null:"]))
                    t["cpu_rd"].append(cpu_s(s.proc.pid) - c0)
            finally:
                s.stop()
            if full:
                s = Server(tmp, f"{name}{n}", args, plugin)
                n += 1
                try:
                    t["w4"].append(mb / timed(["nbdcopy", "--request-size=4096", src, s.uri]))
                finally:
                    s.stop()
    for name, (plugin, args) in servers.items():
        r, t = res["servers"][name], thr[name]
        r["write_mbs"] = statistics.median(t["w"])
        r["write_all_mbs"] = t["w"]
        r["server_cpu_s_write"] = statistics.median(t["cpu_w"])
        if name == "zsmem-zstd":
            continue
        r["read_mbs"] = statistics.median(t["rd"])
        r["read_all_mbs"] = t["rd"]
        r["server_cpu_s_read"] = statistics.median(t["cpu_rd"])
        r["write4k_mbs"] = statistics.median(t["w4"])
        r["write4k_all_mbs"] = t["w4"]

    # fio: one filled server of each kind, all up at once, the runs interleaved across
    # them (randwrite on each, randread on each, --reps times): medians.
    fio_names = [name for name in servers if name != "zsmem-zstd"]
    fio_srv = {}
    fio_size = f"{size >> 20}M"
    try:
        for name in fio_names:
            plugin, args = servers[name]
            fio_srv[name] = Server(tmp, f"{name}{n}", args, plugin)
            n += 1
            subprocess.run(["nbdcopy", src, fio_srv[name].uri], check=True)
        iops = {name: {"randwrite": [], "randread": []} for name in fio_names}
        for rep in range(a.reps):
            for rw in ("randwrite", "randread"):
                for name in fio_names:
                    iops[name][rw].append(fio(fio_srv[name].uri, rw, a.fio_runtime, fio_size))
    finally:
        for s in fio_srv.values():
            s.stop()
    for name in fio_names:
        r = res["servers"][name]
        for rw in ("randwrite", "randread"):
            r[f"fio_{rw}_iops"] = statistics.median(iops[name][rw])
            r[f"fio_{rw}_all_iops"] = iops[name][rw]

    for name, (plugin, args) in servers.items():
        if name == "zsmem-zstd":
            continue
        r = res["servers"][name]
        # Overwrites and trims on a filled server.
        s = Server(tmp, f"{name}{n}", args, plugin)
        n += 1
        try:
            subprocess.run(["nbdcopy", src, s.uri], check=True)
            seq = settle(s, 1.0) - s.fresh
            overwrite_random(s.uri, src, pages, 11)
            rnd = settle(s, 1.0) - s.fresh
            r["rss_seq_fill_kib"] = seq
            r["rss_random_overwrite_kib"] = rnd
            r["overwrite_ratio"] = rnd / seq if seq > 0 else None
            before = s.rss()
            t0 = time.monotonic()
            trim_all(s.uri, pages)
            t_end = time.monotonic()
            floor = s.fresh + 1024 + slot_table_kib
            reached = None
            while time.monotonic() - t_end < 1.0 + 1e-3:
                if s.rss() <= floor:
                    reached = time.monotonic() - t_end
                    break
                time.sleep(0.02)
            r["trim_seconds"] = t_end - t0
            r["rss_before_trim_kib"] = before
            r["rss_after_trim_kib"] = s.rss()	# at the floor, or 1 s after the trims
            r["rss_floor_kib"] = floor
            r["trim_back_to_floor_s"] = reached
        finally:
            s.stop()
    json.dump(res, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
