#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Suite "golden": the recorded capture fixtures in tests/golden/fixtures, in
# the replay format (tests/README.md).  Each case must read cleanly, pass every
# line of its .checks (written from what the traffic is, by gen-checks.py, so a
# wrong .expected cannot pass) and give exactly its .expected output.
#   tests/golden/run.sh [--update] [--checks-only] [--only REGEX]
# --update rewrites the .expected files from the current binary: review the diff.
. "$(dirname "$0")/../lib/replay.sh"
t_begin golden "$@"
replay_args
t_need jq || { t_skip "golden fixtures" "$T_MISSING is not installed"; t_finish; }
[ -x "$T_BIN" ] || { t_fail "golden fixtures" "$T_BIN is not built (make test builds it)"; t_finish; }
replay_dir tests/golden/fixtures
# tshark decodes the same inner flows from the fragment and tunnel fixtures.
if t_need tshark; then
	t_check "tshark agrees on the inner flows of the fragment and tunnel fixtures" \
		tests/golden/tshark-tuples.sh "$T_BIN"
else
	t_skip "tshark agreement" "$T_MISSING is not installed"
fi
t_finish
