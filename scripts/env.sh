# Source this file (". scripts/env.sh") to point cargo at the libtorch that scripts/setup.sh installed.
# SPARSE_CLIP_CACHE sets the cache folder; it lives outside the checkout so that fresh clones reuse it.

SPARSE_CLIP_TORCH_VERSION="2.11.0"
export SPARSE_CLIP_CACHE="${SPARSE_CLIP_CACHE:-$HOME/.cache/sparse-clip}"
export SPARSE_CLIP_VENV="$SPARSE_CLIP_CACHE/venv-torch-$SPARSE_CLIP_TORCH_VERSION"
export SPARSE_CLIP_RAW="$SPARSE_CLIP_CACHE/raw"

# torch-sys runs this interpreter to find the libtorch include and library folders.
export VIRTUAL_ENV="$SPARSE_CLIP_VENV"
export LIBTORCH_USE_PYTORCH=1
case ":$PATH:" in
    *":$SPARSE_CLIP_VENV/bin:"*) ;;
    *) export PATH="$SPARSE_CLIP_VENV/bin:$PATH" ;;
esac
