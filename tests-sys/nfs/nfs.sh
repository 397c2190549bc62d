#!/usr/bin/env bash
# nfs.sh NFS_BUILD REL_BUILD REF_BUILD DOTLOCKFILE: locking through two NFS clients.
#
# An NFSv3 server (nfs-ganesha, FSAL VFS, with its own rpcbind) exports a
# scratch folder; fuse-nfs mounts it twice, each mount a client with its
# own host name (a UTS namespace of its own), and the programs of each
# client run in that client's UTS namespace. Everything runs in a private
# network namespace (only lo) and mount namespace: nothing outside sees
# the server, and the machine's own rpcbind or NFS services (if any) are
# neither used nor touched.
#
# Twice: once with mounts that cache nothing (fuse-nfs -T 0 -E 0 -N 0,
# ?dircache=0), once with fuse-nfs's default caches. Each time:
#   basic    one client locks; the other finds it held (busy), takes it
#            after the release, and so on both ways (nfs.c)
#   stale    two waiters of one client break one stale lock: exactly
#            one wins and keeps its lock (nfs.c), 20 rounds
#   stress   2 + 2 processes x 200 rounds (the two clients' processes
#            alternate) through lockfile_create2 and through
#            "dotlockfile -r -1 -i 0": an exact counter, no overlap
#            (tests-sys/rel/contend.c)
#   debris   nothing left on the server
# and, for information, Debian's 1.17 (contend built against its static
# library) through the same mounts: its results do not count.
#
# With cached mounts a lock removed through one client may still be seen
# through the other for a moment; the programs say so ("# ... cache:")
# and wait it out, but a double holder or a lost increment fails in both
# modes.
#
# What fuse-nfs does not emulate: flock() on a FUSE mount is kept by the
# local kernel for that mount alone (the server never hears of it), and
# there is no NLM, so fcntl() locks do not reach the other mount either.
# The library's guard for two breakers of one stale lock (an exclusive
# flock on the stale file, SPEC §2.7) therefore keeps apart the breakers
# of one client only. A probe shows it (flock through one mount, then
# through the other), and "stale2", one breaker per client, is run for
# information: it shows what the remaining check (the name is still the
# judged file just before the removal) achieves alone; a kernel NFS
# client would take the guard at the server. See README, "Network and
# unusual file systems".
#
# fuse-nfs is not packaged by Debian: FUSE_NFS names the program (make
# check-nfs builds it when given its source, see mk/45-nfs.mk).
# Tunables: NFS_ROUNDS (200), NFS_STALE_ROUNDS (20).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"

if [ -z "${NFS_INNER:-}" ]; then
	t_begin nfs
	t_need_root nfs || t_end
	for c in ganesha.nfsd:nfs-ganesha rpcbind:rpcbind rpcinfo:rpcbind \
		flock:util-linux unshare:util-linux mountpoint:util-linux \
		fusermount:fuse3 ip:iproute2; do
		t_need_cmd "${c%%:*}" "${c#*:}" || t_end
	done
	if ! ls /usr/lib/*/ganesha/libfsalvfs.so >/dev/null 2>&1; then
		t_skip nfs "ganesha's VFS back end is not installed" \
			nfs-ganesha-vfs
		t_end
	fi
	if [ -z "${FUSE_NFS:-}" ] || [ ! -x "$FUSE_NFS" ]; then
		t_skip nfs "fuse-nfs is not available (not in Debian: set" \
			"FUSE_NFS=/path/to/fuse-nfs, or FUSE_NFS_SRC to its" \
			"source for make check-nfs)"
		t_end
	fi
	# Everything else in private network and mount namespaces; the
	# inner run has its own scratch folder and tally.
	rc=0
	NFS_INNER=1 timeout -k 10 "${NFS_TIMEOUT:-900}" \
		unshare --net --mount --propagation private --fork -- \
		bash "$0" "$@" || rc=$?
	case $rc in
	124 | 137)
		t_fail nfs "hang: killed after ${NFS_TIMEOUT:-900} s"
		t_end
		;;
	esac
	exit "$rc"
fi

nfs=$(realpath "$1")
rel=$(realpath "$2")
ref=$(realpath "$3")
dotlockfile=$(realpath "$4")
rounds=${NFS_ROUNDS:-200}
stale_rounds=${NFS_STALE_ROUNDS:-20}
: "${T_TIMEOUT:=300}"
export LC_ALL=C

t_begin nfs
w=$T_WORK
start=$(date +%s)

# ---- the private network and the server's run-time files
ip link set lo up
# rpcbind keeps its socket and lock in /run, ganesha its recovery state
# under /var/lib/nfs: private copies in this mount namespace.
mount -t tmpfs -o mode=755 nfs-run /run
mkdir -p /run/rpcbind
mkdir -p "$w/export" "$w/recovery" "$w/server"
chmod 777 "$w/export"

rpcbind -f -w &
rpcbind_pid=$!
t_on_exit "kill $rpcbind_pid 2>/dev/null; wait $rpcbind_pid 2>/dev/null"
for i in $(seq 1 100); do
	rpcinfo -p 127.0.0.1 >/dev/null 2>&1 && break
	sleep 0.1
done

# NFSv3 only (no NFSv4, no NLM, no RQUOTA). It listens on every address
# of this network namespace, which has only lo.
cat >"$w/server/ganesha.conf" <<CONF
NFS_CORE_PARAM {
	Protocols = 3;
	Enable_NLM = false;
	Enable_RQUOTA = false;
}
NFSV4 {
	Graceless = true;
	RecoveryRoot = "$w/recovery";
}
EXPORT {
	Export_Id = 1;
	Path = "$w/export";
	Pseudo = /export;
	Protocols = 3;
	Transports = TCP;
	Access_Type = RW;
	Squash = No_Root_Squash;
	SecType = sys;
	FSAL { Name = VFS; }
}
LOG { Default_Log_Level = WARN; }
CONF
ganesha.nfsd -F -f "$w/server/ganesha.conf" -L "$w/server/ganesha.log" \
	-p "$w/server/ganesha.pid" &
ganesha_pid=$!
t_on_exit "kill $ganesha_pid 2>/dev/null; wait $ganesha_pid 2>/dev/null"
up=
for i in $(seq 1 300); do
	if rpcinfo -p 127.0.0.1 2>/dev/null | grep mountd >/dev/null; then
		up=1
		break
	fi
	kill -0 "$ganesha_pid" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$up" ]; then
	tail -20 "$w/server/ganesha.log" >&2 || true
	t_fail server "nfs-ganesha did not come up"
	t_end
fi
echo "# NFSv3 server up after $(($(date +%s) - start)) s"

# The pid of the fuse-nfs process serving mount point $1 (it puts itself
# in the background): the one whose arguments are "-m $1".
fuse_pid() {
	local f pid args
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		{ args=$(tr '\0' '\n' <"$f"); } 2>/dev/null || continue
		if grep -Fx -- "$FUSE_NFS" <<<"$args" >/dev/null \
			&& grep -Fx -- "$1" <<<"$args" >/dev/null; then
			echo "$pid"
			return 0
		fi
	done
	return 1
}

# unmount MOUNTPOINT PID: unmount (lazily if it hangs), stop fuse-nfs.
unmount() {
	timeout 20 fusermount -u "$1" 2>/dev/null \
		|| umount -l "$1" 2>/dev/null || true
	kill "$2" 2>/dev/null || true
}

# mount_nfs NAME HOST [OPTIONS...]: the export at $w/NAME, its client
# (the fuse-nfs process) in a UTS namespace with host name HOST.
#  -a: other users and setgid programs may use it; -t 0: one thread;
#  -q: inode numbers are the server's file ids, so the two names of a
#  hard link show one inode, as through a kernel NFS client.
mount_nfs() {
	local name=$1 host=$2 url pid
	shift 2
	url="nfs://127.0.0.1$w/export${NFS_URL_OPTS:-}"
	mkdir -p "$w/$name"
	unshare --uts sh -c 'hostname "$1"; shift; exec "$@"' sh "$host" \
		"$FUSE_NFS" -n "$url" -m "$w/$name" -a -t 0 -q "$@"
	for i in $(seq 1 100); do
		mountpoint -q "$w/$name" && break
		sleep 0.1
	done
	if ! mountpoint -q "$w/$name" || ! pid=$(fuse_pid "$w/$name"); then
		t_fail "mount-$name" "fuse-nfs mount $name did not come up"
		t_end
	fi
	t_on_exit "unmount $w/$name $pid"
	mounted_pids+=("$pid")
}

# No debris on the server: no temporary file, no lock, no marker, no
# file hidden by FUSE or silly-renamed by an NFS client.
no_debris() {
	local left
	left=$(find "$w/export" -mindepth 1 \( -name '.lk*' \
		-o -name '.fuse_hidden*' -o -name '.nfs*' -o -name '*.lock' \
		-o -name marker \) -printf '%f ')
	if [ -n "$left" ]; then
		echo "left on the server: $left"
		return 1
	fi
}

# run_mode MODE FUSE-OPTIONS...: every case through fresh mounts.
run_mode() {
	local mode=$1 d
	shift
	mounted_pids=()
	mount_nfs "$mode-a" client-a "$@"
	mount_nfs "$mode-b" client-b "$@"
	local a=$w/$mode-a b=$w/$mode-b
	# What fuse-nfs does not emulate: flock through one mount does not
	# exclude a flock through the other (a kernel NFS client sends it to
	# the server as a whole-file lock).
	: >"$a/flock-probe"
	if flock -n -x "$a/flock-probe" flock -n -x "$b/flock-probe" true; then
		echo "# flock, $mode: held through one mount, taken through" \
			"the other too (kept locally per FUSE mount, no NLM)"
	else
		echo "# flock, $mode: held through one mount, busy through" \
			"the other"
	fi
	rm -f "$a/flock-probe"
	t_case "$mode-basic" "$nfs/nfs" basic "$mode" "$w/export" "$a" "$b"
	t_case "$mode-stale" "$nfs/nfs" stale "$mode" "$w/export" "$a" "$b" \
		"$stale_rounds"
	# For information: one breaker per client (see the top).
	local out
	out=$(timeout -k 5 "$T_TIMEOUT" "$nfs/nfs" stale2 "$mode" "$w/export" \
		"$a" "$b" "$stale_rounds" 2>&1) || true
	echo "# one breaker per client, $mode (not counted):" \
		"$(grep -v '^ok' <<<"$out" | grep -v '^# nfs.c' | tr '\n' ' ')"
	rm -f "$w/export/stale.lock"
	for d in create2 dotlockfile; do
		mkdir -p "$w/export/$mode-$d"
		local args=()
		[ "$d" = create2 ] || args=(-D "$dotlockfile")
		t_case "$mode-stress-$d" "$rel/contend" "${args[@]}" \
			-H client-a,client-b "$a/$mode-$d,$b/$mode-$d" 4 "$rounds"
	done
	# Debian's 1.17, for information: it may lose mutual exclusion
	# (SPEC §2.7), which is not a failure of ours.
	mkdir -p "$w/export/$mode-reference"
	local rc=0
	timeout -k 5 "${NFS_REF_TIMEOUT:-60}" "$ref/contend" \
		-H client-a,client-b "$a/$mode-reference,$b/$mode-reference" \
		4 "$rounds" >"$w/ref.out" 2>&1 || rc=$?
	case $rc in
	0) echo "# reference, $mode: $(grep '^#' "$w/ref.out" | tail -1)" ;;
	124 | 137) echo "# reference, $mode (not a failure of ours): still" \
		"running after ${NFS_REF_TIMEOUT:-60} s, killed;" \
		"$(ls -A "$w/export/$mode-reference" | tr '\n' ' ')left" ;;
	*) echo "# reference, $mode (not a failure of ours):" \
		"$(grep -v '^ok' "$w/ref.out" | tr '\n' ' ')" ;;
	esac
	rm -rf "$w/export/$mode-reference"
	if why=$(no_debris); then
		t_pass "$mode-debris"
	else
		t_fail "$mode-debris" "$why"
	fi
	rm -rf "${w:?}/export/"*
}

NFS_URL_OPTS='?dircache=0' run_mode strict -T 0 -E 0 -N 0
run_mode cached
echo "# run time: $(($(date +%s) - start)) s"
t_end
