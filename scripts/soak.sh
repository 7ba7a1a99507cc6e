#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The soak test: every subsystem at once for DURATION, checked against a model
# (tests/soak/soak.c says what it does).
#   scripts/soak.sh [DURATION] [soak options...]    DURATION: 60 (seconds), 90s, 30m, 1h
# Builds build/release first. Options after DURATION go to the program, e.g.
# -t THREADS (default 4), -f FORKS (default: one per 5 minutes, at least 2), -s SEED,
# -m grouped|plain|v2|per-class|sync (zram free mode), -p SECONDS (progress lines;
# every 5 minutes in runs of 10 minutes or more). Prints ops, errors, memory at the
# end; exits non-zero on any error.
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-60}
shift || true
case "$dur" in
	*h) secs=$(( ${dur%h} * 3600 )) ;;
	*m) secs=$(( ${dur%m} * 60 )) ;;
	*s) secs=${dur%s} ;;
	*) secs=$dur ;;
esac
forks=$(( secs / 300 ))
[ "$forks" -lt 2 ] && forks=2
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target soak >/dev/null
echo "soak.sh: commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo +dirty), $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs"
progress=$(( secs >= 600 ? 300 : 0 ))
exec build/release/tests/soak/soak -d "$secs" -t 4 -f "$forks" -p "$progress" "$@"
