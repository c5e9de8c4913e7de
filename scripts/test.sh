#!/usr/bin/env bash
# Runs the test suite: installs libtorch if needed (no data download, no binary build), then
# `cargo test --release`. Extra arguments go to cargo test.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPARSE_CLIP_SKIP_DATA=1 SPARSE_CLIP_SKIP_BUILD=1 bash "$repo/scripts/setup.sh"
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"
cd "$repo"
cargo test --release "$@"
