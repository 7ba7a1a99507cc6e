#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Multi-conn: four connections write different bytes of the same pages at once with
# unaligned requests (each page's read-modify-write must keep the others' bytes), each
# write is read back at once through another connection (a replied write is visible
# everywhere), and a fifth connection checks every byte at the end.
source "$(dirname "$0")/nbd_lib.sh"
need nbdkit
find_nbdsh

start_server mc size=256K
"$NBDPY" - "$URI" <<'PY' || fail "multi-conn check failed"
import random, sys, threading
import nbd

uri, T, PAGES, SPAN = sys.argv[1], 4, 16, 1024
model = [bytearray(PAGES * 4096) for _ in range(T)]
errors = []


def worker(t):
    try:
        w, r = nbd.NBD(), nbd.NBD()
        w.connect_uri(uri)
        r.connect_uri(uri)
        if not w.can_multi_conn():
            raise RuntimeError("server does not advertise multi-conn")
        rnd = random.Random(t)
        for _ in range(600):
            page = rnd.randrange(PAGES)
            off = rnd.randrange(SPAN)
            n = rnd.randrange(1, SPAN - off + 1)
            pos = page * 4096 + t * SPAN + off
            data = rnd.randbytes(n)
            w.pwrite(data, pos)
            model[t][pos:pos + n] = data
            if r.pread(n, pos) != data:
                raise RuntimeError(f"thread {t}: write at {pos} not visible on another connection")
        w.flush()
        w.shutdown()
        r.shutdown()
    except Exception as e:
        errors.append(e)


ths = [threading.Thread(target=worker, args=(t,)) for t in range(T)]
for th in ths:
    th.start()
for th in ths:
    th.join()
if errors:
    sys.exit(f"errors: {errors}")
c = nbd.NBD()
c.connect_uri(uri)
got = c.pread(PAGES * 4096, 0)
for p in range(PAGES):
    for t in range(T):
        lo = p * 4096 + t * SPAN
        if got[lo:lo + SPAN] != model[t][lo:lo + SPAN]:
            sys.exit(f"page {p}: bytes of connection {t} lost")
print("ok")
PY
stop_server
check_log mc
echo PASS
