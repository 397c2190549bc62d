#!/usr/bin/env bash
# contend.sh PROG RUNS ROUNDS [DOTLOCKFILE | reference]: RUNS runs of 4
# processes x ROUNDS lock cycles spinning on one lock (see contend.c),
# through lockfile_create2 or, given its path, through dotlockfile.
# "reference": PROG is built against the reference library; its failures
# are counted and shown, not failed on (docs/protocol.md §2.7: it loses mutual
# exclusion in some runs). $VALGRIND, if set, runs each program.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

prog=$1
runs=$2
rounds=$3
mode=${4:-}
read -ra vg <<<"${VALGRIND:-}"
args=()
case $mode in
'' | reference) ;;
*) args=(-D "$mode") ;;
esac
t_begin contend
ref_ok=0 ref_lost=0
for ((run = 1; run <= runs; run++)); do
	d=$T_WORK/run-$run
	mkdir "$d"
	if [ "$mode" = reference ]; then
		if "$prog" "$d" 4 "$rounds" >"$T_WORK/out" 2>&1; then
			ref_ok=$((ref_ok + 1))
		else
			ref_lost=$((ref_lost + 1))
		fi
		grep '^#' "$T_WORK/out" || true
	else
		t_case "contend run $run" "${vg[@]}" "$prog" "${args[@]}" \
			"$d" 4 "$rounds"
	fi
	rm -rf "$d"
done
if [ "$mode" = reference ]; then
	echo "reference: $ref_lost of $runs run(s) lost mutual exclusion" \
		"or increments (not a failure of ours)"
	exit 0
fi
t_end
