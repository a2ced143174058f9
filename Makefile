# renewal: `make run` serves the map with sample data on http://127.0.0.1:8000; `make test` runs the tests.
# Each target bootstraps what it needs: the venv, Debian's PostGIS (when missing and allowed) and the
# project's own cluster on 127.0.0.1:54329, unless DATABASE_URL points at another server.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
SCALE ?= 0.02

.PHONY: run test lint bench stop db sample clean-venv

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

db: $(STAMP)
	$(BIN)/renewal db up
	$(BIN)/renewal db migrate

run: db
	$(BIN)/renewal sample --if-empty --scale $(SCALE)
	$(BIN)/renewal serve

test: $(STAMP)
	@# browser tests drive Debian's chromium (never a downloaded browser); a CJK font makes screenshots legible
	@if [ "$$(id -u)" = 0 ]; then command -v chromium >/dev/null || apt-get install -y -q chromium \
	  || (apt-get update -q && apt-get install -y -q chromium); \
	  fc-list :lang=zh 2>/dev/null | grep -q . || apt-get install -y -q fonts-wqy-microhei || true; fi
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
