#!/usr/bin/env bash
# The Qpopper-style session of examples/popsession.c (docs/other-systems.md §7), in its
# default and server modes, and its -R recovery. Every interleaving is
# built: a session stops itself at a named point (-S), the test acts, and
# lets it go on (SIGCONT) or kills it (SIGKILL).
# Usage: session.sh --dotlock P --dotlockfile P --popsession P --libdir D
. "$(dirname "$0")/lib.sh"

# A plain session retrieves and deletes, and writes back what is left.
plain() {
	local mode=$1 spool=$SCRATCH/$2/joe
	mkdir -p "${spool%/*}"
	spool_of 1 2 3 4 5 >"$spool"
	"$POPSESSION" $mode -d 2 -o "$SCRATCH/$2.out" joe "$spool" >"$SCRATCH/$2.txt"
	grep '^+OK joe: 5 messages, 3 deleted' "$SCRATCH/$2.txt" >/dev/null \
		|| fail "$mode: unexpected summary: $(cat "$SCRATCH/$2.txt")"
	[[ $(list "$SCRATCH/$2.out") == "1 3 5" ]] \
		|| fail "$mode: deleted: $(list "$SCRATCH/$2.out")"
	[[ $(list "$spool") == "2 4" ]] || fail "$mode: left: $(list "$spool")"
	whole "$spool"
	[[ $(ls -A "${spool%/*}") == joe ]] \
		|| fail "$mode: left beside the spool: $(ls -A "${spool%/*}")"
}
session_basic() { plain "" default; plain -s server; }

# [IN-USE]: while a session is stopped in the middle (holding the drop's
# flock, not the mail lock), a second session fails at once, touching
# nothing; a delivery goes through; the first session then finishes.
in_use() {
	local mode=$1 spool=$SCRATCH/$2/ann a rc=0 drop
	mkdir -p "${spool%/*}"
	drop=${spool%/*}/.ann.pop
	spool_of 1 2 3 >"$spool"
	"$POPSESSION" $mode -d 0 -S serving ann "$spool" >"$SCRATCH/$2.a" &
	a=$!
	stopped $a
	if [[ -z $mode ]]; then
		[[ $(list "$drop") == "1 2 3" && ! -s $spool ]] \
			|| fail "default: the spool was not moved to the drop"
	else
		[[ -e $drop && ! -s $drop && $(list "$spool") == "1 2 3" ]] \
			|| fail "server: the spool was copied, or no drop"
	fi
	deliver dotlockfile "$spool" 99
	# The first session is stopped and never lets go: a second one that
	# waited would hang (and the case time out).
	timeout 60 "$POPSESSION" $mode -d 1 ann "$spool" >"$SCRATCH/$2.b" || rc=$?
	[[ $rc == 2 ]] || fail "$mode: second session exited $rc, want 2"
	grep '^-ERR \[IN-USE\]' "$SCRATCH/$2.b" >/dev/null \
		|| fail "$mode: no [IN-USE]: $(cat "$SCRATCH/$2.b")"
	[[ ! -e $spool.lock ]] || fail "$mode: the second session left a lock"
	kill -CONT $a
	wait $a || fail "$mode: the first session failed"
	[[ $(list "$spool") == "1 2 3 99" ]] \
		|| fail "$mode: after the session: $(list "$spool")"
	[[ ! -e $drop ]] || fail "$mode: drop left"
}
session_in_use() { in_use "" default; in_use -s server; }

# Deliveries started while a session is stopped holding the mail lock
# wait for it: their mail is not in what the session took (all of which
# it deletes) but in the spool afterwards. dotlock's wait is seen from
# outside: it holds the mailbox's flock, waiting for the dot-lock.
session_delivery_waits() {
	local spool=$SCRATCH/bob s kind n=100 first
	declare -A pid
	spool_of 1 2 >"$spool"
	"$POPSESSION" -d 1 -o "$SCRATCH/out" -S locked bob "$spool" >"$SCRATCH/s.txt" &
	s=$!
	stopped $s
	[[ -e $spool.lock ]] || fail "the session holds no mail lock"
	for kind in dotlock dotlockfile lockfile; do
		n=$((n + 1))
		deliver $kind "$spool" $n &
		pid[$kind]=$!
	done
	until { "$DOTLOCK" --status "$spool" || true; } | grep "^flock: held, WRITE, by pid .* (dotlock)" >/dev/null; do
		running "${pid[dotlock]}" || fail "dotlock did not wait"
		sleep 0.05
	done
	for kind in dotlock dotlockfile lockfile; do
		running "${pid[$kind]}" || fail "delivery through $kind did not wait"
	done
	[[ $(list "$spool") == "1 2" ]] || fail "a delivery wrote under the session's lock"
	kill -CONT $s
	wait $s || fail "the session failed: $(cat "$SCRATCH/s.txt")"
	for kind in dotlock dotlockfile lockfile; do
		wait "${pid[$kind]}" || fail "delivery through $kind failed"
	done
	[[ $(list "$SCRATCH/out") == "1 2" ]] || fail "deleted: $(list "$SCRATCH/out")"
	[[ $(list "$spool") == "101 102 103" ]] || fail "spool: $(list "$spool")"
	whole "$spool"
}

# The session keeps its mail lock fresh (-h: a slow step that touches it
# every second).
session_touches_its_lock() {
	local spool=$SCRATCH/eve s first now
	spool_of 1 >"$spool"
	"$POPSESSION" -d 0 -h 30 -S locked eve "$spool" >/dev/null &
	s=$!
	stopped $s
	first=$(stat -c %Y.%y "$spool.lock")
	kill -CONT $s
	while now=$(stat -c %Y.%y "$spool.lock" 2>/dev/null) && [[ $now == "$first" ]]; do
		running $s || fail "the session ended"
		sleep 0.1
	done
	[[ -n $now ]] || fail "the lock went away without being touched"
	kill -KILL $s
	wait $s 2>/dev/null || true
	"$POPSESSION" -R eve "$spool" >/dev/null
	[[ $(list "$spool") == 1 ]] || fail "spool: $(list "$spool")"
}

# Server mode: the messages in the spool when the session starts are the
# session's; mail that arrives while it runs stays for the next one.
session_server_arrivals() {
	local spool=$SCRATCH/kim s
	spool_of 1 2 3 4 >"$spool"
	"$POPSESSION" -s -d 1 -o "$SCRATCH/out" -S serving kim "$spool" >"$SCRATCH/s.txt" &
	s=$!
	stopped $s
	deliver dotlock "$spool" 5
	deliver dotlockfile "$spool" 6
	deliver lockfile "$spool" 7
	kill -CONT $s
	wait $s || fail "the session failed"
	grep '^+OK kim: 4 messages, 4 deleted; [1-9][0-9]* octets arrived' \
		"$SCRATCH/s.txt" >/dev/null || fail "summary: $(cat "$SCRATCH/s.txt")"
	[[ $(list "$SCRATCH/out") == "1 2 3 4" ]] || fail "deleted: $(list "$SCRATCH/out")"
	[[ $(list "$spool") == "5 6 7" ]] || fail "spool: $(list "$spool")"
	whole "$spool"
}

# -R with a live session: it names the session and changes nothing.
session_recover_in_use() {
	local spool=$SCRATCH/amy s rc=0 before
	spool_of 1 2 3 >"$spool"
	"$POPSESSION" -d 0 -S serving amy "$spool" >/dev/null &
	s=$!
	stopped $s
	before=$(cd "${spool%/*}" && md5sum amy .amy.pop)
	timeout 60 "$POPSESSION" -R amy "$spool" >"$SCRATCH/r.txt" || rc=$?
	[[ $rc == 2 ]] || fail "-R exited $rc, want 2"
	grep "in use by pid $s (popsession)" "$SCRATCH/r.txt" >/dev/null \
		|| fail "-R did not name the session: $(cat "$SCRATCH/r.txt")"
	[[ $(cd "${spool%/*}" && md5sum amy .amy.pop) == "$before" && ! -e $spool.lock ]] \
		|| fail "-R changed something"
	kill -CONT $s
	wait $s || fail "the session failed"
	[[ $(list "$spool") == "1 2 3" ]] || fail "spool: $(list "$spool")"
}

# -R after a killed session puts its drop back in front of the spool,
# once; a second -R puts back nothing.
session_recover_puts_back() {
	local spool=$SCRATCH/ian s
	spool_of 1 2 3 >"$spool"
	"$POPSESSION" -d 1 -S serving ian "$spool" >/dev/null &
	s=$!
	stopped $s
	kill -KILL $s
	wait $s 2>/dev/null || true
	deliver dotlock "$spool" 10
	deliver lockfile "$spool" 11
	"$POPSESSION" -R ian "$spool" >"$SCRATCH/r1.txt" || fail "-R failed"
	grep 'put 3 messages' "$SCRATCH/r1.txt" >/dev/null || fail "$(cat "$SCRATCH/r1.txt")"
	[[ $(list "$spool") == "1 2 3 10 11" ]] || fail "spool: $(list "$spool")"
	# The messages are in order: the drop's first.
	[[ $(sed -n 's/^X-Seq: //p' "$spool" | tr '\n' ' ') == "1 2 3 10 11 " ]] \
		|| fail "order: $(sed -n 's/^X-Seq: //p' "$spool" | tr '\n' ' ')"
	"$POPSESSION" -R ian "$spool" >"$SCRATCH/r2.txt" || fail "second -R failed"
	grep 'put 0 messages' "$SCRATCH/r2.txt" >/dev/null || fail "$(cat "$SCRATCH/r2.txt")"
	[[ $(list "$spool") == "1 2 3 10 11" ]] || fail "spool: $(list "$spool")"
	[[ $(ls -A "$SCRATCH") == "ian r1.txt r2.txt" || $(ls -A "${spool%/*}" | grep -c pop) == 0 ]] \
		|| fail "left: $(ls -A "${spool%/*}")"
	whole "$spool"
}

# A session killed at each point, in each mode, with a delivery waiting
# that gets in before the recovery; then -R (itself killed at one of its
# points, then run again). Every message ends up exactly once: in the spool, or, when
# the session's deletions were committed (the journal was in place), in
# what its client kept.
session_killed_at_every_point() {
	local mode point spool s d rc n=0 committed rpoint r
	for mode in "" -s; do
		for point in locked take serving journal half written; do
			[[ $point == take && $mode == -s ]] && continue
			n=$((n + 1))
			spool=$SCRATCH/k$n/lee
			mkdir -p "${spool%/*}"
			spool_of 1 2 3 4 5 6 >"$spool"
			"$POPSESSION" $mode -d 2 -o "$SCRATCH/k$n.out" -S $point lee "$spool" \
				>/dev/null &
			s=$!
			stopped $s
			deliver dotlockfile "$spool" 50 &
			d=$!
			kill -KILL $s
			wait $s 2>/dev/null || true
			# A waiter breaks the dead session's mail lock before
			# anyone recovers (as one that judges by age would, in
			# time): the delivery lands on whatever the session
			# left, and the recovery must still tell it apart.
			rm -f "$spool.lock"
			wait $d || fail "$mode $point: the delivery failed"
			# -R itself killed once, at one of its points.
			rpoint=(journal half written)
			rpoint=${rpoint[n % 3]}
			"$POPSESSION" -R -S $rpoint lee "$spool" >/dev/null &
			r=$!
			# It may have nothing to do (then it does not stop).
			while running $r; do
				[[ $(t_pstate $r) == T ]] && { kill -KILL $r; break; }
				sleep 0.02
			done
			wait $r 2>/dev/null || true
			"$POPSESSION" -R lee "$spool" >/dev/null || fail "$mode $point: -R failed"
			case $point in journal | half | written) committed=1 ;; *) committed=0 ;; esac
			no_doubles "$spool"
			whole "$spool"
			if ((committed)); then
				no_doubles "$spool" "$SCRATCH/k$n.out"
				[[ $(list "$SCRATCH/k$n.out") == "1 3 5" ]] \
					|| fail "$mode $point: kept: $(list "$SCRATCH/k$n.out")"
				[[ $(list "$spool") == "2 4 6 50" ]] \
					|| fail "$mode $point: spool: $(list "$spool")"
			else
				[[ ! -s $SCRATCH/k$n.out ]] || fail "$mode $point: kept something"
				[[ $(list "$spool") == "1 2 3 4 5 6 50" ]] \
					|| fail "$mode $point: spool: $(list "$spool")"
			fi
			[[ $(ls -A "${spool%/*}") == lee ]] \
				|| fail "$mode $point: left: $(ls -A "${spool%/*}")"
		done
	done
}

s_main seeds-session --need-lockfile session_basic session_in_use \
	session_delivery_waits session_touches_its_lock session_server_arrivals \
	session_recover_in_use session_recover_puts_back \
	session_killed_at_every_point
