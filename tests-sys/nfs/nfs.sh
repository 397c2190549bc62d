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
#   hosts    (strict mounts only) two hosts in PID and UTS namespaces,
#            one per client: a pid lock of a live holder on the other
#            host is never broken, 10 runs of 10 (tests-sys/diff/hosts.sh)
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
# flock on the stale file, docs/protocol.md §2.7) therefore keeps apart the breakers
# of one client only. A probe shows it (flock through one mount, then
# through the other), and "stale2", one breaker per client, is run for
# information: it shows what the remaining check (the name is still the
# judged file just before the removal) achieves alone; a kernel NFS
# client would take the guard at the server. See README, "Network and
# unusual file systems".
#
# Stalls of the emulation. The server drops (never answers) a request it
# takes for a passing shortage: a file handle whose open_by_handle_at()
# fails with ENOMEM ("Not enough memory in nfs3_FhandleToCache" in its
# log). ext4 gives that for the handle of a just removed file, seemingly
# while a new file takes its inode number, as the stress cases make
# happen hundreds of times a second. A rarer stall, with nothing in the
# server's log, remains (on ext4 and on tmpfs). A kernel NFS client would send the request
# again after its timeout; fuse-nfs (libnfs 4, one thread) waits for the
# reply forever, and every process using that mount then waits for
# fuse-nfs, some in uninterruptible sleep that not even SIGKILL ends. So:
#  - the export is a tmpfs of its own (a file's inode number is not
#    reused there, and a stale handle is ESTALE);
#  - every step runs under a watchdog. A "stall" is a request to a mount
#    left unanswered while its fuse-nfs reads nothing (no new request, no
#    reply) for NFS_STALL (30) seconds; in a working run each request is
#    answered within milliseconds. A "hang" is a step still running after
#    T_TIMEOUT (300) seconds with the mounts answering: the program
#    itself did not finish. Either way the step's processes are killed,
#    and the mounts' FUSE connections aborted (fusectl, mounted in the
#    private mount namespace) so that even processes stuck in them go;
#    the mounts are then made afresh.
# The rule: a hang always fails. A stall fails too unless the attempt
# reported nothing wrong up to then (the programs say a "violation" the
# moment they see one: an overlap, a stale lock taken twice, and any
# FAIL); then the case runs once more, on fresh mounts in a new folder,
# and the output says so ("retried once"); a second stall fails. A double
# holder or a lost increment therefore always fails, retried or not.
# Whatever happens, the whole run ends: a last watchdog outside aborts the
# listed connections after NFS_TIMEOUT (900) seconds.
#
# fuse-nfs is not packaged by Debian: FUSE_NFS names the program (make
# check-nfs builds it when given its source, see mk/45-nfs.mk).
# Tunables: NFS_ROUNDS (200), NFS_STALE_ROUNDS (20), NFS_STALL (30),
# T_TIMEOUT (300), NFS_TIMEOUT (900).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"

if [ -z "${NFS_INNER:-}" ]; then
	t_begin nfs
	t_need_root nfs || t_end
	for c in ganesha.nfsd:nfs-ganesha rpcbind:rpcbind rpcinfo:rpcbind \
		flock:util-linux unshare:util-linux mountpoint:util-linux \
		setsid:util-linux nsenter:util-linux pgrep:procps \
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
	# inner run has its own scratch folder and tally. It keeps every case
	# under its own watchdog; this one is the last resort, should the
	# inner run itself get stuck: it aborts the FUSE connections the
	# inner run listed (a process waiting for fuse-nfs ignores even
	# SIGKILL), then stops it.
	rc=0
	limit=${NFS_TIMEOUT:-900}
	NFS_INNER=1 NFS_CONNS="$T_WORK/conns" \
		unshare --net --mount --propagation private --fork -- \
		bash "$0" "$@" &
	inner=$!
	SECONDS=0
	while kill -0 "$inner" 2>/dev/null && [ "$SECONDS" -lt "$limit" ]; do
		sleep 1
	done
	if kill -0 "$inner" 2>/dev/null; then
		if [ -s "$T_WORK/conns" ]; then
			nsenter -t "$inner" -m sh -c 'while read -r c; do
				echo 1 >"/sys/fs/fuse/connections/$c/abort"
			done' <"$T_WORK/conns" 2>/dev/null || true
		fi
		# The inner bash (unshare's child) cleans up on SIGTERM.
		child=$(pgrep -P "$inner" | head -1) || true
		kill -TERM "${child:-$inner}" 2>/dev/null || true
		for i in $(seq 1 30); do
			kill -0 "$inner" 2>/dev/null || break
			sleep 1
		done
		kill -KILL "${child:-$inner}" "$inner" 2>/dev/null || true
		wait "$inner" 2>/dev/null || true
		t_fail nfs "hang: the whole run killed after $limit s"
		t_end
	fi
	wait "$inner" || rc=$?
	exit "$rc"
fi

nfs=$(realpath "$1")
rel=$(realpath "$2")
ref=$(realpath "$3")
dotlockfile=$(realpath "$4")
rounds=${NFS_ROUNDS:-200}
stale_rounds=${NFS_STALE_ROUNDS:-20}
stall=${NFS_STALL:-30}
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
# The FUSE control file system, to abort a mount whose fuse-nfs hangs.
[ -d /sys/fs/fuse/connections ] || modprobe fuse 2>/dev/null || true
mountpoint -q /sys/fs/fuse/connections \
	|| mount -t fusectl fusectl /sys/fs/fuse/connections
mkdir -p /run/rpcbind
mkdir -p "$w/export" "$w/recovery" "$w/server"
# The export is a tmpfs of its own, not a folder of the disk's file
# system: see the top (ext4 reuses a removed file's inode number at once).
t_mount "$w/export" -t tmpfs -o size=256m,mode=777 nfs-export

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
LOG {
	Default_Log_Level = WARN;
	# Says which error number a failing call on the export gave.
	COMPONENTS { FSAL = INFO; }
}
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

# The mounts of the current mode: mount point, fuse-nfs pid, and FUSE
# connection (its number under /sys/fs/fuse/connections).
m_dirs=()
m_pids=()
m_conns=()

# abort_mounts: abort the FUSE connections of the current mounts. Every
# request waiting for fuse-nfs then fails (ENOTCONN), which releases even
# processes in uninterruptible sleep; the mounts are dead afterwards.
abort_mounts() {
	local c
	for c in "${m_conns[@]}"; do
		echo 1 >"/sys/fs/fuse/connections/$c/abort" 2>/dev/null || true
	done
}

# unmount_all: unmount the current mounts and stop their fuse-nfs. A
# fuse-nfs waiting for a reply that never comes ignores SIGTERM.
unmount_all() {
	local i
	for i in "${!m_dirs[@]}"; do
		timeout 20 fusermount -u "${m_dirs[i]}" 2>/dev/null || {
			echo 1 >"/sys/fs/fuse/connections/${m_conns[i]}/abort" \
				2>/dev/null || true
			umount -l "${m_dirs[i]}" 2>/dev/null || true
		}
		kill -KILL "${m_pids[i]}" 2>/dev/null || true
	done
	m_dirs=()
	m_pids=()
	m_conns=()
}
t_on_exit unmount_all

# mount_nfs DIR HOST [OPTIONS...]: the export at DIR, its client (the
# fuse-nfs process) in a UTS namespace with host name HOST.
#  -a: other users and setgid programs may use it; -t 0: one thread;
#  -q: inode numbers are the server's file ids, so the two names of a
#  hard link show one inode, as through a kernel NFS client.
mount_nfs() {
	local dir=$1 host=$2 url pid dev
	shift 2
	url="nfs://127.0.0.1$w/export${NFS_URL_OPTS:-}"
	mkdir -p "$dir"
	unshare --uts sh -c 'hostname "$1"; shift; exec "$@"' sh "$host" \
		"$FUSE_NFS" -n "$url" -m "$dir" -a -t 0 -q "$@"
	for i in $(seq 1 100); do
		mountpoint -q "$dir" && break
		sleep 0.1
	done
	if ! mountpoint -q "$dir" || ! pid=$(fuse_pid "$dir"); then
		t_fail "mount-${dir##*/}" "fuse-nfs mount did not come up"
		t_end
	fi
	# The connection is named by the mount's device number, in the
	# kernel's encoding (major << 20 | minor).
	dev=$(mountpoint -d "$dir")
	m_dirs+=("$dir")
	m_pids+=("$pid")
	m_conns+=($((${dev%%:*} << 20 | ${dev#*:})))
	echo "${m_conns[-1]}" >>"${NFS_CONNS:-/dev/null}"
}

# mount_both MODE FUSE-OPTIONS...: fresh mounts $w/MODE-a (client-a) and
# $w/MODE-b (client-b), after unmounting the previous ones.
mount_both() {
	local mode=$1
	shift
	unmount_all
	mount_nfs "$w/$mode-a" client-a "$@"
	mount_nfs "$w/$mode-b" client-b "$@"
}

# run LIMIT OUT CMD...: run CMD (output to OUT) under a watchdog, which
# sets $run_end to
#   done   CMD ended by itself; $run_rc is its status
#   stall  a request to one of the mounts was left unanswered for $stall
#          seconds: fuse-nfs is waiting for a reply the server never
#          sends (the emulation, not the program, stopped; see the top)
#   hang   CMD was still running after LIMIT seconds, the mounts
#          answering: the program itself did not finish
# A stall or hang kills CMD (its own session), then aborts the mounts so
# that processes stuck in them go too; $run_why says what was seen.
run() {
	local limit=$1 out=$2 pid i waiting rchar c
	local -a last=() since=()
	shift 2
	run_end=done run_rc=0 run_why=
	setsid "$@" >"$out" 2>&1 &
	pid=$!
	SECONDS=0
	while kill -0 "$pid" 2>/dev/null; do
		for i in "${!m_conns[@]}"; do
			c=/sys/fs/fuse/connections/${m_conns[i]}
			waiting=$(cat "$c/waiting" 2>/dev/null) || waiting=0
			rchar=$(sed -n 's/^rchar: //p' "/proc/${m_pids[i]}/io" \
				2>/dev/null) || rchar=
			# Progress: fuse-nfs read a new request (or nothing
			# waits for it).
			[ -n "${since[i]:-}" ] || since[i]=$SECONDS
			if [ "$waiting" = 0 ] || [ "$rchar" != "${last[i]:-}" ]; then
				last[i]=$rchar
				since[i]=$SECONDS
			elif [ $((SECONDS - since[i])) -ge "$stall" ]; then
				run_end=stall
				run_why="${m_dirs[i]##*/}: $waiting request(s)"
				run_why+=" unanswered for $((SECONDS - since[i])) s"
				break 2
			fi
		done
		if [ "$SECONDS" -ge "$limit" ]; then
			run_end=hang
			run_why="still running after $limit s"
			break
		fi
		sleep 0.5
	done
	if [ "$run_end" = stall ]; then
		ss -tinH state established 2>/dev/null | awk '
			/^[0-9]/ { c = $3 ">" $4; next }
			{ s = r = "?"
			  for (i = 1; i <= NF; i++) {
				if ($i ~ /^bytes_sent:/) s = substr($i, 12)
				if ($i ~ /^bytes_received:/) r = substr($i, 16)
			  }
			  print "# tcp " c ": sent " s ", received " r }' \
			>"$w/sockets" || true
	fi
	if [ "$run_end" != done ]; then
		# (bash's own "Killed" notice is not wanted here)
		exec 4>&2 2>/dev/null
		kill -KILL -- -"$pid" 2>/dev/null || true
		abort_mounts
		for i in $(seq 1 60); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.5
		done
		if kill -0 "$pid" 2>/dev/null; then
			exec 2>&4 4>&-
			run_why="$run_why; still there after the abort"
			return 0
		fi
	fi
	wait "$pid" || run_rc=$?
	[ "$run_end" = done ] || exec 2>&4 4>&-
	return 0
}

# nfs_case MODE NAME CMD...: a counted case, working in its own folder
# NAME on the server (made here). A stall of the emulation is
# retried once, on fresh mounts, unless the attempt reported a violation
# (a line with "violation", or a FAIL): see the top. Anything else that
# does not end with status 0 fails.
nfs_case() {
	local mode=$1 name=$2 orig=$2 attempt out arg args
	shift 2
	mkdir -p "$w/export/$name"
	for attempt in 1 2; do
		out=$w/$name.$attempt.out
		run "$T_TIMEOUT" "$out" "$@"
		cat "$out"
		case $run_end in
		done)
			case $run_rc in
			0) t_pass "$orig" ;;
			77) t_skip "$orig" "the program skipped it (see above)" ;;
			*) t_fail "$orig" "exit status $run_rc" ;;
			esac
			return 0
			;;
		hang)
			t_fail "$orig" "hang: $run_why"
			mount_both "$mode" "${mode_opts[@]}"
			return 0
			;;
		esac
		# A stall: what the server said last, and the bytes each end
		# of each NFS connection sent and received (all delivered and
		# no reply: the server never answered).
		grep -v ' :EVENT :' "$w/server/ganesha.log" | tail -3 \
			| sed 's/^[^[]*\[/# ganesha: [/'
		cat "$w/sockets" 2>/dev/null || true
		if grep -Eqi 'violation|^FAIL' "$out"; then
			t_fail "$orig" "the NFS emulation stalled ($run_why)" \
				"after a violation (above): not retried"
			mount_both "$mode" "${mode_opts[@]}"
			return 0
		fi
		if [ "$attempt" = 2 ]; then
			t_fail "$orig" "the NFS emulation stalled again" \
				"($run_why)"
			mount_both "$mode" "${mode_opts[@]}"
			return 0
		fi
		echo "# $orig: the NFS emulation stalled ($run_why), with" \
			"no violation before it; retried once on fresh mounts"
		nfs_retries=$((nfs_retries + 1))
		# The retry works in a new folder: the server's cache would
		# still know a folder of the old name removed behind its back.
		rm -rf "${w:?}/export/$name"
		mount_both "$mode" "${mode_opts[@]}"
		name=$orig.retry
		args=()
		for arg in "$@"; do
			args+=("${arg//"/$orig"/"/$name"}")
		done
		set -- "${args[@]}"
		mkdir "$w/export/$name"
	done
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

# info MODE NAME LIMIT CMD...: a step run for information only (in its
# own folder NAME on the server); prints its output, returns its status,
# and says so if it stalled or hung (then the mounts are made afresh).
info() {
	local mode=$1 name=$2 limit=$3
	shift 3
	mkdir -p "$w/export/$name"
	run "$limit" "$w/$name.out" "$@"
	if [ "$run_end" != done ]; then
		echo "# $name (not counted): $run_end: $run_why"
		mount_both "$mode" "${mode_opts[@]}"
		return 124
	fi
	return "$run_rc"
}

# run_mode MODE FUSE-OPTIONS...: every case through fresh mounts, each in
# its own folder on the server.
run_mode() {
	local mode=$1 d a=$w/$1-a b=$w/$1-b
	shift
	mode_opts=("$@")
	mount_both "$mode" "$@"
	# What fuse-nfs does not emulate: flock through one mount does not
	# exclude a flock through the other (a kernel NFS client sends it to
	# the server as a whole-file lock).
	d=$mode-flock
	if info "$mode" "$d" 60 sh -c ': >"$1/flock-probe" && exec flock -n \
		-x "$1/flock-probe" flock -n -x "$2/flock-probe" true' sh \
		"$a/$d" "$b/$d"; then
		echo "# flock, $mode: held through one mount, taken through" \
			"the other too (kept locally per FUSE mount, no NLM)"
	elif [ $? = 1 ]; then
		echo "# flock, $mode: held through one mount, busy through" \
			"the other"
	fi
	rm -rf "${w:?}/export/$d"
	d=$mode-basic
	nfs_case "$mode" "$d" "$nfs/nfs" basic "$mode" "$w/export/$d" \
		"$a/$d" "$b/$d"
	d=$mode-stale
	nfs_case "$mode" "$d" "$nfs/nfs" stale "$mode" "$w/export/$d" \
		"$a/$d" "$b/$d" "$stale_rounds"
	# For information: one breaker per client (see the top).
	d=$mode-stale2
	info "$mode" "$d" "$T_TIMEOUT" "$nfs/nfs" stale2 "$mode" \
		"$w/export/$d" "$a/$d" "$b/$d" "$stale_rounds" || true
	echo "# one breaker per client, $mode (not counted):" \
		"$(grep -v '^ok' "$w/$d.out" | grep -v '^# nfs.c' | tr '\n' ' ')"
	rm -f "$w/export/$d/stale.lock"
	# Two hosts in PID and UTS namespaces of their own, each through its
	# own client (tests-sys/diff/hosts.sh, docs/holder-identity.md): B
	# never takes A's live pid lock, takes it after A's release, and
	# after A is killed only by the age rule. Strict mounts only: through
	# caching mounts B may see a released or backdated lock late.
	if [ "$mode" = strict ]; then
		local checks="live_holder_kept taken_after_release"
		checks+=" killed_holder_waited_for killed_holder_recovered_by_age"
		d=$mode-hosts
		nfs_case "$mode" "$d" env LOCK_A="$a/$d/box.lock" \
			LOCK_B="$b/$d/box.lock" HOSTS_CHECKS="$checks" \
			"$here/../diff/hosts.sh" "$dotlockfile" none \
			"${NFS_HOSTS_RUNS:-10}"
	fi
	for d in create2 dotlockfile; do
		local args=()
		[ "$d" = create2 ] || args=(-D "$dotlockfile")
		d=$mode-stress-$d
		nfs_case "$mode" "$d" "$rel/contend" "${args[@]}" \
			-H client-a,client-b "$a/$d,$b/$d" 4 "$rounds"
	done
	# Debian's 1.17, for information: it may lose mutual exclusion
	# (docs/protocol.md §2.7), which is not a failure of ours.
	d=$mode-reference
	local rc=0
	info "$mode" "$d" "${NFS_REF_TIMEOUT:-60}" "$ref/contend" \
		-H client-a,client-b "$a/$d,$b/$d" 4 "$rounds" || rc=$?
	case $rc in
	0) echo "# reference, $mode: $(grep '^#' "$w/$d.out" | tail -1)" ;;
	124) echo "# reference, $mode (not a failure of ours): killed;" \
		"$(ls -A "$w/export/$d" | tr '\n' ' ')left" ;;
	*) echo "# reference, $mode (not a failure of ours):" \
		"$(grep -v '^ok' "$w/$d.out" | tr '\n' ' ')" ;;
	esac
	rm -rf "${w:?}/export/$d"
	if why=$(no_debris); then
		t_pass "$mode-debris"
	else
		t_fail "$mode-debris" "$why"
	fi
	unmount_all
	rm -rf "${w:?}/export/"*
}

nfs_retries=0
NFS_URL_OPTS='?dircache=0' run_mode strict -T 0 -E 0 -N 0
run_mode cached
echo "# run time: $(($(date +%s) - start)) s; stalls of the NFS emulation" \
	"retried: $nfs_retries"
t_end
