#!/usr/bin/env bash
# Reassembly micro-benchmark: builds bench/reasm_bench.c with -O2 (no
# sanitizers) and prints the 10k/80k one-byte-segment times and ratio per
# arrival order, and accounted memory against RSS for F flows of held segments.
# Usage: bench/reasm_bench.sh [FLOWS]   (default 100000)
set -eu
cd "$(dirname "$0")/.."
out=.output/bench
mkdir -p "$out"
cc -O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iuser -Iinclude \
	-o "$out/reasm_bench" bench/reasm_bench.c user/stream/reasm.c
"$out/reasm_bench" "$@"
