# liblockfile-rs: build, test and install the drop-in liblockfile.
#
# `make help` lists the targets. The checks of make test, check and
# check-slow are listed in one table, mk/checks.tsv; each tier ends with
# one line "N passed, N failed, N skipped" (tests-sys/checks.sh).
# README.md "Testing" says which to run when.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules

PREFIX     ?= /usr/local
DESTDIR    ?=
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MAILDIR    ?= /var/mail
MAILGROUP  ?= mail
# The setgid helper the library runs for group-mail spools (docs/c-policy.md §5).
HELPER     ?= $(BINDIR)/dotlockfile
CC         ?= cc
CXX        ?= c++
CARGO      ?= cargo

VERSION    := 1.17
comma      := ,
# Build products; another folder (B=...) keeps parallel builds apart.
B          ?= build
CARGO_TARGET_DIR ?= target
export CARGO_TARGET_DIR
# The C ABI crate (crates/capi) built as one static archive, with LTO
# over it and the core (crates/core); both libraries are made from it.
RUSTLIB    := $(CARGO_TARGET_DIR)/release/liblockfile_capi.a
API        := abi/exported-symbols.txt
SONAME     := liblockfile.so.1
SO         := $(B)/liblockfile.so.1.0
STATIC     := $(B)/liblockfile.a
# Nothing but libc: the archive carries no Rust runtime (no_std).
LIBS_PRIVATE :=

CWARN      := -Wall -Wextra -Werror

export LOCKFILE_MAILDIR := $(MAILDIR)
export LOCKFILE_HELPER  := $(HELPER)

all:

# The C test programs ($(T)/VARIANT/NAME, below).
T := $(B)/ctest
# Each area of the project adds to ALL_TARGETS and INSTALL_TARGETS from
# its fragment in mk/.
ALL_TARGETS :=
INSTALL_TARGETS :=
include $(sort $(wildcard mk/*.mk))

.PHONY: all headers help test check check-slow provision install \
	install-strip uninstall clean FORCE

all: $(SO) $(STATIC) $(B)/liblockfile.so $(B)/lockfile.pc all-extra

# cargo decides itself whether anything changed; the libraries below are
# relinked only when its archive did. `cargo rustc --crate-type` makes
# cargo pass -C lto (it does not for a crate-type list in Cargo.toml); the
# feature rt adds the panic handler that aborts. The programs are built
# in the same step.
#
# Partial RELRO, on every crate of the library (libc's functions are
# declared in its dependencies): with full RELRO, its default, rustc calls
# other libraries' functions through the GOT, which the loader fills for
# all of them when the library is loaded; with partial RELRO it calls
# them through the PLT, bound lazily, the first time each is called, as
# in the C original (docs/layers.md, "How the libraries are built").
CAPI_RUSTFLAGS := $(strip $(RUSTFLAGS) -C relro-level=partial)
$(RUSTLIB): FORCE
	RUSTFLAGS="$(CAPI_RUSTFLAGS)" $(CARGO) rustc -p lockfile-capi \
		--release --locked --features rt --crate-type staticlib
	$(CARGO) build --release --locked --bins

# The debug information of Rust's core library is not shipped; ours only
# where a build asks for it (make deb, for the -dbgsym package).
LD_STRIP := $(if $(filter true,$(CARGO_PROFILE_RELEASE_DEBUG)),,--strip-debug)
SO_STRIP := $(addprefix -Wl$(comma),$(LD_STRIP))

# No -z pack-relative-relocs: with five relative relocations left, RELR
# makes the file 80 bytes larger and would need glibc >= 2.36 (the
# GLIBC_ABI_DT_RELR version) for nothing.
$(SO): $(RUSTLIB) abi/liblockfile.map | $(B)
	$(CC) -shared -o $@ -Wl,-soname,$(SONAME) \
		-Wl,--version-script=abi/liblockfile.map \
		-Wl,--whole-archive $(RUSTLIB) -Wl,--no-whole-archive \
		-Wl,--gc-sections -static-libgcc -Wl,-z,relro $(SO_STRIP)

$(B)/liblockfile.so: $(SO)
	ln -sf liblockfile.so.1.0 $(B)/$(SONAME)
	ln -sf $(SONAME) $@

# One relocatable object whose only global symbols are the API, so that
# the archive cannot clash with other Rust code linked into a program;
# only what the API reaches is kept (--gc-sections from the API's names).
$(STATIC): $(RUSTLIB) $(API) | $(B)
	ld -r --gc-sections $(addprefix -u ,$(shell cat $(API))) $(LD_STRIP) \
		--whole-archive $(RUSTLIB) -o $(B)/lockfile-all.o
	objcopy --keep-global-symbols=$(API) --remove-section=.llvmbc \
		--remove-section=.llvmcmd $(B)/lockfile-all.o $(B)/lockfile.o
	rm -f $(B)/lockfile-all.o $@
	ar rcs $@ $(B)/lockfile.o

define PCFILE
prefix=$(1)
libdir=$(2)
includedir=$(3)

Name: liblockfile
Description: NFS-safe dot-locking (drop-in liblockfile $(VERSION))
Version: $(VERSION)
Libs: -L$${libdir} -llockfile
Libs.private: $(LIBS_PRIVATE)
Cflags: -I$${includedir}
endef

# Rewritten on every run: it depends on PREFIX, LIBDIR and INCLUDEDIR.
$(B)/lockfile.pc: FORCE | $(B)
	$(file >$@,$(call PCFILE,$(PREFIX),$(LIBDIR),$(INCLUDEDIR)))

$(B):
	mkdir -p $@

headers:
	LOCKFILE_BLESS_HEADERS=1 $(CARGO) build -p lockfile-capi --release --locked

# ---------------------------------------------------------------- help

define HELP
make                  build the libraries, dotlockfile and dotlock ($(B)/)
make install          install (PREFIX=/usr/local, DESTDIR for staging)
make install-strip    the same, with the programs and libraries stripped
make uninstall        remove what make install put there
make deb              Debian packages in $(B)/deb (make deb-lint: lintian)
make test             the fast checks: no root, no network, no downloads
make check            every check, with the comparisons with Debian's 1.17
                      (as root: provisions packages and test users first)
make check-slow       the long stress and fuzz runs
make bench            benchmark against Debian's 1.17: bench/results.md
make fuzz             a long run of every fuzz target (FUZZ_SECS=600)
make headers          regenerate include/*.h from the Rust sources
make provision        (root) the test packages and test users only
make clean            remove $(B)/ and cargo's target folder
make help             this
endef
export HELP

help:
	@echo "$$HELP"
	@echo
	@tests-sys/checks.sh help

# ---------------------------------------------------------------- tests

TIER := MAKE="$(MAKE)" tests-sys/checks.sh tier

test:
	$(TIER) test

check: provision
	$(TIER) check

check-slow: provision
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	$(TIER) check-slow

# Packages (mk/packages.txt) and test users, when we are root with
# apt-get; otherwise the checks that need them say SKIP and why.
provision:
	tests-sys/provision.sh packages mk/packages.txt
	tests-sys/provision.sh users

# C test programs: $(T)/VARIANT/NAME from NAME.c in one of the source
# folders, all with the same flags; VARIANT says what it is linked with.
CTESTFLAGS := $(CWARN) -std=c99 -D_GNU_SOURCE -pthread -Itests-c
vpath %.c tests-c tests-sys/rel tests-sys/nfs tests-sys/diff tests-sys/cli \
	tests-sys/seeds bench
CTESTS := $(patsubst tests-c/%.c,%,$(wildcard tests-c/t_*.c))
CTESTS_SHARED := $(addprefix $(T)/shared/,$(CTESTS))
CTESTS_STATIC := $(addprefix $(T)/static/,$(CTESTS))
# dl: nothing (the program loads libraries itself); shared, static: ours;
# ref, ref-static: Debian's 1.17; helper: ours with a test helper path;
# preload: an LD_PRELOAD shim.
CTEST_LINK_dl         = -Iinclude -ldl
CTEST_LINK_shared     = -Iinclude -L$(B) -llockfile -ldl
CTEST_LINK_static     = -Iinclude $(STATIC) -ldl
CTEST_LINK_ref        = -I$(REF_INCLUDE) -L$(REF_LIBDIR) -llockfile -ldl
CTEST_LINK_ref-static = -I$(REF_INCLUDE) $(REF_LIBDIR)/liblockfile.a
CTEST_LINK_helper     = -Iinclude $(HELPER_TEST_LIB) $(LIBS_PRIVATE)
CTEST_LINK_preload    = -shared -fPIC -ldl
CTEST_DEP_shared      = $(B)/liblockfile.so
CTEST_DEP_static      = $(STATIC)
CTEST_DEP_ref         = $(REF_STAMP)
CTEST_DEP_ref-static  = $(REF_STAMP)
CTEST_DEP_helper      = $(HELPER_TEST_LIB)
ctest_variant = $(firstword $(subst /, ,$(patsubst $(T)/%,%,$(1))))

.SECONDEXPANSION:
$(T)/%: $$(basename $$(notdir $$*)).c tests-c/common.h \
		$$(CTEST_DEP_$$(call ctest_variant,$$@))
	@mkdir -p $(@D)
	$(CC) $(CTESTFLAGS) $(filter %.c,$^) -o $@ \
		$(CTEST_LINK_$(call ctest_variant,$@))
$(T)/dl/diff: scenarios.c tests-sys/diff/diff.h

VALGRIND_CMD := valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite
VALGRIND_FORK := $(VALGRIND_CMD) --child-silent-after-fork=no

# The checks: rules made from the registry, mk/checks.tsv.
$(B)/checks.mk: mk/checks.tsv tests-sys/checks.sh | $(B)
	tests-sys/checks.sh rules >$@
include $(B)/checks.mk

# The figures of issue #19 too: the library as shipped (stripped as
# install-strip strips it) at most 64 KiB; libc.so.6 its only NEEDED and
# glibc the provider of every symbol it takes (none of it TLS); a program
# that calls every function grows by at most 64 KiB with the archive.
# (grep without -q reads all its input, so pipefail never sees SIGPIPE.)
SIZE_MAX := 65536
check-abi: all
	nm -D --defined-only $(SO) | awk '{print $$3}' | sort | diff -u $(API) -
	readelf -d $(SO) | grep 'Library soname: \[$(SONAME)\]' >/dev/null
	test "$$(readelf -d $(SO) | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')" \
		= libc.so.6
	test "$$(nm -D --undefined-only $(SO) | awk '$$1 == "U"' \
		| grep -v '@GLIBC_' | wc -l)" = 0
	! nm -D $(SO) | grep __tls_get_addr
	@# Bound lazily, as 1.17 is: RELRO but no BIND_NOW, and calls to libc
	@# through the PLT (JUMP_SLOT), not the GOT (GLOB_DAT, bound at load).
	readelf -lW $(SO) | grep GNU_RELRO >/dev/null
	! readelf -d $(SO) | grep -E 'BIND_NOW|Flags:.* NOW'
	readelf -rW $(SO) | awk '/_JUMP_SLOT/ { j++ } /_GLOB_DAT/ { g++ } \
		END { print "relocations: " j + 0 " JUMP_SLOT, " g + 0 " GLOB_DAT"; \
		exit !(j > g) }'
	strip --strip-unneeded --remove-section=.comment --remove-section=.note \
		-o $(B)/liblockfile.so.stripped $(SO)
	size=$$(stat -c %s $(B)/liblockfile.so.stripped); echo "stripped: $$size bytes"; \
		test "$$size" -le $(SIZE_MAX)
	nm -g --defined-only $(STATIC) | awk 'NF==3 {print $$3}' | sort \
		| diff -u $(API) -
	$(CC) $(CWARN) -O2 abi/growth.c -o $(B)/growth-without
	$(CC) $(CWARN) -O2 -Iinclude -DUSE_LIB abi/growth.c -o $(B)/growth-with \
		$(STATIC)
	strip $(B)/growth-without $(B)/growth-with
	growth=$$(( $$(stat -c %s $(B)/growth-with) \
		- $$(stat -c %s $(B)/growth-without) )); \
		echo "static growth: $$growth bytes"; test "$$growth" -le $(SIZE_MAX)
	@echo "ABI: $(SONAME), NEEDED libc only, glibc symbols only, API symbols only, lazy binding, sizes: ok"

# ---------------------------------------------------------------- install

.PHONY: all-extra install-extra install-lib
all-extra: $(ALL_TARGETS)
install-extra: $(INSTALL_TARGETS)

install: all install-lib install-extra

install-lib: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man3 \
		$(DESTDIR)$(MANDIR)/man1
	install -m 0644 $(SO) $(DESTDIR)$(LIBDIR)/liblockfile.so.1.0
	ln -sf liblockfile.so.1.0 $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/liblockfile.so
	install -m 0644 $(STATIC) $(DESTDIR)$(LIBDIR)/liblockfile.a
	ln -sf liblockfile.so $(DESTDIR)$(LIBDIR)/libmail.so
	ln -sf liblockfile.a $(DESTDIR)$(LIBDIR)/libmail.a
	install -m 0644 include/lockfile.h include/maillock.h \
		$(DESTDIR)$(INCLUDEDIR)/
	install -m 0644 $(B)/lockfile.pc $(DESTDIR)$(PKGCONFIGDIR)/liblockfile.pc
	install -m 0644 man/*.3 $(DESTDIR)$(MANDIR)/man3/
	if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] \
		&& command -v ldconfig >/dev/null; then ldconfig; fi

# GNU's install-strip: install, then strip what was installed (owners and
# modes kept: dotlockfile may be set-group-ID).
install-strip: install
	strip --strip-unneeded --remove-section=.comment --remove-section=.note \
		$(DESTDIR)$(LIBDIR)/liblockfile.so.1.0
	strip --strip-debug --enable-deterministic-archives \
		$(DESTDIR)$(LIBDIR)/liblockfile.a
	for p in $(DESTDIR)$(BINDIR)/dotlockfile $(DESTDIR)$(BINDIR)/dotlock; do \
		[ -e "$$p" ] || continue; \
		owner=$$(stat -c %u:%g "$$p"); mode=$$(stat -c %a "$$p"); \
		strip --remove-section=.comment --remove-section=.note "$$p"; \
		chown "$$owner" "$$p"; chmod "$$mode" "$$p"; \
	done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,liblockfile.so.1.0 $(SONAME) \
		liblockfile.so liblockfile.a libmail.so libmail.a)
	rm -f $(DESTDIR)$(INCLUDEDIR)/lockfile.h $(DESTDIR)$(INCLUDEDIR)/maillock.h
	rm -f $(DESTDIR)$(PKGCONFIGDIR)/liblockfile.pc
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(wildcard man/*.3)))

clean:
	rm -rf $(B)
	$(CARGO) clean
