#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# setup.sh: RUNS THE LAB. From a fresh Debian 12 machine: installs the missing
# packages (scripts/deps.sh, apt via sudo if not root), builds the release tree in
# build/release, then runs the exit-path lab (zsbench) with its defaults -- 13-40 s on
# two cores -- printing its table and writing out/zsbench/ (zsbench.json and plots).
# Arguments go to zsbench (scripts/setup.sh -h lists them). The tests: scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "setup: 1/3 packages (scripts/deps.sh)"
scripts/deps.sh
echo "setup: 2/3 release build in build/release"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)"
mkdir -p out
echo "setup: 3/3 running the exit-path lab: build/release/tools/zsbench/zsbench -o out/zsbench $*"
exec build/release/tools/zsbench/zsbench -o out/zsbench "$@"
