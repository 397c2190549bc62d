#!/usr/bin/env bash
# Run the C test programs.
#
# usage: tests-c/run.sh BINDIR [EXPECTED_FAIL_LIST]
#        tests-c/run.sh BINDIR BINDIR...
#
# Runs every executable BINDIR/t_* in name order, each under a timeout,
# prints its output, and ends with the tally line
#	c/BINDIR-NAME: N passed, N failed, N skipped
# Exit status 1 if any test failed (or none was found), else 0. Several
# BINDIRs run at once, each in RUN_SHARDS (2) parts (most of the tests'
# time is sleeping); each part's output and tally are printed when all
# are done.
#
# A program exits 0 (ok), 77 (skipped) or anything else (failed). With an
# EXPECTED_FAIL_LIST (a run on the reference), 77 means the case does not
# apply to that library: shown as N/A, not counted as a skip.
# EXPECTED_FAIL_LIST names tests that are expected to fail, one per line,
# "# comment" allowed (used to run the suite against the reference
# library, which lacks the fixes docs/fixes.md marks "we fix"): such a test that
# fails counts as passed (XFAIL), one that passes counts as failed.
# A name followed by the word "flaky" is a race detector that catches the
# bug only with some probability: it counts as passed either way (XPASS
# when it passes).
#
# Environment:
#	VALGRIND	command prefix, e.g.
#			"valgrind --error-exitcode=1 --leak-check=full -q"
#	TEST_TIMEOUT	seconds per test (default 120; 600 for the SLOW ones)
set -u

# Tests that take long: a larger timeout, and not run under $VALGRIND.
# t_race_stale_removal: 3 processes x 2000 lock rounds x 20 runs, tens
#	of seconds natively, many minutes under valgrind; every call it makes
#	is also made by the other tests, which do run under valgrind.
# t_create_stale_two_breakers: 1000 rounds of two forked processes timed
#	to the microsecond; under valgrind it is slow and the timing is lost.
SLOW="t_race_stale_removal t_create_stale_two_breakers"

if [ $# -ge 2 ] && [ -d "$2" ]; then
	logs=() pids=() rc=0
	for dir in "$@"; do
		for ((shard = 0; shard < ${RUN_SHARDS:-2}; shard++)); do
			log=$(mktemp "${TMPDIR:-/tmp}/lockfile-run.XXXXXX") || exit 2
			logs+=("$log")
			RUN_SHARD=$shard/${RUN_SHARDS:-2} "$0" "$dir" >"$log" 2>&1 &
			pids+=($!)
		done
	done
	for i in "${!pids[@]}"; do
		wait "${pids[i]}" || rc=1
		cat "${logs[i]}"
		rm -f "${logs[i]}"
	done
	exit $rc
fi
if [ $# -lt 1 ] || [ $# -gt 2 ] || [ ! -d "$1" ]; then
	echo "usage: $0 BINDIR [EXPECTED_FAIL_LIST]" >&2
	exit 2
fi
bindir=$1
xfail_file=${2:-}
timeout_default=${TEST_TIMEOUT:-120}
valgrind=${VALGRIND:-}

xfails=" "
flaky=" "
if [ -n "$xfail_file" ]; then
	if [ ! -r "$xfail_file" ]; then
		echo "$0: cannot read $xfail_file" >&2
		exit 2
	fi
	set -f
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%%#*}
		# shellcheck disable=SC2086 # split "name [flaky]"
		set -- $line
		[ $# -gt 0 ] || continue
		xfails="$xfails$1 "
		[ "${2:-}" = flaky ] && flaky="$flaky$1 "
	done <"$xfail_file"
	set +f
fi

in_list() {	# in_list NAME " a b c "
	case $2 in *" $1 "*) return 0 ;; esac
	return 1
}

have_timeout=0
command -v timeout >/dev/null 2>&1 && have_timeout=1

out=$(mktemp "${TMPDIR:-/tmp}/lockfile-run.XXXXXX") || exit 2
trap 'rm -f "$out"' EXIT

passed=0
failed=0
skipped=0
notapplicable=0
found=0
# RUN_SHARD=I/N: only every Nth test, from the Ith (0-based).
shard=${RUN_SHARD:-0/1}
index=-1
for prog in "$bindir"/t_*; do
	[ -f "$prog" ] && [ -x "$prog" ] || continue
	index=$((index + 1))
	[ $((index % ${shard#*/})) = "${shard%/*}" ] || continue
	name=${prog##*/}
	found=$((found + 1))

	limit=$timeout_default
	prefix=$valgrind
	if in_list "$name" " $SLOW "; then
		[ -n "${TEST_TIMEOUT:-}" ] || limit=600
		prefix=
	fi
	cmd=()
	[ $have_timeout = 1 ] && cmd=(timeout -k 10 "$limit")
	# shellcheck disable=SC2206 # VALGRIND is a word list on purpose
	[ -n "$prefix" ] && cmd+=($prefix)
	cmd+=("$prog")

	# The outer 2>/dev/null only hides the shell's own "Segmentation
	# fault" notice; the runner reports a crash itself.
	{ "${cmd[@]}" >"$out" 2>&1 </dev/null; rc=$?; } 2>/dev/null
	case $rc in
	0) result=pass ;;
	77) result=skip ;;
	*) result=fail ;;
	esac

	if in_list "$name" "$xfails"; then
		sed 's/^/# /' "$out"
		case $result in
		fail)
			echo "XFAIL $name (expected failure, exit $rc)"
			passed=$((passed + 1)) ;;
		pass)
			if in_list "$name" "$flaky"; then
				echo "XPASS $name (flaky expected failure:" \
				    "the race was not caught this time)"
				passed=$((passed + 1))
			else
				echo "FAIL $name: unexpected pass (listed as" \
				    "expected to fail)"
				failed=$((failed + 1))
			fi ;;
		skip)
			skipped=$((skipped + 1)) ;;
		esac
		continue
	fi

	cat "$out"
	case $result in
	pass)
		passed=$((passed + 1)) ;;
	skip)
		# Against the reference a skip means the case does not apply
		# to it (its .so lacks lockfile_create2): not a skip of ours.
		if [ -n "$xfail_file" ]; then
			echo "N/A $name: does not apply to this library"
			notapplicable=$((notapplicable + 1))
		else
			skipped=$((skipped + 1))
		fi ;;
	fail)
		# Say why when the program could not say it itself.
		if ! grep -q "^FAIL $name" "$out"; then
			if [ $rc = 124 ] && [ $have_timeout = 1 ]; then
				echo "FAIL $name: timed out after ${limit} s"
			elif [ $rc -gt 128 ]; then
				echo "FAIL $name: killed by signal" \
				    "$((rc - 128))"
			else
				echo "FAIL $name: exit status $rc"
			fi
		fi
		failed=$((failed + 1)) ;;
	esac
done

if [ $found = 0 ]; then
	echo "$0: no t_* programs in $bindir" >&2
	failed=$((failed + 1))
fi
[ $notapplicable = 0 ] || echo "($notapplicable not applicable)"
area=${bindir%/}
area=${area##*/}
[ "$shard" = 0/1 ] || area="$area part $((${shard%/*} + 1)) of ${shard#*/}"
echo "c/$area${xfail_file:+ with expected failures}:" \
	"$passed passed, $failed failed, $skipped skipped"
[ $failed = 0 ]
