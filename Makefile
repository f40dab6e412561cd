# The book's commands. Quick start: `make book` renders the book, `make test` runs every check.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

PYTHON_FOR_VENV ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CHAPTERS := $(sort $(wildcard chapters/*.ipynb))

# Chapters are executed and tested with the kernel settings in tools/ (C++ log lines
# stay out of the notebooks).
KERNEL_ENV := IPYTHONDIR=$(abspath $(VENV))/ipython

.PHONY: help venv book test unit nbval execute clean

help:
	@echo "make book     - set up .venv and render the book to _build/html/"
	@echo "make test     - unit tests and nbval over every chapter (what CI runs)"
	@echo "make execute  - re-run every chapter in place, refreshing outputs and results/"
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

book: venv
	$(BIN)/jupyter-book build -W -n --keep-going .
	@echo "The book is at _build/html/index.html"

# Unit tests and nbval in one pytest run. Results records go to _build/test-results so
# that a test run never rewrites the committed results/ files.
test: venv
	start=$$(date +%s)
	rm -rf _build/test-results _build/test-artifacts
	$(KERNEL_ENV) BOOK_RESULTS_DIR=$(abspath _build/test-results) BOOK_ARTIFACTS_DIR=$(abspath _build/test-artifacts) \
		$(BIN)/python -m pytest tests $(CHAPTERS) --nbval --nbval-current-env \
		--nbval-sanitize-with tools/nbval_sanitize.cfg --nbval-cell-timeout=1800 -p no:cacheprovider
	echo "make test took $$(( ($$(date +%s) - start) / 60 )) min $$(( ($$(date +%s) - start) % 60 )) s"

unit: venv
	$(BIN)/python -m pytest tests -p no:cacheprovider

# Re-execute every chapter in place, as a reader would run it top to bottom, and
# rewrite results/. Run this after changing a chapter or the package, then commit both.
execute: venv
	for notebook in $(CHAPTERS); do
		echo "Executing $$notebook"
		start=$$(date +%s)
		$(KERNEL_ENV) $(BIN)/python tools/execute_notebook.py "$$notebook"
		echo "  took $$(( $$(date +%s) - start )) s"
	done

clean:
	rm -rf _build
