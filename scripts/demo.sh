#!/usr/bin/env bash
# The demo: set up, then show on the bundled sample photos what freqpipe reads, loads and
# stores, and draw freqpipe-demo.png (a photo, its DCT channels, a dct24 reconstruction, a
# wavelet decomposition). Runs on a machine with no GPU; installs the pinned versions.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
source scripts/env.sh
exec "$FREQPIPE_VENV/bin/freqpipe" demo "$@"
