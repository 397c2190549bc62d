#!/usr/bin/env bash
# The Qpopper-style session of examples/popsession.c (SPEC §7):
#  - a session retrieves and deletes, and writes back what is left;
#  - a second session for the same user fails at once with [IN-USE] and
#    does not touch the spool;
#  - deliveries through dotlock, dotlockfile and procmail's lockfile wait
#    while the session holds the mail lock, which it keeps fresh with
#    touchlock(), and their mail is not lost.
# Usage: session.sh --dotlock P --dotlockfile P --popsession P --libdir D
source "$(dirname "$0")/lib.sh"

# --- a plain session
NAME=session_basic
spool=$SCRATCH/basic/joe
mkdir -p "${spool%/*}"
for n in 1 2 3 4 5; do message $n; echo; done >"$spool"
"$POPSESSION" -d 2 -o "$SCRATCH/basic/out" joe "$spool" >"$SCRATCH/out.txt"
grep -q '^+OK joe: 5 messages, 3 deleted' "$SCRATCH/out.txt" \
	|| fail "unexpected summary: $(cat "$SCRATCH/out.txt")"
[[ $(seqs "$SCRATCH/basic/out" | tr '\n' ' ') == "1 3 5 " ]] \
	|| fail "deleted: $(seqs "$SCRATCH/basic/out" | tr '\n' ' ')"
[[ $(seqs "$spool" | tr '\n' ' ') == "2 4 " ]] \
	|| fail "left: $(seqs "$spool" | tr '\n' ' ')"
[[ ! -e ${spool%/*}/.joe.pop && ! -e $spool.lock ]] \
	|| fail "temporary drop or lock left: $(ls -a "${spool%/*}")"
echo "ok $NAME"

# --- [IN-USE]: a second session fails at once, before the spool
NAME=session_in_use
spool=$SCRATCH/inuse/ann
mkdir -p "${spool%/*}"
for n in 1 2 3; do message $n; echo; done >"$spool"
"$POPSESSION" -d 0 -p 3000 ann "$spool" >"$SCRATCH/a.txt" &
a=$!
# Wait until the first session has moved the spool into its drop.
for _ in $(seq 100); do
	[[ -s ${spool%/*}/.ann.pop && ! -s $spool && ! -e $spool.lock ]] && break
	sleep 0.05
done
[[ -s ${spool%/*}/.ann.pop ]] || fail "the first session did not start"
deliver dotlockfile "$spool" 99
t0=$(now)
rc=0
"$POPSESSION" -d 1 ann "$spool" >"$SCRATCH/b.txt" || rc=$?
t1=$(now)
[[ $rc == 2 ]] || fail "second session exited $rc, want 2"
grep -q '^-ERR \[IN-USE\]' "$SCRATCH/b.txt" || fail "no [IN-USE]: $(cat "$SCRATCH/b.txt")"
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 1) }' \
	|| fail "the second session did not fail at once"
[[ $(seqs "$spool") == 99 && ! -e $spool.lock ]] \
	|| fail "the second session touched the spool"
wait $a || fail "the first session failed"
[[ $(seqs "$spool" | tr '\n' ' ') == "1 2 3 99 " ]] \
	|| fail "after the session: $(seqs "$spool" | tr '\n' ' ')"
echo "ok $NAME"

# --- deliveries wait while the session holds the mail lock
NAME=session_delivery_waits
spool=$SCRATCH/wait/bob
mkdir -p "${spool%/*}"
for n in 1 2; do message $n; echo; done >"$spool"
HOLD=4
"$POPSESSION" -d 1 -h $HOLD -o "$SCRATCH/wait/out" bob "$spool" \
	>"$SCRATCH/c.txt" &
s=$!
for _ in $(seq 100); do
	[[ -e $spool.lock && ! -s $spool ]] && break
	sleep 0.05
done
[[ -e $spool.lock ]] || fail "the session did not take the mail lock"
first=$(stat -c %y "$spool.lock")
declare -A pid start
n=100
for kind in dotlock dotlockfile lockfile; do
	n=$((n + 1))
	start[$kind]=$(now)
	(deliver $kind "$spool" $n; now >"$SCRATCH/wait/$kind.done") &
	pid[$kind]=$!
done
sleep 2
[[ ! -s $spool ]] || fail "a delivery wrote while the session held the lock"
for kind in dotlock dotlockfile lockfile; do
	kill -0 "${pid[$kind]}" 2>/dev/null \
		|| fail "delivery through $kind did not wait"
done
[[ $(stat -c %y "$spool.lock") != "$first" ]] \
	|| fail "the session did not refresh its lock with touchlock()"
wait $s || fail "the session failed: $(cat "$SCRATCH/c.txt")"
for kind in dotlock dotlockfile lockfile; do
	wait "${pid[$kind]}" || fail "delivery through $kind failed"
	waited=$(awk -v a="${start[$kind]}" -v b="$(cat "$SCRATCH/wait/$kind.done")" \
		'BEGIN { printf "%.1f", b - a }')
	echo "# delivery through $kind waited $waited s for the session's lock"
	awk -v w="$waited" 'BEGIN { exit !(w >= 2) }' \
		|| fail "delivery through $kind done after $waited s"
done
[[ $(seqs "$SCRATCH/wait/out" "$spool" | tr '\n' ' ') == "1 2 101 102 103 " ]] \
	|| fail "mail lost or doubled: $(seqs "$SCRATCH/wait/out" "$spool" | tr '\n' ' ')"
[[ $(seqs "$spool" | tr '\n' ' ') == "101 102 103 " ]] \
	|| fail "spool: $(seqs "$spool" | tr '\n' ' ')"
echo "ok $NAME"
