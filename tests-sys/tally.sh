#!/usr/bin/env bash
# tally.sh AREA CARGO-TEST-COMMAND...: run cargo's test harness and end
# with the project's one tally line, "AREA: N passed, N failed,
# N skipped" (ignored tests are skipped ones), which the tiers count.
# The exit status is the command's.
set -uo pipefail
area=$1
shift
log=$(mktemp "${TMPDIR:-/tmp}/lockfile-tally.XXXXXX")
trap 'rm -f "$log"' EXIT
rc=0
"$@" 2>&1 | tee "$log" || rc=$?
awk -v area="$area" '
	/^test result: / {
		for (i = 1; i < NF; i++) {
			if ($(i + 1) ~ /^passed/) p += $i
			if ($(i + 1) ~ /^failed/) f += $i
			if ($(i + 1) ~ /^ignored/) s += $i
		}
	}
	END { printf "%s: %d passed, %d failed, %d skipped\n", area, p, f, s }' "$log"
exit "$rc"
