#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# No two files calling each other in a loop (the team rule), checked mechanically.
#
#   scripts/check-calls.sh [-v] OBJ...        the files' call graph: A -> B when A.o uses
#                                             a symbol (function or variable) B.o defines
#   scripts/check-calls.sh [-v] --includes DIR  the #include "..." graph of DIR's files
#
# OBJ may also be one ';'-separated list (CMake's $<TARGET_OBJECTS:...>). The graph goes
# through tsort: exit 0 if it is a DAG, 1 with the loop printed if not. -v prints the
# edges. Symbols come from nm, so every call is seen, including through inline helpers
# that the compiler did not inline and calls into other subsystems' files.
set -euo pipefail

verbose=0
if [ "${1:-}" = -v ]; then
	verbose=1
	shift
fi
[ $# -ge 1 ] || { echo "usage: $0 [-v] OBJ... | [-v] --includes DIR" >&2; exit 2; }

edges=$(mktemp)
trap 'rm -f "$edges"' EXIT

name() {	# zram_drv.c.o -> zram_drv.c
	local b
	b=$(basename "$1")
	echo "${b%.o}"
}

if [ "$1" = --includes ]; then
	dir=$2
	# Resolve "x.h" beside the includer first, then from the src/ root (-I src).
	root=$(cd "$dir" && git rev-parse --show-toplevel 2>/dev/null || pwd)/src
	while IFS= read -r f; do
		{ grep -o '^#include "[^"]*"' "$f" || true; } | sed 's/^#include "\(.*\)"$/\1/' |
		while IFS= read -r inc; do
			for cand in "$(dirname "$f")/$inc" "$root/$inc"; do
				if [ -f "$cand" ]; then
					echo "$(realpath --relative-to="$root" "$f")" \
					     "$(realpath --relative-to="$root" "$cand")"
					break
				fi
			done
		done
	done < <(find "$dir" -name '*.[ch]' | sort) > "$edges"
else
	objs=()
	for a in "$@"; do
		IFS=';' read -r -a parts <<< "$a"
		objs+=("${parts[@]}")
	done
	# "D file sym" for each definition, "U file sym" for each use; one awk pass joins them.
	for o in "${objs[@]}"; do
		n=$(name "$o")
		nm --defined-only "$o" | awk -v f="$n" '$2 ~ /^[TDBRV]$/ { print "D", f, $3 }'
		nm --undefined-only "$o" | awk -v f="$n" '{ print "U", f, $2 }'
	done | awk '$1 == "D" { def[$3] = $2; next }
		    { use[NR] = $2 " " $3 }
		    END { for (i in use) { split(use[i], u, " ");
				if ((u[2] in def) && def[u[2]] != u[1]) print u[1], def[u[2]] } }' |
		sort -u > "$edges"
fi

[ "$verbose" = 1 ] && sed 's/ / -> /' "$edges"
if ! tsort "$edges" > /dev/null 2> "$edges.err"; then
	echo "check-calls: loop found:" >&2
	cat "$edges.err" >&2
	rm -f "$edges.err"
	exit 1
fi
rm -f "$edges.err"
echo "check-calls: $(wc -l < "$edges") edges, no loop"
