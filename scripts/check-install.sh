#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs a built tree into a scratch prefix, moves the prefix (the package must be
# relocatable), then builds tests/install/consumer.c against the installed copy four
# ways -- pkg-config shared, pkg-config --static, find_package(zsmem) with zsmem::zsmem
# and with zsmem::zsmem_static -- and runs each. Also checks the programs installed.
# usage: scripts/check-install.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
build=${1:-build/release}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/stage" >/dev/null
mv "$tmp/stage" "$tmp/moved"	# nothing may point back at the install-time prefix
prefix=$tmp/moved
for prog in zsbench zs_alloc_bench zs_batch_speed zsd_bench zram_bench zswap_bench; do
	[ -x "$prefix/bin/$prog" ] || { echo "check-install: bin/$prog not installed" >&2; exit 1; }
done
"$prefix/bin/zsbench" -h >/dev/null
pcdir=$(dirname "$(find "$prefix" -name zsmem.pc)")
cc=${CC:-cc}

echo "check-install: pkg-config, shared"
flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs zsmem)
# shellcheck disable=SC2086
$cc -std=c11 -Wall -Wextra -Werror "$src/tests/install/consumer.c" -o "$tmp/pc_shared" $flags \
	-Wl,-rpath,"$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir zsmem)"
"$tmp/pc_shared"

echo "check-install: pkg-config, the same program compiled as C++ (extern \"C\" linkage)"
flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs zsmem)
# shellcheck disable=SC2086
${CXX:-c++} -x c++ -std=c++11 -Wall -Wextra -Werror "$src/tests/install/consumer.c" -x none \
	-o "$tmp/pc_cxx" $flags -Wl,-rpath,"$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir zsmem)"
"$tmp/pc_cxx"

echo "check-install: pkg-config --static"
# libzsmem.a, then the private dependencies --static adds (lz4, zstd, lzo2, pthread)
flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --static --cflags --libs zsmem |
	sed 's/-lzsmem/-Wl,-Bstatic -lzsmem -Wl,-Bdynamic/')
case $flags in *-llz4*-lzstd*-llzo2*) ;; *)
	echo "check-install: pkg-config --static lacks the compressors: $flags" >&2; exit 1;;
esac
# shellcheck disable=SC2086
$cc -std=c11 -Wall -Wextra -Werror "$src/tests/install/consumer.c" -o "$tmp/pc_static" $flags
# linked against libzsmem.a: the binary must not need libzsmem.so
if ldd "$tmp/pc_static" | grep -q libzsmem; then
	echo "check-install: the static consumer needs libzsmem.so" >&2
	exit 1
fi
"$tmp/pc_static"

echo "check-install: find_package(zsmem)"
cmake -S "$src/tests/install" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tmp/consumer" >/dev/null
"$tmp/consumer/consumer_shared"
"$tmp/consumer/consumer_static"
if ldd "$tmp/consumer/consumer_static" | grep -q libzsmem; then
	echo "check-install: zsmem::zsmem_static links libzsmem.so" >&2
	exit 1
fi
echo "check-install: ok"
