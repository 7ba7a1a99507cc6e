#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the libFuzzer harnesses (tests/fuzz) one after another, DURATION each.
#   scripts/fuzz.sh [DURATION] [HARNESS...]     DURATION: 60 (seconds), 90s, 30m, 2h
# Builds build/fuzz with clang (ZSMEM_FUZZ=ON: ASan+UBSan, libFuzzer coverage, plus the
# ZSMEM_DEBUG invariant checkers). Starts from the seed corpus tests/fuzz/corpus/NAME
# (read only) and keeps what it finds in build/fuzz/corpus/NAME, so a later run goes on
# from there. A crash leaves build/fuzz/artifacts/NAME/crash-* and a non-zero exit;
# reproduce it with build/fuzz/tests/fuzz/fuzz_NAME FILE, minimize it with
# -minimize_crash=1 -runs=10000 FILE, and add it to the seed corpus with the fix.
# Environment: FUZZ_JOBS=N runs N workers per harness (libFuzzer -fork=N).
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-60}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(zsmalloc zram zswap)
case "$dur" in
	*h) secs=$(( ${dur%h} * 3600 )) ;;
	*m) secs=$(( ${dur%m} * 60 )) ;;
	*s) secs=${dur%s} ;;
	*) secs=$dur ;;
esac
if ! command -v clang >/dev/null; then
	echo "fuzz.sh: clang (with libFuzzer) is needed: apt-get install clang" >&2
	exit 1
fi
cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DZSMEM_FUZZ=ON -DZSMEM_DEBUG=ON -DZSMEM_BENCH=OFF >/dev/null
targets=()
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
cmake --build build/fuzz -j"$(nproc)" --target "${targets[@]}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for h in "${harnesses[@]}"; do
	work=build/fuzz/corpus/$h
	art=build/fuzz/artifacts/$h
	mkdir -p "$work" "$art"
	extra=()
	[ -n "${FUZZ_JOBS:-}" ] && extra+=(-fork="$FUZZ_JOBS" -ignore_crashes=0)
	echo "=== fuzz_$h for ${secs}s"
	if ! build/fuzz/tests/fuzz/fuzz_"$h" -max_total_time="$secs" -timeout=60 \
		-rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$art/" "${extra[@]}" \
		"$work" "tests/fuzz/corpus/$h" 2>&1 | tail -n 40; then
		echo "fuzz_$h: FAILED (see $art/)"
		status=1
	fi
done
exit $status
