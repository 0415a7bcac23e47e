# The two commands in the README: `make demo` and `make test`.
# Each one sets everything up first (scripts/setup.sh is idempotent).
.PHONY: setup demo serve test test-all bench lint constraints

setup:
	@bash scripts/setup.sh

demo: setup
	@.venv/bin/python scripts/demo.py

serve: setup
	@.venv/bin/callwright serve flows/inbound.yaml --http 127.0.0.1:8080

# Two test processes (pytest-xdist): most tests wait on sockets, subprocesses and timers, so two
# fit 2 cores; each process loads the models once. More would multiply the models' memory.
test: setup
	@HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q -n 2

test-all: setup
	@HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q -n 2 -m ""

# The gates CI runs beside the tests (.ci/run): ruff, the import contracts, mypy on src/
# (both configured in pyproject.toml).
lint: setup
	@.venv/bin/ruff check src tests bench scripts
	@.venv/bin/ruff format --check src tests bench scripts
	@PYTHONPATH=src .venv/bin/lint-imports --no-logo
	@.venv/bin/mypy src/callwright

# Refresh the tested versions after changing dependencies (then run make test).
constraints: setup
	@(sed -n 1,3p constraints.txt; .venv/bin/pip freeze --exclude-editable | grep -v '^callwright' \
	  | sed 's/^torch==\(.*\)+cpu$$/torch==\1/') > constraints.txt.new && mv constraints.txt.new constraints.txt
