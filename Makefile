# Python Learning Studio — the two commands of the README, and the few around them.
#   make up     run the studio locally on embedded defaults
#   make test   install what the tests need and run every test
#   make backup / make restore BACKUP=<archive>   the studio's state (docs/architecture.md)
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)
# The tests' PostgreSQL (make test installs and starts it; see .ci/provision).
TEST_DATABASE_URL ?= postgres://studio:studio@127.0.0.1:5432/studio
# pytest-xdist workers: tests sharing a studio or a hub run in one worker (their xdist_group),
# the groups in the order pytest collects them (the slow folders come first); -n 0 runs serially.
PYTEST_WORKERS ?= 2
PYTEST_XDIST := -n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder

.PHONY: up test test-extensions bench lint install images backup restore

install:
	@.ci/provision venv

up: install
	@.ci/provision proxy engine
	@$(PY) -m launcher

images:
	@.ci/provision images

# make up's studio's state in one archive (python -m ops; docs/architecture.md, "Operations:
# backups"): `make backup` writes var/backups/studio-backup-<UTC time>.tar.gz, BACKUP=<path> another
# file or folder; `make restore BACKUP=<archive>` restores into a fresh, stopped studio, FORCE=1
# replaces what a studio already holds.
backup: install
	@$(PY) -m ops backup $(BACKUP)

restore: install
	@test -n "$(BACKUP)" || { echo "make restore: name the archive: make restore BACKUP=<file>" >&2; exit 2; }
	@$(PY) -m ops restore "$(BACKUP)" $(if $(FORCE),--force)

# ruff, then the import contracts between the parts (pyproject.toml, [tool.importlinter]).
lint: install
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/lint-imports --no-logo

test: install lint
	@.ci/provision postgres docker images compose compose_images browser prometheus
	@$(MAKE) --no-print-directory test-extensions
	@DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

# The JupyterLab extensions' frontend tests (jest), with the node_modules images/build caches.
EXTENSIONS := pls_tutor pls_grading_status
test-extensions: install
	@for extension in $(EXTENSIONS); do \
	  (cd extensions/$$extension && $(abspath $(VENV))/bin/jlpm install --immutable >/dev/null && $(abspath $(VENV))/bin/jlpm test) || exit 1; \
	done

bench: install
	@.ci/provision postgres
	@DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest tests/benchmarks -o python_files='bench_*.py' -s -q $(PYTEST_ARGS)
