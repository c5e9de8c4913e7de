#!/usr/bin/env bash
# Runs the test suite: installs libtorch if needed (no data download, no binary build), then
# `cargo test --release`. Extra arguments go to cargo test.
# tests/atlas_browser.rs needs /usr/bin/chromium. When it is missing, this script installs the
# Debian package chromium if it runs as root with apt-get. Otherwise that test skips itself.
# SPARSE_CLIP_SKIP_BROWSER=1 skips both the install and the browser test.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPARSE_CLIP_SKIP_DATA=1 SPARSE_CLIP_SKIP_BUILD=1 bash "$repo/scripts/setup.sh"
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"

# Best effort: a failed install prints one line and the tests still run.
install_browser() {
    if [ "${SPARSE_CLIP_SKIP_BROWSER:-0}" = "1" ] || [ -x /usr/bin/chromium ]; then
        return 0
    fi
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "test: /usr/bin/chromium is missing and installing it needs root and apt-get; the browser test will be skipped"
        return 0
    fi
    # Refresh the package lists only when apt does not know the package yet.
    if ! apt-cache show chromium >/dev/null 2>&1; then
        echo "test: running apt-get update (apt has no entry for chromium yet)"
        if ! apt-get update -qq; then
            echo "test: apt-get update failed, so chromium cannot be installed; the browser test will be skipped"
            return 0
        fi
    fi
    echo "test: installing the Debian package chromium for the browser test"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; then
        echo "test: installing chromium failed; the browser test will be skipped"
    fi
}

install_browser
cd "$repo"
cargo test --release "$@"
