# factorio_fast developer entry points. The README's two commands:
#   make bench   - install everything, then run the main job (the benchmark on the embedded simulator)
#   make test    - install everything, then run the C unit tests and the Python test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
BUILD := build/ctest
CC ?= cc
CXX ?= c++
CFLAGS ?= -O1 -g -Wall -Wextra -Wno-unused-function -Wno-missing-field-initializers
SAN ?=
BOOST_INC ?= /usr/include

CSRCS := $(wildcard csrc/*.c)
CXXSRCS := $(wildcard csrc/*.cpp)
# Every header, those of the simulator's subdirectory too (included by csrc/ff_sim.c only): an
# edit to any of them rebuilds every object.
HDRS := $(wildcard csrc/*.h csrc/sim/*.h)
CTESTS := $(wildcard csrc/tests/test_*.c)
OBJS := $(patsubst csrc/%.c,$(BUILD)/%.o,$(CSRCS)) $(patsubst csrc/%.cpp,$(BUILD)/%.o,$(CXXSRCS))
# The simulator compiled a second time with -DFF_NO_SIMD (the portable code instead of the SSE2
# paths, which every x86-64 build takes): the C tests that drive it also run against this one.
OBJS_NOSIMD := $(filter-out $(BUILD)/ff_sim.o,$(OBJS)) $(BUILD)/nosimd/ff_sim.o
SIM_CTESTS := test_world_run test_sim
CTEST_BINS := $(patsubst csrc/tests/test_%.c,$(BUILD)/test_%,$(CTESTS)) \
	$(patsubst %,$(BUILD)/nosimd/%,$(SIM_CTESTS))

# The behaviour checksums of the simulator (tools/bench_sim_c.c --check-only), both builds,
# against the committed ones.
CHECKSUMS := tests/data/sim_checksums.txt
BENCH_SIM_SRCS := tools/bench_sim_c.c csrc/ff_world.c csrc/ff_sim.c csrc/ff_common.c csrc/ff_ids.c \
	csrc/ff_codec.c
BENCH_CFLAGS ?= -O2 -g -Wall -Wextra -Wno-unused-function -Wno-missing-field-initializers
CHECKSUM_BINS := $(BUILD)/bench_sim_c $(BUILD)/bench_sim_c_nosimd

.SECONDARY:
.PHONY: clean-ctest all deps install build test test-slow ctest check-checksums pytest bench bench-micro \
	fuzz sanitize clean lint check-dist docs

all: install

deps:
	bash scripts/install-system-deps.sh

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip "setuptools>=77" wheel

install: deps $(PY)
	$(PIP) install -q "cython>=3.1" "numpy>=1.24"
	$(PIP) install -q --no-build-isolation -e ".[test,bench]"
	@# Optional: the CPU build of PyTorch (its wheel is on our machines' disk) for the zero-copy test.
	$(PIP) install -q "torch==2.13.0" || echo "make: torch 2.13.0 unavailable; the torch test is skipped"
	@# The RL clients the integration tests drive (the extras [sb3] and [torchrl]; after torch, so
	@# their requirement is met by the build above instead of another torch).
	$(PIP) install -q "stable-baselines3>=2.3" "torchrl>=0.6"
	@# The RCON client the benchmarks compare ours with, Ray for the sharded vector env's tests,
	@# and MkDocs for `make docs` (the extras [rcon], [ray] and [docs]).
	$(PIP) install -q "rcon>=2.4" "ray>=2.9" "mkdocs>=1.5"

build: $(PY)
	$(PIP) install -q --no-build-isolation -e .

$(BUILD)/%.o: csrc/%.c $(HDRS)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $(SAN) -DFF_CHECK_MBITS -Icsrc -c $< -o $@

$(BUILD)/%.o: csrc/%.cpp $(HDRS)
	@mkdir -p $(BUILD)
	$(CXX) $(CFLAGS) $(SAN) -Icsrc -I$(BOOST_INC) -c $< -o $@

$(BUILD)/nosimd/ff_sim.o: csrc/ff_sim.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -DFF_CHECK_MBITS -DFF_NO_SIMD -Icsrc -c $< -o $@

$(BUILD)/test_%: csrc/tests/test_%.c $(OBJS) csrc/tests/ff_test.h
	$(CC) $(CFLAGS) $(SAN) -Icsrc -c $< -o $@.o
	$(CXX) $(SAN) $@.o $(OBJS) -o $@ -pthread -lrt -lm

$(BUILD)/nosimd/test_%: csrc/tests/test_%.c $(OBJS_NOSIMD) csrc/tests/ff_test.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -Icsrc -c $< -o $@.o
	$(CXX) $(SAN) $@.o $(OBJS_NOSIMD) -o $@ -pthread -lrt -lm

$(BUILD)/bench_sim_c: $(BENCH_SIM_SRCS) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) $(SAN) -Icsrc $(BENCH_SIM_SRCS) -o $@ -lm

$(BUILD)/bench_sim_c_nosimd: $(BENCH_SIM_SRCS) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) $(SAN) -DFF_NO_SIMD -Icsrc $(BENCH_SIM_SRCS) -o $@ -lm

# The checksum lines of --check-only as "scenario mode envsxsteps checksum", diffed against
# the committed file (its # lines are comments). Any difference fails.
define run_check_checksums
	@set -e; grep -v '^#' $(CHECKSUMS) > $(BUILD)/sim_checksums.want; \
	for b in $(CHECKSUM_BINS); do \
	  ./$$b --check-only | awk '/^[a-z_]+:/ { s = substr($$1, 1, length($$1) - 1) } \
	    /checksum/ { print s, $$2, $$3, $$4 }' > $$b.checksums; \
	  if ! diff -u $(BUILD)/sim_checksums.want $$b.checksums; then \
	    echo "check-checksums: $$b differs from $(CHECKSUMS) (behaviour changed)"; exit 1; fi; \
	  echo "check-checksums: $$b: $$(wc -l < $$b.checksums) checksums identical to $(CHECKSUMS)"; \
	done
endef

check-checksums: $(CHECKSUM_BINS)
	$(run_check_checksums)

# The unit tests (the simulator's against both builds), then the behaviour checksums.
ctest: $(CTEST_BINS) $(CHECKSUM_BINS)
	@set -e; for t in $(CTEST_BINS); do ./$$t; done
	$(run_check_checksums)

pytest:
	$(PY) -m pytest -q

# The long stress tests (10^7 sequenced messages through the ring across processes, ...).
test-slow:
	$(PY) -m pytest -q -m slow

test: install ctest pytest

bench: install
	$(VENV)/bin/factorio-fast bench --json bench-results.json

bench-micro: install
	$(PY) -m pytest bench --benchmark-only --benchmark-json=bench-micro.json -q

# The C tests and the frame fuzzer under ASan/UBSan (see README, "Sanitizers").
sanitize:
	rm -rf build/ctest-san
	$(MAKE) ctest BUILD=build/ctest-san SAN="-fsanitize=address,undefined -fno-omit-frame-pointer"

fuzz: install
	$(PY) -m factorio_fast._fuzz --iterations 1000000

# What ships: the sdist built from the repository's files and the wheel built from that sdist,
# in a throwaway venv; their file lists, one version in sdist, wheel, package and mod, the
# extensions' libraries (auditwheel show: a manylinux tag; ldd: no Boost), then the wheel
# installed with its [test,docs] extras and the whole default test suite run against it from the
# unpacked sdist without its package directory. Needs only $(PYTHON) and the package index (not
# $(VENV)); see tools/check_dist.py.
check-dist:
	$(PYTHON) tools/check_dist.py

# The docs site (mkdocs.yml) into build/site/: offline, --strict (a warning fails the build).
# tools/docs_hooks.py adds the API reference from the docstrings, the version and the benchmark
# plot drawn from the committed docs/benchmark-results.json (no benchmark runs here).
docs: install
	$(PY) -m mkdocs build --strict --clean --site-dir build/site
	@echo "docs: build/site/index.html"

lint:
	$(VENV)/bin/ruff check factorio_fast tests bench tools
	PATH=$(abspath $(VENV))/bin:$$PATH $(VENV)/bin/cython-lint factorio_fast
	luacheck lua

clean-ctest:
	rm -rf $(BUILD)

clean: clean-ctest
	rm -rf build dist factorio_fast/*.so factorio_fast/*.c factorio_fast/*.cpp *.egg-info
