#!/usr/bin/env bash
# Fetch, on a CPU machine with registry access, what the GPU check machine lacks: Python 3.12
# x86_64 wheels and libjpeg-turbo's runtime and headers unpacked to a prefix, all in ONE ignored
# folder (.gpu-carry/) that travels with the working tree, which must stay under 64 MiB in all.
#
#   bash scripts/gpu-carry.sh          download into .gpu-carry/ and list sizes
#   bash scripts/gpu-carry.sh --plan   print the plan as JSON; downloads nothing
#
# Then, on the GPU machine: bash scripts/gpu-check.sh OUTDIR (it reads .gpu-carry/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CARRY=.gpu-carry
# What travels is the whole working tree plus this folder; the transfer refuses more than this.
LIMIT_BYTES=$((64 * 1024 * 1024))
PYTHON_VERSION=3.12
PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64
    manylinux2014_x86_64 manylinux1_x86_64)
# name|version spec|why. PyTurboJPEG < 2 matches libjpeg-turbo 2.1 (pyproject.toml); it is an
# sdist only, so it is built here into a pure-Python wheel.
WHEELS=(
    "PyTurboJPEG|>=1.7,<2|pixel source decoder (core dependency)"
    "PyWavelets|>=1.5|wavelet reference in the tests"
    "jpeglib|>=1.0|coefficient reference in the tests"
    "nvidia-nvimgcodec-cu13|>=0.5|nvImageCodec decoder (CUDA 13 build)"
)
SDIST_ONLY=(PyTurboJPEG)
# Debian 12's libjpeg-turbo 2.1.5: libjpeg.so.62 + headers for the native extension,
# libturbojpeg.so.0 for PyTurboJPEG.
DEBS=(libjpeg62-turbo libjpeg62-turbo-dev libturbojpeg0)

json_list() {  # json_list a b c -> ["a","b","c"]
    local out="" item
    for item in "$@"; do out+="${out:+,}\"$item\""; done
    printf '[%s]' "$out"
}

plan() {
    local wheels="" entry name spec why
    for entry in "${WHEELS[@]}"; do
        IFS='|' read -r name spec why <<<"$entry"
        wheels+="${wheels:+,}{\"name\":\"$name\",\"spec\":\"$spec\",\"why\":\"$why\"}"
    done
    printf '{"folder":"%s","limit_bytes":%d,"python_version":"%s","platforms":%s,' \
        "$CARRY" "$LIMIT_BYTES" "$PYTHON_VERSION" "$(json_list "${PLATFORMS[@]}")"
    printf '"wheels":[%s],"sdist_only":%s,"debs":%s,' \
        "$wheels" "$(json_list "${SDIST_ONLY[@]}")" "$(json_list "${DEBS[@]}")"
    printf '"layout":{"wheels":"%s/wheels","prefix":"%s/prefix"}}\n' "$CARRY" "$CARRY"
}

if [ "${1:-}" = "--plan" ]; then
    plan
    exit 0
elif [ -n "${1:-}" ]; then
    echo "usage: bash scripts/gpu-carry.sh [--plan]" >&2
    exit 2
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && PY=.venv/bin/python
[ -x /work/main/.venv/bin/python ] && [ ! -x .venv/bin/python ] && PY=/work/main/.venv/bin/python
pip=("$PY" -m pip --disable-pip-version-check -q)

rm -rf "$CARRY"
mkdir -p "$CARRY/wheels" "$CARRY/prefix"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

platform_args=(--only-binary=:all: --python-version "$PYTHON_VERSION" --implementation cp)
for p in "${PLATFORMS[@]}"; do platform_args+=(--platform "$p"); done
for entry in "${WHEELS[@]}"; do
    IFS='|' read -r name spec _ <<<"$entry"
    if [[ " ${SDIST_ONLY[*]} " == *" $name "* ]]; then
        "${pip[@]}" wheel --no-deps --no-binary :all: -w "$CARRY/wheels" "$name$spec"
    else
        "${pip[@]}" download --no-deps "${platform_args[@]}" -d "$CARRY/wheels" "$name$spec"
    fi
done

# apt downloads as _apt where it can: give it a folder it may write
chmod 777 "$work"
(cd "$work" && apt-get download -q "${DEBS[@]}" >/dev/null 2>"$work/apt.err") || {
    cat "$work/apt.err" >&2
    echo "gpu-carry: apt-get download failed (run 'apt-get update' first?)" >&2
    exit 1
}
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$CARRY/prefix"; done
# documentation and the static library are dead weight on the GPU machine
rm -rf "$CARRY/prefix/usr/share" "$CARRY/prefix/usr/lib/x86_64-linux-gnu/libjpeg.a"

# the manifest records what was fetched, for the GPU run's summary
{
    plan | head -c -2
    printf ',"files":['
    first=1
    while IFS= read -r f; do
        size=$(stat -c %s "$f")
        [ $first = 1 ] || printf ','
        first=0
        printf '{"path":"%s","bytes":%d}' "$f" "$size"
    done < <(find "$CARRY/wheels" -type f | sort)
    printf ']}\n'
} >"$CARRY/manifest.json"

carry_bytes=$(du -sb "$CARRY" | cut -f1)
tree_bytes=$(git ls-files -z -co --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null \
    | awk '{s += $1} END {print s + 0}')
echo "gpu-carry: sizes"
du -b "$CARRY"/wheels/* | sort -n | awk '{printf "  %10d  %s\n", $1, $2}'
printf '  %10d  %s\n' "$(du -sb "$CARRY/prefix" | cut -f1)" "$CARRY/prefix"
printf '  %10d  %s (total)\n' "$carry_bytes" "$CARRY"
printf '  %10d  working tree (tracked + untracked, not ignored)\n' "$tree_bytes"
total=$((carry_bytes + tree_bytes))
printf '  %10d  together; limit %d (64 MiB)\n' "$total" "$LIMIT_BYTES"
if ((total > LIMIT_BYTES)); then
    echo "gpu-carry: over the 64 MiB limit: drop a wheel from WHEELS or clean the tree" >&2
    exit 1
fi
