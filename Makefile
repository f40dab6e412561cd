# The book's commands. Quick start: `make book` renders the book, `make test` runs every check.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

PYTHON_FOR_VENV ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CHAPTERS := $(sort $(wildcard chapters/*.ipynb))

# Kernels run in chapters/, so a relative MNIST_DATA_DIR (../shared/data/mnist, as the
# README shows) is made absolute here, relative to the repository root.
# `override` also replaces a value given on make's command line.
ifdef MNIST_DATA_DIR
override MNIST_DATA_DIR := $(abspath $(MNIST_DATA_DIR))
export MNIST_DATA_DIR
endif

# Chapters are executed and tested with the kernel settings in tools/ (C++ log lines
# stay out of the notebooks).
KERNEL_ENV := IPYTHONDIR=$(abspath $(VENV))/ipython

.PHONY: help venv web-runtime book html browser check-browser test unit nbval execute compat clean

help:
	@echo "make book     - set up .venv and render the book to _build/html/"
	@echo "make test     - strict build, unit tests, browser check, nbval over every chapter (what CI runs)"
	@echo "make execute  - re-run every chapter in place, refreshing outputs and results/"
	@echo "make compat   - run chapters 1 and 7 from the built wheel with Colab's versions (not in CI)"
	@echo "make clean    - remove the rendered book"

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml tools/ipython_kernel_config.py
	test -x $(BIN)/python || $(PYTHON_FOR_VENV) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	mkdir -p $(VENV)/ipython/profile_default
	cp tools/ipython_kernel_config.py $(VENV)/ipython/profile_default/ipython_kernel_config.py
	touch $@

book: html
	@echo "The book is at _build/html/index.html"

# The draw-a-digit page runs the book's model in the browser with onnxruntime-web,
# pinned in package.json and package-lock.json. `npm ci` installs it; only the runtime
# files the page loads are copied into web/ort/, which the build publishes at /ort/.
ORT_FILES := ort.wasm.min.js ort-wasm-simd-threaded.mjs ort-wasm-simd-threaded.wasm
web-runtime: web/ort/.installed

web/ort/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	mkdir -p web/ort
	for file in $(ORT_FILES); do cp node_modules/onnxruntime-web/dist/$$file web/ort/; done
	touch $@

# A strict build: any warning (a broken cross-reference, a missing citation, a page left
# out of _toc.yml) fails it.
html: venv web-runtime
	$(BIN)/jupyter-book build -W -n --keep-going .

# The browser check of the rendered book needs Chromium and its driver. `make test` only
# looks for them (the browser tests are skipped, saying how to get them, when they are
# missing); `make browser` installs Debian's packages, as CI does.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
		echo "Installing Debian's chromium and chromium-driver for the browser check"
		$(SUDO) apt-get install -y --no-install-recommends chromium chromium-driver \
			|| { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium chromium-driver; }
	fi

check-browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
		echo "Chromium or chromedriver is missing: the browser check of the rendered book will be"
		echo "skipped. Install them with 'make browser' (Debian: chromium, chromium-driver)."
	fi

# Everything CI checks: the strict HTML build, then one pytest run of the unit tests,
# the browser check of every rendered page (screenshots in _build/screenshots/) and nbval
# over every chapter. Results records go to _build/test-results so that a test run never
# rewrites the committed results/ files. nbval runs the chapters as quick runs (fewer
# epochs and images, the quick thresholds each chapter states), which fits CI's budget;
# `make test TEST_QUICK=0` runs them in full with the full thresholds (two chapters at a
# time; TEST_WORKERS=0 runs them one after another, in chapter order).
TEST_QUICK ?= 1
# pytest-xdist runs the tests on this many workers; each chapter stays on one worker, in
# order (tools/pytest_chapter_groups.py). Two workers on two cores: a quick run alone
# leaves the second core idle for much of its time (building, tracing and evaluating
# small models), so two at once finish the suite sooner. TEST_WORKERS=0 runs all in one
# process, in chapter order. A crashed worker is not replaced (its notebook would resume
# mid-way in a new kernel and bury the cause under follow-on errors).
TEST_WORKERS ?= 2

test: venv check-browser
	start=$$(date +%s)
	$(MAKE) --no-print-directory html
	echo "strict build took $$(( $$(date +%s) - start )) s"
	rm -rf _build/test-results _build/test-artifacts _build/screenshots
	BOOK_QUICK=$(TEST_QUICK) BOOK_HTML_DIR=$(abspath _build/html) BOOK_SCREENSHOT_DIR=$(abspath _build/screenshots) \
	$(KERNEL_ENV) BOOK_RESULTS_DIR=$(abspath _build/test-results) BOOK_ARTIFACTS_DIR=$(abspath _build/test-artifacts) \
		PYTHONPATH=tools $(BIN)/python -m pytest --doctest-modules mnist_helpers tests \
		tools/pytest_chapter_groups.py $(CHAPTERS) \
		--nbval --nbval-current-env --nbval-sanitize-with tools/nbval_sanitize.cfg \
		--nbval-cell-timeout=1800 -p no:cacheprovider -p pytest_chapter_times --durations=12 \
		-n $(TEST_WORKERS) --max-worker-restart=0 -p pytest_chapter_groups
	echo "make test took $$(( ($$(date +%s) - start) / 60 )) min $$(( ($$(date +%s) - start) % 60 )) s"

unit: venv
	$(BIN)/python -m pytest --doctest-modules mnist_helpers tests -p no:cacheprovider

# Re-execute every chapter in place, as a reader would run it top to bottom, and
# rewrite results/. Run this after changing a chapter or the package, then commit both.
# This is the book's reference run, so it also asserts the training-time goals.
execute: venv
	for notebook in $(CHAPTERS); do
		echo "Executing $$notebook"
		start=$$(date +%s)
		# The chapter's records are written anew, so a renamed model leaves no stale record.
		rm -f results/$$(basename $$notebook .ipynb).json
		$(KERNEL_ENV) BOOK_REFERENCE_RUN=1 $(BIN)/python tools/execute_notebook.py "$$notebook"
		echo "  took $$(( $$(date +%s) - start )) s"
	done

# Colab's runtime, checked without the repository's environment: build the package's
# wheel, install it into a fresh virtual environment next to Colab's Python, TensorFlow
# and Keras versions, and execute chapters 1 and 7 there from a directory outside the
# checkout, with no kernel settings of ours. Not part of CI (it downloads TensorFlow).
COMPAT_PYTHON ?= python3.13
COMPAT_PINS ?= tensorflow==2.20.0 keras==3.13.2
COMPAT_DIR := _build/compat
compat:
	rm -rf $(COMPAT_DIR)
	mkdir -p $(COMPAT_DIR)/run
	$(COMPAT_PYTHON) -m venv $(COMPAT_DIR)/venv
	$(COMPAT_DIR)/venv/bin/python -m pip install --quiet --upgrade pip
	$(COMPAT_DIR)/venv/bin/python -m pip wheel --quiet --no-deps --wheel-dir $(COMPAT_DIR)/dist .
	$(COMPAT_DIR)/venv/bin/python -m pip install --quiet $(COMPAT_PINS) ipykernel nbclient nbformat \
		$(COMPAT_DIR)/dist/*.whl
	$(COMPAT_DIR)/venv/bin/python -c "import sys, tensorflow, keras; \
		print('compat: Python', sys.version.split()[0], 'TensorFlow', tensorflow.__version__, 'Keras', keras.__version__)"
	cp chapters/01_data.ipynb chapters/07_handwriting.ipynb $(COMPAT_DIR)/run/
	cd $(COMPAT_DIR)/run
	for notebook in 01_data.ipynb 07_handwriting.ipynb; do
		start=$$(date +%s)
		../venv/bin/python $(abspath tools/execute_notebook.py) $$notebook
		echo "compat: $$notebook ran in $$(( $$(date +%s) - start )) s"
	done

clean:
	rm -rf _build
