# Benchmark against the reference (README.md, "Performance").
#
#   make bench         full run (a few minutes); writes bench/results.md
#   make bench-quick   tiny run (seconds) that proves the benchmark works;
#                      part of make check, judges no time

BENCH_BIN := $(B)/bench/bench
# The program whose start is timed (bench/start.c).
BENCH_START := $(B)/bench/start
BENCH_ARGS = --bench $(BENCH_BIN) --ours $(abspath $(B)) --ref $(REF_LIBDIR) \
	--ours-dotlockfile $(abspath $(DOTLOCKFILE)) \
	--ref-dotlockfile $(REF_DOTLOCKFILE) --start $(BENCH_START) \
	--scratch $(abspath $(B)/bench/scratch)

TESTS += bench-quick

.PHONY: bench bench-quick

# Compiled once, against the soname: the same binary runs on both libraries.
$(BENCH_BIN): bench/bench.c $(B)/liblockfile.so include/lockfile.h \
		include/maillock.h
	@mkdir -p $(@D)
	$(CC) $(CTESTFLAGS) -O2 $< -o $@ -L$(B) -llockfile -ldl

# Linked as a distribution would link it: lazy binding, no -ldl, nothing
# but the soname and libc.
$(BENCH_START): bench/start.c $(B)/liblockfile.so include/lockfile.h
	@mkdir -p $(@D)
	$(CC) $(CWARN) -std=c99 -O2 -Iinclude $< -o $@ -L$(B) -llockfile

bench: $(BENCH_BIN) $(BENCH_START) $(REF_STAMP) $(DOTLOCKFILE)
	bench/run.sh $(BENCH_ARGS) --out bench/results.md
	@cat bench/results.md

bench-quick: $(BENCH_BIN) $(BENCH_START) $(REF_STAMP) $(DOTLOCKFILE)
	bench/run.sh $(BENCH_ARGS) --quick --out $(B)/bench/quick.md
	@cat $(B)/bench/quick.md
