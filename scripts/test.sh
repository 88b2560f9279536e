#!/usr/bin/env bash
# The test command: set up, lint, type-check, then the whole suite (doctests included).
# Extra arguments go to pytest, e.g. scripts/test.sh tests/jpeg -x
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# DALI, for tests/dali in its CPU-only mode: a 424 MB wheel plus ~100 MB of nvImageCodec, nvJPEG
# and nvCOMP, no CUDA runtime wheels (measured: 955 MB on disk, 11 s from a fast mirror). Only the
# test command installs it, so the demo stays light; FREQPIPE_WITH_DALI=0 skips it (those tests
# then skip with a reason). Keep the spec in step with pyproject's `dali` extra.
case "$(printf %s "${FREQPIPE_WITH_DALI:-1}" | tr '[:upper:]' '[:lower:]')" in
    0 | false | no | off) ;;
    *) .venv/bin/python -c 'import nvidia.dali' 2>/dev/null ||
        .venv/bin/python -m pip --disable-pip-version-check -q install "nvidia-dali-cuda120>=1.30" ;;
esac
echo "== ruff" && .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy" && .venv/bin/mypy
echo "== pytest" && exec .venv/bin/python -m pytest "$@"
