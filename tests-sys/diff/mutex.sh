#!/usr/bin/env bash
# Mixed mutual exclusion: our library, the reference library, our and the
# reference dotlockfile, procmail's lockfile(1) and Python's mailbox
# dot-locking all take the same lock.
#
#   mutex.sh LOCKCTL OURS.so REF.so REF_DOTLOCKFILE [OUR_DOTLOCKFILE]
#
# 1. Every implementation runs as its own process, each adding N (default
#    200) to a shared counter file inside the lock; no increment may be
#    lost, and no two processes may be inside at once (a directory made
#    with mkdir inside the lock witnesses it).
# 2. For every pair of different implementations, one holds the lock and
#    the other must wait until it is released, then get it.
# REF.so is the reference built with lockfile_create2 (from its static
# archive), so that waits need no sleeping.
#
# In the counting run the reference's processes poll every 5 ms instead
# of spinning: a reference waiter that finds the lock gone between its
# lstat() and its check removes whatever lock is there by then (docs/protocol.md §2.7,
# fixed in ours), and with several busy spinners that breaks exclusion in
# about one run in four.  Polling keeps them in the race at a rate where
# that bug does not decide the result; ours spin.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
t_begin mutex

lockctl=$1 ours=$2 ref=$3 ref_dlf=$4 our_dlf=${5:-}
N=${MUTEX_COUNT:-200}
py=${PYTHON:-python3}
t_need_cmd lockfile procmail || t_end
t_need_cmd "$py" python3 || t_end

read -ra impls <<<"${MUTEX_IMPLS:-ours-lib ref-lib ref-dotlockfile procmail python}"
if [[ -n $our_dlf ]]; then
	[[ -x $our_dlf ]] || { t_fail "$our_dlf was not built"; t_end; }
	impls+=(ours-dotlockfile)
else
	echo "# our dotlockfile is not part of this tree yet: left out"
fi

# Each library really is the file named (not another copy of it).
for lib in "$ours" "$ref"; do
	got=$("$lockctl" "$lib" which)
	[[ $got == "$(realpath "$lib")" ]] || {
		t_fail "$lib resolved to $got"; t_end; }
done

# lib.sh removes $T_WORK and ends our jobs (a holder left waiting) at exit.
work=$T_WORK

# Inside the lock (shell and Python): mkdir witnesses exclusion.
inc() {
	mkdir "$1/inside" 2>/dev/null || {
		echo "someone else is inside the lock" >&2; exit 4; }
	local v
	v=$(<"$1/counter")
	echo $((v + 1)) >"$1/counter"
	rmdir "$1/inside"
}

PYLOCK='
import mailbox, os, sys, time
box, d, mode = sys.argv[1], sys.argv[2], sys.argv[3]
mb = mailbox.mbox(box)
def lock():
    while True:
        try:
            mb.lock()
            return
        except mailbox.ExternalClashError:
            time.sleep(0.0005)
def inc():
    os.mkdir(d + "/inside")
    with open(d + "/counter", "r+") as f:
        v = int(f.read() or 0)
        f.seek(0)
        f.write("%d\n" % (v + 1))
        f.truncate()
    os.rmdir(d + "/inside")
if mode == "count":
    for _ in range(int(sys.argv[4])):
        lock(); inc(); mb.unlock()
elif mode == "hold":
    lock()
    open(d + "/held", "w").close()
    while not os.path.exists(d + "/release"):
        time.sleep(0.01)
    mb.unlock()
elif mode == "take":
    lock()
    open(d + "/got", "w").close()
    mb.unlock()
'

# run IMPL MODE DIR [N]: the lock is always DIR/box.lock (the mailbox's).
# A contender (take) sleeps between its attempts, never spins: once it is
# seen asleep it has found the lock held (see the pairs below).
run() {
	local impl=$1 mode=$2 d=$3 n=${4:-0} lock=$3/box.lock dlf i
	[[ $mode == take ]] && export LOCKCTL_POLL_US=20000
	case $impl in
	ours-lib) exec "$lockctl" "$ours" "$mode" "$lock" "$d" "$n" ;;
	ref-lib)
		[[ $mode == count ]] && export LOCKCTL_POLL_US=5000
		exec "$lockctl" "$ref" "$mode" "$lock" "$d" "$n" ;;
	python) exec "$py" -c "$PYLOCK" "$d/box" "$d" "$mode" "$n" ;;
	esac
	case $impl in
	ours-dotlockfile) dlf=$our_dlf ;;
	ref-dotlockfile) dlf=$ref_dlf ;;
	esac
	take() {
		# Seconds between attempts: none, but 1 for a contender.
		local pause=0
		[[ $mode == take ]] && pause=1
		if [[ $impl == procmail ]]; then
			lockfile -$pause -r -1 "$lock"
		elif [[ $impl == ref-dotlockfile && $mode == count ]]; then
			until "$dlf" -l -r 0 "$lock"; do sleep 0.005; done
		else
			"$dlf" -l -r -1 -i $pause "$lock"
		fi
	}
	release() {
		if [[ $impl == procmail ]]; then
			rm -f "$lock"
		else
			"$dlf" -u "$lock"
		fi
	}
	case $mode in
	count)
		for ((i = 0; i < n; i++)); do take; inc "$d"; release; done ;;
	hold)
		take
		: >"$d/held"
		until [[ -e $d/release ]]; do sleep 0.01; done
		release ;;
	take)
		take
		: >"$d/got"
		release ;;
	esac
}

# wait_for FILE TICKS: up to TICKS hundredths of a second.
wait_for() {
	local i
	for ((i = 0; i < $2; i++)); do
		[[ -e $1 ]] && return 0
		sleep 0.01
	done
	return 1
}

fail=0

# 1. Everyone counts at once.
d=$work/count
mkdir "$d" && echo 0 >"$d/counter" && : >"$d/box"
pids=()
start=$SECONDS
for impl in "${impls[@]}" ours-lib; do
	( run "$impl" count "$d" "$N" || { echo "# $impl failed" >&2; exit 1; } ) &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || { t_fail "a counting process failed"; fail=1; }
done
procs=$(( ${#impls[@]} + 1 ))
want=$((procs * N))
got=$(<"$d/counter")
if [[ $got == "$want" ]]; then
	t_pass "mutex: $procs processes (${impls[*]} ours-lib) x $N" \
		"increments = $got, in $((SECONDS - start)) s"
else
	t_fail "mutex: counter is $got, want $want"
	fail=1
fi

# 2. Every holder/contender pair of different implementations.
pairs=0
for h in "${impls[@]}"; do
	for c in "${impls[@]}"; do
		[[ $h == "$c" ]] && continue
		d=$work/$h-$c
		mkdir "$d" && echo 0 >"$d/counter" && : >"$d/box"
		( run "$h" hold "$d" ) &
		hp=$!
		wait_for "$d/held" 6000
		if [[ ! -e $d/held ]]; then
			t_fail "pair $h/$c: the holder did not get the lock"
			fail=1; kill "$hp" 2>/dev/null || true; continue
		fi
		( run "$c" take "$d" ) &
		cp=$!
		# Asleep means it tried, found the lock held and waits; had it
		# not seen the lock, it would have made "got" and ended.
		if ! t_wait_blocked "$cp" $T_SLEEPS || [[ -e $d/got ]]; then
			t_fail "pair $h/$c: $c did not wait for $h's lock"
			fail=1
		fi
		: >"$d/release"
		wait "$hp" || { t_fail "pair $h/$c: holder failed"; fail=1; }
		wait_for "$d/got" 6000
		if ! wait "$cp" || [[ ! -e $d/got ]]; then
			t_fail "pair $h/$c: $c did not get the lock after $h"
			fail=1
		fi
		[[ ! -e $d/box.lock ]] || {
			t_fail "pair $h/$c: lock left behind"; fail=1; }
		pairs=$((pairs + 1))
	done
done
((fail)) || t_pass "pairs: in all $pairs holder/contender pairs the contender waited"
t_end
