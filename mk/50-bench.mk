# Benchmark against the reference (README.md, "Performance"): make bench
# writes bench/results.md (a few minutes); bench-quick (make check) is a
# tiny run that proves the benchmark works, judges no time and holds the
# counted figures of a cycle (system calls, instructions).

# Compiled once, against the soname: the same binary runs on both
# libraries.
BENCH_BIN := $(T)/shared/bench
$(BENCH_BIN): CTESTFLAGS += -O2
# The program whose start is timed (bench/start.c), linked as a
# distribution would link it: lazy binding, no -ldl, nothing but the
# soname and libc.
BENCH_START := $(B)/bench/start
$(BENCH_START): bench/start.c $(B)/liblockfile.so include/lockfile.h
	@mkdir -p $(@D)
	$(CC) $(CWARN) -std=c99 -O2 -Iinclude $< -o $@ -L$(B) -llockfile

BENCH_ARGS = --bench $(BENCH_BIN) --ours $(abspath $(B)) --ref $(REF_LIBDIR) \
	--ours-dotlockfile $(abspath $(DOTLOCKFILE)) \
	--ref-dotlockfile $(REF_DOTLOCKFILE) --start $(BENCH_START) \
	--scratch $(abspath $(B)/bench/scratch)

.PHONY: bench
bench: $(BENCH_BIN) $(BENCH_START) $(REF_STAMP) $(DOTLOCKFILE)
	bench/run.sh $(BENCH_ARGS) --out bench/results.md
	@cat bench/results.md
