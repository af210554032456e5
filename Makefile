# The two commands: `make run` and `make test`. Everything else is what they build on.
# Each step is a file target, so a second run reuses what is already there.
SHELL := /bin/bash
PY    := $(shell scripts/find-python 3.11+)
VENV  := .venv
BIN   := $(VENV)/bin
NLU_VENV := nlu/.venv
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locales/*/LC_MESSAGES/*.po))

.PHONY: run test setup map nlu-model locales lint bench clean

# `exec`: the bot replaces the shell, so a SIGTERM that make passes on reaches the bot itself.
run: setup locales map nlu-model
	@if [ -n "$${TELEGRAM_BOT_TOKEN:-}$${WHATSAPP_TOKEN:-}" ]; then \
		exec $(BIN)/wegwijs serve; \
	else \
		exec $(BIN)/wegwijs chat; \
	fi

test: setup locales map nlu-model
	$(BIN)/pytest -q

setup: $(VENV)/.installed $(NLU_VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -n "$(PY)" || { echo "No Python >= 3.11 found (see README)."; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# Rasa 3.6 needs Python 3.10 and lives in its own virtualenv.
$(NLU_VENV)/.installed: nlu/requirements.txt nlu/constraints.txt
	@py310=$$(scripts/find-python 3.10) || exit 1; \
	$$py310 -m venv $(NLU_VENV)
	$(NLU_VENV)/bin/pip install -q --upgrade pip 'setuptools<70' wheel
	$(NLU_VENV)/bin/pip install -q -r nlu/requirements.txt -c nlu/constraints.txt
	touch $@

locales: $(VENV)/.installed $(MO_FILES)

locales/%.mo: locales/%.po
	$(BIN)/pybabel compile -D wegwijs -d locales -l $(word 2,$(subst /, ,$<)) -o $@ -i $<

map: $(VENV)/.installed
	$(BIN)/wegwijs map build

nlu-model: setup
	$(BIN)/wegwijs nlu train

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: setup map nlu-model
	$(BIN)/python bench/map_bench.py
	$(BIN)/python bench/nlu_bench.py
	$(BIN)/python bench/e2e_bench.py

clean:
	rm -rf var
