#!/usr/bin/env bash
# No mail lost (docs/other-systems.md §7): Qpopper-style sessions (examples/popsession.c,
# two loops for the same user, retrieving and deleting some messages
# each time) run while delivery agents append uniquely numbered messages
# under the same dot-lock, through our dotlock, our dotlockfile and
# procmail's lockfile(1); in the default mode, in server mode (-s), and
# with sessions killed (SIGKILL) at random points and recovered with -R.
# At the end every message was either retrieved (deleted by a session,
# kept by its client) or is in the spool, exactly once.
#
# The interleavings that matter are built, not hoped for: each loop runs,
# besides plain sessions, sessions that stop (-S serving) while the loop
# delivers a message, which therefore arrives while the session runs;
# and sessions that stop holding the mail lock (-S locked) while a
# delivery is started, which therefore has to wait for it. A loop ends
# only when the agents are done and it has run its built sessions.
# Usage: stress.sh --dotlock P --dotlockfile P --popsession P --libdir D
#                  [--messages N]
. "$(dirname "$0")/lib.sh"

KINDS=(dotlock dotlockfile lockfile)
BUILT=3		# built sessions of each kind per loop, at least

# agent KIND FIRST COUNT: deliver messages FIRST .. FIRST+COUNT-1.
agent() {
	local kind=$1 first=$2 count=$3 n
	for ((n = first; n < first + count; n++)); do
		deliver "$kind" "$spool" "$n"
		# Mail arrives at a steady pace, not all at once.
		sleep 0.0$((RANDOM % 5))
	done
}

# session ID N ARGS...: one session; its output in log/ID.N. It replaces
# the shell it runs in, so that `session ... &` gives the session's pid;
# in the foreground run it as `(session ...)`.
session() {
	local id=$1 n=$2
	shift 2
	exec "$POPSESSION" -r 30 -d $((1 + RANDOM % 3)) -o "$SCRATCH/out/$id.$n" \
		"$@" kim "$spool" >"$SCRATCH/log/$id.$n"
}

# built ID N STYLE MODE: a session that stops at a known point while this
# loop delivers message EXTRA (next in the loop's own range).
extra=0
built() {
	local id=$1 n=$2 style=$3 mode=$4 s d rc=0 kind
	extra=$((extra + 1))
	local num=$((1000000 * id + extra))
	kind=${KINDS[extra % 3]}
	case $style in
	arrive)
		session $id $n $mode -S serving &
		s=$!
		stopped_or_done $s || { wait $s || rc=$?; return $rc; }
		echo $num >>"$SCRATCH/extra"
		deliver $kind "$spool" $num
		kill -CONT $s
		wait $s || rc=$?
		if ((rc == 0)); then
			grep '; [1-9][0-9]* octets arrived meanwhile' "$SCRATCH/log/$id.$n" \
				>/dev/null || fail "session $id.$n saw nothing arrive: $(cat "$SCRATCH/log/$id.$n")"
		fi
		;;
	wait)
		session $id $n $mode -S locked &
		s=$!
		echo $num >>"$SCRATCH/extra"
		stopped_or_done $s || { deliver $kind "$spool" $num; wait $s || rc=$?; return $rc; }
		deliver $kind "$spool" $num &
		d=$!
		sleep 0.$((RANDOM % 3))
		running $d || fail "delivery $num did not wait for session $id.$n"
		kill -CONT $s
		wait $s || rc=$?
		wait $d || fail "delivery $num failed"
		;;
	esac
	return $rc
}

# loop ID MODE: sessions until the agents are done and the built ones
# have been served. Counts what happened in log/count.ID.
loop() {
	local id=$1 mode=$2 n=0 rc served=0 in_use=0 arrive=0 wait=0 style
	while [[ ! -e $SCRATCH/stop ]] || ((arrive < BUILT || wait < BUILT)); do
		n=$((n + 1))
		rc=0
		case $((n % 3)) in
		0) style=plain; (session $id $n $mode -p $((RANDOM % 200))) || rc=$? ;;
		1) style=arrive; built $id $n arrive "$mode" || rc=$? ;;
		2) style=wait; built $id $n wait "$mode" || rc=$? ;;
		esac
		case $rc in
		0)
			served=$((served + 1))
			[[ $style == arrive ]] && arrive=$((arrive + 1))
			[[ $style == wait ]] && wait=$((wait + 1))
			;;
		2) in_use=$((in_use + 1)); sleep 0.0$((RANDOM % 5)) ;;
		*) fail "session $id.$n exited $rc: $(cat "$SCRATCH/log/$id.$n")" ;;
		esac
	done
	echo "$served $in_use $arrive $wait" >"$SCRATCH/log/count.$id"
}

# run_agents: the agents, MESSAGES in all; waits for them.
run_agents() {
	local kind i n=1 per pids=() p
	per=$(((MESSAGES + 5) / 6))
	total=$((per * 6))
	for kind in "${KINDS[@]}"; do
		for ((i = 0; i < 2; i++)); do
			agent "$kind" $n $per &
			pids+=($!)
			n=$((n + per))
		done
	done
	for p in "${pids[@]}"; do
		wait "$p" || fail "a delivery agent failed"
	done
}

# exactly_once COMMITTED MAYBE: every message, agents' and built ones, is
# in the spool or in COMMITTED (outputs of sessions that finished), once;
# MAYBE (outputs of killed sessions) may hold copies of messages still in
# the spool, and the messages whose deletion they committed.
exactly_once() {
	local committed=$1 maybe=$2 lost
	{ seq 1 $total; cat "$SCRATCH/extra" 2>/dev/null || true; } | sort -n >"$SCRATCH/want"
	no_doubles "$spool" $committed
	seqs "$spool" $committed $maybe | sort -nu >"$SCRATCH/got"
	lost=$(comm -23 "$SCRATCH/want" "$SCRATCH/got" | sed -n 1,5p | tr '\n' ' ')
	[[ -z $lost ]] || fail "messages lost: $lost..."
	cmp -s "$SCRATCH/want" "$SCRATCH/got" || fail "unexpected messages"
	whole "$spool"
	for f in $committed; do whole "$f"; done
	# A process killed by SIGKILL while it waited for the dot-lock leaves
	# its temporary file (.lk*), as the C library's does; nothing else.
	left=$(ls -A "${spool%/*}" | grep -v -e '^kim$' -e "${KILLED_TMP:-^$}" || true)
	[[ -z $left ]] || fail "left beside the spool: $left"
}

setup() {
	spool=$SCRATCH/spool/kim
	mkdir -p "${spool%/*}" "$SCRATCH/log" "$SCRATCH/out"
	: >"$spool"
}

stress() {
	local mode=$1 l1 l2 s1 s2 i1 i2 a1 a2 w1 w2
	setup
	loop 1 "$mode" &
	l1=$!
	loop 2 "$mode" &
	l2=$!
	run_agents
	touch "$SCRATCH/stop"
	wait $l1 || fail "session loop 1 failed"
	wait $l2 || fail "session loop 2 failed"
	read -r s1 i1 a1 w1 <"$SCRATCH/log/count.1"
	read -r s2 i2 a2 w2 <"$SCRATCH/log/count.2"
	echo "  # $total messages by 6 agents (${KINDS[*]}), $(wc -l <"$SCRATCH/extra") by the loops;" \
		"$((s1 + s2)) sessions served ($((a1 + a2)) with mail arriving meanwhile," \
		"$((w1 + w2)) with a delivery waiting), $((i1 + i2)) refused [IN-USE];" \
		"$(seqs "$SCRATCH"/out/* | wc -l) retrieved, $(seqs "$spool" | wc -l) in the spool"
	exactly_once "$(ls "$SCRATCH"/out/* 2>/dev/null | tr '\n' ' ')" ""
}
stress_default() { stress ""; }
stress_server() { stress -s; }

# kloop ID: sessions of both modes; every other one is killed, at a point
# where it stopped itself (-S, a point chosen at random) or after a
# random time; then -R, as an administrator would. Completed sessions'
# outputs go to out/, killed ones' to maybe/.
POINTS=(locked take serving journal half written)
kloop() {
	local id=$1 n=0 rc mode s point kills=0
	while [[ ! -e $SCRATCH/stop ]] || ((kills < 4)); do
		n=$((n + 1))
		mode=$( ((RANDOM % 2)) && echo -s || true)
		rc=0
		if ((n % 2)); then
			(session $id $n $mode -p $((RANDOM % 100))) || rc=$?
			case $rc in
			0 | 2) ;;
			*) fail "session $id.$n exited $rc: $(cat "$SCRATCH/log/$id.$n")" ;;
			esac
			continue
		fi
		point=${POINTS[RANDOM % ${#POINTS[@]}]}
		if ((RANDOM % 2)); then
			session $id $n $mode -S $point &
			s=$!
			stopped_or_done $s || true
		else
			session $id $n $mode &
			s=$!
			sleep 0.0$((RANDOM % 10))
		fi
		kill -KILL $s 2>/dev/null || true
		wait $s 2>/dev/null || rc=$?
		case $rc in
		137) kills=$((kills + 1)); mv "$SCRATCH/out/$id.$n" "$SCRATCH/maybe/" 2>/dev/null || true ;;
		0 | 2) ;;
		*) fail "session $id.$n exited $rc: $(cat "$SCRATCH/log/$id.$n")" ;;
		esac
		rc=0
		"$POPSESSION" -R kim "$spool" >>"$SCRATCH/log/recover.$id" || rc=$?
		[[ $rc == 0 || $rc == 2 ]] || fail "-R exited $rc"
	done
	echo "$kills" >"$SCRATCH/log/kills.$id"
}

stress_killed() {
	local l1 l2 k1 k2
	setup
	mkdir -p "$SCRATCH/maybe"
	kloop 1 &
	l1=$!
	kloop 2 &
	l2=$!
	run_agents
	touch "$SCRATCH/stop"
	wait $l1 || fail "session loop 1 failed"
	wait $l2 || fail "session loop 2 failed"
	"$POPSESSION" -R kim "$spool" >/dev/null || fail "the last -R failed"
	read -r k1 <"$SCRATCH/log/kills.1"
	read -r k2 <"$SCRATCH/log/kills.2"
	echo "  # $total messages; $((k1 + k2)) sessions killed and recovered;" \
		"$(grep -c 'put [1-9]' "$SCRATCH"/log/recover.* | awk -F: '{n += $2} END {print n}') drops put back"
	KILLED_TMP='^\.lk[0-9]' exactly_once "$(ls "$SCRATCH"/out/* 2>/dev/null | tr '\n' ' ')" \
		"$(ls "$SCRATCH"/maybe/* 2>/dev/null | tr '\n' ' ')"
}

s_main seeds-stress --need-lockfile stress_default stress_server stress_killed
