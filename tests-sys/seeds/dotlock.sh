#!/usr/bin/env bash
# dotlock(1) as users run it: --status as root and as an unprivileged
# user on their own mailbox, and the rules that take real time (docs/other-systems.md §7):
# a quiet foreign dot-lock broken after about 30 s under flock, not
# without flock (-L) and not while the mailbox changes; our own dot-lock
# refreshed every 15 s while the command runs. The same rules are proven
# with an injected clock in the unit tests (crates/core/src/mbox/tests.rs); here the
# real program is timed, with margins wide enough for a loaded machine.
# Usage: dotlock.sh --dotlock P --dotlockfile P --popsession P --libdir D
. "$(dirname "$0")/lib.sh"

TEST_USER=lockfile-seeds

# as WHO CMD...: run CMD as root or as the test user, in place of the
# shell (call it in a subshell: `as ... &` or `$(as ...)`).
as() {
	local who=$1
	shift
	if [[ $who == root ]]; then exec "$@"; fi
	exec runuser -u "$TEST_USER" -- "$@"
}

# stop_holder PID: end PID and what it runs.
stop_holder() {
	kill_tree "$1"
	wait "$1" 2>/dev/null || true
}
kill_tree() {
	local c
	for c in $(pgrep -P "$1" || true); do kill_tree "$c"; done
	kill "$1" 2>/dev/null || true
}

# status WHO WANT-EXIT PATTERN...: dotlock --status as WHO exits
# WANT-EXIT and prints every PATTERN (extended regular expressions).
status() {
	local who=$1 want=$2 rc=0 out pat
	shift 2
	out=$(as "$who" "$BIN/dotlock" --status "$MBOX" 2>&1) || rc=$?
	[[ $rc == "$want" ]] || fail "as $who: exit $rc, want $want: $out"
	for pat in "$@"; do
		grep -E -- "$pat" <<<"$out" >/dev/null || fail "as $who: no /$pat/ in: $out"
	done
}

# wait_file F: until F exists.
wait_file() {
	until [[ -e $1 ]]; do sleep 0.02; done
}

status_for() {
	local who=$1 h dead
	MBOX=$SCRATCH/$who/mbox
	mkdir -p "${MBOX%/*}"
	: >"$MBOX"
	[[ $who == root ]] || chown -R "$TEST_USER" "${MBOX%/*}"
	chmod 700 "${MBOX%/*}"
	status "$who" 0 '^dot-lock .*: none$' '^flock: none$' '^fcntl: none$'
	# flock(1), run by the same user.
	as "$who" flock "$MBOX" sh -c ': >"$0.ready"; exec sleep 600' "$MBOX" &
	h=$!
	wait_file "$MBOX.ready"
	status "$who" 1 "^flock: held, WRITE, by pid [0-9]+ \(flock\), running since 20[0-9-]+ [0-9:]+ UTC$" \
		'^fcntl: none$'
	# A dot-lock of a live process (the flock holder's).
	echo "$h" >"$MBOX.lock"
	[[ $who == root ]] || chown "$TEST_USER" "$MBOX.lock"
	status "$who" 1 "^dot-lock .*: held by pid $h \\([a-z]+\\), running since .*; written [0-9]+ s ago; stale in [0-9]+ s by its age"
	stop_holder $h
	rm -f "$MBOX.lock"
	# An fcntl holder.
	rm -f "$MBOX.ready"
	as "$who" python3 -c 'import fcntl,sys,time
f = open(sys.argv[1], "r+"); fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[1] + ".ready", "w").close(); time.sleep(600)' "$MBOX" &
	h=$!
	wait_file "$MBOX.ready"
	status "$who" 1 '^fcntl: held, WRITE bytes 0-EOF, by pid [0-9]+ \(python3\), running since ' \
		'^flock: none$'
	stop_holder $h
	# A dot-lock of a dead process.
	sh -c 'echo $$' >"$SCRATCH/dead"
	dead=$(cat "$SCRATCH/dead")
	echo "$dead" >"$MBOX.lock"
	status "$who" 1 "^dot-lock .*: held by pid $dead, which is not running; .*stale now for waiters that check the pid" \
		'^flock: none$' '^fcntl: none$'
	rm -f "$MBOX.lock"
	status "$who" 0 '^dot-lock .*: none$'
}

dotlock_status_as_root_and_user() {
	[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (a test user)"; exit 77; }
	command -v python3 >/dev/null || { echo "SKIP: python3 (apt-get install python3)"; exit 77; }
	t_user "$TEST_USER"
	BIN=$SCRATCH/bin
	mkdir -p "$BIN"
	cp "$DOTLOCK" "$BIN/"
	chmod -R a+rX "$SCRATCH"
	status_for root
	status_for user
}

# The 30 s rule and the 15 s refresh, side by side.
dotlock_stale_and_refresh_in_real_time() {
	local d s t0 quiet_done= elapsed refreshed
	for d in quiet noflock busy refresh; do
		mkdir -p "$SCRATCH/$d"
		: >"$SCRATCH/$d/mbox"
	done
	for d in quiet noflock busy; do echo 0 >"$SCRATCH/$d/mbox.lock"; done
	t0=$(date +%s)
	"$DOTLOCK" "$SCRATCH/quiet/mbox" true &
	local qc=$!
	"$DOTLOCK" -L "$SCRATCH/noflock/mbox" true &
	local nc=$!
	"$DOTLOCK" "$SCRATCH/busy/mbox" true &
	local bc=$!
	# The command notes the time its dot-lock first changes.
	"$DOTLOCK" "$SCRATCH/refresh/mbox" sh -c '
		f=$0.lock; first=$(stat -c %y "$f"); start=$(date +%s)
		while [ "$(stat -c %y "$f")" = "$first" ]; do
			[ $(($(date +%s) - start)) -lt 120 ] || exit 1
			sleep 0.2
		done
		echo $(($(date +%s) - start)) >"$0.refreshed"' "$SCRATCH/refresh/mbox" &
	local rc=$!
	# The three have seen their foreign lock once they wait; the 45 s
	# after which -L and busy must still wait count from then.
	local p t1
	for p in $qc $nc $bc; do
		t_wait_blocked $p $T_SLEEPS || fail "dotlock did not wait for a held dot-lock"
	done
	t1=$(date +%s)
	# The holder of busy's dot-lock writes to the mailbox every 3 s.
	while :; do
		echo "From x" >>"$SCRATCH/busy/mbox"
		if [[ -z $quiet_done ]] && ! running $qc; then
			quiet_done=$(($(date +%s) - t0))
		fi
		[[ -n $quiet_done ]] && (($(date +%s) - t1 >= 45)) && break
		(($(date +%s) - t0 < 150)) || fail "the quiet foreign lock was never broken"
		sleep 3
	done
	wait $qc || fail "dotlock on the quiet lock failed"
	((quiet_done >= 29)) || fail "a quiet lock broken after $quiet_done s (< 30)"
	echo "  # a quiet foreign dot-lock was broken after about $quiet_done s"
	running $nc || fail "broke a lock without flock (-L)"
	running $bc || fail "broke a lock while the mailbox changed"
	[[ $(cat "$SCRATCH/noflock/mbox.lock") == 0 && $(cat "$SCRATCH/busy/mbox.lock") == 0 ]] \
		|| fail "a foreign lock changed"
	kill $nc $bc
	wait $rc || fail "our dot-lock was not refreshed within 120 s"
	refreshed=$(cat "$SCRATCH/refresh/mbox.refreshed")
	((refreshed >= 14)) || fail "refreshed after $refreshed s (< 15)"
	echo "  # our own dot-lock was refreshed after $refreshed s"
	[[ ! -e $SCRATCH/refresh/mbox.lock && ! -e $SCRATCH/quiet/mbox.lock ]] \
		|| fail "a lock was left"
}

s_main seeds-dotlock dotlock_status_as_root_and_user \
	dotlock_stale_and_refresh_in_real_time
