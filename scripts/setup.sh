#!/usr/bin/env bash
# Prepare this checkout on a fresh Debian machine: system libraries, a virtual environment
# (.venv, or .venv-unpinned under FREQPIPE_UNPINNED=1: see env.sh), the CPU build of torch, and
# freqpipe installed in editable mode with its dev extras, every package at the version
# constraints.txt pins. Idempotent and quick when nothing changed; run by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh

packages=()
# Headers to build the native coefficient reader; libturbojpeg for PyTurboJPEG (< 2, which
# matches Debian 12's libjpeg-turbo 2.1).
[ -f /usr/include/jpeglib.h ] || packages+=(libjpeg62-turbo-dev)
ldconfig -p 2>/dev/null | grep -q 'libturbojpeg\.so' || packages+=(libturbojpeg0)
command -v cc >/dev/null || packages+=(gcc)
python3 -c 'import ensurepip, venv' 2>/dev/null || packages+=(python3-venv)
if ((${#packages[@]})); then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "setup: installing ${packages[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi

[ -x "$FREQPIPE_VENV/bin/python" ] || python3 -m venv "$FREQPIPE_VENV"
# torch first and pinned in both modes: an unpinned requirement would pull the CUDA build
# (several GB of nvidia-* wheels) onto a CPU-only machine. This machine kind serves 2.13.0 as a
# CPU wheel.
"$FREQPIPE_VENV/bin/python" -c 'import torch' 2>/dev/null || "${pip[@]}" install "${pin[@]}" "torch==2.13.0"

# Reinstall when the build inputs or the pins changed (the C extension is compiled by the
# install, and the install is what brings every package to its pinned version); the canary
# always reinstalls, to pick up new releases.
stamp="$FREQPIPE_VENV/.freqpipe-build"
want=$(cat pyproject.toml setup.py freqpipe/jpeg/_native.c constraints.txt | sha256sum | cut -c1-16)
if [ "$FREQPIPE_PIN_MODE" = unpinned ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] ||
    ! "$FREQPIPE_VENV/bin/python" -c 'import freqpipe.jpeg._native' 2>/dev/null; then
    echo "setup: installing freqpipe (editable) with dev and bench extras ($FREQPIPE_PIN_MODE)" >&2
    "${pip[@]}" install "${pin[@]}" "${upgrade[@]}" -e ".[dev,bench]"
    echo "$want" > "$stamp"
fi
