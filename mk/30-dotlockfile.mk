# dotlockfile, the command-line tool that is also the library's setgid
# helper for group-mail spools (SPEC §5-6).
#
#   make check-dotlockfile   CLI tests against ours and Debian's reference,
#                            as root and as an unprivileged user, and the
#                            library's fallback through the helper

DOTLOCKFILE := $(B)/dotlockfile
ALL_TARGETS += $(DOTLOCKFILE)
INSTALL_TARGETS += install-dotlockfile
CHECKS += check-dotlockfile

.PHONY: install-dotlockfile uninstall-dotlockfile check-dotlockfile

# cargo builds the program together with the library archive.
$(DOTLOCKFILE): $(RUSTLIB) | $(B)
	cp $(CARGO_TARGET_DIR)/release/dotlockfile $@

# Set-group-ID mail when we can (as root, with the group present), as
# Debian installs it; otherwise an ordinary program, and say so.
install-dotlockfile: $(DOTLOCKFILE)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	if [ "$$(id -u)" = 0 ] && getent group $(MAILGROUP) >/dev/null; then \
		install -o root -g $(MAILGROUP) -m 2755 $(DOTLOCKFILE) \
			$(DESTDIR)$(BINDIR)/dotlockfile; \
	else \
		install -m 0755 $(DOTLOCKFILE) $(DESTDIR)$(BINDIR)/dotlockfile; \
		echo "warning: $(BINDIR)/dotlockfile is not setgid $(MAILGROUP);" \
			"programs cannot lock mailboxes in a spool only" \
			"$(MAILGROUP) may write" >&2; \
	fi
	install -m 0644 man/dotlockfile.1 $(DESTDIR)$(MANDIR)/man1/

uninstall: uninstall-dotlockfile
uninstall-dotlockfile:
	rm -f $(DESTDIR)$(BINDIR)/dotlockfile $(DESTDIR)$(MANDIR)/man1/dotlockfile.1

# The fallback test needs a library whose helper path is a setgid copy of
# our dotlockfile that the test user can reach: a fixed folder per build
# tree, made afresh (by root) by the test.
HELPER_TEST_DIR := /tmp/lockfile-helper-test.$(shell printf '%s' \
	'$(abspath $(B))' | cksum | cut -d' ' -f1)
HELPER_TEST_TARGET := $(CARGO_TARGET_DIR)/helper-test
HELPER_TEST_LIB := $(HELPER_TEST_TARGET)/release/liblockfile_capi.a

$(HELPER_TEST_LIB): FORCE
	LOCKFILE_HELPER=$(HELPER_TEST_DIR)/dotlockfile \
		CARGO_TARGET_DIR=$(HELPER_TEST_TARGET) \
		$(CARGO) rustc -p lockfile-capi --release --locked --features rt \
		--crate-type staticlib

$(B)/tests-sys/cli/mail_fallback: tests-sys/cli/mail_fallback.c $(HELPER_TEST_LIB)
	@mkdir -p $(@D)
	$(CC) $(CTESTFLAGS) $< -o $@ $(HELPER_TEST_LIB) $(LIBS_PRIVATE)

# The same program against Debian's library, whose helper is
# /usr/bin/dotlockfile (run.sh puts the reference's there privately).
$(B)/tests-sys/cli/mail_fallback-ref: tests-sys/cli/mail_fallback.c $(REF_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CTESTFLAGS) $< -o $@ -L$(REF_LIBDIR) -l:liblockfile.so.1

check-dotlockfile: $(DOTLOCKFILE) $(REF_STAMP) $(B)/tests-sys/cli/mail_fallback \
		$(B)/tests-sys/cli/mail_fallback-ref
	@# Like the library, the program needs nothing but libc (build.rs).
	test "$$(readelf -d $(DOTLOCKFILE) \
		| sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')" = libc.so.6
	tests-sys/cli/run.sh --ours $(abspath $(DOTLOCKFILE)) \
		--ref $(REF_DOTLOCKFILE) \
		--fallback $(abspath $(B)/tests-sys/cli/mail_fallback) \
		--helper-dir $(HELPER_TEST_DIR) \
		--ref-fallback $(abspath $(B)/tests-sys/cli/mail_fallback-ref) \
		--ref-libdir $(REF_LIBDIR)
