# The two commands: `make run` and `make test`. Everything else is what they build on.
# Each step is a file target, so a second run reuses what is already there.
SHELL := /bin/bash
PY    := $(shell scripts/find-python 3.11+)
VENV  := .venv
BIN   := $(VENV)/bin
NLU_VENV := nlu/.venv
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locales/*/LC_MESSAGES/*.po))

.PHONY: run test setup map nlu-model locales lint bench clean browser caddy postgres docs-screenshots docs-figures

# `exec`: the bot replaces the shell, so a SIGTERM that make passes on reaches the bot itself.
run: setup locales map nlu-model
	@if [ -n "$${TELEGRAM_BOT_TOKEN:-}$${WHATSAPP_TOKEN:-}" ]; then \
		exec $(BIN)/wegwijs serve; \
	else \
		exec $(BIN)/wegwijs chat; \
	fi

test: setup locales map nlu-model browser caddy postgres
	@echo "==> Running the test suite (about 6 to 8 minutes on 2 cores; the real Rasa server and a throwaway PostgreSQL start first)"
	$(BIN)/pytest -q

# The desk's browser tests drive Debian's chromium (Playwright never downloads a browser here);
# the emoji font makes the screenshots in the docs show what a worker's screen shows.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
		|| [ ! -d /usr/share/fonts/truetype/noto ]; then \
		scripts/step browser "Installing Debian's chromium for the desk's browser tests" \
			"about 1 minute, only the first time" -- \
			sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium chromium-driver fonts-noto-color-emoji"; \
	fi

# tests/test_deployment.py checks deploy/Caddyfile (the proxy in front of several replicas)
# with `caddy validate`: Debian's caddy, never started as a service here.
caddy:
	@if ! command -v caddy >/dev/null; then \
		scripts/step caddy "Installing Debian's caddy to check the proxy's config" \
			"seconds, only the first time" -- \
			sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq caddy"; \
	fi

# The state-store, privacy and end-to-end suites also run on a real PostgreSQL: the tests start
# a throwaway server from Debian's binaries (tests/postgres.py), never a system service.
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then \
		scripts/step postgres "Installing Debian's PostgreSQL for the tests on both engines" \
			"about 1 minute, only the first time" -- \
			sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends postgresql"; \
	fi

# The screenshots in docs/bridge-workers.md, taken by the browser suite.
docs-screenshots: setup locales map nlu-model browser
	WEGWIJS_DOCS_SCREENSHOTS=1 $(BIN)/pytest -q tests/test_desk_browser.py

# The sample charts in docs/figures.md, from invented registrations (nothing real).
docs-figures: setup
	@rm -f var/sample-figures.db
	$(BIN)/wegwijs report sample --db var/sample-figures.db
	$(BIN)/wegwijs report --db var/sample-figures.db --school-year 2025-2026 \
		--out var/reports --charts docs/images

setup: $(VENV)/.installed $(NLU_VENV)/.installed

# Each slow step says what it does and how long it takes, and shows its progress
# (scripts/step); its own output goes to var/logs/setup-*.log.
$(VENV)/.installed: pyproject.toml
	@test -n "$(PY)" || { echo "No Python >= 3.11 found (see README)."; exit 1; }
	@scripts/step bot-venv "Installing the bot's Python packages into .venv" \
		"about 1 minute, only the first time" -- \
		sh -c '$(PY) -m venv $(VENV) && $(BIN)/pip install --upgrade pip && $(BIN)/pip install -e ".[dev]"'
	@touch $@

# Rasa 3.6 needs Python 3.10 and lives in its own virtualenv.
$(NLU_VENV)/.installed: nlu/requirements.txt nlu/constraints.txt
	@echo "==> Looking for Python 3.10 for Rasa (seconds; with uv it may install it, about 30 s)"
	@py310=$$(scripts/find-python 3.10) || exit 1; \
	scripts/step nlu-venv "Installing Rasa 3.6 and TensorFlow into nlu/.venv" \
		"about 2 minutes, only the first time" -- \
		sh -c "$$py310 -m venv $(NLU_VENV) && \
		$(NLU_VENV)/bin/pip install --upgrade pip 'setuptools<70' wheel && \
		$(NLU_VENV)/bin/pip install -r nlu/requirements.txt -c nlu/constraints.txt"
	@touch $@

locales: $(VENV)/.installed $(MO_FILES)

locales/%.mo: locales/%.po
	@$(BIN)/pybabel -q compile -D wegwijs -d locales -l $(word 2,$(subst /, ,$<)) -o $@ -i $<

map: $(VENV)/.installed
	@echo "==> Building the social map (a few seconds)"
	@set -o pipefail; $(BIN)/wegwijs map build | sed 's/^/    /'

nlu-model: setup
	@$(BIN)/wegwijs nlu train

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: setup map nlu-model
	$(BIN)/python bench/map_bench.py
	$(BIN)/python bench/nlu_bench.py
	$(BIN)/python bench/e2e_bench.py
	$(BIN)/python bench/desk_bench.py

clean:
	rm -rf var
