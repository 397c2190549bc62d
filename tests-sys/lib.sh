# lib.sh - the one helper library of every bash test harness (sourced).
#
# A harness names its area, runs cases, and ends with one tally line:
#
#	. "$(dirname "$0")/../lib.sh"
#	t_begin faults
#	t_need_root faults || t_end
#	t_case enospc "$prog" enospc "$T_WORK/mnt"
#	t_end			# "faults: 1 passed, 0 failed, 0 skipped"
#
# Output lines: "PASS: name", "FAIL: name: why", "SKIP: name: why".
# With CI=true a skip is a failure: CI provides every tool and root, so
# nothing of ours may go unproven there.
#
# Every harness works in its own scratch folder $T_WORK under /tmp
# (world-readable, so that a second user can run programs copied there)
# and on exit, whatever happened, kills its background jobs, runs its
# clean-ups, unmounts what it mounted and removes the folder.

t_area=test
t_passed=0
t_failed=0
t_skipped=0
t_mounts=()
t_cleanups=()
T_WORK=
: "${T_TIMEOUT:=300}"

t_pass() {
	echo "PASS: $1"
	t_passed=$((t_passed + 1))
}

# t_fail NAME [WHY...]
t_fail() {
	local name=$1
	shift
	echo "FAIL: $name${*:+: $*}"
	t_failed=$((t_failed + 1))
}

# t_skip NAME WHY [PACKAGE]: a case that cannot run here. Under CI=true
# it fails instead.
t_skip() {
	local why=$2
	[ -z "${3:-}" ] || why="$why (apt-get install $3)"
	if [ "${CI:-}" = true ]; then
		t_fail "$1" "skipped in CI: $why"
	else
		echo "SKIP: $1: $why"
		t_skipped=$((t_skipped + 1))
	fi
}

# t_check NAME CONDITION-STATUS WHY: pass or fail by the status of the
# command run just before (t_check name $? "why").
t_check() {
	if [ "$2" = 0 ]; then t_pass "$1"; else t_fail "$1" "$3"; fi
}

# t_case NAME CMD...: run CMD under a timeout of $T_TIMEOUT seconds (a
# shell function runs as it is: the commands in it bring their own).
# Exit 0 passes; 77 is a skip (the program said why); 124 is a hang.
t_case() {
	local name=$1 rc=0
	shift
	if declare -F "$1" >/dev/null; then
		"$@" || rc=$?
	else
		timeout -k 10 "$T_TIMEOUT" "$@" || rc=$?
	fi
	case $rc in
	0) t_pass "$name" ;;
	77) t_skip "$name" "the program skipped it (see above)" ;;
	124 | 137) t_fail "$name" "hang: killed after ${T_TIMEOUT} s" ;;
	*) t_fail "$name" "exit status $rc" ;;
	esac
}

# t_need_root NAME: skip NAME and return 1 unless we are root.
t_need_root() {
	[ "$(id -u)" = 0 ] && return 0
	t_skip "$1" "needs root"
	return 1
}

# t_need_cmd CMD PACKAGE: skip and return 1 if CMD is missing.
t_need_cmd() {
	command -v "$1" >/dev/null 2>&1 && return 0
	t_skip "$1" "$1 is not installed" "$2"
	return 1
}

# t_end: print the tally; exit 1 if anything failed.
t_end() {
	echo "$t_area: $t_passed passed, $t_failed failed, $t_skipped skipped"
	if [ "$t_failed" = 0 ]; then exit 0; else exit 1; fi
}

t_cleanup() {
	local i pids
	pids=$(jobs -pr)
	[ -z "$pids" ] || kill $pids 2>/dev/null || true
	wait 2>/dev/null || true
	for ((i = ${#t_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${t_cleanups[i]}" || true
	done
	for ((i = ${#t_mounts[@]} - 1; i >= 0; i--)); do
		umount "${t_mounts[i]}" 2>/dev/null \
			|| umount -l "${t_mounts[i]}" 2>/dev/null || true
	done
	if [ -n "$T_WORK" ] && [ -d "$T_WORK" ] && [ -z "${LOCKFILE_TEST_KEEP:-}" ]; then
		rm -rf "$T_WORK"
	fi
}

# t_begin AREA: name the area, make $T_WORK and arm the clean-up.
t_begin() {
	t_area=$1
	T_WORK=$(mktemp -d "/tmp/lockfile-$1.XXXXXX")
	chmod 755 "$T_WORK"
	trap t_cleanup EXIT
	trap 'exit 130' INT TERM HUP
}

# t_mount MOUNTPOINT ARGS...: mount and remember to unmount.
t_mount() {
	local where=$1
	shift
	mkdir -p "$where"
	mount "$@" "$where"
	t_mounts+=("$where")
}

# t_on_exit CMD: run CMD (a string) at exit, before the unmounts.
t_on_exit() {
	t_cleanups+=("$1")
}

# t_pstate PID: the one-letter state of PID from /proc (R, S, T, Z, ...),
# nothing once it is gone. The command name may hold ") ", so the state
# is read after the last one.
t_pstate() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	st=${st##*) }
	printf '%s\n' "${st:0:1}"
}

# The system calls a waiting process sits in between two attempts.
T_SLEEPS="nanosleep clock_nanosleep poll ppoll select pselect6"

# t_syscall PID: the system call PID is blocked in, from /proc/PID/syscall
# (x86_64 and aarch64 numbers): nanosleep, poll, wait4, ... or the number
# when it is none of those; "running" while it runs; nothing once it is
# gone. Self-contained, so that a harness can pass it on with declare -f.
t_syscall() {
	local nr rest
	{ read -r nr rest <"/proc/$1/syscall"; } 2>/dev/null || return 0
	case $HOSTTYPE:$nr in
	x86_64:0 | aarch64:63) echo read ;;
	x86_64:7) echo poll ;;
	x86_64:23) echo select ;;
	x86_64:34) echo pause ;;
	x86_64:35 | aarch64:101) echo nanosleep ;;
	x86_64:61 | aarch64:260) echo wait4 ;;
	x86_64:72 | aarch64:25) echo fcntl ;;
	x86_64:73 | aarch64:32) echo flock ;;
	x86_64:128 | aarch64:137) echo rt_sigtimedwait ;;
	x86_64:130 | aarch64:133) echo rt_sigsuspend ;;
	x86_64:230 | aarch64:115) echo clock_nanosleep ;;
	x86_64:232) echo epoll_wait ;;
	x86_64:247 | aarch64:95) echo waitid ;;
	x86_64:270 | aarch64:72) echo pselect6 ;;
	x86_64:271 | aarch64:73) echo ppoll ;;
	x86_64:281 | aarch64:22) echo epoll_pwait ;;
	*) echo "$nr" ;;
	esac
}

# t_blocked PID CALL...: PID, or a process below it, is blocked in one of
# the system calls CALL... (names as t_syscall prints them).
t_blocked() {
	local pid=$1 s c n
	shift
	s=$(t_syscall "$pid")
	for n; do [[ $s == "$n" ]] && return 0; done
	for c in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
		t_blocked "$c" "$@" && return 0
	done
	return 1
}

# t_wait_blocked PID CALL...: wait until t_blocked PID CALL... holds, the
# observable proof that a waiter has made its attempt and now waits. 1,
# with a message, if PID ends first or 60 s pass.
t_wait_blocked() {
	local end=$((SECONDS + 60)) st
	until t_blocked "$@"; do
		st=$(t_pstate "$1")
		if [[ -z $st || $st == Z ]] || ((SECONDS >= end)); then
			echo "# process $1 never blocked in ${*:2}" \
				"(state '${st:-gone}', in '$(t_syscall "$1")')" >&2
			return 1
		fi
		sleep 0.01
	done
}

# t_copy_prog PROG...: copy programs, and the library that
# LD_LIBRARY_PATH names first, into a world-readable folder (root's home
# is closed to other users); prints the folder.
t_copy_prog() {
	local bin=$T_WORK/bin lib p
	mkdir -p "$bin"
	for p in "$@"; do
		cp "$p" "$bin/"
	done
	if [ -n "${LD_LIBRARY_PATH:-}" ]; then
		for lib in "${LD_LIBRARY_PATH%%:*}"/liblockfile.so*; do
			[ -e "$lib" ] && cp -P "$lib" "$bin/"
		done
	fi
	chmod -R a+rX "$bin"
	echo "$bin"
}

# t_user NAME [USERADD-OPTION...]: make sure the unprivileged test user
# NAME exists (a system user, no home, no login shell unless the options
# say otherwise). The one place users are made: tests-sys/provision.sh
# makes the test users with it.
t_user() {
	local name=$1
	shift
	id -u "$name" >/dev/null 2>&1 && return 0
	useradd --system --no-create-home --shell /usr/sbin/nologin "$@" "$name" \
		|| id -u "$name" >/dev/null
}
