#!/usr/bin/env bash
# crash.sh PROG RUNS: RUNS rounds of the crash cases of crash.c (fork;
# killed holders with L_PID; killed holders without a pid), each in a
# fresh folder. $CRASH_CYCLES lock cycles per case (500); $VALGRIND, if
# set, runs each program.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

prog=$1
runs=$2
cycles=${CRASH_CYCLES:-500}
read -ra vg <<<"${VALGRIND:-}"
t_begin crash
for ((run = 1; run <= runs; run++)); do
	for c in fork pid age; do
		d=$T_WORK/$c-$run
		mkdir "$d"
		t_case "crash $c" "${vg[@]}" "$prog" "$c" "$d" "$cycles"
		rm -rf "$d"
	done
done
t_end
