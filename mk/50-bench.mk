# Benchmark against the reference (README.md, "Performance"): make bench
# writes bench/results.md (a few minutes); bench-quick (make check) is a
# tiny run that proves the benchmark works and judges no time.

# Compiled once, against the soname: the same binary runs on both
# libraries.
BENCH_BIN := $(T)/shared/bench
$(BENCH_BIN): CTESTFLAGS += -O2
BENCH_ARGS = --bench $(BENCH_BIN) --ours $(abspath $(B)) --ref $(REF_LIBDIR) \
	--ours-dotlockfile $(abspath $(DOTLOCKFILE)) \
	--ref-dotlockfile $(REF_DOTLOCKFILE) --scratch $(abspath $(B)/bench/scratch)

.PHONY: bench
bench: $(BENCH_BIN) $(REF_STAMP) $(DOTLOCKFILE)
	bench/run.sh $(BENCH_ARGS) --out bench/results.md
	@cat bench/results.md
