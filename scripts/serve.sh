#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Serves a zsmem compressed RAM disk over NBD (nbdkit + nbdkit-zsmem-plugin.so),
# building the plugin first if needed, and prints its URI and how to stop it.
#
#   scripts/serve.sh [KEY=VALUE...]     start (default size=1G; any plugin parameter,
#                                       e.g. size=4G compressor=zstd mem_limit=1G)
#   scripts/serve.sh --stop             stop the disk started here
#
# The socket and pid file live in $ZSMEM_NBD_DIR (default ${XDG_RUNTIME_DIR:-/tmp}/zsmem-nbd).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${ZSMEM_NBD_DIR:-${XDG_RUNTIME_DIR:-/tmp}/zsmem-nbd}
sock=$dir/disk.sock
pidf=$dir/nbdkit.pid

if [ "${1:-}" = "--stop" ]; then
	[ -s "$pidf" ] || { echo "no disk running (no $pidf)"; exit 0; }
	pid=$(cat "$pidf")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	rm -f "$pidf" "$sock"
	echo "stopped"
	exit 0
fi

command -v nbdkit >/dev/null ||
	{ echo "nbdkit is not installed: scripts/deps.sh installs it" >&2; exit 1; }
build=$root/build/release
plugin=$build/src/nbd/nbdkit-zsmem-plugin.so
if [ ! -f "$plugin" ] || [ -n "$(find "$root/src" "$root/include" -newer "$plugin" -name '*.[ch]' | head -1)" ]; then
	echo "building the plugin in $build ..." >&2
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$build" -j"$(nproc)" --target nbdkit-zsmem-plugin >/dev/null
fi
[ -f "$plugin" ] ||
	{ echo "the plugin was not built: is nbdkit-plugin-dev installed?" >&2; exit 1; }

mkdir -p "$dir"
if [ -s "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
	echo "a disk is already running (pid $(cat "$pidf")); scripts/serve.sh --stop first" >&2
	exit 1
fi
args=("$@")
printf '%s\n' "${args[@]}" | grep -q '^size=' || args=(size=1G "${args[@]}")
rm -f "$sock"
# nbdkit forks into the background once the socket is listening.
nbdkit --unix "$sock" --pidfile "$pidf" "$plugin" "${args[@]}"
for _ in $(seq 100); do [ -s "$pidf" ] && break; sleep 0.1; done
uri="nbd+unix:///?socket=$sock"
cat <<MSG
zsmem disk: ${args[*]} (pid $(cat "$pidf"))
URI: $uri
  nbdinfo '$uri'
  nbdcopy disk.img '$uri'                    # write an image into it
  qemu-img convert -O raw '$uri' copy.img
  mkdir -p mnt && nbdfuse mnt '$uri' &        # the disk as a file: mnt/nbd
stop: scripts/serve.sh --stop
MSG
