# The sizes of the stress runs (check-crash*, check-contention* in
# mk/checks.tsv) and the fuzz targets (fuzz/; README.md).

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

# cargo-fuzz: `cargo fuzz run` with libFuzzer. --sanitizer none works on a
# stable toolchain (fuzz-smoke); RUSTC_BOOTSTRAP=1 allows the default
# AddressSanitizer build (used for the long runs). Each target first
# replays the inputs in fuzz/regressions/ (every crash found, kept), then
# fuzzes. Its own target folder, whatever CARGO_TARGET_DIR says.
FUZZ_RUN = cargo fuzz run --fuzz-dir fuzz --target-dir $(abspath fuzz/target)

.PHONY: fuzz
fuzz:
	for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$t; \
		RUSTC_BOOTSTRAP=1 $(FUZZ_RUN) $$t fuzz/corpus/$$t \
			fuzz/regressions/$$t -- -max_total_time=$(FUZZ_SECS) \
			-timeout=10 -rss_limit_mb=2048; \
	done
