#!/usr/bin/env bash
# Locks across "hosts" (issue #21, docs/protocol.md §3, docs/holder-identity.md): PID
# and UTS namespaces on one local file system stand in for two hosts or
# two containers sharing a spool. Host A takes box.lock with
# `dotlockfile -p` and holds it; host B runs `dotlockfile -p -r 1
# box.lock`. Every check runs with our dotlockfile and with Debian's 1.17;
# those docs/fixes.md marks "we fix" must fail on 1.17 (or the claim is stale) and
# pass on ours, every time.
#
#   hosts.sh OUR_DOTLOCKFILE REF_DOTLOCKFILE|none [RUNS]
#
# RUNS (default 10) is how often the live-holder check is repeated. Needs
# root (unshare). With REF "none" only ours runs. The environment may
# name the lock as each host sees it, LOCK_A and LOCK_B (by default one
# file in the scratch folder; the NFS harness gives the same file through
# two client mounts), and the checks to run, HOSTS_CHECKS (default all).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
t_begin hosts
t_need_root hosts || t_end
ours=$(realpath "$1") ref=$2 runs=${3:-10}
[[ $ref == none ]] || ref=$(realpath "$ref")
if ! unshare -p -u -f --mount-proc --kill-child true 2>/dev/null; then
	t_skip hosts "unshare -p -u cannot make namespaces here" util-linux
	t_end
fi
cd "$T_WORK" || t_end
export W=$T_WORK
export LOCK_A=${LOCK_A:-$T_WORK/box.lock}
export LOCK_B=${LOCK_B:-$LOCK_A}
# The lock as this script sees it (through A's mount).
export LOCK=$LOCK_A
t_cleanups+=('rm -f "$LOCK"')

# on_host NAME BURN SCRIPT: run the shell SCRIPT as a child of the first
# process of new PID and UTS namespaces named NAME (so that -p, which
# writes the parent's pid, names a shell of that host that is not its
# pid 1), after BURN short-lived processes: pids in a new namespace are
# handed out from 1 up, so A (BURN 40) holds with a pid near 42 that B
# (BURN 0) does not have, as with two real hosts; with equal BURN, A's
# holder has the pid of B's shell. The host is the process unshare(1) (exec'd: killing the
# background job of on_host kills the whole host).
on_host() {
	exec unshare -p -u -f --mount-proc --kill-child sh -c '
		hostname "$0"
		i=0; while [ $i -lt "$1" ]; do /bin/true; i=$((i + 1)); done
		sh -c "$2"
		exit $?' "$1" "$2" "$3"
}

# wait_file F: until F exists, at most 30 s; 1 if it never does.
wait_file() {
	local i
	for ((i = 0; i < 600; i++)); do
		[[ -e $1 ]] && return 0
		sleep 0.05
	done
	return 1
}

# Host A: take the lock, say so, hold it until A.go, then remove it with
# `dotlockfile $A_UNLOCK` (plain -u unless told) and record the status.
A_SCRIPT='"$DL" -p -r 0 "$LOCK_A" || exit 9
: >"$W/A.held"
while [ ! -e "$W/A.go" ]; do sleep 0.05; done
"$DL" ${A_UNLOCK:--u} "$LOCK_A"
echo $? >"$W/A.urc"'
# Host B: try once more after the first attempt (5 s later), record the
# exit status.
B_SCRIPT='"$DL" -p -r 1 "$LOCK_B"; echo $? >"$W/B.rc"'

# start_a: host A takes the lock; its on_host process is $a_pid.
start_a() {
	rm -f "$W"/A.* "$W"/B.* "$LOCK"
	on_host alpha 40 "$A_SCRIPT" &
	a_pid=$!
	wait_file "$W/A.held" || { echo "host A never took the lock"; return 1; }
}

# release_a: let A go on (to unlock) and wait for it to end.
release_a() {
	: >"$W/A.go"
	wait "$a_pid"
}

# b_try: host B's attempt; prints its exit status.
b_try() {
	(on_host beta "${B_BURN:-0}" "$B_SCRIPT")
	cat "$W/B.rc"
}

# first_line F: the pid line of a lock.
first_line() { head -n 1 "$1" 2>/dev/null; }

# ---------------------------------------------------------------- checks
# Each takes DL from the environment and returns 0 if the behaviour of
# docs/protocol.md §3 (2026-12) showed.

# A live holder on another host is never broken: B exits 4 (L_MAXTRYS)
# and A's lock is untouched, RUNS times out of RUNS; after A releases, B
# takes the lock.
live_holder_kept() {
	local i kept=0 before rc
	for ((i = 1; i <= runs; i++)); do
		start_a || return 1
		before=$(cat "$LOCK")
		rc=$(b_try)
		if [[ $rc == 4 && $(cat "$LOCK" 2>/dev/null) == "$before" ]]; then
			kept=$((kept + 1))
		fi
		release_a
	done
	echo "B left A's live lock alone in $kept of $runs runs"
	((kept == runs))
}

taken_after_release() {
	start_a || return 1
	release_a
	[[ ! -e $LOCK ]] || { echo "A's -u left the lock"; return 1; }
	local rc
	rc=$(b_try)
	echo "B after A released: exit $rc"
	[[ $rc == 0 && -e $LOCK ]]
}

# A killed: its lock stays; B must wait while it is fresh (B cannot know
# that A is gone) ...
killed_holder_waited_for() {
	start_a || return 1
	kill -KILL "$a_pid"
	wait "$a_pid" 2>/dev/null
	local rc
	rc=$(b_try)
	echo "B on a fresh lock of a killed holder: exit $rc"
	[[ $rc == 4 ]]
}

# ... and takes it by the age rule once it is 300 s old (backdated).
killed_holder_recovered_by_age() {
	start_a || return 1
	kill -KILL "$a_pid"
	wait "$a_pid" 2>/dev/null
	# Both times, as tests-sys/nfs/nfs.c backdates its stale locks.
	touch -d '10 minutes ago' "$LOCK"
	local rc
	rc=$(b_try)
	echo "B on a 10-minute-old lock of a killed holder: exit $rc"
	[[ $rc == 0 ]]
}

# The reverse: a killed holder whose pid exists on B (B's own shell) and
# whose lock is 10 minutes old is not held for ever: the age rule
# decides, not B's unrelated process.
reused_pid_recovered_by_age() {
	export B_BURN=40
	killed_holder_recovered_by_age
}

# A lock of this host's name from an earlier boot (another boot id, older
# than this boot) is broken at once, even though its pid (this shell's)
# is alive here.
earlier_boot_broken() {
	rm -f "$LOCK"
	local ns boot_start rc
	ns=$(stat -L -c %i /proc/self/ns/pid)
	printf '%s\nlockid/1 host=%s boot=00000000-0000-4000-8000-000000000000 pidns=%s\n' \
		$$ "$(uname -n)" "$ns" >"$LOCK"
	boot_start=$(($(date +%s) - $(cut -d. -f1 /proc/uptime)))
	touch -m -d "@$((boot_start - 60))" "$LOCK"
	sh -c '"$DL" -p -r 0 "$LOCK"; echo $? >"$W/E.rc"'
	rc=$(cat "$W/E.rc")
	echo "this host, an earlier boot, live pid $$: exit $rc"
	[[ $rc == 0 && $(first_line "$LOCK") != "$$" ]]
}

# After a legitimate takeover by B (A's lock aged out while A still
# held it), A's `dotlockfile -u -p` refuses (exit 4) and B's lock stays.
unlock_p_refuses() {
	export A_UNLOCK=-up
	start_a || return 1
	# Both times, as tests-sys/nfs/nfs.c backdates its stale locks.
	touch -d '10 minutes ago' "$LOCK"
	local rc taken
	rc=$(b_try)
	taken=$(cat "$LOCK")
	release_a
	echo "B took the aged lock: exit $rc; A's -u -p: exit $(cat "$W/A.urc")"
	[[ $rc == 0 && $(cat "$W/A.urc") == 4 && $(cat "$LOCK" 2>/dev/null) == "$taken" ]]
}

# The same with plain -u: A removes B's lock, as 1.17 does (documented in
# dotlockfile(1)): -u does not look at the lock.
unlock_plain_removes() {
	start_a || return 1
	# Both times, as tests-sys/nfs/nfs.c backdates its stale locks.
	touch -d '10 minutes ago' "$LOCK"
	local rc
	rc=$(b_try)
	release_a
	echo "B took the aged lock: exit $rc; A's plain -u: exit $(cat "$W/A.urc")"
	[[ $rc == 0 && $(cat "$W/A.urc") == 0 && ! -e $LOCK ]]
}

# run_check NAME WHICH: run check NAME with our dotlockfile and 1.17's.
# WHICH: "both" (both must pass) or "fix" (ours must pass, 1.17 must
# fail: docs/ "we fix").
run_check() {
	local name=$1 which=$2 out rc
	[[ -z ${HOSTS_CHECKS:-} || " $HOSTS_CHECKS " == *" $name "* ]] || return 0
	out=$(export DL=$ours; "$name" 2>&1)
	rc=$?
	echo "# ours: $out"
	t_check "$name-ours" "$rc" "$out"
	[[ $ref != none ]] || return 0
	out=$(export DL=$ref; "$name" 2>&1)
	rc=$?
	echo "# 1.17: $out"
	if [[ $which == both ]]; then
		t_check "$name-ref" "$rc" "$out"
	elif [[ $rc != 0 ]]; then
		t_pass "$name-ref (fails on 1.17, as docs/fixes.md says: we fix)"
	else
		t_fail "$name-ref" "1.17 passes a 'we fix' check: the claim is stale"
	fi
}

export -f on_host wait_file first_line
export A_SCRIPT B_SCRIPT

run_check live_holder_kept fix
run_check taken_after_release both
run_check killed_holder_waited_for fix
run_check killed_holder_recovered_by_age both
run_check reused_pid_recovered_by_age fix
run_check earlier_boot_broken fix
run_check unlock_p_refuses fix
run_check unlock_plain_removes both

[[ $ref != none && -z ${HOSTS_CHECKS:-} ]] || t_end

# ------------------------------------------------ 1.17 and ours, mixed
# Our identity line does not disturb 1.17's readers (they read the pid
# with atoi) and 1.17's bare pid keeps its old meaning for ours.

# mixed NAME WRITER READER...: WRITER's dotlockfile -p, run by a shell
# that waits for M.go, writes the lock; each READER says valid while the
# shell lives and stale after it ended. A READER is a command line
# ending in the lock's name.
mixed() {
	local name=$1 writer=$2 r ok=1 s
	shift 2
	rm -f "$LOCK" "$W"/M.*
	sh -c '"$0" -p -r 0 "$LOCK" && : >"$W/M.held" && while [ ! -e "$W/M.go" ]; do sleep 0.05; done' "$writer" &
	s=$!
	wait_file "$W/M.held" || { t_fail "$name" "the writer never took the lock"; return; }
	for r in "$@"; do
		$r "$LOCK" || { echo "# $r: not valid while the writer lives"; ok=0; }
	done
	: >"$W/M.go"
	wait "$s"
	for r in "$@"; do
		! $r "$LOCK" || { echo "# $r: valid after the writer ended"; ok=0; }
	done
	t_check "$name" "$((1 - ok))" "see above"
}

mixed ours-lock-read-by-1.17 "$ours" "$ref -c -p"
if command -v lockfile-check >/dev/null && ldd "$(command -v lockfile-check)" |
	grep -q 'liblockfile.so.1 => /lib\|liblockfile.so.1 => /usr/lib'; then
	mixed ours-lock-read-by-lockfile-progs "$ours" "lockfile-check --use-pid --lock-name"
else
	t_skip ours-lock-read-by-lockfile-progs "lockfile-check on the system's liblockfile" lockfile-progs
fi
mixed 1.17-lock-read-by-ours "$ref" "$ours -c -p"
t_end
