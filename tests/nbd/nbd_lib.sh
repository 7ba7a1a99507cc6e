# SPDX-License-Identifier: MIT
# Shared by the nbd tests (sourced): finds the client tools, starts nbdkit with the
# zsmem plugin on a Unix socket in a private temporary directory, and always stops it
# (bounded waits; SIGKILL as the last resort; the directory is removed on exit).
#
# Environment (set by CTest): ZSMEM_NBD_PLUGIN (the .so), ZSMEM_NBD_PRELOAD (sanitizer
# runtime to preload into nbdkit when the plugin is built with ASan, else empty).
# Under ASan, nbdkit runs with detect_leaks=0: LeakSanitizer's exit scan of the
# uninstrumented nbdkit (and its TLS libraries) takes seconds to tens of seconds even
# with nbdkit's own plugins; zram's and zsmalloc's leaks are checked by their unit tests
# in the same stage. Memory errors and UBSan reports in the plugin still fail the test.
# Also under ASan only: a server that does not exit within 5 s of SIGTERM is killed
# without failing the test. With the ASan runtime preloaded, nbdkit starts with glibc's
# __libc_setlocale_lock already corrupt (seen with nbdkit's own memory plugin too), and
# p11-kit's destructor can then wait on it at exit, after nbdkit's (and the plugin's)
# cleanup has run; reports of memory errors are printed when they happen, not at exit.
set -euo pipefail

PLUGIN=${ZSMEM_NBD_PLUGIN:?ZSMEM_NBD_PLUGIN not set}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/zsmem-nbd.XXXXXX")
SERVERS=()

if [ -n "${ZSMEM_NBD_PRELOAD:-}" ]; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# Skips (77) only when a tool is truly missing.
need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"
	done
}

# nbdsh is python3 -m nbd; the python3 first in PATH may lack the nbd module (a pyenv),
# so take the first python3 that has it.
find_nbdsh() {
	local py
	for py in python3 /usr/bin/python3; do
		if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import nbd' 2>/dev/null; then
			NBDPY=$py
			return 0
		fi
	done
	skip "nbdsh (python3-libnbd) is not installed"
}
nbdsh() { "$NBDPY" -m nbd "$@"; }

# A process that exited but is not reaped yet (a zombie) counts as gone.
alive() {
	kill -0 "$1" 2>/dev/null && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null
}

stop_servers() {
	local pidf pid i
	for pidf in "${SERVERS[@]}"; do
		[ -s "$pidf" ] || continue
		pid=$(cat "$pidf")
		kill -TERM "$pid" 2>/dev/null || continue
		for i in $(seq 100); do
			alive "$pid" || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
	SERVERS=()
}
cleanup() { stop_servers; rm -rf "$T"; }
trap cleanup EXIT

# start_server NAME [KEY=VALUE...]: nbdkit in the background; sets URI, SOCK, PID.
# Fails the test if it does not come up within 20 s.
start_server() {
	local name=$1 i
	shift
	SOCK=$T/$name.sock
	local pidf=$T/$name.pid
	rm -f "$SOCK" "$pidf"
	SERVERS+=("$pidf")
	# Foreground in the background: stderr (nbdkit's errors, sanitizer reports) stays
	# ours, in the log.
	env ${ZSMEM_NBD_PRELOAD:+LD_PRELOAD=$ZSMEM_NBD_PRELOAD} \
		nbdkit -f --log=stderr -U "$SOCK" -P "$pidf" "$PLUGIN" "$@" 2>"$T/$name.log" &
	PID=$!
	for i in $(seq 200); do
		[ -S "$SOCK" ] && [ -s "$pidf" ] && break
		alive "$PID" || { cat "$T/$name.log" >&2; fail "nbdkit $* exited"; }
		sleep 0.1
	done
	[ -S "$SOCK" ] || fail "nbdkit $* did not come up"
	URI="nbd+unix:///?socket=$SOCK"
}

# stop_server: SIGTERM the last server and wait for it (its cleanup runs: stats file).
stop_server() {
	local pid=$PID i n=200
	[ -n "${ZSMEM_NBD_PRELOAD:-}" ] && n=50
	kill -TERM "$pid"
	for i in $(seq $n); do
		alive "$pid" || { wait "$pid" || true; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	if [ -n "${ZSMEM_NBD_PRELOAD:-}" ]; then
		echo "note: nbdkit under ASan stuck at exit (see the top of nbd_lib.sh): killed"
		return 0
	fi
	fail "nbdkit $pid did not exit within 20 s"
}

# Checks that the server log holds no sanitizer report.
check_log() {
	local name=$1
	if grep -E "ERROR: (Address|Leak|Thread)Sanitizer|runtime error:" "$T/$name.log" >&2; then
		fail "sanitizer report in the $name server"
	fi
}

# gen_pages FILE MiB SEED: page-like test data: text, small integers, zero and
# same-filled pages, random pages (about 10%), deterministic in SEED.
gen_pages() {
	"${NBDPY:-python3}" - "$@" <<'PY'
import random, struct, sys
path, mib, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
words = [b"the ", b"memory ", b"page ", b"return ", b"value ", b"null, ", b"{\"id\": ",
         b"object ", b"self.", b"buffer ", b"error ", b"0x7f3a"]
with open(path, "wb") as f:
    for i in range(mib * 256):
        k = rnd.randrange(100)
        if k < 8:
            page = bytes(4096)
        elif k < 12:
            page = struct.pack("<Q", rnd.getrandbits(64)) * 512
        elif k < 22:
            page = rnd.randbytes(4096)
        else:
            parts, n = [], 0
            while n < 4096:
                c = rnd.randrange(4)
                if c == 0:
                    p = b"".join(rnd.choice(words) for _ in range(rnd.randrange(4, 40)))
                elif c == 1:
                    p = b"".join(struct.pack("<I", rnd.randrange(256)) for _ in range(32))
                elif c == 2:
                    p = bytes(rnd.randrange(16, 256))
                else:
                    p = rnd.randbytes(rnd.randrange(8, 64))
                parts.append(p)
                n += len(p)
            page = b"".join(parts)[:4096]
        f.write(page)
PY
}
