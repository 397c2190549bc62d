# The other systems of SPEC §7 on the same core: Mail Avenger's dotlock(1)
# and the mailbox-lock extension of the C API (lockfile_mbox.h), and a
# Qpopper-style POP session (examples/popsession.c) that loses no mail.
#
#   make check-seeds    the extension from C (shared, static, valgrind),
#                       its header as C89 and C++, dotlock --status as
#                       root and as a user and its 30 s / 15 s rules in
#                       real time, the session's behaviour (default and
#                       server mode, -R, SIGKILL at every point), and the
#                       no-mail-lost stress runs (about five minutes)

DOTLOCK    := $(B)/dotlock
POPSESSION := $(B)/examples/popsession
SEEDS_T    := $(B)/tests-sys/seeds
ALL_TARGETS += $(DOTLOCK) $(POPSESSION)
INSTALL_TARGETS += install-dotlock
CHECKS += check-seeds-c check-seeds-dotlock check-seeds-session \
	check-seeds-stress

.PHONY: install-dotlock uninstall-dotlock check-seeds check-seeds-c \
	check-seeds-dotlock check-seeds-session check-seeds-stress

# cargo builds the program together with the library archive.
$(DOTLOCK): $(RUSTLIB) | $(B)
	cp $(CARGO_TARGET_DIR)/release/dotlock $@

# The example is built as a user would build it: our headers, -llockfile.
$(POPSESSION): examples/popsession.c include/maillock.h include/lockfile.h \
		$(B)/liblockfile.so
	@mkdir -p $(@D)
	$(CC) $(CWARN) -std=c99 -O2 -Iinclude $< -o $@ -L$(B) -llockfile

$(SEEDS_T)/shared/mbox_api: tests-sys/seeds/mbox_api.c tests-c/common.h \
		include/lockfile_mbox.h $(B)/liblockfile.so
	@mkdir -p $(@D)
	$(CC) $(CTESTFLAGS) -Itests-c $< -o $@ -L$(B) -llockfile -ldl

$(SEEDS_T)/static/mbox_api: tests-sys/seeds/mbox_api.c tests-c/common.h \
		include/lockfile_mbox.h $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(CTESTFLAGS) -Itests-c $< -o $@ $(STATIC) -ldl

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

check-seeds: check-seeds-c check-seeds-dotlock check-seeds-session \
	check-seeds-stress

check-seeds-c: $(SEEDS_T)/shared/mbox_api $(SEEDS_T)/static/mbox_api
	for std in c89 c99 c11; do \
		printf '#include <lockfile_mbox.h>\n' | $(CC) $(CWARN) \
			-pedantic -std=$$std -Iinclude -fsyntax-only -x c -; \
	done
	printf '#include <lockfile_mbox.h>\n' | $(CXX) $(CWARN) -pedantic \
		-Iinclude -fsyntax-only -x c++ -
	LD_LIBRARY_PATH=$(B) $(SEEDS_T)/shared/mbox_api
	$(SEEDS_T)/static/mbox_api
	LD_LIBRARY_PATH=$(B) $(VALGRIND_CMD) $(SEEDS_T)/shared/mbox_api

# The delivery agents: our dotlock and dotlockfile, and procmail's
# lockfile(1).
SEEDS_TOOLS = --dotlock $(abspath $(DOTLOCK)) \
	--dotlockfile $(abspath $(DOTLOCKFILE)) \
	--popsession $(abspath $(POPSESSION)) --libdir $(abspath $(B))

check-seeds-dotlock: $(DOTLOCK) $(DOTLOCKFILE) $(POPSESSION)
	tests-sys/seeds/dotlock.sh $(SEEDS_TOOLS)

check-seeds-session: $(DOTLOCK) $(DOTLOCKFILE) $(POPSESSION)
	tests-sys/seeds/session.sh $(SEEDS_TOOLS)

check-seeds-stress: $(DOTLOCK) $(DOTLOCKFILE) $(POPSESSION)
	tests-sys/seeds/stress.sh $(SEEDS_TOOLS) --messages 240
