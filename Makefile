# simladder: the commands in the README. CMake does the building; this file
# only names the steps.
#
#   make          build everything (the CLI ends up at build/simladder)
#   make test     the C tests: a plain build, then an ASan+UBSan build
#   make climb    the ladder on the default workload (10,000 x 768)
#   make rust     the Rust rung (PyO3 + rayon) -> ladder/simladder_rs.so
#
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE  ?= cmake
CC     ?= cc

VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install -q --disable-pip-version-check -c python/constraints.txt

.PHONY: all build venv venv-bench test test-plain test-sanitize test-clang climb bench format format-check clean rust

all: build

# The project's virtual environment, pinned by python/constraints.txt.
$(VENV)/.dev: python/requirements-dev.txt python/constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) -r python/requirements-dev.txt
	touch $@

$(VENV)/.bench: $(VENV)/.dev python/requirements-bench.txt
	$(PIP) -r python/requirements-bench.txt
	touch $@

venv: $(VENV)/.dev
venv-bench: $(VENV)/.bench

build:
	$(CMAKE) -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	$(CMAKE) --build build -j $(JOBS)

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

test: test-plain test-clang test-sanitize

climb: build
	./build/simladder bench

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
RUST_PY     := $(if $(wildcard $(PY)),$(abspath $(PY)),python3)

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

C_SOURCES = $(wildcard include/*.h src/*/*.[ch] programs/*.c tests/*.[ch] tests/emu/*.c fuzz/*.c perf/*.c python/*.c)

format:
	clang-format -i $(C_SOURCES)

format-check:
	clang-format --dry-run --Werror $(C_SOURCES)

clean:
	rm -rf build build-asan build-clang
