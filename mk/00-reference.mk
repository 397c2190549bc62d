# The reference: Debian's liblockfile 1.17 packages, downloaded and
# unpacked into the build tree, never installed (they must not shadow our
# headers or library). The checks that need it say so (need "ref" in
# mk/checks.tsv); make test never does.

REF          := $(B)/reference
REF_STAMP    := $(REF)/.unpacked
REF_LIBDIR   := $(abspath $(REF))/root/usr/lib/x86_64-linux-gnu
REF_INCLUDE  := $(abspath $(REF))/root/usr/include
REF_SO       := $(REF_LIBDIR)/liblockfile.so.1.0
REF_DOTLOCKFILE := $(abspath $(REF))/root/usr/bin/dotlockfile
REF_PACKAGES := liblockfile1 liblockfile-dev liblockfile-bin
# The reference exports lockfile_create2 from its static archive only;
# the same objects linked into a shared object give the differential
# harnesses one.
REF_CREATE2  := $(REF)/ref-create2.so

.PHONY: reference
reference: $(REF_STAMP)

$(REF_STAMP):
	rm -rf $(REF) && mkdir -p $(REF)/debs
	cd $(REF)/debs && apt-get download $(REF_PACKAGES) 2>/dev/null \
		|| { apt-get update -qq && apt-get download $(REF_PACKAGES); }
	for deb in $(REF)/debs/*.deb; do dpkg-deb -x "$$deb" $(REF)/root; done
	test -e $(REF_LIBDIR)/liblockfile.so.1 && test -x $(REF_DOTLOCKFILE)
	touch $@

$(REF_CREATE2): $(REF_STAMP)
	$(CC) -shared -o $@ -Wl,--whole-archive $(REF_LIBDIR)/liblockfile.a \
		-Wl,--no-whole-archive
