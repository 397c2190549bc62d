# liblockfile-rs: build, test and install the drop-in liblockfile.
#
#   make                       build the libraries and dotlockfile
#   make test                  the fast tests: no root, a minute or two
#   make check                 every test (root for the system tests)
#   make check-slow            the long stress and fuzz runs
#   make install PREFIX=/usr   install (DESTDIR for staging)
#   make install-strip         the same, with the programs and libraries stripped
#
# Each tier ends with one line "N passed, N failed, N skipped"
# (tests-sys/tier.sh); README.md "Testing" says which to run when.

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
# The setgid helper the library runs for group-mail spools (SPEC §5).
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
CTESTFLAGS := $(CWARN) -std=c99 -D_GNU_SOURCE -pthread -Iinclude

export LOCKFILE_MAILDIR := $(MAILDIR)
export LOCKFILE_HELPER  := $(HELPER)

all:

# Each area of the project adds its own tests from a fragment in mk/: to
# TESTS (fast, no root, no mounts), CHECKS (the rest of make check: root,
# mounts, other users, the comparisons with Debian's 1.17) or SLOW_CHECKS;
# and may add to ALL_TARGETS, INSTALL_TARGETS.
TESTS := check-rust check-abi check-headers check-c check-pkgconfig
CHECKS := check-c-valgrind
SLOW_CHECKS :=
ALL_TARGETS :=
INSTALL_TARGETS :=
include $(sort $(wildcard mk/*.mk))

.PHONY: all headers test check check-slow provision check-rust check-abi \
	check-headers check-c check-c-valgrind check-pkgconfig install \
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

# ---------------------------------------------------------------- tests

TIER := MAKE="$(MAKE)" tests-sys/tier.sh

test:
	$(TIER) test $(TESTS)

check: provision
	$(TIER) check $(TESTS) $(CHECKS)

# Long stress and fuzz runs; CI runs them after check.
check-slow: provision
	@# The fuzz runs need cargo-fuzz (from crates.io).
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	$(TIER) check-slow $(SLOW_CHECKS)

# The Debian packages the tests use (mk/packages.txt), installed when
# missing if we are root with apt-get; otherwise the tests that need them
# say SKIP and which package to install.
provision:
	tests-sys/provision.sh mk/packages.txt

check-rust:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --locked -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --locked
	$(CARGO) test --locked

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

# The headers compile unchanged as C89, C11 and C++, and declare exactly
# the prototypes and constants of SPEC §1.
check-headers: | $(B)
	for std in c89 c99 c11; do \
		$(CC) $(CWARN) -pedantic -std=$$std -Iinclude -fsyntax-only \
			tests-c/conformance.c; \
	done
	$(CXX) $(CWARN) -pedantic -x c++ -Iinclude -fsyntax-only \
		tests-c/conformance.c
	@echo "headers: C89, C99, C11, C++: ok"

CTESTS := $(patsubst tests-c/%.c,%,$(wildcard tests-c/t_*.c))
VALGRIND_CMD := $(if $(shell command -v valgrind),valgrind -q \
	--error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite)

$(B)/tests-c/shared/%: tests-c/%.c tests-c/common.h $(B)/liblockfile.so
	@mkdir -p $(@D)
	$(CC) $(CTESTFLAGS) $< -o $@ -L$(B) -llockfile -ldl

$(B)/tests-c/static/%: tests-c/%.c tests-c/common.h $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(CTESTFLAGS) $< -o $@ $(STATIC) -ldl

check-c: $(addprefix $(B)/tests-c/shared/,$(CTESTS)) \
		$(addprefix $(B)/tests-c/static/,$(CTESTS))
	@# The two runs at once (most of their time is sleeping); each
	@# prints its own output and tally when it is done.
	LD_LIBRARY_PATH=$(B) tests-c/run.sh $(B)/tests-c/shared \
		>$(B)/tests-c/shared.log 2>&1 & so=$$!; \
	tests-c/run.sh $(B)/tests-c/static >$(B)/tests-c/static.log 2>&1 \
		|| rc=$$?; wait $$so || rc=$$?; \
	cat $(B)/tests-c/shared.log $(B)/tests-c/static.log; exit $${rc:-0}

check-c-valgrind: $(addprefix $(B)/tests-c/shared/,$(CTESTS))
	@if [ -z "$(VALGRIND_CMD)" ]; then \
		echo "SKIP: valgrind is not installed (apt-get install valgrind)"; \
	else \
		LD_LIBRARY_PATH=$(B) VALGRIND="$(VALGRIND_CMD)" \
			tests-c/run.sh $(B)/tests-c/shared; \
	fi

# A program built with pkg-config against a staged install, and one built
# with -lmail, as SysV programs are.
STAGE := $(abspath $(B)/stage)
STAGED := $(STAGE)/opt/liblockfile
PKG_STAGED := PKG_CONFIG_SYSROOT_DIR=$(STAGE) \
	PKG_CONFIG_LIBDIR=$(STAGED)/lib/pkgconfig pkg-config

check-pkgconfig: all
	rm -rf $(STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(STAGE) \
		PREFIX=/opt/liblockfile
	$(CC) $(CWARN) tests-c/link_demo.c -o $(B)/pc-demo \
		$$($(PKG_STAGED) --cflags --libs liblockfile)
	LD_LIBRARY_PATH=$(STAGED)/lib $(B)/pc-demo $(B)/pc-demo.lock
	$(CC) $(CWARN) -I$(STAGED)/include tests-c/link_demo.c \
		-o $(B)/mail-demo -L$(STAGED)/lib -lmail
	readelf -d $(B)/mail-demo | grep 'NEEDED.*\[$(SONAME)\]' >/dev/null
	LD_LIBRARY_PATH=$(STAGED)/lib $(B)/mail-demo $(B)/mail-demo.lock
	$(CC) $(CWARN) tests-c/link_demo.c -o $(B)/static-demo \
		$$($(PKG_STAGED) --cflags liblockfile) \
		$(STAGED)/lib/liblockfile.a $$($(PKG_STAGED) --static \
		--libs-only-l --libs-only-other liblockfile | sed 's/-llockfile//')
	! readelf -d $(B)/static-demo | grep 'NEEDED.*liblockfile' >/dev/null
	$(B)/static-demo $(B)/static-demo.lock
	@echo "pkg-config, -lmail and static links: ok"

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
