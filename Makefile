# RNN course: every target sets up its own environment first (idempotent, keyed on the lock file).
# Quick start:   make lab    (JupyterLab on the lectures)
#                make test   (the whole suite, every notebook executed)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements.lock
KERNEL := rnn-course
# Tools that the course's packages start by name (nbgrader runs `alembic` to create its gradebook)
# must come from .venv, as if it were activated.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# The stamp's name carries a hash of the lock and the package metadata: change either and setup reruns.
STAMP := $(VENV)/.setup-$(shell cat $(LOCK) pyproject.toml | sha256sum | cut -c1-16)

# make lab options: PORT, TOKEN (empty: Jupyter makes one and prints the URL), BROWSER=0 to not open one.
PORT ?= 8888
TOKEN ?=
BROWSER ?= 1
# make test options: WORKERS (pytest-xdist processes), PYTEST_ARGS (extra arguments).
WORKERS ?= 2
PYTEST_ARGS ?=
NBVAL := --nbval-lax --nbval-kernel-name $(KERNEL) --nbval-cell-timeout 900

.DEFAULT_GOAL := help
.PHONY: help setup lab test unit notebooks execute bench release grade lock clean figures reading-time

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: $(STAMP) ## Create .venv and install the lock, the package and the course kernel

$(STAMP): $(LOCK) pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is needed, found " + sys.version.split()[0] + "; set PYTHON=python3.x")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r $(LOCK)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "RNN course (Python 3)" >/dev/null
	@# No "notified about official Jupyter news?" pop-up in make lab: JupyterLab's announcements plugin off in .venv.
	$(BIN)/python -m jupyterlab.labextensions disable --level=sys_prefix @jupyterlab/apputils-extension:announcements >/dev/null 2>&1
	@rm -f $(VENV)/.setup-*
	@touch $@
	@echo "setup: $(VENV) matches $(LOCK)"

lab: setup ## Start JupyterLab (localhost) on lectures/
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) \
	  --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/lectures \
	  $(if $(TOKEN),--IdentityProvider.token=$(TOKEN)) \
	  $(if $(filter 0,$(BROWSER)),--ServerApp.open_browser=False) \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

test: setup lint ## Run ruff (make lint), then the whole suite: unit tests, every notebook (nbval), grading and browser tests
	COURSE_THREADS=$${COURSE_THREADS:-1} $(BIN)/python -m pytest -n $(WORKERS) --dist loadfile $(NBVAL) tests lectures solutions $(PYTEST_ARGS)

unit: setup ## Run only the fast unit tests of course_utils
	$(BIN)/python -m pytest -n $(WORKERS) -m "not slow" tests $(PYTEST_ARGS)

.PHONY: lint
lint: setup ## Check the Python code and notebooks with ruff (rules in pyproject.toml)
	$(BIN)/ruff check .

notebooks: setup ## Execute every lecture and solution through nbval only
	COURSE_THREADS=$${COURSE_THREADS:-1} $(BIN)/python -m pytest -n $(WORKERS) --dist loadfile $(NBVAL) lectures solutions $(PYTEST_ARGS)

execute: setup ## Re-execute every lecture in place so the committed outputs are fresh
	for nb in lectures/*.ipynb; do \
	  echo "== $$nb"; \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.kernel_name=$(KERNEL) --ExecutePreprocessor.timeout=900 "$$nb" || exit 1; \
	done

# Lecture diagrams and reading time (lectures/figures/diagrams.py, tests/reading_time.py).
figures: setup ## Redraw every lecture diagram lectures/figures/<name>.svg from lectures/figures/src/<name>.py
	$(BIN)/python lectures/figures/diagrams.py

reading-time: setup ## Print each lecture's core and full reading time (fails when a core is over 30 min)
	$(BIN)/python tests/reading_time.py

bench: setup ## Run the benchmarks (figures printed; non-zero exit when a target is missed)
	@set -e; for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python "$$b"; done

release: setup ## Generate the student versions of every assignment into assignments/
	$(BIN)/python -m course_utils.instructor release

# make grade options: SCHEDULER=tcp://host:8786 (an existing Dask cluster; default a local one,
# one worker per core; SCHEDULER=serial: no Dask), WORKERS_GRADE (local workers), SANDBOX=0.
SCHEDULER ?=
WORKERS_GRADE ?=
grade: setup ## Autograde grading/submitted/ in parallel on Dask (sandboxed; SANDBOX=0 to turn off), feedback, grades.csv
	$(BIN)/python -m course_utils.instructor grade $(if $(filter 0,$(SANDBOX)),--no-sandbox) \
	  $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(WORKERS_GRADE),--workers $(WORKERS_GRADE))

lock: ## Re-pin requirements.lock from a fresh resolve of pyproject.toml
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet ".[course]"
	{ echo "# Exact versions of everything the course installs (make lab / make test install this file)."; \
	  echo "# Regenerate after changing pyproject.toml: make lock"; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable | grep -v -i '^course.utils' \
	    | sed -E 's/^torch==([0-9.]+)\+.*/torch==\1/'; \
	  .lock-venv/bin/python -m pip list --format=freeze | grep -i '^setuptools=='; } \
	  | awk 'NR<=2{print;next}{print | "sort -f"}' > $(LOCK)
	rm -rf .lock-venv

clean: ## Remove the virtual environment, caches and grading output
	rm -rf $(VENV) grading .pytest_cache tests/screenshots
	find . -name __pycache__ -prune -exec rm -rf {} +

# --- Student edition, student wheel and book (course_utils/instructor/edition.py) ------------------
.PHONY: student-edition wheel book
DEST ?=
MESSAGE ?=

student-edition: setup ## Build or update the student edition, a git repo, in DEST=<folder> (one commit per change)
	@test -n "$(DEST)" || { echo "usage: make student-edition DEST=<folder> [MESSAGE='commit message']" >&2; exit 2; }
	$(BIN)/python -m course_utils.instructor.edition build "$(DEST)" $(if $(MESSAGE),--message "$(MESSAGE)")

wheel: setup ## Build the student wheel of course_utils (no instructor code) into dist/
	$(BIN)/python -m course_utils.instructor.edition wheel --out dist

book: setup ## Render the lectures with their committed outputs as a static site, build/book/index.html
	$(BIN)/python -m course_utils.instructor.book --out build/book

# --- Running the course for a class (course_utils/instructor/hub, postgres, lms; README section) ---
# make hub: JupyterHub on 127.0.0.1:HUB_PORT for one instructor and HUB_STUDENTS students (as root: it
# creates Unix users), laid out in HUB_ROOT; make postgres: the PostgreSQL gradebook on 127.0.0.1:PG_PORT
# (data in .cache/postgres). Each has its stop target, which stops every process it started.
HUB_ROOT ?= /srv/rnn-course
HUB_PORT ?= 8765
HUB_STUDENTS ?= 3
PG_PORT ?= 54329
HUB_PROXY_SRC := course_utils/instructor/hub/proxy
HUB_PROXY_DIR := $(VENV)/hub-proxy
HUB_PROXY := $(HUB_PROXY_DIR)/node_modules/.bin/configurable-http-proxy
.PHONY: hub hub-stop postgres postgres-stop lms-export hub-proxy-if-npm

# configurable-http-proxy, pinned by its package-lock.json, installed into .venv/hub-proxy.
$(HUB_PROXY): $(HUB_PROXY_SRC)/package.json $(HUB_PROXY_SRC)/package-lock.json
	@command -v npm >/dev/null || { echo "error: JupyterHub's proxy (configurable-http-proxy) needs node and npm; install them with: apt-get install nodejs npm" >&2; exit 1; }
	mkdir -p $(HUB_PROXY_DIR) && cp $(HUB_PROXY_SRC)/package.json $(HUB_PROXY_SRC)/package-lock.json $(HUB_PROXY_DIR)/
	cd $(HUB_PROXY_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The hub tests need the proxy: make test installs it where npm exists (else those tests say what to install).
test: | hub-proxy-if-npm
hub-proxy-if-npm:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory $(HUB_PROXY); \
	 else echo "note: no npm, so no JupyterHub proxy: the hub tests will be skipped (apt-get install nodejs npm)"; fi

hub: setup $(HUB_PROXY) ## Start JupyterHub for the class on 127.0.0.1:HUB_PORT (root; HUB_ROOT, HUB_STUDENTS)
	$(BIN)/python -m course_utils.instructor.hub start --root $(HUB_ROOT) --port $(HUB_PORT) \
	  --students $(HUB_STUDENTS) --proxy $(CURDIR)/$(HUB_PROXY)

hub-stop: ## Stop the hub, its proxy and every single-user server and kernel of its users
	@test ! -x $(BIN)/python || $(BIN)/python -m course_utils.instructor.hub stop --root $(HUB_ROOT)

postgres: setup ## Start the PostgreSQL gradebook on 127.0.0.1:PG_PORT (prints COURSE_DB_URL)
	$(BIN)/python -m course_utils.instructor.postgres start --port $(PG_PORT)

postgres-stop: ## Stop the PostgreSQL gradebook
	@test ! -x $(BIN)/python || $(BIN)/python -m course_utils.instructor.postgres stop

lms-export: setup ## Canvas gradebook CSV from the gradebook, integrity flags beside it (grading/canvas_*.csv)
	$(BIN)/python -m course_utils.instructor.lms
