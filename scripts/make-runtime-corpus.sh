#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A corpus of real memory pages from another runtime's heap: runs a workload under
# node (V8) or java (a JVM), then dumps its private anonymous memory page by page,
# as a swap-out sees it, with the corpus dumper (scripts/corpus/dump_anon.py where
# the repository has it, else ../shared/corpus/dump_anon.py).
# usage: make-runtime-corpus.sh node|java OUTFILE [MIB]   (default 192; root or ptrace rights)
set -euo pipefail
rt=${1:?usage: make-runtime-corpus.sh node|java OUTFILE [MIB]}
out=${2:?usage: make-runtime-corpus.sh node|java OUTFILE [MIB]}
mib=${3:-192}
here=$(cd "$(dirname "$0")" && pwd)
dumper=""
for d in "$here/corpus/dump_anon.py" "$here/../../shared/corpus/dump_anon.py" "/work/shared/corpus/dump_anon.py"; do
	[ -f "$d" ] && { dumper=$d; break; }
done
[ -n "$dumper" ] || { echo "make-runtime-corpus.sh: no dump_anon.py found" >&2; exit 1; }
log=$(mktemp)
tmp=$(mktemp -d)
case "$rt" in
node) node --max-old-space-size=1024 "$here/corpus-workloads/workload-node.js" >"$log" 2>&1 & ;;
java)
	cp "$here/corpus-workloads/Workload.java" "$tmp/"
	# No pre-touched, never-used heap: the dump should hold the objects, not zeros.
	java -Xms64m -Xmx1g -XX:+UseSerialGC "$tmp/Workload.java" >"$log" 2>&1 & ;;
*) echo "make-runtime-corpus.sh: runtime must be node or java" >&2; exit 2 ;;
esac
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$log" "$tmp"' EXIT
for _ in $(seq 600); do grep -q ready "$log" && break; sleep 0.5; done
grep -q ready "$log" || { echo "workload did not start" >&2; cat "$log" >&2; exit 1; }
rm -f "$out"
python3 "$dumper" "$pid" "$out" "$mib" >/dev/null
echo "$out: $(( $(stat -c %s "$out") / 4096 )) pages ($rt)"
