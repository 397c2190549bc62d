# The reference: Debian's liblockfile 1.17 packages, downloaded and
# unpacked into the build tree, never installed (they must not shadow our
# headers or library). Tests compare against these files.

REF          := $(B)/reference
REF_STAMP    := $(REF)/.unpacked
REF_LIBDIR   := $(abspath $(REF))/root/usr/lib/x86_64-linux-gnu
REF_INCLUDE  := $(abspath $(REF))/root/usr/include
REF_DOTLOCKFILE := $(abspath $(REF))/root/usr/bin/dotlockfile
REF_PACKAGES := liblockfile1 liblockfile-dev liblockfile-bin

.PHONY: reference
reference: $(REF_STAMP)

$(REF_STAMP):
	rm -rf $(REF) && mkdir -p $(REF)/debs
	cd $(REF)/debs && apt-get download $(REF_PACKAGES) 2>/dev/null \
		|| { apt-get update -qq && apt-get download $(REF_PACKAGES); }
	for deb in $(REF)/debs/*.deb; do dpkg-deb -x "$$deb" $(REF)/root; done
	test -e $(REF_LIBDIR)/liblockfile.so.1 && test -x $(REF_DOTLOCKFILE)
	touch $@
