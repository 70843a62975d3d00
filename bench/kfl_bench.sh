#!/usr/bin/env bash
# KFL micro-benchmark: builds bench/kfl_bench.c with -O2 (no sanitizers) and
# prints ns per kfl_match() for the error-dashboard query and regex queries
# over a typical HTTP entry, next to the cost of building that entry's doc.
# Usage: bench/kfl_bench.sh [iterations]   (default 2000000)
set -eu
cd "$(dirname "$0")/.."
out=.output/bench
mkdir -p "$out"
# shellcheck disable=SC2046
cc -O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iuser -Iinclude \
	$(pkg-config --cflags libpcre2-8) \
	-o "$out/kfl_bench" bench/kfl_bench.c user/report/doc.c user/kfl/lexer.c user/kfl/parser.c user/kfl/eval.c \
	$(pkg-config --libs libpcre2-8) -lm
echo "kfl_bench: $(uname -m), $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$out/kfl_bench" "$@"
