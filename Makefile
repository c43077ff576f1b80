# mentorbot: `make run` starts the bot (with no BOT_TOKEN, the playground: the bot in a web
# page, without Telegram), `make test` runs every test.
# Both set up what they need: the virtual environment, dependencies, compiled
# translations and the database schema (and for tests, a PostgreSQL server).

# Python 3.11 and 3.12 both work: `make test PYTHON=python3.12 VENV=.venv-3.12`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# One compiled catalog per language in locales/.
MO := $(patsubst %.po,%.mo,$(wildcard locales/*/LC_MESSAGES/messages.po))
PG_ENV := .pg/env

.PHONY: run playground test lint bench translations clean pg-start pg-stop browser data-key lock

# With no BOT_TOKEN (in the environment or .env) the playground starts instead, and says so.
run: $(STAMP) $(MO) data-key
	@if [ -n "$$BOT_TOKEN" ] || grep -qsi '^BOT_TOKEN=.' .env; then \
		exec $(BIN)/mentorbot run; \
	else \
		exec $(BIN)/mentorbot playground; \
	fi

playground: $(STAMP) $(MO)
	$(BIN)/mentorbot playground

# The first `make run` without a DATA_KEY makes one, in .env (readable by this user only),
# apart from the database. Keep a copy: what the bot stored cannot be read without it.
data-key: $(STAMP)
	@if [ -z "$$DATA_KEY" ] && ! grep -qs '^DATA_KEY=' .env; then \
		umask 077; touch .env; chmod 600 .env; \
		echo "DATA_KEY=$$($(BIN)/mentorbot new-key)" >> .env; \
		echo "A data key was made for this bot and written to .env: keep a copy of it."; \
	fi

# Tests run in TEST_WORKERS processes: many wait on a bot or a process of their own, so
# more of them than cores keeps the cores busy.
TEST_WORKERS ?= 3

test: $(STAMP) $(MO) pg-start browser
	. ./$(PG_ENV) && $(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS)
	$(BIN)/ruff check bot tests
	$(BIN)/mypy

lint: $(STAMP)
	$(BIN)/ruff check bot tests
	$(BIN)/mypy

bench: $(STAMP) $(MO) pg-start
	. ./$(PG_ENV) && $(BIN)/python -m tests.bench.bench_charts
	. ./$(PG_ENV) && $(BIN)/python -m tests.bench.bench_dialogs --separate
	. ./$(PG_ENV) && $(BIN)/python -m tests.bench.bench_tick
	$(BIN)/python -m tests.bench.bench_matching
	. ./$(PG_ENV) && $(BIN)/python -m tests.bench.bench_stats
	. ./$(PG_ENV) && $(BIN)/python -m tests.bench.bench_webhook
	$(BIN)/python -m tests.bench.bench_broadcast --inject-429 4 --relays
	. ./$(PG_ENV) && $(BIN)/python -m tests.bench.bench_takeover
	$(BIN)/python -m tests.bench.bench_flood
	$(BIN)/python -m tests.bench.bench_dashboard

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 or 3.12 is needed ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --statistics -d locales -D messages -l $* -i $< -o $@

# Re-extract the texts of the code and the dialogs; merge them into every catalog.
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k plural_msg:1,2 --no-wrap --sort-by-file --project mentorbot -o locales/messages.pot .
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-wrap --ignore-obsolete
	$(BIN)/python scripts/english_catalog.py locales/en/LC_MESSAGES/messages.po

# The image's pinned and hashed dependencies (deploy/Dockerfile), from pyproject.toml's;
# run after changing them. Needs uv (`pip install uv`).
lock:
	uv pip compile pyproject.toml --generate-hashes --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 --no-header -o requirements.lock

pg-start:
	@bash scripts/postgres.sh start

pg-stop:
	@bash scripts/postgres.sh stop

# Debian's chromium for tests/browser (installed when missing).
browser:
	@bash scripts/browser.sh ensure

clean:
	rm -rf $(VENV) .pg $(MO)
