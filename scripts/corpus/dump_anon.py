#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Dump the private anonymous (heap/stack/anon mmap) pages of a running process.

usage: dump_anon.py PID OUTFILE [MAX_MIB]
Writes whole 4 KiB pages, as a real swap-out would see them. Unreadable ranges
(guard pages) are skipped. Used to build a corpus of real memory pages.
"""
import os, sys, signal

def main():
    pid, out = int(sys.argv[1]), sys.argv[2]
    cap = int(sys.argv[3]) << 20 if len(sys.argv) > 3 else 1 << 40
    os.kill(pid, signal.SIGSTOP)
    written = 0
    try:
        with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem, open(out, "ab") as dst:
            for line in maps:
                parts = line.split()
                addr, perms = parts[0], parts[1]
                path = parts[5] if len(parts) > 5 else ""
                if not perms.startswith("rw") or perms[3] != "p":
                    continue
                if path and path not in ("[heap]", "[stack]") and not path.startswith("[anon"):
                    continue
                lo, hi = (int(x, 16) for x in addr.split("-"))
                for a in range(lo, hi, 1 << 20):
                    n = min(1 << 20, hi - a)
                    try:
                        mem.seek(a)
                        buf = mem.read(n)
                    except OSError:
                        continue
                    dst.write(buf)
                    written += len(buf)
                    if written >= cap:
                        return written
    finally:
        os.kill(pid, signal.SIGCONT)
    return written

if __name__ == "__main__":
    print(main())
