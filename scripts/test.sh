#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The full test suite, exactly what CI runs:
#   1. release build (-Werror), every test; then installed into a scratch prefix and a
#      program built against the installed copy (pkg-config and find_package);
#   2. ASan+UBSan build with the ZSMEM_DEBUG invariant checkers, every test;
#   3. TSan build, the threaded tests;
#   4. the threaded tests again with rseq disabled in glibc (the fallback push path).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
run() { echo; echo "=== $*"; "$@"; }

run cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release
run cmake --build build/release -j"$jobs"
run ctest --test-dir build/release --output-on-failure -j"$jobs"
run scripts/check-install.sh build/release

run cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DZSMEM_ASAN=ON -DZSMEM_DEBUG=ON -DZSMEM_BENCH=ON
run cmake --build build/asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run ctest --test-dir build/asan --output-on-failure -j"$jobs"

run cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZSMEM_TSAN=ON -DZSMEM_BENCH=OFF
run cmake --build build/tsan -j"$jobs"
# TSan's shadow layout does not fit the kernel's highest ASLR entropy: run without ASLR.
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	run setarch "$(uname -m)" -R ctest --test-dir build/tsan --output-on-failure -L threaded -j"$jobs"

GLIBC_TUNABLES=glibc.pthread.rseq=0 \
	run ctest --test-dir build/release --output-on-failure -L threaded -j"$jobs"
echo
echo "all test stages passed"
