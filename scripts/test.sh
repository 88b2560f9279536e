#!/usr/bin/env bash
# The test command: set up, lint, type-check, then the whole suite (doctests included).
# Extra arguments go to pytest, e.g. scripts/test.sh tests/jpeg -x
# FREQPIPE_UNPINNED=1 runs the same in .venv-unpinned with the latest allowed versions.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
source scripts/env.sh
# DALI, for tests/dali in its CPU-only mode: a 424 MB wheel plus ~100 MB of nvImageCodec, nvJPEG
# and nvCOMP, no CUDA runtime wheels (measured: 955 MB on disk, 11 s from a fast mirror). Only the
# test command installs it, so the demo stays light; FREQPIPE_WITH_DALI=0 skips it (those tests
# then skip with a reason). Keep the spec in step with pyproject's `dali` extra.
case "$(printf %s "${FREQPIPE_WITH_DALI:-1}" | tr '[:upper:]' '[:lower:]')" in
    0 | false | no | off) ;;
    *) if [ "$FREQPIPE_PIN_MODE" = unpinned ] || ! "$FREQPIPE_VENV/bin/python" -c 'import nvidia.dali' 2>/dev/null; then
        "${pip[@]}" install "${pin[@]}" "${upgrade[@]}" "nvidia-dali-cuda120>=1.30"
    fi ;;
esac
bin="$FREQPIPE_VENV/bin"
echo "== ruff" && "$bin/ruff" check . && "$bin/ruff" format --check .
echo "== mypy" && "$bin/mypy"
echo "== pytest ($FREQPIPE_PIN_MODE)" && exec "$bin/python" -m pytest "$@"
