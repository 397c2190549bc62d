#!/usr/bin/env bash
# link.sh BUILD-DIR: programs built as users build them, against a staged
# install (make install DESTDIR=...): with pkg-config, with -lmail as
# SysV programs are, and statically with pkg-config --static. Each runs.
# MAKE and CC name the tools.
set -uo pipefail
. "$(dirname "$0")/../tests-sys/lib.sh"
t_begin link
b=$(realpath "$1")
: "${MAKE:=make}" "${CC:=cc}"
stage=$T_WORK/stage
lib=$stage/opt/liblockfile/lib
demo=tests-c/link_demo.c
warn=(-Wall -Wextra -Werror)
pc() {
	PKG_CONFIG_SYSROOT_DIR=$stage PKG_CONFIG_LIBDIR=$lib/pkgconfig \
		pkg-config "$@" liblockfile
}
t_need_cmd pkg-config pkg-config || t_end
if ! $MAKE --no-print-directory install B="$b" DESTDIR="$stage" \
	PREFIX=/opt/liblockfile >"$T_WORK/install.log" 2>&1; then
	cat "$T_WORK/install.log"
	t_fail install "make install DESTDIR=... failed"
	t_end
fi

# shellcheck disable=SC2046 # pkg-config's flags are words
"$CC" "${warn[@]}" $demo -o "$T_WORK/pc-demo" $(pc --cflags --libs) \
	&& LD_LIBRARY_PATH=$lib "$T_WORK/pc-demo" "$T_WORK/pc-demo.lock"
t_check pkg-config $? "pkg-config --cflags --libs: no working program"

"$CC" "${warn[@]}" -I"$stage/opt/liblockfile/include" $demo \
	-o "$T_WORK/mail-demo" -L"$lib" -lmail \
	&& readelf -d "$T_WORK/mail-demo" | grep 'NEEDED.*\[liblockfile\.so\.1\]' >/dev/null \
	&& LD_LIBRARY_PATH=$lib "$T_WORK/mail-demo" "$T_WORK/mail-demo.lock"
t_check lmail $? "-lmail: no working program that needs liblockfile.so.1"

# shellcheck disable=SC2046
"$CC" "${warn[@]}" $demo -o "$T_WORK/static-demo" $(pc --cflags) \
	"$lib/liblockfile.a" $(pc --static --libs-only-l --libs-only-other \
	| sed 's/-llockfile//') \
	&& ! readelf -d "$T_WORK/static-demo" | grep 'NEEDED.*liblockfile' >/dev/null \
	&& "$T_WORK/static-demo" "$T_WORK/static-demo.lock"
t_check static $? "pkg-config --static: no working program without liblockfile.so"
t_end
