#!/usr/bin/env bash
# Checks faultline against the golden fixtures' expectations:
#
#   tests/golden/check-manifest.sh [BINARY] [NAME-PATTERN]
#
# For every line of fixtures/MANIFEST.tsv (fixture, options, expect,
# description) it runs `BINARY read OPTIONS -o json FIXTURE` (options "-" =
# none), feeds the output to `jq -s EXPECT` and passes when jq prints exactly
# `true`.  BINARY defaults to ./faultline-asan; NAME-PATTERN (a grep -E
# pattern) limits the run to matching fixture names.  Ends with
# "manifest: N passed, M failed"; exit 1 if anything failed.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./faultline-asan}
PATTERN=${2:-.}
DIR=tests/golden/fixtures
MANIFEST=$DIR/MANIFEST.tsv

command -v jq >/dev/null || { echo "check-manifest: jq is missing" >&2; exit 2; }
[ -x "$BIN" ] || { echo "check-manifest: no executable $BIN (build it first)" >&2; exit 2; }
[ -r "$MANIFEST" ] || { echo "check-manifest: no $MANIFEST" >&2; exit 2; }

out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
passed=0 failed=0 line=1

while IFS=$'\t' read -r fixture options expect description; do
	line=$((line + 1))
	[ -n "$fixture" ] || continue
	grep -Eq -- "$PATTERN" <<<"$fixture" || continue
	label="$fixture"
	[ "$options" = - ] || label="$fixture [$options]"
	opts=()
	[ "$options" = - ] || read -r -a opts <<<"$options"
	if [ ! -r "$DIR/$fixture" ]; then
		echo "FAIL $label: fixture missing (MANIFEST line $line)"
		failed=$((failed + 1)); continue
	fi
	# Bounded: a hang in the analyser must not hang the check.
	timeout 60 "$BIN" read "${opts[@]}" -o json "$DIR/$fixture" >"$out" 2>"$err"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "FAIL $label: exit $rc: $(head -c 300 "$err" | tr '\n' ' ')"
		failed=$((failed + 1)); continue
	fi
	if [ -s "$err" ] && grep -q -E 'Sanitizer|runtime error' "$err"; then
		echo "FAIL $label: sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error' "$err")"
		failed=$((failed + 1)); continue
	fi
	got=$(jq -s "$expect" "$out" 2>&1)
	if [ "$got" = true ]; then
		echo "ok   $label"
		passed=$((passed + 1))
	else
		echo "FAIL $label: expectation gave ${got:0:200} (MANIFEST line $line: $description)"
		echo "     entries: $(jq -c -s 'map(select(.error != null) | {protocol, error, tcp, icmp: (.icmp // null | if . then {type, code, code_name} else null end)})' "$out" 2>/dev/null | head -c 600)"
		failed=$((failed + 1))
	fi
done < <(tail -n +2 "$MANIFEST")

echo "manifest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
