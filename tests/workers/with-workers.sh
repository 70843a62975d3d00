#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs faultline with `capture --workers N` (N: $FL_WORKERS, default 2), so that
# a live suite runs all its checks against sharded pipelines:
#   FAULTLINE=tests/workers/with-workers.sh tests/ksock/run.sh
# The binary: $FL_INNER (default ./faultline-asan, from the repository root).
bin=${FL_INNER:-$(cd "$(dirname "$0")/../.." && pwd)/faultline-asan}
if [ "${1:-}" = capture ]; then
	shift
	exec "$bin" capture --workers "${FL_WORKERS:-2}" "$@"
fi
exec "$bin" "$@"
