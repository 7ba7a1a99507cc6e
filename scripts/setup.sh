#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One command from a fresh Debian 12 machine: install what is missing, build the
# release tree, and run the main job, the exit-path lab, with its defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)"
mkdir -p out
exec build/release/tools/zsbench/zsbench -o out/zsbench "$@"
