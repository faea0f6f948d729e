# newslake: `make run` and `make test` are all a newcomer needs (python3 and make; uv is installed on demand).
SEEDS ?= seeds
DATA ?= data
FULL ?=
RUNNER ?= process
MAX_SEED_BYTES ?= 10485760
PYTEST_ARGS ?=

# uv from PATH; else the uv that `uv run` names to the commands it starts (`UV`), so that a make run under it
# (the tests start `make run`) finds the same uv although `python3` is the environment's own there; else the
# one pip installs into python3 (`python3 -m uv`).
UV := $(or $(shell command -v uv 2>/dev/null),$(if $(wildcard $(UV)),$(UV)),python3 -m uv)
VENV_STAMP := .venv/.synced

# The interpreter the environment is built on: the distribution's CPython when it is 3.11 or later and has its
# headers (the core's C modules compile against them), else the one uv finds (`make env PYTHON=...` names
# another). Distributions build CPython with PGO and LTO and link the interpreter statically; pyenv's default
# build (what uv found first here) has neither and keeps the interpreter in a shared libpython: pure Python ran
# ~20% slower on it, a 750-seed batch ~8% (docs/performance.md, session 10).
PYTHON ?= $(shell /usr/bin/python3 -c 'import os, sys, sysconfig; print(sys.executable if sys.version_info >= (3, 11) and os.path.isfile(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else "")' 2>/dev/null)

# Prefect keeps its state in the checkout, and stays quiet offline.
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1

CRON ?= */15 * * * *
PREFECT_PORT ?= 4200

N ?= 1500

.PHONY: run test lint query clean env docs server serve bench bench-largeday eval

env: $(VENV_STAMP)

$(VENV_STAMP): pyproject.toml uv.lock setup.py newslake/prepare.py $(wildcard newslake/core/*.pyx newslake/core/*.pxi)
	@# uv: already there; else pip --user (system python), plain pip (a virtualenv), or past PEP 668.
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet --user uv 2>/dev/null \
		|| python3 -m pip install --quiet uv 2>/dev/null \
		|| python3 -m pip install --quiet --user --break-system-packages uv
	@# Bytecode compiled here, once: without it every process compiles what it imports (prefect, polars,
	@# pandera: ~1300 modules) whenever .pyc files cannot be written (PYTHONDONTWRITEBYTECODE, a read-only
	@# venv), which doubled a flow's start-up and each worker's.
	@# It also builds the core's compiled modules (newslake/core/*.pyx, with gcc), _tree against the locked lxml.
	$(UV) sync --frozen --quiet --compile-bytecode $(if $(PYTHON),--python $(PYTHON))
	@# py3langid's model uncompressed beside the environment: each worker loads it in ~25 ms, not 0.6 s.
	$(UV) run --frozen --no-sync python -m newslake.prepare
	@touch $@

run: $(VENV_STAMP)
	@$(UV) run --frozen --no-sync python -m flows.cli --seeds "$(SEEDS)" --data "$(DATA)" \
		--max-seed-bytes "$(MAX_SEED_BYTES)" --runner "$(RUNNER)" $(if $(filter-out 0,$(FULL)),--full)

test: $(VENV_STAMP)
	$(UV) run --frozen --no-sync pytest $(PYTEST_ARGS)

lint: $(VENV_STAMP)
	$(UV) run --frozen --no-sync ruff check .
	$(UV) run --frozen --no-sync ruff format --check .
	$(UV) run --frozen --no-sync mypy
	$(UV) run --frozen --no-sync cython-lint $(wildcard newslake/core/*.pyx newslake/core/*.pxi)

# A local Prefect server (SQLite under PREFECT_HOME, UI at http://127.0.0.1:4200), in the foreground.
server: $(VENV_STAMP)
	$(UV) run --frozen --no-sync prefect server start --host 127.0.0.1 --port $(PREFECT_PORT)

# Serve `ingest` with a cron schedule against PREFECT_API_URL, or the local server (started if needed).
serve: $(VENV_STAMP)
	@$(UV) run --frozen --no-sync python -m flows.serve --seeds "$(SEEDS)" --data "$(DATA)" --cron "$(CRON)"

query: $(VENV_STAMP)
	$(UV) run --frozen --no-sync python -m newslake.query --data "$(DATA)"

clean:
	rm -rf "$(DATA)"/*/ .pytest_cache .mypy_cache .ruff_cache .hypothesis

docs: $(VENV_STAMP)
	$(UV) run --frozen --no-sync python -m schemas.dictionary --write README.md

# Speed and memory against the parser's floor and trafilatura (prints a table, writes bench/results.json).
bench: $(VENV_STAMP)
	$(UV) run --frozen --no-sync python -m bench -n $(N)

# Peak memory of committing one publication day of K and 3K articles, streamed and in memory.
K ?= 3000
bench-largeday: $(VENV_STAMP)
	$(UV) run --frozen --no-sync python -m bench.largeday --articles $(K)

# Extraction fidelity on a labelled corpus, beside trafilatura and htmldate (writes bench/fidelity.md, .json).
CORPUS ?= ../shared/corpus
eval: $(VENV_STAMP)
	$(UV) run --frozen --no-sync python -m bench.fidelity --corpus "$(CORPUS)"
