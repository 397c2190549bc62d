#!/usr/bin/env bash
# Run one tier of the tests (make test, check, check-slow): each make
# target in turn, every one to its end, then one closing line for all:
#
#	N passed, N failed, N skipped
#
# usage: tests-sys/tier.sh TIER TARGET...   (MAKE names the make to run)
#
# What counts: the tally lines the harnesses print ("[area: ]N passed,
# N failed[, N skipped]"), cargo's "test result:" lines (ignored tests
# count as skipped), and "SKIP:" lines of a target that prints no tally.
# A target that prints none of these counts as one check, passed if it
# succeeded. A target that fails without having counted a failure counts
# one. With CI=true any skip fails the tier.
set -uo pipefail

tier=$1
shift
make=${MAKE:-make}
log=$(mktemp "${TMPDIR:-/tmp}/lockfile-tier.XXXXXX")
trap 'rm -f "$log"' EXIT

passed=0 failed=0 skipped=0
failed_targets=()
for target in "$@"; do
	echo "=== $tier: $target"
	rc=0
	$make --no-print-directory "$target" 2>&1 | tee "$log" || rc=$?
	read -r p f s n < <(awk '
		/^([A-Za-z0-9_.\/+ -]+: )?[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$/ {
			sub(/^[^:]*: /, "")
			p += $1; f += $3; if (NF >= 6) s += $5; n++; next
		}
		/^test result: / {
			for (i = 1; i <= NF; i++) {
				if ($(i + 1) ~ /^passed/) p += $i
				if ($(i + 1) ~ /^failed/) f += $i
				if ($(i + 1) ~ /^ignored/) s += $i
			}
			n++; next
		}
		/^SKIP: / { loose++ }
		END { if (!n) s += loose; print p + 0, f + 0, s + 0, n + 0 }
	' "$log")
	if [ "$n" = 0 ] && [ "$s" = 0 ]; then
		if [ "$rc" = 0 ]; then p=1; else f=1; fi
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	[ "$rc" = 0 ] && [ "$f" = 0 ] || failed_targets+=("$target")
done

echo "=== $tier: done"
((${#failed_targets[@]} == 0)) || echo "failed targets: ${failed_targets[*]}"
if [ "${CI:-}" = true ] && [ "$skipped" != 0 ]; then
	echo "CI=true: $skipped skipped checks count as failures"
	failed=$((failed + skipped)) skipped=0
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
