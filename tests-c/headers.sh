#!/usr/bin/env bash
# headers.sh FILE...: each FILE (a C source, or a header to include
# alone) compiles unchanged, warnings denied, as C89, C99, C11 and C++,
# with our include/ (CC and CXX name the compilers).
set -uo pipefail
. "$(dirname "$0")/../tests-sys/lib.sh"
t_begin headers
: "${CC:=cc}" "${CXX:=c++}"
warn=(-Wall -Wextra -Werror -pedantic -Iinclude -fsyntax-only)
for f in "$@"; do
	src=$f
	if [[ $f == *.h ]]; then
		src=$T_WORK/${f##*/}.c
		printf '#include <%s>\n' "${f##*/}" >"$src"
	fi
	for std in c89 c99 c11; do
		"$CC" "${warn[@]}" -std=$std "$src"
		t_check "$f as $std" $? "does not compile as $std"
	done
	"$CXX" "${warn[@]}" -x c++ "$src"
	t_check "$f as C++" $? "does not compile as C++"
done
t_end
