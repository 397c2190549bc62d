#!/usr/bin/env bash
# Our Debian packages in place of Debian's liblockfile1, liblockfile-bin
# and liblockfile-dev, and back, in a throwaway root: a private mount
# namespace whose /usr, /etc and /var are overlays over this system (and
# /var/mail and /run private), so that apt and dpkg change nothing here.
#
#   swap.sh --src SOURCE_TREE --debs OUT_DIR
#
# 1. `make deb` from SOURCE_TREE without any network (its build tools come
#    from Debian's packages first, with the network): build/deb/*.deb.
# 2. In the throwaway root: Debian's three packages and their consumers
#    (lockfile-progs, nmh, bsd-mailx with dma as its mail transport) from
#    Debian; `apt-get install ./our.deb...` replaces the three without
#    removing anything; dpkg -S, dpkg -V, dpkg-statoverride; the consumers
#    run as an unprivileged user (not in group mail) on a /var/mail that
#    is root:mail 2775, each while a lock it must wait for is held, and
#    each provably maps our library: the build id of the file mapped in
#    the waiting process (/proc/PID/map_files) is that of our package's.
# 3. Debian's packages reinstalled: the same checks with Debian's library.
# 4. This system's package database and files are unchanged.
#
# Needs root, unshare, overlayfs, apt with Debian's archive reachable.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"

src='' debs='' inner=0
while (($#)); do
	case $1 in
	--src) src=$(realpath "$2"); shift 2 ;;
	--debs) debs=$2; shift 2 ;;
	--inner) inner=1; shift ;;
	*) echo "usage: swap.sh --src SOURCE_TREE --debs OUT_DIR" >&2; exit 2 ;;
	esac
done

MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
SO=/usr/lib/$MA/liblockfile.so.1.0
PKGS=(liblockfile1 liblockfile-bin liblockfile-dev)
CONSUMERS=(lockfile-progs nmh bsd-mailx)
# A test user, made inside the throwaway root only.
TU=lfdeb

# ------------------------------------------------------------ the inside
if ((inner)); then
	# Run by the outer part below, which owns $T_WORK and its clean-up;
	# the mounts end with the namespace.
	t_area=deb-root
	T_WORK=$SWAP_WORK
	trap 'kill $(jobs -pr) 2>/dev/null || true' EXIT
	export DEBIAN_FRONTEND=noninteractive
	APT=(timeout 600 apt-get -y -q -o Dpkg::Use-Pty=0
		-o APT::Sandbox::User=root)

	# Overlays over what apt, dpkg and the maintainer scripts write; the
	# upper layers on a private tmpfs.
	# Never on the real system: only in a mount namespace of our own.
	if [[ $(readlink /proc/self/ns/mnt) == "$(readlink /proc/1/ns/mnt)" ]]; then
		t_fail namespace "--inner runs only in a private mount namespace"
		t_end
	fi
	mount -t tmpfs -o mode=0755 swap-upper "$T_WORK/ovl"
	for d in usr etc var; do
		o=$T_WORK/ovl/$d
		mkdir -p "$o/up" "$o/wk"
		# /$d may be a mount point already, an overlay of its own in a
		# container: ours is the one named swap-$d, on top.
		if ! mount -t overlay "swap-$d" \
			-o "lowerdir=/$d,upperdir=$o/up,workdir=$o/wk" "/$d" ||
			[[ $(findmnt -n -o SOURCE "/$d" | tail -n 1) != "swap-$d" ]]; then
			t_fail overlay "no overlay of ours on /$d"
			t_end
		fi
	done
	# No running services to reach (a maintainer script that asks
	# systemd finds none), and no service may start.
	mount -t tmpfs -o mode=0755 swap-run /run
	mkdir -p /run/lock && chmod 1777 /run/lock
	mount -t tmpfs -o mode=2775 swap-mail /var/mail
	chown root:mail /var/mail
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d

	installed() {
		dpkg-query -W -f '${Package}\t${Version}\t${db:Status-Abbrev}\n'
	}
	version_of() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || true; }
	build_id() {
		readelf -n "$1" | sed -n 's/.*Build ID: \([0-9a-f]*\).*/\1/p'
	}

	# Debian's packages and the consumers, from Debian's archive.
	refv=$(apt-cache madison liblockfile1 | awk -F'|' '{
		gsub(/ /, "", $2); if ($2 !~ /\+rs/) { print $2; exit } }')
	if [[ -z $refv ]]; then
		t_fail debian-version "no Debian liblockfile1 in apt's lists"
		t_end
	fi
	ref_pins=()
	for p in "${PKGS[@]}"; do ref_pins+=("$p=$refv"); done
	get_ref() {
		"${APT[@]}" install --allow-downgrades --no-install-recommends \
			"${ref_pins[@]}" "${CONSUMERS[@]}" dma
	}
	if get_ref >"$T_WORK/apt-ref.log" 2>&1 ||
		{ "${APT[@]}" update >>"$T_WORK/apt-ref.log" 2>&1 &&
			get_ref >>"$T_WORK/apt-ref.log" 2>&1; }; then
		t_pass "debian-installed: ${PKGS[*]} $refv and ${CONSUMERS[*]}"
	else
		tail -20 "$T_WORK/apt-ref.log"
		t_fail debian-installed "apt could not install Debian's packages"
		t_end
	fi
	ref_id=$(build_id "$SO")

	# Our packages, as README says to install them.
	ours_dir=$T_WORK/debs
	mkdir -m 755 "$ours_dir"
	cp "$debs"/liblockfile1_*.deb "$debs"/liblockfile-bin_*.deb \
		"$debs"/liblockfile-dev_*.deb "$ours_dir/"
	chmod 644 "$ours_dir"/*.deb
	ourv=$(dpkg-deb -f "$ours_dir"/liblockfile1_*.deb Version)
	mkdir "$T_WORK/ours-x"
	dpkg-deb -x "$ours_dir"/liblockfile1_*.deb "$T_WORK/ours-x"
	our_id=$(build_id "$T_WORK/ours-x/$SO")
	dpkg-deb -x "$ours_dir"/liblockfile-bin_*.deb "$T_WORK/ours-x"
	our_dl_id=$(build_id "$T_WORK/ours-x/usr/bin/dotlockfile")
	if [[ -z $our_id || -z $ref_id || $our_id == "$ref_id" ]]; then
		t_fail build-ids "ours '$our_id', Debian's '$ref_id'"
		t_end
	fi

	# The packages of the system, but for our three, must stay.
	installed | grep -v -e '^liblockfile1' -e '^liblockfile-' \
		| sort >"$T_WORK/before"

	# An administrator's override of dotlockfile's mode must survive
	# the swap: nothing in our package sets the mode but the package.
	dpkg-statoverride --update --add root root 0755 /usr/bin/dotlockfile

	if "${APT[@]}" install "$ours_dir"/*.deb >"$T_WORK/apt-ours.log" 2>&1; then
		t_pass "apt-ours: apt-get install ./liblockfile{1,-bin,-dev}_$ourv.deb"
	else
		tail -20 "$T_WORK/apt-ours.log"
		t_fail apt-ours "apt-get install of our packages failed"
	fi

	# check_db LABEL VERSION: the three at VERSION, nothing removed, the
	# library owned by ours, dpkg -V and dpkg --audit clean.
	check_db() {
		local label=$1 want=$2 p bad=''
		for p in "${PKGS[@]}"; do
			[[ $(version_of "$p") == "$want" ]] ||
				bad+=" $p=$(version_of "$p")"
		done
		installed | grep -v -e '^liblockfile1' -e '^liblockfile-' \
			| sort >"$T_WORK/after"
		if [[ -n $bad ]]; then
			t_fail "$label-versions" "want $want:$bad"
		elif ! diff -u "$T_WORK/before" "$T_WORK/after"; then
			t_fail "$label-versions" "other packages changed (above)"
		else
			t_pass "$label-versions: ${PKGS[*]} at $want, no other package changed ($(wc -l <"$T_WORK/after") packages)"
		fi
		local owner
		owner=$(dpkg -S "$SO" 2>&1 || true)
		if [[ $owner == "liblockfile1:$(dpkg --print-architecture): $SO" ]]; then
			t_pass "$label-dpkg-S: $owner"
		else
			t_fail "$label-dpkg-S" "dpkg -S $SO: $owner"
		fi
		local v
		if v=$(dpkg -V "${PKGS[@]}" "${CONSUMERS[@]}" 2>&1) && [[ -z $v ]] &&
			v=$(dpkg --audit 2>&1) && [[ -z $v ]]; then
			t_pass "$label-dpkg-V: dpkg -V and dpkg --audit say nothing"
		else
			t_fail "$label-dpkg-V" "$v"
		fi
	}
	check_db ours "$ourv"
	if [[ $(build_id "$SO") == "$our_id" ]]; then
		t_pass "ours-file: $SO is our package's (build id $our_id)"
	else
		t_fail ours-file "$SO has build id $(build_id "$SO")"
	fi
	mode=$(stat -c '%U:%G %a' /usr/bin/dotlockfile)
	if [[ $mode == "root:root 755" ]]; then
		t_pass "statoverride: dpkg applied root:root 0755 to our dotlockfile"
	else
		t_fail statoverride "dotlockfile is $mode after the swap"
	fi
	# Without the override, the package's own mode.
	dpkg-statoverride --remove /usr/bin/dotlockfile
	"${APT[@]}" install --reinstall "$ours_dir"/liblockfile-bin_*.deb \
		>>"$T_WORK/apt-ours.log" 2>&1
	mode=$(stat -c '%U:%G %a' /usr/bin/dotlockfile)
	if [[ $mode == "root:mail 2755" ]]; then
		t_pass "dotlockfile-mode: root:mail 2755, as in Debian's package"
	else
		t_fail dotlockfile-mode "our dotlockfile is $mode"
	fi

	t_user "$TU" --home-dir "$T_WORK/home" --shell /bin/sh
	install -d -o "$TU" -m 755 "$T_WORK/home"
	# as_user [VAR=VALUE...] CMD...: CMD as the test user, in a clean
	# environment (no LD_LIBRARY_PATH or LD_PRELOAD).
	user_argv() {
		local e=(PATH=/usr/bin:/bin HOME="$T_WORK/home" USER="$TU"
			LOGNAME="$TU")
		while [[ $1 == *=* ]]; do e+=("$1"); shift; done
		UARGV=(env -i "${e[@]}" setpriv --reuid="$TU" --regid="$TU"
			--init-groups -- "$@")
	}
	as_user() { user_argv "$@"; timeout 120 "${UARGV[@]}" </dev/null; }
	# run_user [VAR=VALUE...] CMD...: the same in the background, stdin
	# from $UIN; its pid in $UPID (env and setpriv exec, so it is CMD's).
	run_user() {
		user_argv "$@"
		"${UARGV[@]}" <"${UIN:-/dev/null}" &
		UPID=$!
	}

	# mapped_id PID: build id of the liblockfile.so.1 mapped in PID.
	mapped_id() {
		local range
		range=$(awk '$6 ~ /liblockfile\.so/ { print $1; exit }' \
			"/proc/$1/maps" 2>/dev/null) || return 0
		[[ -n $range ]] && build_id "/proc/$1/map_files/$range"
	}

	# waits_on NAME LOCKDIR WANT_ID DONE_TEST: the consumer $UPID must
	# wait while the lock is held by root (a temporary .lk file of its
	# attempt appears, DONE_TEST is still false), map the library with
	# build id WANT_ID, and finish once the lock is released.
	# alive PID: PID runs (a child that exited stays a zombie until
	# waited for, and kill -0 would still find it).
	alive() {
		local st
		st=$(t_pstate "$1")
		[[ -n $st && $st != Z ]]
	}
	waits_on() {
		local name=$1 dir=$2 want=$3 done_test=$4 i got=''
		for ((i = 0; i < 600; i++)); do
			compgen -G "$dir/.lk*" >/dev/null && break
			alive "$UPID" || break
			sleep 0.1
		done
		if ! alive "$UPID"; then
			t_fail "$name" "did not wait for the held lock"
			wait "$UPID" || true
			return
		fi
		got=$(mapped_id "$UPID")
		if eval "$done_test"; then
			t_fail "$name" "went on while the lock was held"
		elif [[ $got != "$want" ]]; then
			t_fail "$name" "mapped a library with build id '$got'," \
				"not '$want'"
		else
			release
			local rc=0
			for ((i = 0; i < 1200; i++)); do
				alive "$UPID" || break
				sleep 0.1
			done
			alive "$UPID" && kill -9 "$UPID"
			wait "$UPID" || rc=$?
			if ((rc == 0)) && eval "$done_test"; then
				t_pass "$name: waited for the lock on the library with build id $want, then went on"
			else
				t_fail "$name" "exit $rc after the lock was released"
			fi
		fi
		kill "$UPID" 2>/dev/null || true
		release
	}
	hold() { printf '0\n' >"$1"; HELD=$1; }
	release() { [[ -z ${HELD:-} ]] || rm -f "$HELD"; HELD=''; }

	MBOX=/var/mail/$TU
	message() {
		printf 'From a@example.org Mon Jan  1 00:00:00 2024\nFrom: a@example.org\nSubject: %s\n\nbody\n\n' "$1"
	}
	mkmbox() {
		rm -f "$MBOX"
		local s
		for s in "$@"; do message "$s" >>"$MBOX"; done
		chown "$TU:mail" "$MBOX"
		chmod 660 "$MBOX"
	}

	# consumers LABEL LIB_ID DOTLOCKFILE_ID: every consumer as the test
	# user; LIB_ID is the build id its library must have.
	consumers() {
		local l=$1 lib=$2 dl=$3 rc out
		mkmbox one

		# lockfile-progs' mail-lock is set-group-ID mail: the loader
		# ignores LD_LIBRARY_PATH there, it uses the system's library.
		hold "$MBOX.lock"
		run_user /usr/bin/mail-lock --retry 1
		waits_on "$l-mail-lock" /var/mail "$lib" \
			'[[ -e $MBOX.lock && $(stat -c %U "$MBOX.lock") == "$TU" ]]'
		rc=0
		out=$(as_user /usr/bin/mail-unlock 2>&1) || rc=$?
		if ((rc == 0)) && [[ ! -e $MBOX.lock ]]; then
			t_pass "$l-mail-unlock: the user's mail lock removed"
		else
			t_fail "$l-mail-unlock" "exit $rc [$out], lock left"
		fi

		# dotlockfile -m, the user's own mailbox, through set-group-ID.
		rc=0
		out=$(as_user /usr/bin/dotlockfile -m -l -r 0 2>&1) || rc=$?
		if ((rc == 0)) && [[ -e $MBOX.lock ]] &&
			[[ $(build_id /usr/bin/dotlockfile) == "$dl" ]]; then
			t_pass "$l-dotlockfile-m-l: locked $MBOX.lock (dotlockfile build id $dl)"
		else
			t_fail "$l-dotlockfile-m-l" "exit $rc [$out]"
		fi
		rc=0
		out=$(as_user /usr/bin/dotlockfile -m -u 2>&1) || rc=$?
		if ((rc == 0)) && [[ ! -e $MBOX.lock ]]; then
			t_pass "$l-dotlockfile-m-u: unlocked"
		else
			t_fail "$l-dotlockfile-m-u" "exit $rc [$out]"
		fi

		# nmh's inc with dot locking of the spool; the user cannot
		# write /var/mail, so the library runs the setgid helper.
		mkmbox one two
		rm -rf "$T_WORK/home/Mail"
		install -d -o "$TU" "$T_WORK/home/Mail" "$T_WORK/home/Mail/inbox"
		printf 'Path: %s/Mail\nMailDrop: %s\n' "$T_WORK/home" "$MBOX" \
			>"$T_WORK/home/.mh_profile"
		printf 'mts: sendmail/pipe\nspoollocking: dot\n' \
			>"$T_WORK/home/mts.conf"
		chown "$TU" "$T_WORK/home/.mh_profile" "$T_WORK/home/mts.conf"
		hold "$MBOX.lock"
		run_user MH="$T_WORK/home/.mh_profile" \
			MHMTSCONF="$T_WORK/home/mts.conf" /usr/bin/mh/inc -silent
		waits_on "$l-inc" /var/mail "$lib" \
			'[[ -e $T_WORK/home/Mail/inbox/2 && ! -s $MBOX && ! -e $MBOX.lock ]]'

		# bsd-mailx: read the spool, delete the first message, quit.
		mkmbox one two
		hold "$MBOX.lock"
		printf 'd 1\nq\n' >"$T_WORK/mailx.in"
		UIN=$T_WORK/mailx.in run_user MAIL="$MBOX" /usr/bin/bsd-mailx -N \
			>"$T_WORK/mailx.out"
		waits_on "$l-bsd-mailx" /var/mail "$lib" \
			'[[ $(grep -c ^Subject: $MBOX) == 1 ]] && grep -q "^Subject: two" $MBOX && [[ ! -e $MBOX.lock ]]'
		if compgen -G "/var/mail/.lk*" >/dev/null; then
			t_fail "$l-leftovers" "$(ls -A /var/mail)"
		fi
	}
	consumers ours "$our_id" "$our_dl_id"

	# Debian's packages back.
	if "${APT[@]}" install --allow-downgrades "${ref_pins[@]}" \
		>"$T_WORK/apt-back.log" 2>&1; then
		t_pass "apt-back: apt-get install --allow-downgrades ${ref_pins[*]}"
	else
		tail -20 "$T_WORK/apt-back.log"
		t_fail apt-back "reinstalling Debian's packages failed"
	fi
	check_db debian "$refv"
	if [[ $(build_id "$SO") == "$ref_id" ]]; then
		t_pass "debian-file: $SO is Debian's again (build id $ref_id)"
	else
		t_fail debian-file "$SO has build id $(build_id "$SO")"
	fi
	consumers debian "$ref_id" "$(build_id /usr/bin/dotlockfile)"
	t_end
fi

# ------------------------------------------------------------ the outside
t_begin deb
t_need_root deb || t_end
for c in unshare:util-linux setpriv:util-linux apt-get:apt dpkg-deb:dpkg \
	readelf:binutils; do
	t_need_cmd "${c%%:*}" "${c#*:}" || t_end
done
[[ -n $src && -n $debs ]] || { t_fail args "--src and --debs are needed"; t_end; }

# 1. The packages, built without a network: the tools first (they come
#    from Debian's archive), then make deb in a namespace with no network.
mkdir -p "$debs"
debs=$(realpath "$debs")
b=$(dirname "$debs")
t_case deb-tools make -s -C "$src" deb-tools B="$b"
T_TIMEOUT=1200 t_case deb-offline unshare --net -- env CARGO_NET_OFFLINE=true \
	bash -c 'make -s -C "$1" deb B="$2" >"$3" 2>&1' _ "$src" "$b" \
	"$T_WORK/deb.log"
if ! compgen -G "$debs/liblockfile1_*.deb" >/dev/null; then
	tail -20 "$T_WORK/deb.log"
	t_end
fi
# lintian: no error (the warnings kept are listed in README).
if command -v lintian >/dev/null; then
	t_case lintian timeout 300 lintian --fail-on error \
		"$debs"/*.deb "$debs"/dbgsym/*.deb || true
else
	t_skip lintian "lintian is not installed" lintian
fi

# Stripped programs and library; their debug information in the -dbgsym
# packages, under the build id.
x=$T_WORK/x
mkdir "$x"
for d in "$debs"/liblockfile1_*.deb "$debs"/liblockfile-bin_*.deb \
	"$debs"/dbgsym/*.deb; do
	dpkg-deb -x "$d" "$x"
done
dbg_bad=''
for f in "usr/lib/$MA/liblockfile.so.1.0" usr/bin/dotlockfile usr/bin/dotlock; do
	id=$(readelf -n "$x/$f" | sed -n 's/.*Build ID: \([0-9a-f]*\).*/\1/p')
	dbg=$x/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
	if readelf -S "$x/$f" | grep -e '\.debug_info' -e '\.symtab' >/dev/null; then
		dbg_bad+=" $f is not stripped;"
	elif [[ -z $id ]] || ! readelf -S "$dbg" 2>/dev/null | grep '\.debug_info' >/dev/null; then
		dbg_bad+=" no debug file for $f (build id '$id');"
	fi
done
if [[ -z $dbg_bad ]]; then
	t_pass "dbgsym: library and programs stripped (liblockfile.so.1.0: $(stat -c %s "$x/usr/lib/$MA/liblockfile.so.1.0") bytes), debug info under /usr/lib/debug/.build-id"
else
	t_fail dbgsym "$dbg_bad"
fi
# The library as the package ships it, held to the size check-abi holds
# the build's stripped copy to (docs/layers.md, "How the libraries are built").
size=$(stat -c %s "$x/usr/lib/$MA/liblockfile.so.1.0")
if ((size <= 65536)); then
	t_pass "deb-size: liblockfile.so.1.0 in liblockfile1 is $size bytes (at most 64 KiB)"
else
	t_fail deb-size "liblockfile.so.1.0 in liblockfile1 is $size bytes, more than 64 KiB"
fi

# The host as dpkg and a few files see it.
# (Other tests may add their own users and locks meanwhile: only what this
# test could have changed is compared.)
snapshot() {
	dpkg -l
	md5sum /var/lib/dpkg/status
	dpkg-statoverride --list
	ls -la --time-style=full-iso "/usr/lib/$MA"/liblockfile* \
		/usr/bin/dotlockfile /usr/bin/mail-lock /usr/bin/mh/inc \
		/usr/sbin/policy-rc.d 2>&1
	md5sum "/usr/lib/$MA"/liblockfile* /usr/bin/dotlockfile 2>&1
	ls /var/cache/apt/archives
	echo "test user: $(grep -c "^$TU:" /etc/passwd /etc/group)"
	echo "its mail: $(ls -A /var/mail | grep -c "^$TU" || true)"
}
snapshot >"$T_WORK/host-before"

# 2-3. The throwaway root.
mkdir -p "$T_WORK/ovl"
chmod 755 "$T_WORK"
T_TIMEOUT=${T_TIMEOUT:-900} t_case throwaway-root env SWAP_WORK="$T_WORK" \
	unshare -m --propagation private -- "$0" --inner --debs "$debs" || true

# 4. Nothing changed here.
snapshot >"$T_WORK/host-after"
if diff -u "$T_WORK/host-before" "$T_WORK/host-after"; then
	t_pass "host-unchanged: dpkg -l, the dpkg database, statoverrides, /var/mail and the library files are as before"
else
	t_fail host-unchanged "the host changed (above)"
fi
if findmnt -rn -o TARGET | grep -F "$T_WORK" >/dev/null; then
	t_fail mounts "a mount of the throwaway root is left"
fi
t_end
