#!/bin/sh
# SPDX-License-Identifier: MIT
# Every public header compiles on its own: as C11 and as C++11/C++17 (a C++ program
# must be able to include them: no C++ keywords such as `private`, extern "C" guards).
# usage: headers.sh CC CXX INCLUDE_DIR
set -eu
cc=$1 cxx=$2 inc=$3
rc=0
for h in "$inc"/zsmem/*.h; do
	name=zsmem/$(basename "$h")
	for lang in c:c11 c++:c++11 c++:c++17; do
		x=${lang%%:*} std=${lang#*:}
		comp=$cc
		[ "$x" = c++ ] && comp=$cxx
		if ! printf '#include <%s>\nint zsmem_header_check;\n' "$name" |
			"$comp" -x "$x" -std="$std" -fsyntax-only -Wall -Wextra -Werror -pedantic \
				-I"$inc" -; then
			echo "FAIL: <$name> as $std" >&2
			rc=1
		fi
	done
done
[ $rc -eq 0 ] && echo "every public header compiles as C11, C++11 and C++17"
exit $rc
