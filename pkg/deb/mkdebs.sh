#!/usr/bin/env bash
# Builds the Debian binary packages liblockfile1, liblockfile-dev and
# liblockfile-bin (and their -dbgsym packages) from a staged
# `make install DESTDIR=STAGE PREFIX=/usr LIBDIR=/usr/lib/MULTIARCH`, the
# way debhelper would: every staged file in exactly one package, ELF files
# stripped with their debug symbols split out by build id, manual pages
# compressed (.so pages as symlinks), the copyright and changelog in
# /usr/share/doc, md5sums, shlibs, symbols and the ldconfig trigger.
#
#   mkdebs.sh --stage DIR --out DIR --work DIR --multiarch TRIPLET
#
# Runs as root or under fakeroot (dotlockfile is root:mail 2755 inside the
# package). Needs dpkg-dev and binutils. DEB_MAINTAINER, if set, replaces
# the Maintainer field.
set -euo pipefail

die() { echo "mkdebs.sh: $*" >&2; exit 1; }

stage='' out='' work='' ma=''
while (($#)); do
	case $1 in
	--stage) stage=$2 ;;
	--out) out=$2 ;;
	--work) work=$2 ;;
	--multiarch) ma=$2 ;;
	*) die "unknown argument $1" ;;
	esac
	shift 2
done
[[ -n $stage && -n $out && -n $work && -n $ma ]] ||
	die "usage: mkdebs.sh --stage DIR --out DIR --work DIR --multiarch TRIPLET"
[[ $(id -u) == 0 ]] || die "run as root or under fakeroot"
here=$(cd "$(dirname "$0")" && pwd)
stage=$(realpath "$stage")
mkdir -p "$out" "$work"
out=$(realpath "$out") work=$(realpath "$work")

version=$(dpkg-parsechangelog -l "$here/changelog" -S Version)
# Every timestamp in the packages is the changelog's date.
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l "$here/changelog" -S Timestamp)
export SOURCE_DATE_EPOCH
LIB=usr/lib/$ma

# dpkg-dev's tools want a source tree: the packages are built in
# $work/src/debian/PACKAGE, next to our templates.
src=$work/src
root=$src/debian
rm -rf "$src" "$work/root"
mkdir -p "$root"

# ------------------------------------------------------------ file lists
pkg_files() {
	case $1 in
	liblockfile1)
		echo "$LIB/liblockfile.so.1.0 $LIB/liblockfile.so.1" ;;
	liblockfile-dev)
		echo "usr/include/lockfile.h usr/include/maillock.h"
		echo "usr/include/lockfile_mbox.h $LIB/liblockfile.a"
		echo "$LIB/liblockfile.so $LIB/libmail.so $LIB/libmail.a"
		echo "$LIB/pkgconfig/liblockfile.pc"
		(cd "$stage" && find usr/share/man/man3 -type f) ;;
	liblockfile-bin)
		echo "usr/bin/dotlockfile usr/bin/dotlock"
		(cd "$stage" && find usr/share/man/man1 -type f) ;;
	esac
}
PACKAGES=(liblockfile1 liblockfile-dev liblockfile-bin)

placed=$work/placed
: >"$placed"
for pkg in "${PACKAGES[@]}"; do
	for f in $(pkg_files "$pkg"); do
		[[ -e $stage/$f || -L $stage/$f ]] || die "$f is not in the stage"
		mkdir -p "$root/$pkg/$(dirname "$f")"
		cp -a "$stage/$f" "$root/$pkg/$f"
		echo "$f" >>"$placed"
	done
done
# A file that `make install` gained and no package took is a mistake.
leftover=$(comm -23 <(cd "$stage" && find . ! -type d -printf '%P\n' |
	LC_ALL=C sort) <(LC_ALL=C sort "$placed"))
[[ -z $leftover ]] || die "staged but in no package: $leftover"

# --------------------------------------------------------- debug symbols
# Like dh_strip: the debug sections go to the -dbgsym package under
# /usr/lib/debug/.build-id/, the file keeps a debuglink to them.
declare -A BUILD_IDS
split_debug() {
	local pkg=$1 kind=$2 file=$root/$1/$3 id dbg
	id=$(readelf -n "$file" | sed -n 's/.*Build ID: \([0-9a-f]*\).*/\1/p')
	[[ ${#id} -ge 8 ]] || die "$3 has no build id"
	dbg=$root/$pkg-dbgsym/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
	mkdir -p "$(dirname "$dbg")"
	objcopy --only-keep-debug --compress-debug-sections "$file" "$dbg"
	chmod 0644 "$dbg"
	case $kind in
	lib) strip --remove-section=.comment --remove-section=.note \
		--strip-unneeded "$file" ;;
	exe) strip --remove-section=.comment --remove-section=.note "$file" ;;
	esac
	objcopy --add-gnu-debuglink="$dbg" "$file"
	BUILD_IDS[$pkg]="${BUILD_IDS[$pkg]:+${BUILD_IDS[$pkg]} }$id"
}
split_debug liblockfile1 lib "$LIB/liblockfile.so.1.0"
split_debug liblockfile-bin exe usr/bin/dotlockfile
split_debug liblockfile-bin exe usr/bin/dotlock
strip --strip-debug --remove-section=.comment --remove-section=.note \
	--enable-deterministic-archives -R '.gnu.lto_*' -R '.gnu.debuglto_*' \
	"$root/liblockfile-dev/$LIB/liblockfile.a"

# ----------------------------------------------------------- manual pages
# A page that only says ".so man3/other.3" becomes a symlink, as
# dh_installman does; the others are compressed.
for page in $(cd "$root" && find . -path '*/usr/share/man/man*/*' -type f); do
	page=$root/${page#./}
	target=$(sed -n '1s/^\.so man[0-9]\/\([^ ]*\)$/\1/p' "$page")
	if [[ -n $target && $(wc -l <"$page") -le 1 ]]; then
		rm "$page"
		ln -s "$target.gz" "$page.gz"
	else
		gzip -9n "$page"
	fi
done

# ------------------------------------------------------------ docs, owners
for pkg in "${PACKAGES[@]}"; do
	doc=$root/$pkg/usr/share/doc/$pkg
	install -D -m 0644 "$here/copyright" "$doc/copyright"
	gzip -9n <"$here/changelog" >"$doc/changelog.Debian.gz"
	if [[ -d $root/$pkg-dbgsym ]]; then
		mkdir -p "$root/$pkg-dbgsym/usr/share/doc"
		ln -s "$pkg" "$root/$pkg-dbgsym/usr/share/doc/$pkg-dbgsym"
	fi
done
# dotlockfile is set-group-ID mail, as in Debian's liblockfile-bin.
install -D -m 0644 "$here/liblockfile-bin.lintian-overrides" \
	"$root/liblockfile-bin/usr/share/lintian/overrides/liblockfile-bin"

chown -R root:root "$root"
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -exec chmod 0644 {} +
chmod 0755 "$root"/liblockfile-bin/usr/bin/*
chown root:mail "$root/liblockfile-bin/usr/bin/dotlockfile"
chmod 2755 "$root/liblockfile-bin/usr/bin/dotlockfile"

# ---------------------------------------------------------- control files
cp "$here/control" "$here/changelog" "$here/liblockfile1.symbols" \
	"$src/debian/"
maint=()
[[ -z ${DEB_MAINTAINER:-} ]] || maint=("-DMaintainer=$DEB_MAINTAINER")
# dpkg-shlibdeps finds a package's folder by its DEBIAN folder.
for pkg in "${PACKAGES[@]}"; do
	mkdir -p "$root/$pkg/DEBIAN"
done
cd "$src"

dpkg-shlibdeps -Tdebian/liblockfile1.substvars \
	"debian/liblockfile1/$LIB/liblockfile.so.1.0"
dpkg-shlibdeps -Tdebian/liblockfile-bin.substvars \
	debian/liblockfile-bin/usr/bin/dotlockfile \
	debian/liblockfile-bin/usr/bin/dotlock
: >debian/liblockfile-dev.substvars

mkdir -p "$root/liblockfile1/DEBIAN"
# The symbols file says which version each symbol needs; -c4 fails the
# build if the library exports anything else.
dpkg-gensymbols -pliblockfile1 -P"$root/liblockfile1" -c4 -q
# For tools that read shlibs only: our extensions need this package.
echo "liblockfile 1 liblockfile1 (>= ${version%-*})" \
	>"$root/liblockfile1/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$root/liblockfile1/DEBIAN/triggers"

md5sums() {
	(cd "$1" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' |
		LC_ALL=C sort -z | xargs -0r md5sum) >"$1/DEBIAN/md5sums"
}

rm -rf "$out"/*.deb "$out/dbgsym"
mkdir -p "$out/dbgsym"
for pkg in "${PACKAGES[@]}"; do
	mkdir -p "$root/$pkg/DEBIAN"
	md5sums "$root/$pkg"
	dpkg-gencontrol -p"$pkg" -P"$root/$pkg" -Tdebian/$pkg.substvars \
		-f"$work/files" "${maint[@]}"
	chmod 0644 "$root/$pkg/DEBIAN"/*
	dpkg-deb --build -Zxz "$root/$pkg" "$out/" >/dev/null
	[[ -d $root/$pkg-dbgsym/usr ]] || continue
	d=$root/$pkg-dbgsym
	mkdir -p "$d/DEBIAN"
	md5sums "$d"
	ma_field=-UMulti-Arch
	[[ $pkg != liblockfile1 ]] || ma_field=-DMulti-Arch=same
	dpkg-gencontrol -p"$pkg" -P"$d" -Tdebian/$pkg.substvars -f"$work/files" \
		"${maint[@]}" -DPackage="$pkg-dbgsym" \
		-DDepends="$pkg (= $version)" -UBreaks -UReplaces \
		-DSection=debug -DPriority=optional "$ma_field" \
		-DAuto-Built-Package=debug-symbols \
		-DBuild-Ids="${BUILD_IDS[$pkg]}" \
		-DDescription="debug symbols for $pkg"
	chmod 0644 "$d/DEBIAN"/*
	dpkg-deb --build -Zxz "$d" "$out/dbgsym/" >/dev/null
done
ls -l "$out"/*.deb "$out"/dbgsym/*.deb
