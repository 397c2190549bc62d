#!/usr/bin/env bash
# netfs.sh BUILD REF_BUILD: locking on shared network file systems and on
# file systems without hard links (see netfs.c, contend.c).
#
# A private sshd on 127.0.0.1 (its own config, keys and port) serves a
# folder; it is mounted twice with sshfs, each client in a UTS namespace
# of its own with its own host name. Then a FUSE FAT image and an exFAT
# image on a loop device. BUILD holds netfs and contend built against our
# library (LD_LIBRARY_PATH set by the caller), REF_BUILD netfs built
# against the reference's static library.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

t_begin netfs
t_need_root "netfs: mounting file systems and running sshd" || t_end
for need in sshd:openssh-server ssh-keygen:openssh-client sshfs:sshfs \
	fusermount3:fuse3 unshare:util-linux fusefat:fusefat \
	mkfs.vfat:dosfstools mount.exfat-fuse:exfat-fuse \
	mkfs.exfat:exfatprogs losetup:mount ss:iproute2; do
	t_need_cmd "${need%%:*}" "${need#*:}" || t_end
done
build=$(realpath "$1")
ref=$(realpath "$2")
rounds=${NETFS_ROUNDS:-200}
read -ra vg <<<"${VALGRIND:-}"
w=$T_WORK
export LC_ALL=C

# ---- the server
mkdir -p "$w/ssh" "$w/export"
chmod 777 "$w/export"
[ -d /run/sshd ] || mkdir -p -m 755 /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$w/ssh/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$w/ssh/id"
cp "$w/ssh/id.pub" "$w/ssh/authorized_keys"
sshd_pid=
for try in $(seq 1 20); do
	port=$(shuf -i 20000-60000 -n 1)
	ss -Hltn "sport = :$port" | grep -q . && continue
	cat >"$w/ssh/sshd_config" <<-CONF
	ListenAddress 127.0.0.1
	Port $port
	HostKey $w/ssh/host_key
	PidFile $w/ssh/sshd.pid
	AuthorizedKeysFile $w/ssh/authorized_keys
	PermitRootLogin prohibit-password
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	UsePAM no
	StrictModes no
	Subsystem sftp internal-sftp
	CONF
	/usr/sbin/sshd -D -f "$w/ssh/sshd_config" -E "$w/ssh/log" &
	sshd_pid=$!
	t_on_exit "kill $sshd_pid 2>/dev/null; wait $sshd_pid 2>/dev/null"
	for i in $(seq 1 50); do
		ss -Hltn "sport = :$port" | grep -q . && break 2
		kill -0 "$sshd_pid" 2>/dev/null || break
		sleep 0.1
	done
	sshd_pid=
done
if [ -z "$sshd_pid" ]; then
	cat "$w/ssh/log" >&2 || true
	t_fail sshd "cannot start sshd"
	t_end
fi

# mount_sshfs NAME HOST [OPTIONS]: the share at $w/NAME, its client (the
# sshfs process) in a UTS namespace with host name HOST.
#  - allow_other: processes other than the mounting one may use it;
#  - dir_cache=no, attr_timeout=0, entry_timeout=0: a lock removed through
#    one mount is gone through the other at once (else after about 20 s);
#  - -s, one thread: with several, libfuse (3.14) leaves ".fuse_hidden"
#    files behind when a file is removed just as it is closed (the close
#    is handled after the removal, which hides the file instead, and then
#    nothing removes it); that is FUSE's debris, not ours, and would hide
#    ours from the debris check.
#  - NETFS_SSHFS_OPTS: more options (for trying things out).
mount_sshfs() {
	local name=$1 host=$2 extra=${3:-} opts
	opts="IdentityFile=$w/ssh/id,StrictHostKeyChecking=no"
	opts+=",UserKnownHostsFile=/dev/null,BatchMode=yes,LogLevel=ERROR"
	opts+=",port=$port,allow_other,dir_cache=no,attr_timeout=0"
	opts+=",entry_timeout=0$extra${NETFS_SSHFS_OPTS:+,$NETFS_SSHFS_OPTS}"
	mkdir -p "$w/$name"
	unshare --uts sh -c 'hostname "$1"; shift; exec sshfs -f "$@"' sh \
		"$host" -s -o "$opts" \
		"root@127.0.0.1:$w/export" "$w/$name" &
	local pid=$!
	t_mounts+=("$w/$name")
	t_on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
	for i in $(seq 1 100); do
		mountpoint -q "$w/$name" && return 0
		sleep 0.1
	done
	t_fail "sshfs-$name" "the sshfs mount did not come up"
	t_end
}

mount_sshfs a client-a
mount_sshfs b client-b

# No debris in folder $1: no temporary file, no probe, no lock, no
# hidden file of FUSE.
no_debris() {
	local left
	left=$(find "$1" -mindepth 1 \( -name '.lk*' -o -name '.fuse_hidden*' \
		-o -name '*.lock' -o -name marker \) -printf '%f ')
	if [ -n "$left" ]; then
		echo "# $2: left in the share: $left"
		return 1
	fi
}

t_case sshfs-links "${vg[@]}" "$build/netfs" links "$w/a" "$w/b"
t_case sshfs-reference "${vg[@]}" "$ref/netfs" refails "$w/a"
t_case sshfs-stress "${vg[@]}" "$build/contend" -H client-a,client-b \
	"$w/a,$w/b" 4 "$rounds"
t_case sshfs-fastwake "${vg[@]}" "$build/netfs" fastwake "$w/a" "$w/b"
t_case sshfs-debris no_debris "$w/export" sshfs

# sshfs told not to make hard links: link() fails with EPERM.
mount_sshfs c client-c ,disable_hardlink
mkdir -p "$w/export/nolinks"
t_case sshfs-nolinks "${vg[@]}" "$build/netfs" nolinks "$w/c/nolinks"
t_case sshfs-nolinks-stress "${vg[@]}" "$build/contend" "$w/c/nolinks" \
	4 "$((rounds / 2))"
t_case sshfs-nolinks-debris no_debris "$w/export/nolinks" sshfs-nolinks

# ---- FUSE FAT on an image file (no hard links at all)
truncate -s 16M "$w/fat.img"
mkfs.vfat "$w/fat.img" >/dev/null
mkdir -p "$w/fat"
fusefat -o rw+ "$w/fat.img" "$w/fat" >/dev/null 2>&1
t_mounts+=("$w/fat")
t_case fusefat-nolinks "${vg[@]}" "$build/netfs" nolinks "$w/fat"
t_case fusefat-stress "${vg[@]}" "$build/contend" "$w/fat" 4 \
	"$((rounds / 2))"
t_case fusefat-debris no_debris "$w/fat" fusefat

# ---- exFAT through FUSE on a loop device
truncate -s 16M "$w/exfat.img"
mkfs.exfat "$w/exfat.img" >/dev/null
loop=$(losetup -f --show "$w/exfat.img")
t_on_exit "losetup -d $loop"
mkdir -p "$w/exfat"
mount.exfat-fuse "$loop" "$w/exfat" >/dev/null 2>&1
t_mounts+=("$w/exfat")
t_case exfat-nolinks "${vg[@]}" "$build/netfs" nolinks "$w/exfat"
t_case exfat-stress "${vg[@]}" "$build/contend" "$w/exfat" 4 \
	"$((rounds / 2))"
t_case exfat-debris no_debris "$w/exfat" exfat

t_end
