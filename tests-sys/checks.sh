#!/usr/bin/env bash
# Everything that mk/checks.tsv (the test registry) drives:
#
#   checks.sh rules          the make rules of the checks (for the Makefile)
#   checks.sh help           the checks of each tier, for make help
#   checks.sh tier TIER      run a tier: make test, check or check-slow
#
# A tier runs each of its checks in turn, every one to its end, and closes
# with one line for all of them:
#
#	N passed, N failed, N skipped
#
# It counts the tally lines "AREA: N passed, N failed, N skipped" that a
# check prints; a check that prints none counts as one, passed if it
# succeeded; one that fails without having counted a failure counts one.
# A check whose NEEDS are missing is not run: "SKIP: NAME: why", one
# skip. With CI=true (root, provisioned) any skip fails the tier.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
registry=${CHECKS_REGISTRY:-$here/../mk/checks.tsv}
make=${MAKE:-make}

# rows: the registry without comments and blank lines.
rows() {
	grep -v -e '^#' -e '^[[:space:]]*$' "$registry"
}

# in_tier TIER ROW-TIER: make check runs the checks of make test too.
in_tier() {
	[[ $1 == "$2" || ($1 == check && $2 == test) ]]
}

# missing NEED: say why NEED is not met, or nothing when it is.
declare -A met=()
missing() {
	local u
	[[ -z ${met[$1]:-} ]] || return 0
	case $1 in
	root) [[ $(id -u) == 0 ]] || echo "needs root" ;;
	users)
		for u in $("$here/provision.sh" --list-users); do
			id -u "$u" >/dev/null 2>&1 || {
				echo "needs the test user $u (make provision, as root)"
				return
			}
		done ;;
	ref)
		"$make" --no-print-directory reference >/dev/null 2>&1 \
			|| echo "Debian's 1.17 packages could not be fetched (make reference)" ;;
	valgrind) command -v valgrind >/dev/null \
		|| echo "valgrind is not installed (apt-get install valgrind)" ;;
	fuse) [[ -c /dev/fuse ]] || echo "no /dev/fuse" ;;
	netns) unshare -n true 2>/dev/null \
		|| echo "cannot make a network namespace (unshare -n)" ;;
	cargo-fuzz) command -v cargo-fuzz >/dev/null \
		|| echo "cargo-fuzz is not installed (cargo install cargo-fuzz)" ;;
	*) echo "unknown need '$1' in $registry" ;;
	esac
}

rules() {
	local name tier needs builds desc cmd
	echo "# Made by tests-sys/checks.sh from mk/checks.tsv; do not edit."
	while IFS=$'\t' read -r name tier needs builds desc cmd; do
		echo ".PHONY: $name"
		[[ $builds == - ]] && builds=
		echo "$name: $builds"
		[[ $cmd == - ]] || printf '\t%s\n' "$cmd"
	done < <(rows)
}

help() {
	local tier name t needs builds desc cmd
	for tier in test check check-slow; do
		case $tier in
		test) echo "make test (and make check) runs:" ;;
		check) echo "make check also runs:" ;;
		check-slow) echo "make check-slow runs:" ;;
		esac
		while IFS=$'\t' read -r name t needs builds desc cmd; do
			[[ $t == "$tier" ]] || continue
			[[ $needs == - ]] && needs= || needs=" [needs $needs]"
			printf '  %-34s %s%s\n' "$name" "$desc" "$needs"
		done < <(rows)
	done
	echo "(make NAME runs one check alone; mk/checks.tsv lists them)"
}

tier() {
	local tier=$1 row name t needs builds desc cmd need why
	local passed=0 failed=0 skipped=0 p f s n rc start
	local failed_checks=() checks=()
	log=$(mktemp "${TMPDIR:-/tmp}/lockfile-tier.XXXXXX")
	trap 'rm -f "$log"' EXIT
	mapfile -t checks < <(rows)
	for row in "${checks[@]}"; do
		IFS=$'\t' read -r name t needs builds desc cmd <<<"$row"
		in_tier "$tier" "$t" || continue
		echo "=== $tier: $name"
		why=
		if [[ $needs != - ]]; then
			for need in ${needs//,/ }; do
				why=$(missing "$need")
				[[ -n $why ]] && break
				met[$need]=1
			done
		fi
		if [[ -n $why ]]; then
			echo "SKIP: $name: $why"
			skipped=$((skipped + 1))
			continue
		fi
		rc=0 start=$SECONDS
		"$make" --no-print-directory "$name" 2>&1 | tee "$log" || rc=$?
		echo "=== $tier: $name: $((SECONDS - start)) s"
		read -r p f s n < <(awk '
			/^[^:]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ {
				sub(/^.*: /, ""); p += $1; f += $3; s += $5; n++
			}
			END { print p + 0, f + 0, s + 0, n + 0 }' "$log")
		if [[ $n == 0 ]]; then
			if [[ $rc == 0 ]]; then p=1; else f=1; fi
		elif [[ $rc != 0 && $f == 0 ]]; then
			f=1
		fi
		passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
		[[ $rc == 0 && $f == 0 ]] || failed_checks+=("$name")
	done
	echo "=== $tier: done"
	((${#failed_checks[@]} == 0)) || echo "failed checks: ${failed_checks[*]}"
	if [[ ${CI:-} == true && $skipped != 0 ]]; then
		echo "CI=true: $skipped skipped checks count as failures"
		failed=$((failed + skipped)) skipped=0
	fi
	echo "$passed passed, $failed failed, $skipped skipped"
	((passed + failed + skipped > 0)) || { echo "no checks in tier $tier" >&2; return 1; }
	[[ $failed == 0 ]]
}

case ${1:-} in
rules) rules ;;
help) help ;;
tier) [[ $# == 2 ]] && tier "$2" ;;
*) echo "usage: $0 rules | help | tier TIER" >&2; exit 2 ;;
esac
