# Two commands do all the set-up: `make demo` runs the portal with demo data on embedded
# defaults, `make test` runs the whole suite. Both create or reuse the project's .venv.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: venv demo test lint format messages migrations-check clean-demo

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,ml]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

# Web server and a real Celery worker on kombu's filesystem broker: no Redis, no PostgreSQL.
# The worker consumes every queue the apps declare (<app>/queues.py) and runs beat, which sends
# the reconciler's pass every minute (docs/deployment.md, "The reconciler").
demo: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	@trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/celery -A config worker --pool solo --beat --schedule var/celerybeat-schedule \
		--loglevel INFO & worker=$$!; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: venv
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Translators' tool: extract the strings into locale/*/django.po and compile the .mo files (GNU
# gettext's xgettext, msgmerge and msgfmt, which checks placeholders). Commit both: running and
# testing need no gettext, and `make test` fails while a string lacks its French or Spanish
# translation or a .mo is stale (tests/i18n, pure Python).
MESSAGES_IGNORE := --ignore='.venv/*' --ignore='tests/*' --ignore='bench/*' --ignore='var/*' \
	--ignore='docs/*' --ignore='fixtures/*'
messages: venv
	$(BIN)/python manage.py makemessages -l fr -l es --no-location $(MESSAGES_IGNORE)
	$(BIN)/python manage.py compilemessages --ignore='.venv/*'

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean-demo:
	rm -rf var/
