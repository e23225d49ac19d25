#!/usr/bin/env bash
# The inner loop: `swift test -c release` without the tests tagged .slow or .network (each test
# target declares its tags in Tests/<Target>/Tags.swift). Release mode, like the full suite, so
# both share one build. Extra arguments go to `swift test`, e.g. --skip-build or --filter GGUFTests.
# The full suite (README, .ci/run) is still `swift test -c release`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Swift Testing's command line selects tests by name, not by tag, so the names of the suites and
# test functions whose .tags(…) trait holds .slow or .network are read from the sources: the name
# declared next after the trait.
names=$(awk '
    /\.tags\([^)]*\.(slow|network)[,)]/ { pending = 1 }
    pending && match($0, /(struct|class|enum|actor|func) +[A-Za-z_][A-Za-z0-9_]*/) {
        n = split(substr($0, RSTART, RLENGTH), word, " +")
        print word[n]
        pending = 0
    }' Tests/*/*.swift | sort -u | paste -sd'|' -)
if [ -z "$names" ]; then
    echo "test-fast: found no test tagged .slow or .network under Tests/" >&2
    exit 1
fi
echo "test-fast: skipping the tests tagged .slow or .network: ${names//|/, }" >&2
# A test's name in Swift Testing is Target.Suite/function(labels:), so a name is matched whole
# between those separators.
exec swift test -c release --skip "(^|[./])($names)([/(]|\$)" "$@"
