#!/usr/bin/env bash
# Build and run the libFuzzer targets for a while (default 60 s each).  Not a
# test suite (no "<suite>: N passed" line); a crash leaves its input in $out.
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-60}
out=$(mktemp -d)
srcs=$(ls user/*.c user/*/*.c | grep -v '^user/main\.c$')
for t in tests/fuzz/fuzz_*.c; do
	name=$(basename "$t" .c)
	# shellcheck disable=SC2086 # the sources are words
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-Iinclude -Iuser -D_GNU_SOURCE "$t" $srcs \
		-lpcap -lz -lyaml -lbpf -lpcre2-8 -lelf -lm -o "$out/$name"
	mkdir -p "$out/$name.corpus"
	(cd "$out" && "./$name" "$name.corpus" -max_total_time="$secs" -print_final_stats=1)
done
rm -rf "$out"
