#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the golden fixtures' checks (not the exact .expected outputs) with any
# implementation of `faultline read`:
#
#   tests/golden/check-checks.sh [BINARY] [NAME-REGEX]
#
# BINARY defaults to ./faultline-asan; tests/golden/tshark-model.sh checks the
# checks themselves against Wireshark's view of the captures.  NAME-REGEX (grep
# -E) limits the run to cases whose label (STEM or STEM.CASE) matches.  Ends
# with "golden-checks: N passed, N failed, N skipped"; exit 1 if anything failed.
BIN=${1:-./faultline-asan}
REPLAY_SUITE=golden-checks FAULTLINE=$BIN exec "$(dirname "$0")/../lib/replay.sh" --checks-only --only "${2:-.}" tests/golden/fixtures
