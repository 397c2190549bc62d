#!/usr/bin/env bash
# The C tests, built against our headers and linked with -llockfile (by
# soname), run unchanged on the reference library: same binaries, only
# LD_LIBRARY_PATH differs.  Tests of the "we fix" items are expected to
# fail there (the list in tests-c/reference-xfail.txt); run.sh fails if
# one of them passes, or if any other test fails.
#
#   drop-in.sh BINDIR REF_LIBDIR
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
t_begin drop-in
bindir=$1 ref=$(realpath "$2")
xfail=tests-c/reference-xfail.txt
[[ -x tests-c/run.sh && -f $xfail ]] || {
	t_fail "tests-c/run.sh or $xfail is missing"; t_end; }

# Prove, per binary, that the loader picks the reference's file.
n=0
for t in "$bindir"/t_*; do
	got=$(LD_TRACE_LOADED_OBJECTS=1 LD_LIBRARY_PATH=$ref "$t" |
		sed -n 's/^[[:space:]]*liblockfile\.so\.1 => \([^ ]*\) .*/\1/p')
	if [[ -z $got || $(realpath "$got") != "$ref/liblockfile.so.1.0" ]]; then
		t_fail "$t would load liblockfile.so.1 from '$got'"
		t_end
	fi
	n=$((n + 1))
done
((n > 0)) || { t_fail "no tests in $bindir"; t_end; }
t_pass "drop-in: all $n test programs load $ref/liblockfile.so.1.0"
# 100 runs of the stale-removal race: at 20 the reference rarely shows
# its bug on a busy machine (it loses in a few per cent of runs).
LOCKFILE_RACE_RUNS=${LOCKFILE_RACE_RUNS:-100} \
	LD_LIBRARY_PATH=$ref tests-c/run.sh "$bindir" "$xfail"
