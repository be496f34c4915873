# socialops: `make demo` and `make test` are all a fresh machine needs (Python 3.11).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# The stamp names the exact inputs: `make install` is a no-op until the lock or pyproject changes.
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml 2>/dev/null | sha256sum | cut -c1-16)
PIP    := $(BIN)/python -m pip --disable-pip-version-check --quiet

.PHONY: install demo test check lint format typecheck ui sandbox bench lock clean model report-screenshot deployments e2e

MODEL  := socialops/classification/models/default.npz

install: $(STAMP) $(MODEL)

# The classifier is trained from the versioned labelled data (deterministic, seconds), so the
# repository carries the data and the code, not a binary; rebuilt only when either changes.
$(MODEL): $(STAMP) $(wildcard data/labelled/*.jsonl) socialops/classification/model.py socialops/classification/training.py socialops/classification/vectorise.py socialops/classification/normalise.py config/northwind.yaml
	$(BIN)/socialops classify-train

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "socialops needs Python 3.11, found " + sys.version.split()[0]'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.lock
	$(PIP) install --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-* && touch $@
	@echo "installed: $(BIN)/socialops"

demo: install
	$(BIN)/socialops demo

# Two test processes (pytest-xdist), a file each at a time: half the suite waits on sockets,
# subprocesses and servers, so the two cores stay busy. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
test: install
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

check: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy

# The Prefect UI over the runs the CLI and the demo recorded (their PREFECT_HOME).
ui: install
	PREFECT_HOME=$${PREFECT_HOME:-$(CURDIR)/.socialops/prefect} PREFECT_SERVER_ANALYTICS_ENABLED=false \
	PREFECT_UI_API_URL=http://127.0.0.1:4200/api $(BIN)/prefect server start --host 127.0.0.1 --port 4200

sandbox: install
	$(BIN)/socialops sandbox

# deployments/prefect.yaml from deployments/catalog.py (the one list; a test checks they match).
deployments: install
	$(BIN)/socialops deployments write

# A real Prefect server, work pool, worker and browser against the sandbox (see scripts/e2e.py),
# then Bluesky against a real local AT Protocol network (scripts/e2e_atproto.py; installs
# @atproto/dev-env and Node 22 from npm once, into ~/.cache/socialops/atproto).
e2e: install
	$(BIN)/python scripts/e2e.py
	$(BIN)/python scripts/e2e_atproto.py

bench: install
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/classify.py
	$(BIN)/python benchmarks/routing.py
	$(BIN)/python benchmarks/report.py
	$(BIN)/python benchmarks/conversation_links.py

# The weekly report in Debian's headless Chromium, at phone and desktop widths: screenshots
# under .socialops/reports/, and a failure on any console error. Seeds a demo week first.
# (Chromium: `apt-get install -y chromium`.)
REPORT_WEEK ?= 2026-W47
report-screenshot: install
	SOCIALOPS_HOME=$(CURDIR)/.socialops/screenshot $(BIN)/socialops seed --mentions 20000 --week $(REPORT_WEEK)
	SOCIALOPS_HOME=$(CURDIR)/.socialops/screenshot $(BIN)/socialops report --week $(REPORT_WEEK) -o .socialops/reports/weekly-report-$(REPORT_WEEK).html
	scripts/report-screenshot.sh .socialops/reports/weekly-report-$(REPORT_WEEK).html .socialops/reports/phone.png 390
	scripts/report-screenshot.sh .socialops/reports/weekly-report-$(REPORT_WEEK).html .socialops/reports/desktop.png 1280

model: $(STAMP)
	$(BIN)/socialops classify-train

# Re-pin every dependency (run after changing pyproject.toml's dependencies).
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/python -m pip install --quiet --disable-pip-version-check 'setuptools>=77,<81'
	.lockenv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	( echo "# Exact versions for every machine: regenerate with 'make lock'."; \
	  .lockenv/bin/python -m pip freeze --all --exclude-editable | grep -v -e '^socialops' -e '^wheel=='; \
	  echo 'wheel==0.48.0  # builds the editable install without build isolation' ) > requirements.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) .socialops .pytest_cache .mypy_cache .ruff_cache
