# Debian packages that stand in for Debian's liblockfile1, liblockfile-dev
# and liblockfile-bin (README "Installing on Debian"; pkg/deb/).
#
#   make deb          build/deb/*.deb, and build/deb/dbgsym/*.deb with the
#                     debug symbols; as root, installs its build tools
#                     from Debian's packages first (only those missing)
#   make deb-lint     lintian on them: no error
#
# check-deb (mk/checks.tsv) swaps them in for Debian's and back.
#
# The build needs no network: cargo builds from Cargo.lock (--locked) and
# the packaging tools come from Debian (DEB_TOOLS, installed by
# tests-sys/provision.sh like the test packages).

DEB_DIR    := $(B)/deb
DEB_WORK   := $(DEB_DIR)/work
# A target folder of its own: the installed paths (the helper's) are built
# into the library, and must not force rebuilds of the ordinary build.
DEB_TARGET := $(abspath $(CARGO_TARGET_DIR))/deb
DEB_TOOLS  := build-essential dpkg-dev binutils fakeroot
# Expanded when used: dpkg-dev may be installed by deb-tools first.
DEB_MULTIARCH = $(shell dpkg-architecture -qDEB_HOST_MULTIARCH)
# Debian's debug information, with the build folder's path left out.
DEB_CARGO_ENV := CARGO_PROFILE_RELEASE_DEBUG=true \
	RUSTFLAGS="--remap-path-prefix=$(CURDIR)=."
# Run the packaging as root, or under fakeroot (owners in the packages).
DEB_ROOT = $(if $(filter 0,$(shell id -u)),,fakeroot)

.PHONY: deb deb-tools deb-build deb-lint

deb: deb-tools
	$(MAKE) --no-print-directory deb-build

deb-tools:
	@tests-sys/provision.sh packages --required $(DEB_TOOLS)
	@command -v $(CARGO) >/dev/null || { echo "make deb needs Rust's" \
		"cargo (1.85 or later, e.g. from rustup)" >&2; exit 1; }

deb-build:
	rm -rf $(DEB_WORK)/stage
	$(DEB_CARGO_ENV) $(MAKE) --no-print-directory install B=$(DEB_WORK)/build \
		CARGO_TARGET_DIR=$(DEB_TARGET) DESTDIR=$(abspath $(DEB_WORK))/stage \
		PREFIX=/usr LIBDIR=/usr/lib/$(DEB_MULTIARCH) MAILDIR=/var/mail \
		HELPER=/usr/bin/dotlockfile
	$(DEB_ROOT) pkg/deb/mkdebs.sh --stage $(DEB_WORK)/stage \
		--out $(DEB_DIR) --work $(DEB_WORK) \
		--multiarch $(DEB_MULTIARCH)

# Warnings we keep are listed in README ("Installing on Debian").
deb-lint:
	lintian --fail-on error $(DEB_DIR)/*.deb $(DEB_DIR)/dbgsym/*.deb
