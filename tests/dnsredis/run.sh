#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Suite "dnsredis": DNS and Redis fixtures recorded from real dig/dnsmasq and
# redis-cli/redis-server traffic (record.sh), in the replay format
# (tests/README.md).  Each case reads cleanly, passes its .checks (the
# expectation, and no parser-error on valid traffic; `dns` and `redis` are
# defined there as the DNS and the Redis entries) and gives exactly its
# .expected output.  The .timeout cases shorten tap.tcpStreamChannelTimeoutMs,
# the .kfl-* cases filter with -f.
#   tests/dnsredis/run.sh [--update] [--checks-only] [--only REGEX]
# --update (or UPDATE=1) rewrites the .expected files: review the diff.
. "$(dirname "$0")/../lib/replay.sh"
t_begin dnsredis "$@"
replay_args
t_need jq || { t_skip "dnsredis fixtures" "$T_MISSING is not installed"; t_finish; }
[ -x "$T_BIN" ] || { t_skip "dnsredis fixtures" "$T_BIN is not built (make test builds it)"; t_finish; }
replay_dir tests/dnsredis/fixtures
t_finish
