#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Parameters: --help lists them all; every bad value stops nbdkit at start-up with an
# error naming it; cmake --install puts the plugin into lib/nbdkit/plugins below a
# custom prefix, and nbdkit loads the installed file by path (API 2, parallel).
source "$(dirname "$0")/nbd_lib.sh"
need nbdkit

help=$(env ${ZSMEM_NBD_PRELOAD:+LD_PRELOAD=$ZSMEM_NBD_PRELOAD} nbdkit "$PLUGIN" --help)
for p in size= compressor= level= free= mem_limit= backing= stats=; do
	grep -q "^$p" <<<"$help" || fail "--help does not list $p"
done
for c in lz4 lz4hc zstd lzo; do grep -q "$c" <<<"$help" || fail "--help lacks $c"; done

bad() {	# bad EXPECTED-TEXT ARGS...: nbdkit must refuse to start, saying EXPECTED-TEXT
	local want=$1 out
	shift
	if out=$(env ${ZSMEM_NBD_PRELOAD:+LD_PRELOAD=$ZSMEM_NBD_PRELOAD} \
		timeout 20 nbdkit -f -U "$T/bad.sock" "$PLUGIN" "$@" 2>&1); then
		fail "nbdkit started with $*"
	fi
	grep -q -- "$want" <<<"$out" || fail "nbdkit $*: error does not say '$want': $out"
}
bad "size= is required"
bad "size" size=abc
bad "compressor=foo" size=1M compressor=foo
bad "level" size=1M level=abc
bad "level=-1" size=1M level=-1
bad "level=99" size=1M compressor=zstd level=99
bad "free=fast" size=1M free=fast
bad "mem_limit" size=1M mem_limit=lots
bad "backing=$T/none/file" size=1M backing="$T/none/file"
bad "stats=$T/none/file" size=1M stats="$T/none/file"
bad "unknown parameter 'sise'" size=1M sise=2M
bad "size=" size=99T

# Good values of every parameter start.
start_server ok size=1M compressor=lzo level=0 free=sync mem_limit=1M backing="$T/b" \
	stats="$T/s"
stop_server
start_server ok2 size=1M compressor=zstd level=3
stop_server
start_server ok3 size=1M compressor=lz4hc level=9
stop_server
check_log ok

# Install below a custom prefix, load the installed plugin by path.
if [ -n "${ZSMEM_BUILD_DIR:-}" ] && command -v cmake >/dev/null; then
	cmake --install "$ZSMEM_BUILD_DIR" --prefix "$T/inst" >"$T/install.log" ||
		{ cat "$T/install.log" >&2; fail "cmake --install"; }
	so=$T/inst/lib/nbdkit/plugins/nbdkit-zsmem-plugin.so
	[ -f "$so" ] || fail "not installed at lib/nbdkit/plugins: $(find "$T/inst" -name '*.so')"
	dump=$(env ${ZSMEM_NBD_PRELOAD:+LD_PRELOAD=$ZSMEM_NBD_PRELOAD} nbdkit "$so" --dump-plugin)
	grep -qx "name=zsmem" <<<"$dump" || fail "dump-plugin: $dump"
	grep -qx "api_version=2" <<<"$dump" || fail "not API version 2: $dump"
	grep -qx "thread_model=parallel" <<<"$dump" || fail "not parallel: $dump"
	PLUGIN=$so start_server inst size=1M
	stop_server
fi
echo PASS
