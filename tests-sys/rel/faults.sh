#!/usr/bin/env bash
# faults.sh PROG [SHIM]: run the fault cases of faults.c, each on a file system
# or as a user made for it here: a full tmpfs, a tmpfs without inodes, a
# read-only bind mount, an unprivileged user. $VALGRIND, if set, is the
# command line that runs each program.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

t_begin faults
t_need_root "faults: mounting test file systems" || t_end
shim=${2:+$(realpath "$2")}
bin=$(t_copy_prog "$1")
prog=$bin/$(basename "$1")
read -ra vg <<<"${VALGRIND:-}"
w=$T_WORK

# ENOSPC: a 64 KiB tmpfs, filled by the program.
t_mount "$w/full" -t tmpfs -o size=64k,mode=755 lockfile-full
t_case enospc-data "${vg[@]}" "$prog" enospc-data "$w/full"
t_mount "$w/inodes" -t tmpfs -o size=1m,nr_inodes=16,mode=755 lockfile-inodes
t_case enospc-inodes "${vg[@]}" "$prog" enospc-inodes "$w/inodes"

# EROFS: locks planted first, then the folder bound read-only elsewhere.
mkdir -p "$w/rw"
printf '0\n' >"$w/rw/held.lock"
printf '0\n' >"$w/rw/stale.lock"
touch -d '-1000 seconds' "$w/rw/stale.lock"
t_mount "$w/ro" --bind "$w/rw"
mount -o remount,bind,ro "$w/ro"
t_case erofs "${vg[@]}" "$prog" erofs "$w/rw" "$w/ro"

# EACCES: laid out by root, run as nobody.
mkdir "$w/perm"
t_case eacces-setup "$prog" eacces-setup "$w/perm"
t_case eacces setpriv --reuid=65534 --regid=65534 --clear-groups \
	env LD_LIBRARY_PATH="$bin" "${vg[@]}" "$prog" eacces "$w/perm"

for c in dirs nametoolong fsize; do
	mkdir "$w/$c"
	t_case "$c" "${vg[@]}" "$prog" "$c" "$w/$c"
done
# Not under valgrind: it enforces RLIMIT_NOFILE itself, after the system
# call, so an open(O_CREAT) it refuses with EMFILE has created the file.
mkdir "$w/nofile"
t_case nofile "$prog" nofile "$w/nofile"
# A busy lock changing hands between link() and lstat() (shim_link.c),
# with link() failing as EEXIST says and as sshfs says (EPERM).
if [ -n "$shim" ]; then
	for e in EEXIST EPERM; do
		mkdir "$w/flicker-$e"
		t_case "flicker $e" env LD_PRELOAD="$shim" \
			SHIM_LINK_FAILS=10 SHIM_LINK_ERRNO=$e \
			"${vg[@]}" "$prog" flicker "$w/flicker-$e"
	done
	mkdir "$w/breakrace"
	t_case breakrace env LD_PRELOAD="$shim" SHIM_BREAK_RACE=1 \
		"${vg[@]}" "$prog" breakrace "$w/breakrace"
fi
t_end
