# The README's quick start: `make demo` (embedded default) and `make test` (real services).
SHELL := /bin/bash
PY := .venv/bin/python
MANAGE := $(PY) manage.py
SERVICES_ENV = set -a; eval "$$(infra/services.sh up)"; set +a
# The e-mails seeding and simulating send (verifications, claims) go to files, not the screen.
DEMO_MAIL := EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend

.PHONY: venv demo test lint typecheck fmt bench bench-ci services services-down clean

venv:
	@infra/venv.sh

demo: venv
	@$(MANAGE) migrate --noinput -v0
	@$(MANAGE) collectstatic --noinput -v0
	@$(DEMO_MAIL) $(MANAGE) seed_demo
	@echo "--- simulating calls through the switch API"
	@$(DEMO_MAIL) $(MANAGE) simulate_calls --calls $${CALLS:-200} --run-key $${RUN_KEY:-demo}
	@echo "--- e-mails the demo sent are in $${VAR_DIR:-var}/mail/ (the running server prints its own)"
	@$(MANAGE) demo_summary
	@if [ -z "$$NO_SERVE" ]; then $(MANAGE) runserver $${DEMO_ADDR:-127.0.0.1:8000}; fi

# The layers (import-linter contract in pyproject.toml), the README's diagram of them, module sizes.
lint: venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	$(PY) infra/layers.py --check

typecheck: venv
	.venv/bin/mypy

test: venv lint typecheck
	@infra/browser.sh
	@$(SERVICES_ENV); export REQUIRE_SERVICES=1; \
	  echo "services: DATABASE_URL=$$DATABASE_URL CELERY_BROKER_URL=$$CELERY_BROKER_URL S3_ENDPOINT_URL=$$S3_ENDPOINT_URL"; \
	  .venv/bin/pytest $(PYTEST_ARGS)

bench: venv
	@$(SERVICES_ENV); $(PY) -m bench $(BENCH_ARGS)

# The benchmark as CI runs it: every section but the 1M-event audit export, 1M recordings.
bench-ci: venv
	@$(SERVICES_ENV); $(PY) -m bench --only calls,uploads,scale,access --recordings 1000000 --duration 6

services:
	@infra/services.sh up

services-down:
	@infra/services.sh down

fmt: venv
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
