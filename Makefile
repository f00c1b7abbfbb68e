# simladder: the commands in the README. CMake does the building; this file
# only names the steps.
#
#   make          build everything (the CLI ends up at build/simladder)
#   make test     the C tests: a plain build, then an ASan+UBSan build
#   make climb    the ladder on the default workload (10,000 x 768)
#   make fuzz     build the libFuzzer harnesses (clang) and run each for FUZZ_SECONDS
#   make rust     the Rust rung (PyO3 + rayon) -> ladder/simladder_rs.so
#
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE  ?= cmake
CC     ?= cc
FUZZ_SECONDS ?= 60
FUZZERS := npy vecs

VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install -q --disable-pip-version-check -c python/constraints.txt

.PHONY: all build venv venv-bench ladder-ext test-python peers perf-gate perf-record perf-baseline test test-plain test-sanitize test-clang climb bench fuzz test-fuzz format format-check clean rust

all: build

# The project's virtual environment, pinned by python/constraints.txt.
$(VENV)/.dev: python/requirements-dev.txt python/constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) -r python/requirements-dev.txt
	touch $@

$(VENV)/.bench: $(VENV)/.dev python/requirements-bench.txt
	$(PIP) -r python/requirements-bench.txt
	touch $@

# The Cython rung, compiled at install time.
ladder-ext: $(VENV)/.dev
	$(PY) ladder/build_ext.py >/dev/null

venv: $(VENV)/.dev
venv-bench: $(VENV)/.bench

# SIMDe (from the venv) lets the tests run the AVX-512 kernels in emulation.
SIMDE   = $(shell $(PY) -c 'import simde_py; print(simde_py.get_include())' 2>/dev/null)

build: $(VENV)/.dev
	$(CMAKE) -S . -B build -DCMAKE_BUILD_TYPE=Release -DSL_SIMDE_INCLUDE="$(SIMDE)" >/dev/null
	$(CMAKE) --build build -j $(JOBS)
	$(PY) -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps .

test-plain: build
	cd build && ctest --output-on-failure -j $(JOBS)

# Sanitizers catch what plain runs hide: out-of-bounds reads in the readers,
# signed overflow in index arithmetic, races... (races need TSan: see docs).
test-sanitize:
	$(CMAKE) -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSL_SANITIZE=address,undefined >/dev/null
	$(CMAKE) --build build-asan -j $(JOBS)
	cd build-asan && SL_TEST_QUICK=1 ctest --output-on-failure -j $(JOBS)

# The same sources must build warning-free with clang too.
test-clang:
	CC=clang $(CMAKE) -S . -B build-clang -DCMAKE_BUILD_TYPE=Release >/dev/null
	$(CMAKE) --build build-clang -j $(JOBS)
	cd build-clang && SL_TEST_QUICK=1 ctest --output-on-failure -j $(JOBS)

# The Python module and rungs against NumPy's float64, then lint.
test-python: build $(VENV)/.bench ladder-ext rust
	$(VENV)/bin/ruff check python tests/python tests/cli_check.py fuzz perf ladder rust
	$(VENV)/bin/ruff format --check python tests/python tests/cli_check.py fuzz perf ladder rust
	$(PY) -m pytest tests/python perf/test_gates.py -q -p no:cacheprovider -p no:benchmark

# simladder against NumPy, faiss and hnswlib (Debian's builds, on Debian's OpenBLAS rather
# than the reference BLAS, and PyPI's), interleaved.
peers: build $(VENV)/.bench
	@{ /usr/bin/python3 -c 'import numpy, faiss' && dpkg -s libopenblas0-pthread; } >/dev/null 2>&1 || \
	  (apt-get update -qq && apt-get install -y -qq python3-numpy python3-faiss libopenblas0-pthread >/dev/null) || \
	  echo "Debian's python3-numpy/python3-faiss unavailable: PyPI's wheels only"
	$(PY) perf/peers.py --record

# Ratio and instruction-count gates alone; perf-baseline re-records the counts.
perf-gate: build $(VENV)/.bench
	$(PY) -m pytest perf/test_gates.py -q -s -p no:cacheprovider

# pytest-benchmark runs, saved under perf/history/ (commit them: the trend).
perf-record: build $(VENV)/.bench
	mkdir -p perf/history
	$(PY) -m pytest perf/test_bench.py -q -p no:cacheprovider \
	  --benchmark-json=perf/history/bench-$$(date +%Y%m%d-%H%M%S)-$$(git rev-parse --short HEAD).json

perf-baseline: build
	$(PY) perf/test_gates.py

# A short fuzz run of every reader (a minute in all) on top of the replayed regressions.
test-fuzz:
	$(MAKE) fuzz FUZZ_SECONDS=30

test: format-check test-clang test-sanitize test-fuzz test-plain test-python

# The ladder: Python rungs, C rungs and peers on 10,000 x 768; writes NOTES.md.
climb: build $(VENV)/.bench ladder-ext rust
	$(PY) perf/climb.py

# Each fuzzer starts from its seed corpus and the regressions, writes what it
# learns to build-fuzz/corpus-NAME (the checked-in corpus stays as made by
# fuzz/make_corpus.py) and any crash to build-fuzz/crash-NAME-*; copy a crash
# into fuzz/regress/NAME/ once fixed, so fuzz_replay keeps checking it.
fuzz:
	CC=clang $(CMAKE) -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSL_FUZZ=ON >/dev/null
	$(CMAKE) --build build-fuzz -j $(JOBS) --target $(addprefix fuzz_,$(FUZZERS))
	@set -e; for f in $(FUZZERS); do \
	  mkdir -p build-fuzz/corpus-$$f; \
	  echo "fuzz_$$f: $(FUZZ_SECONDS) s"; \
	  ./build-fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=build-fuzz/crash-$$f- build-fuzz/corpus-$$f \
	    fuzz/corpus/$$f fuzz/regress/$$f 2>build-fuzz/fuzz_$$f.log || \
	    { tail -40 build-fuzz/fuzz_$$f.log; exit 1; }; \
	  grep -E "^Done [0-9]+ runs" build-fuzz/fuzz_$$f.log | sed "s/^/fuzz_$$f: /"; \
	  grep -E "stat::number_of_executed_units" build-fuzz/fuzz_$$f.log | sed "s/^/fuzz_$$f: /"; \
	done


bench: build
	./build/simladder bench

# The Rust rung: PyO3 + rayon, built offline against the crates Debian packages
# (rust/.cargo/config.toml points crates-io at $(RUST_CRATES)). Installs cargo and
# the crates with apt-get when they are missing; if that is impossible it says
# why in one line and exits 0 without a .so (the climb then reports the rung as
# unavailable). Debian's cargo is used even when a rustup toolchain comes first
# on PATH: it is the toolchain those crates are packaged for.
RUST_CARGO  ?= /usr/bin/cargo
RUST_CRATES := /usr/share/cargo/registry
RUST_SO     := ladder/simladder_rs.so
RUST_PY      = $(if $(wildcard $(PY)),$(abspath $(PY)),python3)

rust:
	@have() { test -x $(RUST_CARGO) && ls -d $(RUST_CRATES)/pyo3-0.17.* $(RUST_CRATES)/rayon-1.* >/dev/null 2>&1; }; \
	if ! have; then \
	  echo "rust: installing cargo librust-pyo3-dev librust-rayon-dev with apt-get (log: rust/apt-install.log)"; \
	  t0=$$(date +%s.%N); \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cargo librust-pyo3-dev librust-rayon-dev; } >rust/apt-install.log 2>&1; \
	  echo "rust: apt-get took $$(echo "$$t0 $$(date +%s.%N)" | awk '{printf "%.1f", $$2 - $$1}') s"; \
	fi; \
	if ! have; then \
	  rm -f $(RUST_SO); \
	  echo "rust: rung unavailable: could not install Debian's cargo + pyo3 0.17 + rayon 1.x crates (apt-get needs root and a reachable mirror; see rust/apt-install.log)"; \
	  exit 0; \
	fi; \
	echo "rust: $$($(RUST_CARGO) --version), $$($(dir $(RUST_CARGO))rustc --version), PYO3_PYTHON=$(RUST_PY)"; \
	t0=$$(date +%s.%N); \
	if ! (cd rust && PYO3_PYTHON=$(RUST_PY) $(RUST_CARGO) build --release --offline); then \
	  rm -f $(RUST_SO); echo "rust: cargo build failed (errors above)"; exit 1; \
	fi; \
	mkdir -p ladder && cp rust/target/release/libsimladder_rs.so $(RUST_SO); \
	echo "rust: built $(RUST_SO) in $$(echo "$$t0 $$(date +%s.%N)" | awk '{printf "%.1f", $$2 - $$1}') s"

C_SOURCES = $(wildcard include/*.h src/*/*.[ch] programs/*.c tests/*.[ch] tests/emu/*.c fuzz/*.[ch] perf/*.c python/*.c)

format:
	clang-format -i $(C_SOURCES)

format-check:
	clang-format --dry-run --Werror $(C_SOURCES)

clean:
	rm -rf build build-asan build-clang build-fuzz
