#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build a corpus of real memory pages: the private anonymous memory of a
# running Python program, dumped page by page (4 KiB) as a swap-out sees it.
# usage: make-corpus.sh OUTFILE [MIB]   (default 64 MiB; needs python3, root or ptrace rights)
set -euo pipefail
out=${1:?usage: make-corpus.sh OUTFILE [MIB]}
mib=${2:-64}
here=$(cd "$(dirname "$0")" && pwd)
rm -f "$out"
log=$(mktemp)
python3 "$here/workload-python.py" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 120); do grep -q ready "$log" && break; sleep 0.5; done
grep -q ready "$log" || { echo "workload did not start" >&2; cat "$log" >&2; exit 1; }
python3 "$here/dump_anon.py" "$pid" "$out" "$mib" >/dev/null
echo "$out: $(( $(stat -c %s "$out") / 4096 )) pages"
