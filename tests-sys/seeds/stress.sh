#!/usr/bin/env bash
# No mail lost (SPEC §7): Qpopper-style sessions (examples/popsession.c,
# two loops for the same user, retrieving and deleting some messages each
# time) run while delivery agents append uniquely numbered messages under
# the same dot-lock, through our dotlock, our dotlockfile and procmail's
# lockfile(1). At the end every message was either retrieved (deleted by a
# session, kept by its client) or is in the spool, exactly once.
# Usage: stress.sh --dotlock P --dotlockfile P --popsession P --libdir D
#                  [--messages N]
source "$(dirname "$0")/lib.sh"

NAME=stress_no_mail_lost
KINDS=(dotlock dotlockfile lockfile)
AGENTS_PER_KIND=2
agents=$((${#KINDS[@]} * AGENTS_PER_KIND))
per_agent=$(((MESSAGES + agents - 1) / agents))
total=$((per_agent * agents))
spool=$SCRATCH/spool/kim
mkdir -p "${spool%/*}" "$SCRATCH/log"
: >"$spool"

# agent KIND FIRST COUNT: deliver messages FIRST .. FIRST+COUNT-1.
agent() {
	local kind=$1 first=$2 count=$3 n
	for ((n = first; n < first + count; n++)); do
		deliver "$kind" "$spool" "$n"
		# Mail arrives at a steady pace, not all at once.
		sleep 0.0$((RANDOM % 5))
	done
}

# sessions ID: run sessions until told to stop; count the outcomes.
sessions() {
	local id=$1 served=0 in_use=0 rc
	while [[ ! -e $SCRATCH/stop ]]; do
		rc=0
		"$POPSESSION" -r 30 -d $((1 + RANDOM % 3)) -p $((RANDOM % 300)) \
			-o "$SCRATCH/retrieved" kim "$spool" \
			>>"$SCRATCH/log/sessions.$id" || rc=$?
		case $rc in
		0) served=$((served + 1)) ;;
		2) in_use=$((in_use + 1)) ;;
		*) echo "session exited $rc" >>"$SCRATCH/log/errors"; return 1 ;;
		esac
		sleep 0.$((RANDOM % 3))
	done
	echo "$served $in_use" >"$SCRATCH/log/count.$id"
}

start=$(now)
sessions 1 &
s1=$!
sessions 2 &
s2=$!
pids=()
n=1
for kind in "${KINDS[@]}"; do
	for ((i = 0; i < AGENTS_PER_KIND; i++)); do
		agent "$kind" $n $per_agent &
		pids+=($!)
		n=$((n + per_agent))
	done
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a delivery agent failed"
done
touch "$SCRATCH/stop"
wait $s1 || fail "session loop 1: $(cat "$SCRATCH/log/errors" 2>/dev/null)"
wait $s2 || fail "session loop 2: $(cat "$SCRATCH/log/errors" 2>/dev/null)"
elapsed=$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }')

read -r served1 inuse1 <"$SCRATCH/log/count.1"
read -r served2 inuse2 <"$SCRATCH/log/count.2"
served=$((served1 + served2))
in_use=$((inuse1 + inuse2))
retrieved=$(seqs "$SCRATCH/retrieved" | wc -l)
kept=$(seqs "$spool" | wc -l)
arrived=$(cat "$SCRATCH"/log/sessions.* \
	| sed -n 's/.*; \([0-9]*\) octets arrived meanwhile.*/\1/p' \
	| awk '$1 > 0 { n++ } END { print n + 0 }')
echo "# $total messages by $agents agents (${KINDS[*]}) in $elapsed s;" \
	"$served sessions served, $in_use refused [IN-USE]," \
	"$arrived saw mail arrive meanwhile; $retrieved retrieved, $kept in the spool"

# Exactly once: the union is 1..total, without a double.
seqs "$SCRATCH/retrieved" "$spool" >"$SCRATCH/got"
seq 1 $total >"$SCRATCH/want"
doubles=$(uniq -d "$SCRATCH/got" | sed -n 1,5p | tr '\n' ' ')
[[ -z $doubles ]] || fail "messages found twice: $doubles..."
lost=$(comm -13 <(sort "$SCRATCH/got") <(sort "$SCRATCH/want") | sort -n | sed -n 1,5p | tr '\n' ' ')
[[ -z $lost ]] || fail "messages lost: $lost..."
cmp -s "$SCRATCH/got" "$SCRATCH/want" || fail "unexpected messages"
# Whole messages: as many envelopes and bodies as numbers.
for f in "$SCRATCH/retrieved" "$spool"; do
	froms=$(grep -c '^From agent@localhost ' "$f" || true)
	bodies=$(grep -c '^body of message [0-9]*$' "$f" || true)
	nums=$(seqs "$f" | wc -l)
	[[ $froms == "$nums" && $bodies == "$nums" ]] \
		|| fail "$f: $froms envelopes, $bodies bodies, $nums numbers"
done
left=$(ls -A "${spool%/*}" | grep -v '^kim$' || true)
[[ -z $left ]] || fail "left beside the spool: $left"
# The run must really have interleaved sessions with deliveries.
((served >= 10)) || fail "only $served sessions were served"
((retrieved > 0 && kept > 0)) || fail "nothing retrieved or nothing kept"
((arrived > 0)) || fail "no session saw mail arrive while it ran"
echo "ok $NAME"
