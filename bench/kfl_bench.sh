#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# KFL micro-benchmark: builds bench/kfl_bench.c with -O2 (no sanitizers) and
# prints ns per kfl_match() for the error-dashboard query and regex queries
# over a typical HTTP entry, next to the cost of building that entry's doc.
# Usage: bench/kfl_bench.sh [iterations]   (default 2000000)
set -eu
cd "$(dirname "$0")/.."
out=.output/bench
make --no-print-directory -s "$out/kfl_bench"    # -O2, no sanitizers, links .output/libfaultline.a
echo "kfl_bench: $(uname -m), $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$out/kfl_bench" "$@"
