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
CTESTS := $(wildcard csrc/tests/test_*.c)
OBJS := $(patsubst csrc/%.c,$(BUILD)/%.o,$(CSRCS)) $(patsubst csrc/%.cpp,$(BUILD)/%.o,$(CXXSRCS))

.SECONDARY:
.PHONY: clean-ctest all deps install build test test-slow ctest pytest bench bench-micro fuzz sanitize clean lint \
	check-dist

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

build: $(PY)
	$(PIP) install -q --no-build-isolation -e .

$(BUILD)/%.o: csrc/%.c csrc/*.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $(SAN) -DFF_CHECK_MBITS -Icsrc -c $< -o $@

$(BUILD)/%.o: csrc/%.cpp csrc/*.h
	@mkdir -p $(BUILD)
	$(CXX) $(CFLAGS) $(SAN) -Icsrc -I$(BOOST_INC) -c $< -o $@

$(BUILD)/test_%: csrc/tests/test_%.c $(OBJS) csrc/tests/ff_test.h
	$(CC) $(CFLAGS) $(SAN) -Icsrc -c $< -o $@.o
	$(CXX) $(SAN) $@.o $(OBJS) -o $@ -pthread -lrt -lm

ctest: $(patsubst csrc/tests/test_%.c,$(BUILD)/test_%,$(CTESTS))
	@set -e; for t in $^; do ./$$t; done

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
# in a throwaway venv; their file lists, then the installed wheel run from outside the tree.
# Needs only $(PYTHON) and the package index (not $(VENV)); see tools/check_dist.py.
check-dist:
	$(PYTHON) tools/check_dist.py

lint:
	$(VENV)/bin/ruff check factorio_fast tests bench tools
	PATH=$(abspath $(VENV))/bin:$$PATH $(VENV)/bin/cython-lint factorio_fast
	luacheck lua

clean-ctest:
	rm -rf $(BUILD)

clean: clean-ctest
	rm -rf build dist factorio_fast/*.so factorio_fast/*.c factorio_fast/*.cpp *.egg-info
