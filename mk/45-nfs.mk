# NFS: two NFSv3 clients of one export (tests-sys/nfs/; see README.md).
#
#   make check-nfs           nfs-ganesha serving a scratch folder in a
#                            private network namespace, mounted twice with
#                            fuse-nfs; root only
#
# fuse-nfs is not packaged by Debian. Either FUSE_NFS=/path/to/fuse-nfs
# names a built program, or FUSE_NFS_SRC=/path/to/fuse-nfs-VERSION.tar.gz
# (or its unpacked folder) is built here, in $(B)/fuse-nfs, with libnfs
# and libfuse (packages libnfs-dev, libfuse-dev, autoconf, automake,
# libtool). By default the source is the tarball in ../shared/netfs/ beside
# the checkout, where the project keeps it. Without any the test prints
# SKIP.

NFS       := $(B)/nfs
NFS_PROGS := $(NFS)/nfs $(REL)/contend $(REL_REF)/contend $(DOTLOCKFILE)
FUSE_NFS_SRC ?= $(firstword $(wildcard ../shared/netfs/fuse-nfs-*.tar.gz))
FUSE_NFS_BUILT := $(B)/fuse-nfs/fuse/fuse-nfs
FUSE_NFS  ?= $(if $(FUSE_NFS_SRC),$(abspath $(FUSE_NFS_BUILT)))

CHECKS += check-nfs

.PHONY: check-nfs

$(NFS)/%: tests-sys/nfs/%.c tests-sys/rel/rel.h tests-c/common.h $(B)/liblockfile.so
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -Iinclude $< -o $@ -L$(B) -llockfile

# The source is copied into the build tree and built there; it never
# enters the project.
$(FUSE_NFS_BUILT):
	rm -rf $(B)/fuse-nfs
	mkdir -p $(B)/fuse-nfs
	if [ -d "$(FUSE_NFS_SRC)" ]; then \
		cp -R "$(FUSE_NFS_SRC)"/. $(B)/fuse-nfs/; \
	else \
		tar -xzf "$(FUSE_NFS_SRC)" -C $(B)/fuse-nfs --strip-components=1; \
	fi
	cd $(B)/fuse-nfs && autoreconf -fi >build.log 2>&1 \
		&& ./configure >>build.log 2>&1 && $(MAKE) >>build.log 2>&1 \
		|| { tail -30 build.log; exit 1; }

check-nfs: $(NFS_PROGS) $(if $(FUSE_NFS_SRC),$(FUSE_NFS_BUILT))
	$(REL_ENV) FUSE_NFS="$(FUSE_NFS)" tests-sys/nfs/nfs.sh $(NFS) \
		$(REL) $(REL_REF) $(abspath $(DOTLOCKFILE))
