#!/usr/bin/env bash
# Run one fuzz target of tests/fuzz/ for longer than the test suite does.
#
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer flags ...]
#
# TARGET is reader, markers, gather or store (tests/fuzz/fuzz_TARGET.py). The corpus grows in
# build/fuzz/TARGET/corpus (override the root with FUZZ_DIR), seeded from the project's own
# fixtures and ../shared/data/jpeg-conformance; findings land in build/fuzz/TARGET/artifacts.
#
# AddressSanitizer: build the extension with it, then set FREQPIPE_ASAN=1 so libasan is
# preloaded into the (uninstrumented) interpreter:
#   CFLAGS="-fsanitize=address -fno-omit-frame-pointer" LDFLAGS=-fsanitize=address \
#       python setup.py build_ext --inplace --force
#   FREQPIPE_ASAN=1 scripts/fuzz.sh reader 600
# (rebuild without the flags afterwards). Leak checking is off: CPython's own allocations at
# exit would drown everything else.
set -euo pipefail
if [[ $# -lt 2 ]]; then
    echo "usage: $0 TARGET SECONDS [libFuzzer flags ...]" >&2
    exit 2
fi
target=$1
seconds=$2
shift 2
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python}
work=${FUZZ_DIR:-$repo/build/fuzz}/$target
mkdir -p "$work/corpus" "$work/seeds" "$work/artifacts"
cd "$repo"
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
if [[ ${FREQPIPE_ASAN:-0} == 1 ]]; then
    LD_PRELOAD=$("${CC:-gcc}" -print-file-name=libasan.so)
    export LD_PRELOAD
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
fi
exec "$python" -m "tests.fuzz.fuzz_$target" -max_total_time="$seconds" -timeout=30 \
    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$@" \
    "$work/corpus" "--seeds=$work/seeds"
