# lib.sh - shared by the reliability test scripts (sourced, not run).
#
# Each script works in its own folder under /tmp (world-readable, so that
# a second user can run the programs copied there), and unmounts and
# removes everything it made on exit, whatever happened.

rel_pass=0
rel_fail=0
rel_mounts=()
rel_cleanups=()

# rel_need_root WHAT: print SKIP and exit 0 unless we are root.
rel_need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: $1 needs root"
		exit 0
	fi
}

# rel_need CMD...: print SKIP and exit 0 if a command is missing.
rel_need() {
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1; then
			echo "SKIP: $c is not installed"
			exit 0
		fi
	done
}

rel_cleanup() {
	local i
	for ((i = ${#rel_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${rel_cleanups[i]}" || true
	done
	for ((i = ${#rel_mounts[@]} - 1; i >= 0; i--)); do
		umount "${rel_mounts[i]}" 2>/dev/null \
			|| umount -l "${rel_mounts[i]}" 2>/dev/null || true
	done
	if [ -n "${rel_work:-}" ] && [ -d "$rel_work" ]; then
		rm -rf "$rel_work"
	fi
}

# rel_setup NAME: make the work folder $rel_work and arm the cleanup.
rel_setup() {
	rel_work=$(mktemp -d "/tmp/lockfile-$1.XXXXXX")
	chmod 755 "$rel_work"
	trap rel_cleanup EXIT
	trap 'exit 130' INT TERM HUP
}

# rel_mount MOUNTPOINT ARGS...: mount and remember to unmount.
rel_mount() {
	local where=$1
	shift
	mkdir -p "$where"
	mount "$@" "$where"
	rel_mounts+=("$where")
}

# rel_on_exit CMD: run CMD (a string) at exit, before the unmounts.
rel_on_exit() {
	rel_cleanups+=("$1")
}

# rel_copy_prog PROG...: copy programs and the library they use into a
# world-readable folder (root's home is closed to other users); prints
# the folder.
rel_copy_prog() {
	local bin=$rel_work/bin lib
	mkdir -p "$bin"
	for p in "$@"; do
		cp "$p" "$bin/"
	done
	if [ -n "${LD_LIBRARY_PATH:-}" ]; then
		for lib in "${LD_LIBRARY_PATH%%:*}"/liblockfile.so*; do
			[ -e "$lib" ] && cp -P "$lib" "$bin/"
		done
	fi
	chmod -R a+rX "$bin"
	echo "$bin"
}

# rel_case NAME CMD...: run one case, count it, and keep going.
rel_case() {
	local name=$1 rc=0
	shift
	"$@" || rc=$?
	if [ "$rc" = 0 ]; then
		rel_pass=$((rel_pass + 1))
	else
		# A case that cannot run as root has no excuse: a failure.
		echo "FAIL $name: exit status $rc"
		rel_fail=$((rel_fail + 1))
	fi
}

# rel_done WHAT: print the tally; the exit status says whether all passed.
rel_done() {
	echo "$1: $rel_pass passed, $rel_fail failed"
	[ "$rel_fail" = 0 ]
}
