#!/usr/bin/env bash
# The GPU half of freqpipe, verified and measured in one bounded run on a CUDA machine.
#
#   bash scripts/gpu-check.sh [--quick] [--pack] OUTDIR
#   bash scripts/gpu-check.sh --dry-run [--quick]      the steps and their time limits, as TSV
#
# Run from the repository root on the GPU machine (Python 3.12 with torch, torchvision, CuPy,
# pytest, Pillow, numpy, scipy, matplotlib; no network). What it lacks comes from .gpu-carry/
# (made by scripts/gpu-carry.sh on a CPU machine; FREQPIPE_CARRY names another folder). Steps:
# environment report, offline install + native build, every `gpu`-marked test and the
# nvImageCodec tests, then the benchmarks, then summary.md and plots. Each step runs under its
# own `timeout` and a failing step does not stop the next, so the whole run is bounded by the
# sum of the limits: <= 8 minutes, <= 3 with --quick (tests plus one pass of each benchmark).
# Everything lands in OUTDIR, and all of it again in OUTDIR/gpu-check.tar.gz; --pack leaves only
# summary.md, env.json, steps.tsv and the tarball there (for transports that return few files).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

quick=0 dry=0 pack=0 out=""
for arg in "$@"; do
    case "$arg" in
    --quick) quick=1 ;;
    --dry-run) dry=1 ;;
    --pack) pack=1 ;;
    -h | --help)
        sed -n '2,16p' "$0"
        exit 0
        ;;
    -*)
        echo "gpu-check: unknown option $arg" >&2
        exit 2
        ;;
    *) out=$arg ;;
    esac
done

# name | limit in seconds, full | limit, --quick | command. A command sees $PY, $OUT, $QUICK
# (1 or 0) and $DATA. Limits exclude the KILL_AFTER grace, which the budget counts too.
KILL_AFTER=3
STEPS=(
    "env|20|12|\$PY scripts/gpu_check.py env \"\$OUT\""
    "install|60|30|install_carried && build_native"
    "tests|150|50|run_tests"
    "bench_kernels|55|15|\$PY benchmarks/bench_kernels.py --out \"\$OUT\" \$( ((QUICK)) && echo --quick)"
    "bench_overhead|25|8|\$PY benchmarks/bench_overhead.py --out \"\$OUT\" \$( ((QUICK)) && echo --quick)"
    "bench_gpu_loader|85|20|\$PY benchmarks/bench_gpu_loader.py --data \"\$DATA\" --out \"\$OUT\" \$( ((QUICK)) && echo --quick)"
    "bench_train|40|12|\$PY benchmarks/bench_train.py --out \"\$OUT\" \$( ((QUICK)) && echo --quick)"
    "summary|15|9|\$PY scripts/gpu_check.py summary \"\$OUT\""
)
BUDGET_FULL=480
BUDGET_QUICK=180

if ((dry)); then
    total=0
    printf 'step\tlimit_s\n'
    for s in "${STEPS[@]}"; do
        IFS='|' read -r name full fast _ <<<"$s"
        limit=$(((quick ? fast : full) + KILL_AFTER))
        total=$((total + limit))
        printf '%s\t%d\n' "$name" "$limit"
    done
    printf 'total\t%d\nbudget\t%d\n' "$total" "$((quick ? BUDGET_QUICK : BUDGET_FULL))"
    exit 0
fi
if [ -z "$out" ]; then
    echo "usage: bash scripts/gpu-check.sh [--quick] [--pack] OUTDIR" >&2
    exit 2
fi

mkdir -p "$out"
OUT=$(cd "$out" && pwd)
QUICK=$quick
PY=${PYTHON:-python3}
CARRY=$(pwd)/${FREQPIPE_CARRY:-.gpu-carry}
PREFIX=$CARRY/prefix/usr
SITE=/tmp/freqpipe-site
# the loader benchmark's photos: the project's shared ones when present, else made from the
# bundled samples by gpu_check.py (the shared folder does not travel to the GPU machine)
DATA=${FREQPIPE_GPU_DATA:-../shared/data/photos}
[ -d "$DATA" ] || DATA=/tmp/freqpipe-photos
export PY OUT QUICK DATA PYTHONUNBUFFERED=1 MPLBACKEND=Agg GPU_CHECK_CMD="bash scripts/gpu-check.sh $*"
export PYTHONPATH=$(pwd):$SITE${PYTHONPATH:+:$PYTHONPATH}
export LD_LIBRARY_PATH=$PREFIX/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export FREQPIPE_JPEG_INCLUDE=$PREFIX/include:$PREFIX/include/x86_64-linux-gnu
export FREQPIPE_JPEG_LIBDIR=$PREFIX/lib/x86_64-linux-gnu

install_carried() {
    local wheels=("$CARRY"/wheels/*.whl)
    if [ ! -e "${wheels[0]}" ]; then
        echo "no wheels in $CARRY/wheels (run scripts/gpu-carry.sh on a CPU machine and carry it)"
    else
        # into the interpreter's own environment first (namespace packages such as nvidia.*
        # merge there); a read-only one gets a target folder on PYTHONPATH instead
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir "${wheels[@]}" ||
            "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
                --target "$SITE" "${wheels[@]}"
    fi
    "$PY" -m pip list 2>/dev/null | grep -i -E 'turbojpeg|pywavelets|jpeglib|nvimgcodec' || true
    "$PY" scripts/gpu_check.py make-data "$DATA" -n $( ((QUICK)) && echo 128 || echo 400)
}

build_native() {
    "$PY" setup.py build_ext --inplace -q &&
        "$PY" -c 'import freqpipe.jpeg._native as n; print("native extension:", n.__file__)'
}

run_tests() {
    local rc=0
    # -m gpu: every GPU-marked test; the nvImageCodec decoder tests skip without it on a CPU
    # box and so carry no marker, but this is where they can run
    "$PY" -m pytest tests -m gpu -q -p no:cacheprovider -rfEs \
        --junitxml="$OUT/tests-gpu.xml" -o junit_family=xunit2 || rc=$?
    "$PY" -m pytest tests/data/test_nvimgcodec_decoder.py -q -p no:cacheprovider -rfEs \
        --junitxml="$OUT/tests-nvimgcodec.xml" -o junit_family=xunit2 || rc=$?
    return $rc
}
export -f install_carried build_native run_tests
export CARRY PREFIX SITE

printf 'step\trc\tseconds\tlimit_s\n' >"$OUT/steps.tsv"
start=$SECONDS
for s in "${STEPS[@]}"; do
    IFS='|' read -r name full fast cmd <<<"$s"
    limit=$((quick ? fast : full))
    echo "== $name (limit ${limit}s) =="
    t0=$SECONDS
    # SIGINT first: pytest and the benchmarks write what they have (junit, partial JSON)
    timeout -s INT -k "$KILL_AFTER" "$limit" bash -c "$cmd" >"$OUT/$name.log" 2>&1
    rc=$?
    printf '%s\t%d\t%d\t%d\n' "$name" "$rc" "$((SECONDS - t0))" "$limit" >>"$OUT/steps.tsv"
    tail -n 5 "$OUT/$name.log"
    echo "-- $name: rc=$rc in $((SECONDS - t0))s"
done
echo "gpu-check: $((SECONDS - start))s in all; results in $OUT"

(cd "$OUT" && tar -czf /tmp/gpu-check.tar.gz --exclude gpu-check.tar.gz . && mv /tmp/gpu-check.tar.gz .)
if ((pack)); then
    find "$OUT" -mindepth 1 -maxdepth 1 ! -name summary.md ! -name env.json ! -name steps.tsv \
        ! -name gpu-check.tar.gz -exec rm -rf {} +
fi
[ -f "$OUT/summary.md" ] && cat "$OUT/summary.md"
exit 0
