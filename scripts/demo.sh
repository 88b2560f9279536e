#!/usr/bin/env bash
# The demo: set up, then show what freqpipe reads from a bundled sample photo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
sample=$(.venv/bin/python -c 'import freqpipe; print(freqpipe.sample_files()[0])')
exec .venv/bin/freqpipe inspect "$sample" "$@"
