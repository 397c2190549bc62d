# dotlockfile, the command-line tool that is also the library's setgid
# helper for group-mail spools (docs/c-policy.md §5, docs/dotlockfile.md §6).

DOTLOCKFILE := $(B)/dotlockfile
ALL_TARGETS += $(DOTLOCKFILE)
INSTALL_TARGETS += install-dotlockfile

.PHONY: install-dotlockfile uninstall-dotlockfile

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

# check-dotlockfile's fallback test needs a library whose helper path is a
# setgid copy of our dotlockfile that the test user can reach: a fixed
# folder per build tree, made afresh (by root) by the test; the program
# is $(T)/helper/mail_fallback.
HELPER_TEST_DIR := /tmp/lockfile-helper-test.$(shell printf '%s' \
	'$(abspath $(B))' | cksum | cut -d' ' -f1)
HELPER_TEST_TARGET := $(CARGO_TARGET_DIR)/helper-test
HELPER_TEST_LIB := $(HELPER_TEST_TARGET)/release/liblockfile_capi.a

$(HELPER_TEST_LIB): FORCE
	LOCKFILE_HELPER=$(HELPER_TEST_DIR)/dotlockfile \
		CARGO_TARGET_DIR=$(HELPER_TEST_TARGET) \
		$(CARGO) rustc -p lockfile-capi --release --locked --features rt \
		--crate-type staticlib
