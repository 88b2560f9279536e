#!/usr/bin/env bash
# Prepare this checkout on a fresh Debian machine: system libraries, a virtual environment in
# .venv, the CPU build of torch, and freqpipe installed in editable mode with its dev extras.
# Idempotent and quick when nothing changed; sourced by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

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

[ -x .venv/bin/python ] || python3 -m venv .venv
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
# torch first and pinned: an unpinned requirement would pull the CUDA build (several GB of
# nvidia-* wheels) onto a CPU-only machine. This machine kind serves 2.13.0 as a CPU wheel.
.venv/bin/python -c 'import torch' 2>/dev/null || "${pip[@]}" install "torch==2.13.0"

# Reinstall only when the build inputs changed (the C extension is compiled by the install).
stamp=.venv/.freqpipe-build
want=$(cat pyproject.toml setup.py freqpipe/jpeg/_native.c | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || ! .venv/bin/python -c 'import freqpipe.jpeg._native' 2>/dev/null; then
    echo "setup: installing freqpipe (editable) with dev and bench extras" >&2
    "${pip[@]}" install -e ".[dev,bench]"
    echo "$want" > "$stamp"
fi
