#!/bin/sh
# SPDX-License-Identifier: MIT
# run_check.sh LAUNCHER WANT_RC WANT_EVICTIONS(yes|no|none) -- CMD ARGS
# Runs CMD under `LAUNCHER --max-resident 16M --size 1G --stats`, then checks its exit
# status and the preload's statistics line:
#   yes   memory was placed in the region and evicted (evictions > 0);
#   none  nothing was placed (no statistics line) and stdout equals a plain run's.
# Exit 0 pass, 1 fail, 77 when the machine has no usable userfaultfd.
set -u
launcher=$1 want_rc=$2 want=$3
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$launcher" --max-resident 16M --size 1G --stats -- "$@" >"$tmp/out" 2>"$tmp/err"
rc=$?
cat "$tmp/err" >&2
if grep -q 'zsr_create: Operation not permitted' "$tmp/err"; then
	echo "run_check: no usable userfaultfd: skip" >&2
	exit 77
fi
if [ "$rc" != "$want_rc" ]; then
	echo "run_check: exit status $rc, want $want_rc" >&2
	exit 1
fi
# One line per process that placed memory (children that exec'd a program too).
stat=$(grep "^zsmem-run: pid=" "$tmp/err")
case $want in
yes)
	if ! printf '%s\n' "$stat" | grep -q ' evictions=[1-9]'; then
		echo "run_check: nothing placed or evicted" >&2
		exit 1
	fi
	;;
none)
	if [ -n "$stat" ]; then
		echo "run_check: something was placed: '$stat'" >&2
		exit 1
	fi
	"$@" >"$tmp/plain" 2>/dev/null
	if ! cmp -s "$tmp/out" "$tmp/plain"; then
		echo "run_check: output differs from a plain run" >&2
		exit 1
	fi
	;;
esac
echo "run_check: ok" >&2
exit 0
