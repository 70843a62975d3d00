#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Suite "streams": TCP reassembly, HTTP/1.x and the stream errors, on pcaps
# recorded from real traffic (tests/streams/record.sh), in the replay format
# (tests/README.md): each case reads cleanly, passes its .checks (what the
# traffic is, written by record.sh from the scenario, not from the output; the
# .stats cases check `read --stats`) and gives exactly its .expected output.
#   tests/streams/run.sh [--update] [--checks-only] [--only REGEX]
# --update rewrites the .expected files from the current binary: review the diff.
. "$(dirname "$0")/../lib/replay.sh"
t_begin streams "$@"
replay_args
t_need jq || { t_skip "stream fixtures" "$T_MISSING is not installed"; t_finish; }
[ -x "$T_BIN" ] || { t_fail "stream fixtures" "$T_BIN is not built (make test builds it)"; t_finish; }
replay_dir "${STREAMS_FIXTURES:-tests/streams/fixtures}"
t_finish
