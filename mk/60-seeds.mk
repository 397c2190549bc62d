# The other systems of docs/other-systems.md §7 on the same core: Mail Avenger's dotlock(1)
# and the mailbox-lock extension of the C API (lockfile_mbox.h), and a
# Qpopper-style POP session (examples/popsession.c) that loses no mail.
# Their checks are check-mbox* and check-seeds-* in mk/checks.tsv.

DOTLOCK    := $(B)/dotlock
POPSESSION := $(B)/examples/popsession
ALL_TARGETS += $(DOTLOCK) $(POPSESSION)
INSTALL_TARGETS += install-dotlock

.PHONY: install-dotlock uninstall-dotlock

# cargo builds the program together with the library archive.
$(DOTLOCK): $(RUSTLIB) | $(B)
	cp $(CARGO_TARGET_DIR)/release/dotlock $@

# The example is built as a user would build it: our headers, -llockfile.
$(POPSESSION): examples/popsession.c include/maillock.h include/lockfile.h \
		$(B)/liblockfile.so
	@mkdir -p $(@D)
	$(CC) $(CWARN) -std=c99 -O2 -Iinclude $< -o $@ -L$(B) -llockfile

install-dotlock: $(DOTLOCK)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(INCLUDEDIR)
	install -m 0755 $(DOTLOCK) $(DESTDIR)$(BINDIR)/dotlock
	install -m 0644 man/dotlock.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 include/lockfile_mbox.h $(DESTDIR)$(INCLUDEDIR)/

uninstall: uninstall-dotlock
uninstall-dotlock:
	rm -f $(DESTDIR)$(BINDIR)/dotlock $(DESTDIR)$(MANDIR)/man1/dotlock.1 \
		$(DESTDIR)$(INCLUDEDIR)/lockfile_mbox.h

# The delivery agents: our dotlock and dotlockfile, and procmail's
# lockfile(1).
SEEDS_DEPS = $(DOTLOCK) $(DOTLOCKFILE) $(POPSESSION)
SEEDS_TOOLS = --dotlock $(abspath $(DOTLOCK)) \
	--dotlockfile $(abspath $(DOTLOCKFILE)) \
	--popsession $(abspath $(POPSESSION)) --libdir $(abspath $(B))
