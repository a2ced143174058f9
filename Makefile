# renewal: `make run` serves the map with sample data on http://127.0.0.1:8000; `make test` runs the tests.
# Each target bootstraps what it needs: the venv, Debian's PostGIS (when missing and allowed) and the
# project's own cluster on 127.0.0.1:54329, unless DATABASE_URL points at another server.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
SCALE ?=

.PHONY: run test lint bench stop db sample clean-venv

$(STAMP): pyproject.toml
	@# a venv without pip (e.g. made before python3-venv was installed) is made again
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV) 2>/dev/null \
	  || { ./scripts/apt-install.sh python3-venv && $(PYTHON) -m venv $(VENV); }; }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

db: $(STAMP)
	$(BIN)/renewal db up
	$(BIN)/renewal db migrate

run: db
	$(BIN)/renewal sample --if-empty $(if $(SCALE),--scale $(SCALE))
	$(BIN)/renewal serve

test: $(STAMP)
	@# browser tests drive Debian's chromium (never a downloaded browser); a CJK font makes screenshots legible
	@command -v chromium >/dev/null || ./scripts/apt-install.sh chromium
	@fc-list :lang=zh 2>/dev/null | grep -q . || ./scripts/apt-install.sh fonts-wqy-microhei || true
	@# the programme's report tests turn PDFs into text and images (pdftotext, pdftoppm)
	@command -v pdftotext >/dev/null || ./scripts/apt-install.sh poppler-utils
	@# GDAL's own OGC API client (ogrinfo) reads the service in the OGC tests
	@command -v ogrinfo >/dev/null || ./scripts/apt-install.sh gdal-bin
	$(BIN)/renewal db up
	./scripts/pytest.sh $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check app geodata migrations tests bench
	$(BIN)/mypy app

bench: db
	$(BIN)/python -m bench.run $(BENCH_ARGS)

stop: $(STAMP)
	$(BIN)/renewal db down

clean-venv:
	rm -rf $(VENV)
