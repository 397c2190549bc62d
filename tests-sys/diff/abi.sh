#!/usr/bin/env bash
# ABI: abidiff between the reference's shared object and ours reports no
# incompatible change, and programs built against either side's headers
# and library run on the other.
#
#   abi.sh OURS.so REF.so DEMO_OURS DEMO_REF
#
# DEMO_OURS is abi_demo built with our headers against our library,
# DEMO_REF with the reference's headers against the reference.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
t_begin abi
ours=$(realpath "$1") ref=$(realpath "$2") demo_ours=$3 demo_ref=$4
t_need_cmd abidiff abigail-tools || t_end

# abidiff's exit status is a bit mask: 1 error, 2 usage, 4 ABI change,
# 8 incompatible change.  Our extra export (lockfile_create2) is a change.
rc=0
out=$(abidiff "$ref" "$ours" 2>&1) || rc=$?
if (( rc & 11 )); then
	echo "$out"
	t_fail "abidiff: exit $rc (incompatible change or error)"
	exit 1
fi
echo "$out" | sed 's/^/# /'
t_pass "abidiff: exit $rc, no incompatible change"

t_case "abi demo built on ours, run on the reference" \
	env LD_LIBRARY_PATH="$(dirname "$ref")" "$demo_ours" "$ref"
t_case "abi demo built on the reference, run on ours" \
	env LD_LIBRARY_PATH="$(dirname "$ours")" "$demo_ref" "$ours"
t_end
