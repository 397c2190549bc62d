# Shared by the scripts in tests-sys/seeds/ (sourced after ../lib.sh):
# arguments, running each case as its own process under t_case's
# timeout, the three delivery agents, and checks. Each agent appends one
# mbox message under the dot-lock SPOOL.lock, the lock maillock() takes.
#
# A script lists its cases and calls s_main:
#	s_main AREA [--need-lockfile] CASE...
# Each CASE is a shell function, run in a fresh process ("$0 ... --case
# CASE") with set -e, its own scratch folder $SCRATCH, and `fail WHY`.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
set -uo pipefail

DOTLOCK= DOTLOCKFILE= POPSESSION= LIBDIR= MESSAGES=600 CASE= SCRATCH=
ARGS=("$@")
while (($#)); do
	case $1 in
	--dotlock) DOTLOCK=$2 ;;
	--dotlockfile) DOTLOCKFILE=$2 ;;
	--popsession) POPSESSION=$2 ;;
	--libdir) LIBDIR=$2 ;;
	--messages) MESSAGES=$2 ;;
	--case) CASE=$2 ;;
	--scratch) SCRATCH=$2 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
	shift 2
done
export LD_LIBRARY_PATH=$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# fail WHY: end the case with a reason (printed above its FAIL line).
fail() {
	echo "  $CASE: $*" >&2
	exit 1
}

s_main() {
	local area=$1 c tool
	shift
	if [[ -n $CASE ]]; then
		set -e
		mkdir -p "$SCRATCH"
		# Stopped sessions too: a TERM would wait for a SIGCONT.
		trap 's_pids=$(jobs -p); [[ -z $s_pids ]] || kill -KILL $s_pids 2>/dev/null; wait 2>/dev/null; true' EXIT
		"$CASE"
		exit 0
	fi
	t_begin "$area"
	for tool in "$DOTLOCK" "$DOTLOCKFILE" "$POPSESSION"; do
		[[ -x $tool ]] || { t_fail "$area" "not executable: '$tool'"; t_end; }
	done
	if [[ ${1:-} == --need-lockfile ]]; then
		shift
		t_need_cmd lockfile procmail || t_end
	fi
	for c in "$@"; do
		t_case "$c" "$0" "${ARGS[@]}" --case "$c" --scratch "$T_WORK/$c"
	done
	t_end
}

# message N: one mbox message numbered N.
message() {
	printf 'From agent@localhost Thu Jan  1 00:00:00 2026\n'
	printf 'Message-Id: <%s@seeds.test>\nX-Seq: %s\n\n' "$1" "$1"
	printf 'body of message %s\n\n' "$1"
}

# spool_of N...: an mbox with messages N...
spool_of() {
	local n
	for n in "$@"; do message "$n"; done
}

# deliver KIND SPOOL N: append message N to SPOOL under the dot-lock.
deliver() {
	local kind=$1 spool=$2 n=$3 msg
	msg=$(message "$n")$'\n\n'
	case $kind in
	dotlock)
		"$DOTLOCK" "$spool" sh -c 'printf %s "$1" >>"$0"' "$spool" "$msg"
		;;
	dotlockfile)
		"$DOTLOCKFILE" -l -r -1 -i 0 "$spool.lock"
		printf %s "$msg" >>"$spool"
		"$DOTLOCKFILE" -u "$spool.lock"
		;;
	lockfile)
		lockfile -1 -r -1 "$spool.lock"
		printf %s "$msg" >>"$spool"
		rm -f "$spool.lock"
		;;
	esac
}

# seqs FILE...: the message numbers in the files, one a line, sorted.
seqs() {
	cat "$@" 2>/dev/null | sed -n 's/^X-Seq: //p' | sort -n
}

# list FILE...: the numbers on one line.
list() {
	seqs "$@" | tr '\n' ' ' | sed 's/ $//'
}

# stopped_or_done PID: 0 once PID has stopped itself (popsession -S); 1
# if it ends instead.
stopped_or_done() {
	while :; do
		case $(t_pstate "$1") in
		T | t) return 0 ;;
		'' | Z | X) return 1 ;;
		esac
		sleep 0.02
	done
}

# stopped PID: wait until PID has stopped itself; fails if it ends instead.
stopped() {
	stopped_or_done "$1" || fail "process $1 ended before it stopped"
}

# running PID: whether PID is still there (not a zombie).
running() {
	local state
	state=$(t_pstate "$1")
	[[ -n $state && $state != Z && $state != X ]]
}

# whole FILE: every message in FILE is whole (as many envelopes and
# bodies as numbers).
whole() {
	local f=$1 froms bodies nums
	[[ -e $f ]] || return 0
	froms=$(grep -c '^From agent@localhost ' "$f" || true)
	bodies=$(grep -c '^body of message [0-9]*$' "$f" || true)
	nums=$(seqs "$f" | wc -l)
	[[ $froms == "$nums" && $bodies == "$nums" ]] \
		|| fail "$f: $froms envelopes, $bodies bodies, $nums numbers"
}

# no_doubles FILE...: no message number twice in the files together.
no_doubles() {
	local d
	d=$(seqs "$@" | uniq -d | sed -n 1,5p | tr '\n' ' ')
	[[ -z $d ]] || fail "found twice in $*: $d"
}
