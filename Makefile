# Lien — everything a developer or CI needs, from a machine with only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
MANAGE := $(BIN)/python manage.py
SCALE ?= 1
OUTLINES := lien/territories/data/contours-59-62
PYTEST_ARGS ?=

.PHONY: demo test lint fmt bench install migrate serve worker pdf-deps browser-deps clean check-deploy

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ requis"'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

migrate: install
	$(MANAGE) migrate --noinput

## make demo: install, migrate SQLite, load référentiel + territories + demo data, serve
## (with the background job worker beside the server; both stop on Ctrl+C).
demo: migrate pdf-deps
	$(MANAGE) load_referentiel
	$(MANAGE) load_indicators
	$(MANAGE) load_territories
	$(MANAGE) load_territories --geojson $(OUTLINES)-communes.geojson
	$(MANAGE) load_territories --geojson $(OUTLINES)-epci.geojson --level epci
	$(MANAGE) load_territories --geojson $(OUTLINES)-departements.geojson --level departement
	$(MANAGE) load_territories --geojson $(OUTLINES)-region.geojson --level region
	$(MANAGE) demo --scale $(SCALE)
	$(MANAGE) export_open_data --publish
	$(MANAGE) jobs_daily
	@echo "Les e-mails de la démonstration (console) s'écrivent dans demo-emails.log."
	$(MANAGE) db_worker --no-reload > demo-emails.log 2>&1 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(MANAGE) runserver 127.0.0.1:8000

## make worker: run the background jobs (e-mails) of the database queue, in the foreground.
worker: migrate
	$(MANAGE) db_worker

## make test: the whole suite (SQLite unless DATABASE_URL says otherwise).
test: install pdf-deps browser-deps
	$(MANAGE) makemigrations --check --dry-run > /dev/null
	$(BIN)/pytest $(PYTEST_ARGS)

## Pango and fonts for the PDF reports (WeasyPrint), from Debian's packages when missing.
pdf-deps:
	@if ! ldconfig -p | grep -q libpangoft2-1.0; then \
		if [ "$$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core > /dev/null; \
	fi

## Debian's Chromium for the browser tests (never a downloaded browser).
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium > /dev/null; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MANAGE) makemigrations --check --dry-run

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

check-deploy: install
	DJANGO_SETTINGS_MODULE=config.settings.base SECRET_KEY=$$(openssl rand -hex 40) \
		ALLOWED_HOSTS=lien.example.org $(MANAGE) check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles .pytest_cache
