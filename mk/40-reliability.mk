# Reliability: faults, crashes, contention without back-off, shared
# network file systems, fuzzing (tests-sys/rel/, fuzz/; see README.md).
#
#   make check-faults        ENOSPC, EROFS, EACCES, bad folders, long names,
#                            RLIMIT_FSIZE, a full descriptor table
#   make check-crash         lock cycles while holders and waiters are killed
#   make check-contention    4 processes spinning on one lock
#   make check-netfs         sshfs mounted twice, FUSE FAT, exFAT
#   make check-rel-valgrind  the programs above under valgrind
#   make check-crash-slow, check-contention-slow   the long runs (check-slow)
#   make fuzz-smoke          a short run of every fuzz target (check-slow)
#   make fuzz FUZZ_SECS=600  a long run of every fuzz target
#
# The fault, crash and network tests mount file systems and start sshd:
# they need root, and print "SKIP: ..." without it.

REL       := $(B)/rel
REL_REF   := $(B)/rel-ref
REL_CFLAGS := $(CWARN) -std=c99 -D_GNU_SOURCE
REL_PROGS := faults crash contend netfs
REL_BINS  := $(addprefix $(REL)/,$(REL_PROGS))
REL_ENV   := LD_LIBRARY_PATH=$(B)
# ("=": VALGRIND_CMD is set by the Makefile after the fragments.)
REL_VALGRIND = $(if $(VALGRIND_CMD),$(VALGRIND_CMD) --child-silent-after-fork=no)

# 20 runs of 4 x 2000 rounds in check-slow, a few in check. Through
# dotlockfile (a program run per lock and per unlock, the waiters spinning)
# a run takes about 15 s on an idle 2-CPU machine (up to a CPU-minute
# under load): the 20 runs cost about 5 minutes of check-slow.
CONTEND_RUNS   ?= 20
CONTEND_DL_RUNS ?= 20
CONTEND_ROUNDS ?= 2000
CRASH_RUNS     ?= 10
FUZZ_TARGETS   := create check maillock dotlockfile_argv
FUZZ_SECS      ?= 600
FUZZ_SMOKE_SECS ?= 30

CHECKS += check-faults check-crash check-contention check-netfs \
	check-rel-valgrind
SLOW_CHECKS += check-crash-slow check-contention-slow fuzz-smoke

.PHONY: check-faults check-crash check-contention check-netfs \
	check-rel-valgrind check-crash-slow check-contention-slow \
	fuzz-smoke fuzz

$(REL)/%: tests-sys/rel/%.c tests-sys/rel/rel.h tests-c/common.h $(B)/liblockfile.so
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -Iinclude $< -o $@ -L$(B) -llockfile

# An LD_PRELOAD shim that plays other processes at exact moments.
$(REL)/shim_link.so: tests-sys/rel/shim_link.c
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -shared -fPIC $< -o $@ -ldl

# The same programs against the reference (its .so lacks lockfile_create2,
# its static library has it).
$(REL_REF)/%: tests-sys/rel/%.c tests-sys/rel/rel.h tests-c/common.h $(REF_STAMP)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -I$(REF_INCLUDE) $< -o $@ $(REF_LIBDIR)/liblockfile.a

check-faults: $(REL)/faults $(REL)/shim_link.so
	$(REL_ENV) tests-sys/rel/faults.sh $(REL)/faults $(REL)/shim_link.so

check-crash: $(REL)/crash
	$(REL_ENV) tests-sys/rel/crash.sh $(REL)/crash 1

check-crash-slow: $(REL)/crash
	$(REL_ENV) tests-sys/rel/crash.sh $(REL)/crash $(CRASH_RUNS)

# The reference's runs are for information: it loses mutual exclusion in
# some of them (SPEC §2.7), which shows what the test can catch.
check-contention: $(REL)/contend $(REL_REF)/contend $(DOTLOCKFILE)
	$(REL_ENV) tests-sys/rel/contend.sh $(REL)/contend 3 $(CONTEND_ROUNDS)
	tests-sys/rel/contend.sh $(REL_REF)/contend 5 $(CONTEND_ROUNDS) reference
	$(REL_ENV) tests-sys/rel/contend.sh $(REL)/contend 1 200 \
		$(abspath $(DOTLOCKFILE))

check-contention-slow: $(REL)/contend $(REL_REF)/contend $(DOTLOCKFILE)
	$(REL_ENV) tests-sys/rel/contend.sh $(REL)/contend $(CONTEND_RUNS) \
		$(CONTEND_ROUNDS)
	tests-sys/rel/contend.sh $(REL_REF)/contend $(CONTEND_RUNS) \
		$(CONTEND_ROUNDS) reference
	$(REL_ENV) tests-sys/rel/contend.sh $(REL)/contend $(CONTEND_DL_RUNS) \
		$(CONTEND_ROUNDS) $(abspath $(DOTLOCKFILE))

check-netfs: $(REL)/netfs $(REL)/contend $(REL_REF)/netfs
	$(REL_ENV) tests-sys/rel/netfs.sh $(REL) $(REL_REF)

# Every program of tests-sys/rel under valgrind (memcheck, leaks), with fewer
# rounds: the fault cases, a crash run, a contention run, the network
# cases.
check-rel-valgrind: $(REL_BINS) $(REL_REF)/netfs $(REL)/shim_link.so
	@if [ -z "$(REL_VALGRIND)" ]; then \
		echo "SKIP: valgrind is not installed"; \
	else \
		set -x; \
		$(REL_ENV) VALGRIND="$(REL_VALGRIND)" tests-sys/rel/faults.sh \
			$(REL)/faults $(REL)/shim_link.so; \
		$(REL_ENV) VALGRIND="$(REL_VALGRIND)" CRASH_CYCLES=100 \
			CRASH_KILL_MS=300 CRASH_ORPHAN_MS=10000 \
			tests-sys/rel/crash.sh $(REL)/crash 1; \
		$(REL_ENV) VALGRIND="$(REL_VALGRIND)" tests-sys/rel/contend.sh \
			$(REL)/contend 1 100; \
		$(REL_ENV) VALGRIND="$(REL_VALGRIND)" NETFS_ROUNDS=50 \
			tests-sys/rel/netfs.sh $(REL) $(REL_REF); \
	fi

# cargo-fuzz: `cargo fuzz run` with libFuzzer. --sanitizer none works on a
# stable toolchain; RUSTC_BOOTSTRAP=1 allows the default AddressSanitizer
# build (used for the long runs). Each target first replays the inputs in
# fuzz/regressions/ (every crash found, kept), then fuzzes.
# Its own target folder, whatever CARGO_TARGET_DIR says (other flags).
FUZZ_RUN = cargo fuzz run --fuzz-dir fuzz --target-dir $(abspath fuzz/target)

fuzz-smoke:
	@if ! command -v cargo-fuzz >/dev/null; then \
		echo "SKIP: cargo-fuzz is not installed"; \
	else \
		set -x; \
		for t in $(FUZZ_TARGETS); do \
			mkdir -p fuzz/corpus/$$t; \
			$(FUZZ_RUN) --sanitizer none $$t fuzz/regressions/$$t \
				-- -runs=0; \
			$(FUZZ_RUN) --sanitizer none $$t fuzz/corpus/$$t -- \
				-max_total_time=$(FUZZ_SMOKE_SECS) -timeout=10 \
				-rss_limit_mb=2048; \
		done; \
	fi

fuzz:
	for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$t; \
		RUSTC_BOOTSTRAP=1 $(FUZZ_RUN) $$t fuzz/corpus/$$t \
			fuzz/regressions/$$t -- -max_total_time=$(FUZZ_SECS) \
			-timeout=10 -rss_limit_mb=2048; \
	done
