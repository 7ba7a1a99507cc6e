#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages zsmem needs, if any are missing (root or sudo).
set -euo pipefail
pkgs="build-essential cmake pkg-config liblz4-dev libzstd-dev liblzo2-dev
      libjemalloc-dev libmimalloc-dev gnuplot-nox python3 clang libclang-rt-14-dev"
missing=()
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y "${missing[@]}"
