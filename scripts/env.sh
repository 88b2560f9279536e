# Sourced by setup.sh, test.sh, demo.sh and refresh-constraints.sh (from the repository root):
# which virtual environment to use and which versions to install into it.
#
# By default every `pip install` is held to constraints.txt, the exact versions the suite was
# last green with (PIP_CONSTRAINT also reaches pip's isolated build environments, so the build
# backend is pinned too). FREQPIPE_UNPINNED=1 is the canary: its own .venv-unpinned, the
# latest versions the package's ranges allow, so drift is found on purpose.
case "$(printf %s "${FREQPIPE_UNPINNED:-0}" | tr '[:upper:]' '[:lower:]')" in
    1 | true | yes | on)
        FREQPIPE_VENV=.venv-unpinned
        FREQPIPE_PIN_MODE=unpinned
        # Everything at its latest except torch: its newest release is a CUDA build (several
        # GB of nvidia-* wheels, measured: torch 2.14.1 pulled 17 of them); 2.13.0 is the CPU
        # wheel this machine kind serves.
        export PIP_CONSTRAINT="$PWD/scripts/torch-cpu.txt"
        ;;
    *)
        FREQPIPE_VENV=.venv
        FREQPIPE_PIN_MODE=pinned
        export PIP_CONSTRAINT="$PWD/constraints.txt"
        ;;
esac
export FREQPIPE_VENV FREQPIPE_PIN_MODE
# pip for this environment; in the canary, upgrade whatever is already there.
pip=("$FREQPIPE_VENV/bin/python" -m pip --disable-pip-version-check -q)
# -c as well as PIP_CONSTRAINT: the command line shows which file holds the versions
pin=(-c "$PIP_CONSTRAINT")
upgrade=()
if [ "$FREQPIPE_PIN_MODE" = unpinned ]; then
    upgrade=(--upgrade --upgrade-strategy eager)
fi
