# Shared by the scripts in tests-sys/seeds/: argument parsing, the three
# delivery agents, and checks. Each agent appends one mbox message under
# the dot-lock SPOOL.lock, the same lock that maillock() takes.

set -euo pipefail

DOTLOCK= DOTLOCKFILE= POPSESSION= LIBDIR= MESSAGES=2100
while (($#)); do
	case $1 in
	--dotlock) DOTLOCK=$2 ;;
	--dotlockfile) DOTLOCKFILE=$2 ;;
	--popsession) POPSESSION=$2 ;;
	--libdir) LIBDIR=$2 ;;
	--messages) MESSAGES=$2 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
	shift 2
done
for tool in "$DOTLOCK" "$DOTLOCKFILE" "$POPSESSION"; do
	[[ -x $tool ]] || { echo "FAIL: not executable: '$tool'" >&2; exit 1; }
done
if ! command -v lockfile >/dev/null; then
	echo "SKIP: procmail's lockfile(1) is not installed"
	exit 0
fi
export LD_LIBRARY_PATH=$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/lockfile-seeds.XXXXXX")
chmod 755 "$SCRATCH"
cleanup() {
	local pids
	pids=$(jobs -pr)
	[[ -z $pids ]] || kill $pids 2>/dev/null || true
	wait 2>/dev/null || true
	[[ -n ${LOCKFILE_TEST_KEEP:-} ]] || rm -rf "$SCRATCH"
}
trap cleanup EXIT

fail() {
	echo "FAIL $NAME: $*"
	exit 1
}

# message N: one mbox message numbered N.
message() {
	printf 'From agent@localhost Thu Jan  1 00:00:00 2026\n'
	printf 'Message-Id: <%s@seeds.test>\nX-Seq: %s\n\n' "$1" "$1"
	printf 'body of message %s\n\n' "$1"
}

# deliver KIND SPOOL N: append message N to SPOOL under the dot-lock.
deliver() {
	local kind=$1 spool=$2 n=$3 msg
	msg=$(message "$n")$'\n'
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

now() {
	date +%s.%N
}
