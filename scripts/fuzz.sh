#!/usr/bin/env bash
# Run one fuzz target of tests/fuzz/ for longer than the test suite does.
#
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer flags ...]
#   scripts/fuzz.sh --asan-build      # rebuild the extension with AddressSanitizer
#
# TARGET is reader, markers, gather or store (tests/fuzz/fuzz_TARGET.py). The corpus grows in
# build/fuzz/TARGET/corpus (override the root with FUZZ_DIR), seeded from the project's own
# fixtures and ../shared/data/jpeg-conformance; findings land in build/fuzz/TARGET/artifacts.
#
# AddressSanitizer: `--asan-build` compiles freqpipe/jpeg/_native.c and _spectral.c with CFLAGS
# -fsanitize=address but links it without the sanitizer, so it does not pull in gcc's libasan;
# then FREQPIPE_ASAN=1 preloads the ASan runtime that the atheris wheel ships with its
# libFuzzer (LD_PRELOAD=<site-packages>/asan_with_fuzzer.so). Preloading gcc's libasan instead
# also works for reports but interposes libFuzzer's coverage hooks: no coverage feedback at all.
# Rebuild normally afterwards (python setup.py build_ext --inplace --force).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python}
cd "$repo"
if [[ ${1:-} == --asan-build ]]; then
    include=$("$python" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
    suffix=$("$python" -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
    mkdir -p build/fuzz
    for source in _native _spectral; do
        "${CC:-gcc}" -fsanitize=address -fno-omit-frame-pointer -g -O1 -fPIC -std=c99 \
            -I"$include" -c "freqpipe/jpeg/$source.c" -o "build/fuzz/${source}_asan.o"
    done
    "${CC:-gcc}" -shared build/fuzz/_native_asan.o build/fuzz/_spectral_asan.o -ljpeg \
        -o "freqpipe/jpeg/_native$suffix"
    echo "built freqpipe/jpeg/_native$suffix with AddressSanitizer; run with FREQPIPE_ASAN=1"
    exit 0
fi
if [[ $# -lt 2 ]]; then
    echo "usage: $0 TARGET SECONDS [libFuzzer flags ...] | $0 --asan-build" >&2
    exit 2
fi
target=$1
seconds=$2
shift 2
work=${FUZZ_DIR:-$repo/build/fuzz}/$target
mkdir -p "$work/corpus" "$work/seeds" "$work/artifacts"
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
if [[ ${FREQPIPE_ASAN:-0} == 1 ]]; then
    LD_PRELOAD="$("$python" -c 'import atheris; print(atheris.path())')/asan_with_fuzzer.so"
    export LD_PRELOAD
    # CPython's own allocations at exit would drown every report in leaks.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
fi
exec "$python" -m "tests.fuzz.fuzz_$target" -max_total_time="$seconds" -timeout=30 \
    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$@" \
    "$work/corpus" "--seeds=$work/seeds"
