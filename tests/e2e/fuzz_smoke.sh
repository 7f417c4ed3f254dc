#!/usr/bin/env bash
# Every libFuzzer target over its seed corpus and a few seconds of mutation: the targets build and the invariants hold.
set -u
TEST_NAME=fuzz_smoke
. "$(dirname "$0")/../lib/common.sh"

# tests/fuzz/run.sh prints one line per target (execs, coverage) and, on a finding, the input.
exec "$PL_ROOT/tests/fuzz/run.sh" smoke
