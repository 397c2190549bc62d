# Drop-in proof against code nobody here wrote (tests-sys/diff/, README
# "Differences"): the C tests on the reference library, the differential
# harness, abidiff, lockfile-progs and nmh's inc on our library, and
# mixed mutual exclusion with procmail, Python and both dotlockfiles.

DIFF        := $(B)/tests-sys/diff
DIFF_CFLAGS := $(CWARN) -std=c99 -D_GNU_SOURCE
REF_SO      := $(REF_LIBDIR)/liblockfile.so.1.0
# The reference exports lockfile_create2 from its static archive only;
# the same objects linked into a shared object give the harness one.
REF_CREATE2 := $(DIFF)/ref-create2.so
# Our dotlockfile, from its own fragment (read later, hence "="); `all`
# builds it.
OUR_DOTLOCKFILE = $(if $(DOTLOCKFILE),$(abspath $(DOTLOCKFILE)))
# The unprivileged user of the differential scenarios.
DIFF_USER   := lockfile-test

CHECKS += check-drop-in-c check-diff check-drop-in-abi check-consumers \
	check-mutex check-hosts
.PHONY: check-drop-in check-drop-in-c check-diff check-drop-in-abi \
	check-consumers check-mutex check-hosts

check-drop-in: check-drop-in-c check-diff check-drop-in-abi \
	check-consumers check-mutex check-hosts

$(DIFF)/diff: tests-sys/diff/diff.c tests-sys/diff/scenarios.c tests-sys/diff/diff.h
	@mkdir -p $(@D)
	$(CC) $(DIFF_CFLAGS) -Iinclude tests-sys/diff/diff.c \
		tests-sys/diff/scenarios.c -o $@ -ldl

$(DIFF)/lockctl: tests-sys/diff/lockctl.c
	@mkdir -p $(@D)
	$(CC) $(DIFF_CFLAGS) -Iinclude $< -o $@ -ldl

$(REF_CREATE2): $(REF_STAMP)
	@mkdir -p $(@D)
	$(CC) -shared -o $@ -Wl,--whole-archive $(REF_LIBDIR)/liblockfile.a \
		-Wl,--no-whole-archive

$(DIFF)/abi-demo-ours: tests-sys/diff/abi_demo.c $(B)/liblockfile.so
	@mkdir -p $(@D)
	$(CC) $(DIFF_CFLAGS) -Iinclude $< -o $@ -L$(B) -llockfile -ldl

$(DIFF)/abi-demo-ref: tests-sys/diff/abi_demo.c $(REF_STAMP)
	@mkdir -p $(@D)
	$(CC) $(DIFF_CFLAGS) -I$(REF_INCLUDE) $< -o $@ -L$(REF_LIBDIR) \
		-llockfile -ldl

# The Makefile sets CTESTS after reading this fragment.
DROPIN_CTESTS := $(patsubst tests-c/%.c,%,$(wildcard tests-c/t_*.c))
check-drop-in-c: $(addprefix $(B)/tests-c/shared/,$(DROPIN_CTESTS)) \
		$(REF_STAMP)
	tests-sys/diff/drop-in.sh $(B)/tests-c/shared $(REF_LIBDIR)

# Exit 77: not root (it prints SKIP and why).
check-diff: all $(DIFF)/diff $(REF_CREATE2)
	[ "$$(id -u)" != 0 ] || id -u $(DIFF_USER) >/dev/null 2>&1 || useradd --system \
		--no-create-home --shell /usr/sbin/nologin $(DIFF_USER) \
		|| id -u $(DIFF_USER) >/dev/null
	LOCKFILE_TEST_USER=$(DIFF_USER) $(DIFF)/diff $(abspath $(SO)) \
		$(REF_SO) $(abspath $(REF_CREATE2)) || [ $$? = 77 ]

check-drop-in-abi: all $(DIFF)/abi-demo-ours $(DIFF)/abi-demo-ref
	tests-sys/diff/abi.sh $(SO) $(REF_SO) $(DIFF)/abi-demo-ours \
		$(DIFF)/abi-demo-ref

# inc must wait while our dotlockfile holds the spool lock; until that
# program is in the tree, lockfile-create on our library holds it.
check-consumers: all $(REF_STAMP)
	tests-sys/diff/consumers.sh $(B) $(REF_LIBDIR) \
		$(if $(OUR_DOTLOCKFILE),$(OUR_DOTLOCKFILE) -l -r 0 -q,env \
		LD_LIBRARY_PATH=$(abspath $(B)) lockfile-create --retry 0 \
		--lock-name)

check-mutex: all $(DIFF)/lockctl $(REF_CREATE2)
	tests-sys/diff/mutex.sh $(DIFF)/lockctl $(abspath $(SO)) \
		$(abspath $(REF_CREATE2)) $(REF_DOTLOCKFILE) $(OUR_DOTLOCKFILE)

# Two "hosts" (PID and UTS namespaces) on one local file system, with our
# dotlockfile and 1.17's: a pid is trusted only where it was written
# (issue #21; "we fix" checks must fail on 1.17). Root; about 2 minutes.
check-hosts: all $(REF_STAMP)
	tests-sys/diff/hosts.sh $(OUR_DOTLOCKFILE) $(REF_DOTLOCKFILE)
