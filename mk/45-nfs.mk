# fuse-nfs for check-nfs (tests-sys/nfs/; README.md). It is not packaged
# by Debian: either FUSE_NFS=/path/to/fuse-nfs names a built program, or
# FUSE_NFS_SRC=/path/to/fuse-nfs-VERSION.tar.gz (or its unpacked folder)
# is built here, in $(B)/fuse-nfs, with libnfs and libfuse (packages
# libnfs-dev, libfuse-dev, autoconf, automake, libtool). By default the
# source is the tarball in ../shared/netfs/ beside the checkout, where the
# project keeps it. Without any, check-nfs prints SKIP.

FUSE_NFS_SRC ?= $(firstword $(wildcard ../shared/netfs/fuse-nfs-*.tar.gz))
FUSE_NFS_BUILT := $(B)/fuse-nfs/fuse/fuse-nfs
FUSE_NFS  ?= $(if $(FUSE_NFS_SRC),$(abspath $(FUSE_NFS_BUILT)))
FUSE_NFS_DEP := $(if $(FUSE_NFS_SRC),$(FUSE_NFS_BUILT))

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
