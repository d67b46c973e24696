# mrkg: every recipe calls the `mrkg` CLI, so the logic lives in tested Python.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SUFFIXES:
MAKEFLAGS += --warn-undefined-variables --no-builtin-rules
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOURCES ?= ../shared/sources
HOST ?= 127.0.0.1
PORT ?= 8000
FILES ?=

.PHONY: help setup assets build validate stats serve test bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

setup: $(STAMP) assets ## make .venv and install mrkg with its test tools (only when missing or stale)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $@

assets: $(STAMP) ## install the query UI's front-end packages from npm (plain page if npm is absent)
	$(BIN)/mrkg assets

build: setup ## build the graph and every dump into build/
	$(BIN)/mrkg build --sources $(SOURCES)

validate: setup ## validate the facts (or FILES=...) against the shapes, in the context of the graph
	$(BIN)/mrkg validate --sources $(SOURCES) $(FILES)

stats: setup ## print claims per source and kind, conflicts, entities, mappings, sentences claimed/triaged per source
	$(BIN)/mrkg stats --sources $(SOURCES)

serve: build ## build, then serve the endpoint and UI on http://127.0.0.1:8000/ (HOST=, PORT= to change)
	$(BIN)/mrkg serve --host $(HOST) --port $(PORT)

test: setup ## run the test suite
	$(BIN)/python -m pytest

bench: setup ## run every benchmark: the real model at 100k, 1M and 10M triples, build and validation at 10M (about an hour on 2 cores; not part of make test)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test,bench]'
	@{ command -v wrk && command -v virtuoso-t; } >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		wrk virtuoso-opensource-7-bin; } || true
	$(BIN)/python benchmarks/validate_bench.py --scale 100 --repeat 3
	$(BIN)/python benchmarks/scale_bench.py --triples 10M --max-rss-gib 20
	$(BIN)/mrkg bench --size 100k --size 1M --size 10M --sources $(SOURCES)

clean: ## remove build/ and its versions (not one a running server serves), the virtual environment and node_modules
	if [ -x $(BIN)/mrkg ]; then $(BIN)/mrkg clean; else rm -rf build .build-versions; fi
	rm -rf $(VENV) node_modules .pytest_cache
