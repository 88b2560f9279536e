#!/usr/bin/env bash
# The test command: set up, lint, type-check, then the whole suite (doctests included).
# Extra arguments go to pytest, e.g. scripts/test.sh tests/jpeg -x
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
echo "== ruff" && .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy" && .venv/bin/mypy
echo "== pytest" && exec .venv/bin/python -m pytest "$@"
