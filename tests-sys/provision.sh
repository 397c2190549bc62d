#!/usr/bin/env bash
# The one way this project provisions a machine for its tests and its
# package build: Debian packages and the unprivileged test users.
#
#   provision.sh packages [--required] LIST-FILE|PACKAGE...
#	install the packages that are missing (a LIST-FILE has one a line,
#	"# comments" allowed), when we are root with apt-get; only what is
#	missing, quietly. Elsewhere it says what is missing, and fails
#	with --required (else the tests that need them SKIP).
#   provision.sh users       make the test users (root only)
#   provision.sh --list-users
#	the test users' names, which the registry's need "users" checks
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# The test users: NAME and useradd options beyond lib.sh's t_user ones.
#   lockfile-test    check-diff and check-dotlockfile (its own group)
#   lockfile-dropin  check-consumers: the mail-* commands, group mail
#   lockfile-seeds   check-seeds-dotlock
USERS=(
	"lockfile-test --user-group"
	"lockfile-dropin --gid mail"
	"lockfile-seeds"
)

packages() {
	local required=0 p wanted=() missing=()
	if [[ ${1:-} == --required ]]; then
		required=1
		shift
	fi
	if (($# == 1)) && [[ -f $1 ]]; then
		mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$1")
	else
		wanted=("$@")
	fi
	for p in "${wanted[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'ok installed' >/dev/null \
			|| missing+=("$p")
	done
	((${#missing[@]})) || return 0

	if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
		if ((required)); then
			echo "needs: apt-get install ${missing[*]}" >&2
			return 1
		fi
		echo "note: not installed (tests that need them SKIP):" \
			"apt-get install ${missing[*]}"
		return 0
	fi
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
		|| { apt-get update -qq && apt-get install -y -qq \
			--no-install-recommends "${missing[@]}" >/dev/null; }
}

users() {
	local u
	if [[ $(id -u) != 0 ]]; then
		echo "note: not root: no test users (tests that need them SKIP)"
		return 0
	fi
	for u in "${USERS[@]}"; do
		# shellcheck disable=SC2086 # NAME and its options
		set -- $u
		t_user "$@"
	done
}

case ${1:-} in
packages) shift; packages "$@" ;;
users) users ;;
--list-users) for u in "${USERS[@]}"; do echo "${u%% *}"; done ;;
*) echo "usage: $0 packages [--required] LIST|PACKAGE... | users | --list-users" >&2; exit 2 ;;
esac
