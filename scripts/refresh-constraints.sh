#!/usr/bin/env bash
# Refresh constraints.txt to the latest versions the package's ranges allow: builds the
# canary environment (.venv-unpinned, DALI included) and writes its exact versions. Then run
# `bash scripts/test.sh` (which brings .venv to the new pins and runs the suite) and commit
# constraints.txt with whatever the new versions needed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export FREQPIPE_UNPINNED=1
bash scripts/setup.sh
source scripts/env.sh
"${pip[@]}" install "${pin[@]}" "${upgrade[@]}" "nvidia-dali-cuda120>=1.30"
{
    echo "# The exact versions the test suite was last green with; every pip install of"
    echo "# scripts/setup.sh and scripts/test.sh is held to them (PIP_CONSTRAINT)."
    echo "# Refresh: bash scripts/refresh-constraints.sh && bash scripts/test.sh, then commit."
    # pip itself comes with the venv; freqpipe is the editable install under test.
    "$FREQPIPE_VENV/bin/python" -m pip list --format=freeze --exclude-editable --disable-pip-version-check |
        grep -v -i -E '^(pip|freqpipe)==' | LC_ALL=C sort -f
} > constraints.txt
echo "constraints.txt: $(grep -c '==' constraints.txt) packages pinned" >&2
