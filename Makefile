# retort — plain Makefile. `make run` and `make test` do everything on a fresh
# Debian 12 machine (they install missing packages via scripts/install-deps.sh).
#   make            build build/retort (-O2 -march=native; PORTABLE=1 for generic x86-64)
#   make run        the TinyBERT pipeline on built-in data (lua/recipes/demo.lua)
#   make test       unit tests, gradient checks, golden parity, Lua tests, notebooks
#   make asan       the whole suite under AddressSanitizer + UBSan
#   make parity     regenerate PyTorch references and compare live
#   make bench      benchmarks (retort and PyTorch, same machine)
#   make fuzz       libFuzzer targets for every parser (FUZZ_SECONDS=60 each)
#   make MPI=1      the data-parallel binary build-mpi/retort (mpicc: Open MPI or MPICH)
#   make test-mpi   install Open MPI, build MPI=1 and run the 2-rank tests
#   make install PREFIX=/usr/local ; make clean

CC       ?= cc
MPI      ?= 0
BUILD    ?= $(if $(filter 1,$(MPI)),build-mpi,build)
PREFIX   ?= /usr/local
PORTABLE ?= 0
SAN      ?=

ifeq ($(PORTABLE),1)
  ARCH = -march=x86-64-v2
else
  ARCH = -march=native
endif

# Library flags are looked up once, lazily (after `deps` ran).
BLAS_PC := /usr/lib/x86_64-linux-gnu/openblas-openmp/pkgconfig
PKGS    := lua5.4 readline libutf8proc libcjson libzmq libcrypto
lazy = $(eval $1 := $(shell $2))$($1)
PKG_CFLAGS = $(call lazy,PKG_CFLAGS,pkg-config --cflags $(PKGS); PKG_CONFIG_PATH=$(BLAS_PC) pkg-config --cflags openblas)
PKG_LIBS   = $(call lazy,PKG_LIBS,pkg-config --libs $(PKGS); PKG_CONFIG_PATH=$(BLAS_PC) pkg-config --libs openblas)
BLAS_DIR   = $(call lazy,BLAS_DIR,PKG_CONFIG_PATH=$(BLAS_PC) pkg-config --variable=libdir openblas)
CMOCKA     = $(call lazy,CMOCKA,pkg-config --cflags --libs cmocka)

# MPI=1: compile with mpicc and src/dist/mpi.c; the default build has src/dist/single.c
ifeq ($(MPI),1)
  CC       := $(or $(MPICC),mpicc)
  DIST_SRC := src/dist/mpi.c
else
  DIST_SRC := src/dist/single.c
endif

OPT      ?= -O2
CFLAGS   += -std=c11 $(OPT) -g $(ARCH) -fopenmp -Wall -Wextra -Wno-unused-parameter \
            -Wshadow -Wstrict-prototypes -D_GNU_SOURCE -MMD -MP $(SAN) $(PKG_CFLAGS) \
            -DRETORT_VERSION='"$(VERSION)"'
LDLIBS   += $(PKG_LIBS) -Wl,-rpath,$(BLAS_DIR) -fopenmp -lpthread -lm $(SAN)
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo 0.1.0)
# Files that print the version rebuild when it changes (a stamp rewritten only then).
$(shell mkdir -p $(BUILD); echo '$(VERSION)' | cmp -s - $(BUILD)/version.stamp || echo '$(VERSION)' > $(BUILD)/version.stamp)
$(BUILD)/src/cli/main.o $(BUILD)/src/cli/repl.o $(BUILD)/src/lua/l_core.o: $(BUILD)/version.stamp

LIB_SRC  := $(sort $(wildcard src/core/*.c src/kernels/*.c src/autograd/*.c src/models/*.c \
              src/text/*.c src/data/*.c src/io/*.c src/optim/*.c src/lua/*.c) \
              $(filter-out src/cli/main.c,$(wildcard src/cli/*.c)) $(DIST_SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

.DEFAULT_GOAL := all
.PHONY: all deps run test test-mpi unit asan parity bench fuzz install clean
all: deps
	@$(MAKE) --no-print-directory $(BUILD)/retort

deps:
	@bash scripts/install-deps.sh

Q := $(if $(V),,@)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libretort.a: $(LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/retort: $(BUILD)/src/cli/main.o $(BUILD)/libretort.a
	@$(if $(V),,echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libretort.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS) -Isrc -o $@ $< $(BUILD)/libretort.a $(CMOCKA) $(LDLIBS)

unit-bins: $(TEST_BIN)

run: all
	@if [ -f lua/recipes/demo.lua ]; then $(BUILD)/retort lua/recipes/demo.lua; else $(BUILD)/retort; fi

test:
	@bash scripts/install-deps.sh --test
	@$(MAKE) --no-print-directory $(BUILD)/retort unit-bins
	@if command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory MPI=1 build-mpi/retort; fi
	@BUILD=$(BUILD) bash scripts/run-tests.sh

# the 2-rank tests alone (installs Open MPI first)
test-mpi:
	@bash scripts/install-deps.sh --mpi
	@$(MAKE) --no-print-directory build/retort
	@$(MAKE) --no-print-directory MPI=1 build-mpi/retort
	@RETORT_BIN=build/retort NO_COLOR=1 build/retort tests/lua/run.lua tests/lua/test_dist.lua

asan:
	@bash scripts/install-deps.sh --test
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  build-asan/retort unit-bins
	@BUILD=build-asan ASAN_OPTIONS=detect_leaks=1 RETORT_ASAN=1 bash scripts/run-tests.sh

parity: all
	@bash scripts/install-deps.sh --dev
	@BUILD=$(BUILD) bash scripts/parity.sh

bench: all
	@bash scripts/install-deps.sh --dev
	@BUILD=$(BUILD) bash scripts/bench/run.sh

fuzz: deps
	@BUILD=$(BUILD) bash scripts/fuzz.sh $(FUZZ_SRC)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/retort
	install -m 755 $(BUILD)/retort $(DESTDIR)$(PREFIX)/bin/retort
	cp -r lua $(DESTDIR)$(PREFIX)/share/retort/

clean:
	rm -rf build build-asan build-fuzz build-mpi

-include $(LIB_OBJ:.o=.d) $(BUILD)/src/cli/main.d $(TEST_BIN:=.d)
