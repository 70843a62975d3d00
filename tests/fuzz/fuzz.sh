#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run every libFuzzer target (.output/fuzz/fuzz_NAME, built from tests/fuzz/fuzz_NAME.c by
# `make fuzzers`) for SECONDS each, starting from its committed seeds in
# tests/fuzz/corpus/NAME/.  New inputs collect in .output/fuzz/corpus/NAME/ (kept between
# runs, never committed); a crash, leak, sanitizer report or slow input fails the target and
# leaves the input in .output/fuzz/artifacts/.  tests/fuzz/fuzz_NAME.options, when present,
# holds extra libFuzzer flags (one a line).
#   tests/fuzz/fuzz.sh [SECONDS [NAME...]]     (default 60 s, every target)
# Ends with "fuzz: N passed, M failed, 0 skipped"; exit 1 when a target failed.
set -u
cd "$(dirname "$0")/../.."
secs=${1:-60}
shift || true
out=.output/fuzz
mkdir -p "$out/artifacts"
passed=0 failed=0

if [ $# -gt 0 ]; then
	names=("$@")
else
	names=()
	for src in tests/fuzz/fuzz_*.c; do
		names+=("$(basename "$src" .c | sed 's/^fuzz_//')")
	done
fi

for name in "${names[@]}"; do
	bin=$out/fuzz_$name
	if ! make --no-print-directory -s "$bin"; then
		echo "fuzz $name: FAILED (does not build)"
		failed=$((failed + 1))
		continue
	fi
	work=$out/corpus/$name
	mkdir -p "$work"
	seeds=tests/fuzz/corpus/$name
	[ -d "$seeds" ] || seeds=
	opts=()
	if [ -f "tests/fuzz/fuzz_$name.options" ]; then
		mapfile -t opts < <(grep -v '^#' "tests/fuzz/fuzz_$name.options" | grep .)
	fi
	log=$out/$name.log
	# -timeout: an input taking 10 s is a hang; -rss_limit_mb: a leak or a runaway table.
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/artifacts/$name-" "${opts[@]}" "$work" $seeds >"$log" 2>&1
	rc=$?
	execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -1)
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		echo "fuzz $name: ok, ${execs:-?} executions in ${secs} s, corpus $(ls "$work" | wc -l) inputs"
	else
		failed=$((failed + 1))
		input=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -1)
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -5
		echo "fuzz $name: FAILED (exit $rc) after ${execs:-?} executions; input: ${input:-none written}; log: $log"
		[ -n "$input" ] && echo "  reproduce: $bin $input"
	fi
done

echo "fuzz: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
