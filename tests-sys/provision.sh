#!/usr/bin/env bash
# Install the Debian packages that the tests need (mk/packages.txt), when
# we are root and have apt-get; only what is missing, quietly. Elsewhere
# it says what is missing and leaves it to the tests to SKIP.
#
# usage: tests-sys/provision.sh PACKAGE-LIST
set -euo pipefail

list=$1
mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$list")
missing=()
for p in "${wanted[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'ok installed' >/dev/null \
		|| missing+=("$p")
done
((${#missing[@]})) || exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
	echo "note: not installed (tests that need them SKIP):" \
		"apt-get install ${missing[*]}"
	exit 0
fi
echo "installing test packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
