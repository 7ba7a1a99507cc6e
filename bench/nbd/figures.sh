#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/nbd/figures.sh [--quick] OUTDIR
# Runs the NBD benchmark (zsmem's nbdkit plugin against nbdkit's memory plugin with
# allocator=zstd and allocator=sparse, one run, same clients, same pages), writes
# OUTDIR/nbd.json and prints the README's markdown table built from it.
# Full run: the 192 MiB heap corpus (/tmp/corpus192.bin; generated pages when it is
# missing), medians of 3. --quick: 8 MiB, one repetition, 1 s of fio (a smoke run).
set -euo pipefail
quick=0
if [ "${1:-}" = "--quick" ]; then quick=1; shift; fi
out=${1:?usage: figures.sh [--quick] OUTDIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"

for c in nbdkit nbdcopy fio; do
	command -v "$c" >/dev/null || { echo "figures.sh: $c is not installed" >&2; exit 77; }
done
py=""
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null && "$p" -c 'import nbd' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || { echo "figures.sh: python3-libnbd (nbdsh) is not installed" >&2; exit 77; }

build=${ZSMEM_BUILD_DIR:-$root/build/release}
plugin=$build/src/nbd/nbdkit-zsmem-plugin.so
if [ ! -f "$plugin" ] || [ -z "${ZSMEM_BUILD_DIR:-}" ]; then
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$build" -j"$(nproc)" --target nbdkit-zsmem-plugin >/dev/null
fi

args=(--plugin "$plugin")
# ZSMEM_NBD_BASELINE=PLUGIN: an older build measured in the same run (zsmem-lz4-base).
[ -n "${ZSMEM_NBD_BASELINE:-}" ] && args+=(--baseline "$ZSMEM_NBD_BASELINE")
corpus=${ZSMEM_CORPUS:-/tmp/corpus192.bin}
gen=$out/nbd-pages.bin
mib=192
[ $quick = 1 ] && { mib=8; args+=(--mib 8 --reps 1 --fio-runtime 1); }
if [ ! -f "$corpus" ]; then
	# No corpus: page-like generated data (text, integers, zero, same-filled, random).
	ZSMEM_NBD_PLUGIN=$plugin bash -c "source '$root/tests/nbd/nbd_lib.sh'; NBDPY=$py \
		gen_pages '$gen' $mib 1; trap - EXIT; rm -rf \"\$T\""
	corpus=$gen
fi
"$py" "$root/bench/nbd/nbd_bench.py" "${args[@]}" --corpus "$corpus" >"$out/nbd.json"
rm -f "$gen"
"$py" "$root/bench/nbd/nbd_table.py" "$out/nbd.json"
