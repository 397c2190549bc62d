#!/usr/bin/env bash
# Real consumers on our library: Debian's lockfile-progs and nmh's inc,
# linked against liblockfile.so.1, run on the reference and on ours
# (through LD_LIBRARY_PATH and through LD_PRELOAD); the transcripts must
# be the same, and inc must wait while our dotlockfile holds its lock.
#
#   consumers.sh OUR_LIBDIR REF_LIBDIR HOLDER...
#
# HOLDER is the command that takes a lock for the inc test, with the lock
# path appended: our dotlockfile ("dotlockfile -l -r 0"), or when it is
# not built yet our library through lockctl.
# The programs are copied into a fresh world-readable folder: mail-lock
# and friends are setgid mail, and the loader ignores LD_LIBRARY_PATH and
# LD_PRELOAD for setgid programs (and /root is not readable by the test
# user).  The copies are ordinary files running the same code.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
t_begin consumers

ours=$(realpath "$1") ref=$(realpath "$2")
shift 2
holder=("$@")
user=lockfile-dropin
progs=(lockfile-create lockfile-remove lockfile-touch lockfile-check
	mail-lock mail-unlock mail-touchlock)
inc=/usr/bin/mh/inc

for p in "${progs[@]}"; do
	command -v "$p" >/dev/null || {
		t_skip "$p" "not installed" lockfile-progs; t_end; }
done
[[ -x $inc ]] || { t_skip inc "$inc is not installed" nmh; t_end; }
t_need_cmd setpriv util-linux || t_end

# An unprivileged user in group mail for the mail-* commands, made once.
t_user "$user" --gid mail

# lib.sh removes $T_WORK (world-readable) and ends our jobs at exit.
work=$T_WORK
t_on_exit 'rm -f "/var/mail/$user.lock"'
mkdir -m 755 "$work/bin" "$work/ours" "$work/ref"
for p in "${progs[@]}"; do
	install -m 755 "$(command -v "$p")" "$work/bin/$p"
done
install -m 755 "$inc" "$work/bin/inc"
cp -P "$ours"/liblockfile.so* "$work/ours/"
cp -P "$ref"/liblockfile.so* "$work/ref/"
chmod -R a+rX "$work"
ours_so=$(realpath "$work/ours/liblockfile.so.1")
ref_so=$(realpath "$work/ref/liblockfile.so.1")

# env_for MODE: the loader variables of a mode.
env_for() {
	case $1 in
	ref) echo "LD_LIBRARY_PATH=$work/ref" ;;
	ours-path) echo "LD_LIBRARY_PATH=$work/ours" ;;
	# Without a path the loader would find the system's liblockfile
	# (lockfile-progs depends on it): the preload must win.
	ours-preload) echo "LD_PRELOAD=$ours_so" ;;
	esac
}

# Prove which file a program's lockfile_create binds to.
bound_to() {
	local mode=$1 prog=$2 so
	shift 2
	{ env "$(env_for "$mode")" LD_BIND_NOW=1 LD_DEBUG=bindings "$prog" \
		"$@" 2>&1 >/dev/null || true; } | sed -n "s/.*binding file [^ ]* \[0\] to \([^ ]*\) \[0\]: normal symbol \`lockfile_create'.*/\1/p" \
		| sed -n 1p | xargs -r realpath
}

fail=0
for mode in ref ours-path ours-preload; do
	want=$ref_so
	[[ $mode == ref ]] || want=$ours_so
	got=$(cd "$work" && bound_to "$mode" "$work/bin/lockfile-check" x)
	if [[ $got != "$want" ]]; then
		t_fail "$mode: lockfile-check bound lockfile_create to" \
			"'$got', want $want"
		fail=1
	fi
	got=$(bound_to "$mode" "$work/bin/inc" -help)
	if [[ $got != "$want" ]]; then
		t_fail "$mode: inc bound lockfile_create to '$got', want $want"
		fail=1
	fi
done
((t_failed == 0)) || t_end
t_pass "binding: lockfile-progs and inc use the reference, ours by" \
	"LD_LIBRARY_PATH, ours by LD_PRELOAD"

# This machine's holder identity line, as our library writes it after a
# pid (docs/protocol.md §2.3, docs/holder-identity.md), for a host name that needs no
# escaping.
own_id="lockid/1 host=$(uname -n) boot=$(</proc/sys/kernel/random/boot_id)"
own_id+=" pidns=$(stat -L -c %i /proc/self/ns/pid)"

# describe FILE: what a lock looks like (pids as "pid"; a pid followed by
# exactly this machine's identity line, as ours writes it, as "pid" too:
# t_create_content_identity and check-diff demand that line of ours).
describe() {
	if [[ ! -e $1 ]]; then
		echo "missing"
	else
		local c
		c=$(<"$1")
		[[ $c =~ ^[1-9][0-9]*$ ]] && c=pid
		[[ $c =~ ^[1-9][0-9]*$'\n'(.*)$ && ${BASH_REMATCH[1]} == "$own_id" ]] && c=pid
		echo "file $(stat -c %a "$1") \"$c\""
	fi
}

# One transcript: the same commands, in a fresh folder, on one library.
transcript() {
	local mode=$1 d e
	d=$(mktemp -d "$work/run.XXXXXX")
	chmod 755 "$d"
	e=$(env_for "$mode")
	step() {
		local rc=0 out
		out=$(cd "$d" && env "$e" "$@" 2>&1) || rc=$?
		echo "$* -> rc=$rc out=[${out//$d/D}] lock=$(describe "$d/f.lock")"
	}
	local b=$work/bin
	step "$b/lockfile-create" f
	step "$b/lockfile-check" f
	step "$b/lockfile-create" --retry 0 f
	touch -d '1 hour ago' "$d/f.lock"
	step "$b/lockfile-touch" --oneshot f
	echo "age after touch: $(( $(date +%s) - $(stat -c %Y "$d/f.lock") < 60 ))"
	step "$b/lockfile-remove" f
	step "$b/lockfile-check" f
	step "$b/lockfile-remove" f
	step "$b/lockfile-create" --use-pid --retry 0 f
	step "$b/lockfile-check" --use-pid f
	step "$b/lockfile-create" --use-pid --retry 0 f
	step "$b/lockfile-remove" f
	# Old by mtime only: with an old atime too the reference judges by
	# that atime (docs/protocol.md §3, we fix; tests-sys/diff/scenarios.c shows it).
	echo 0 >"$d/f.lock"
	touch -m -d '10 minutes ago' "$d/f.lock"
	step "$b/lockfile-check" f
	step "$b/lockfile-create" --retry 0 f
	step "$b/lockfile-remove" f
	step "$b/lockfile-create" --lock-name f.lock
	step "$b/lockfile-remove" --lock-name f.lock
	step "$b/lockfile-create" --retry 0 nodir/f
	step "$b/lockfile-create" --retry 1x f
	step "$b/lockfile-remove" f
	# The mail commands lock /var/mail/USER.lock of the caller.
	local m=/var/mail/$user.lock u
	u=(setpriv --reuid="$user" --regid=mail --init-groups)
	mstep() {
		local rc=0 out
		out=$(cd "$d" && env "$e" "${u[@]}" "$@" 2>&1) || rc=$?
		echo "${*##*/} -> rc=$rc out=[$out] lock=$(describe "$m")"
	}
	rm -f "$m"
	mstep "$b/mail-lock" --retry 0
	mstep "$b/mail-lock" --retry 0
	touch -d '1 hour ago' "$m"
	mstep "$b/mail-touchlock" --oneshot
	echo "mail age after touch: $(( $(date +%s) - $(stat -c %Y "$m") < 60 ))"
	mstep "$b/mail-unlock"
	mstep "$b/mail-unlock"
	echo "left: $(cd "$d" && ls -A)"
	rm -rf "$d"
}

transcript ref >"$work/ref.txt"
[[ -z ${VERBOSE:-} ]] || cat "$work/ref.txt"
for mode in ours-path ours-preload; do
	transcript "$mode" >"$work/$mode.txt"
	if diff -u "$work/ref.txt" "$work/$mode.txt"; then
		t_pass "lockfile-progs ($mode): $(wc -l <"$work/ref.txt")" \
			"steps as on the reference"
	else
		t_fail "lockfile-progs ($mode): differs from the reference"
		fail=1
	fi
done
# The transcript is worth comparing only if the steps did something.
grep -q 'lockfile-create --retry 0 f -> rc=4' "$work/ref.txt" &&
	grep -q 'mail-lock --retry 0 -> rc=0 out=\[\] lock=file 644 "0"' \
		"$work/ref.txt" || {
	t_fail "the reference transcript is not what lockfile-progs does:"
	cat "$work/ref.txt"; fail=1; }

# nmh's inc: a spool, an MH profile, dot locking of the spool.
mh() {
	local mode=$1 home=$work/mh-$1
	mkdir -p "$home/Mail/inbox"
	printf 'Path: Mail\nMailDrop: %s/spool\n' "$home" >"$home/.mh_profile"
	printf 'mts: sendmail/pipe\nspoollocking: dot\n' >"$home/mts.conf"
	printf 'From a@example.org Mon Jan  1 00:00:00 2024\nFrom: a@example.org\nSubject: %s\n\nbody\n\n' \
		"$mode" >"$home/spool"
	echo "$home"
}
run_inc() {
	local mode=$1 home=$2
	env "$(env_for "$mode")" HOME="$home" MH="$home/.mh_profile" \
		MHMTSCONF="$home/mts.conf" "$work/bin/inc" -silent </dev/null
}
for mode in ref ours-path ours-preload; do
	home=$(mh "$mode")
	if run_inc "$mode" "$home" && [[ -e $home/Mail/inbox/1 ]] &&
		[[ ! -s $home/spool ]] && [[ ! -e $home/spool.lock ]]; then
		t_pass "inc ($mode): mail incorporated, spool emptied, lock gone"
	else
		t_fail "inc ($mode): mail not incorporated"
		fail=1
	fi
done

# inc on our library waits while the holder has the spool locked.
home=$(mh ours-wait)
"${holder[@]}" "$home/spool.lock"
[[ -e $home/spool.lock ]] || { t_fail "holder did not lock"; t_end; }
run_inc ours-path "$home" &
ip=$!
# inc sleeps only between two attempts: once it sleeps it has found the
# lock held, and had it not, it would have incorporated by then.
if ! t_wait_blocked "$ip" $T_SLEEPS || [[ -e $home/Mail/inbox/1 ]]; then
	t_fail "inc: did not wait for the lock of ${holder[0]##*/}"
	fail=1
fi
rm -f "$home/spool.lock"
rc=0
wait "$ip" || rc=$?
if ((rc == 0)) && [[ -e $home/Mail/inbox/1 ]] && [[ ! -s $home/spool ]]; then
	t_pass "inc: waited while ${holder[0]##*/} held the spool, then" \
		"incorporated"
else
	t_fail "inc: exit $rc after the lock was released"
	fail=1
fi
t_end
