#!/usr/bin/env bash
# Builds a self-contained `atelier` (the Swift runtime linked in, so it runs on any x86-64-v3 Linux
# with glibc, without a Swift toolchain) and installs it as ~/.local/bin/atelier (or $PREFIX/bin).
#
#   scripts/install.sh            # build in .build-static/, strip, install
#   PREFIX=/usr/local scripts/install.sh
#
# The build has its own folder, so it never invalidates the `swift test` build in .build/. The first
# run compiles everything (about 10 minutes on 2 cores); later runs only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix="${PREFIX:-$HOME/.local}"
scratch=".build-static"

swift build -c release --product atelier --static-swift-stdlib --scratch-path "$scratch"
binary="$scratch/release/atelier"

mkdir -p "$prefix/bin"
# Strip a copy: debug symbols are most of the unstripped size.
tmp="$prefix/bin/.atelier.install.$$"
cp "$binary" "$tmp"
strip "$tmp" 2>/dev/null || echo "install: strip not found; installing unstripped" >&2
chmod 755 "$tmp"
mv -f "$tmp" "$prefix/bin/atelier"

echo "installed $prefix/bin/atelier ($(du -h "$prefix/bin/atelier" | cut -f1)): $("$prefix/bin/atelier" --version)"
if ldd "$prefix/bin/atelier" 2>/dev/null | grep -q libswift; then
    echo "install: warning: the binary still links a Swift runtime library" >&2
fi
case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *) echo "note: $prefix/bin is not on your PATH; add it, e.g. echo 'export PATH=\"$prefix/bin:\$PATH\"' >> ~/.bashrc" ;;
esac
