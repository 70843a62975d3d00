#!/usr/bin/env bash
# Golden tests: each recorded fixture's JSON entries must equal its .expected
# file exactly, and satisfy the MANIFEST's jq expectation (written from what the
# traffic is, so a wrong golden cannot pass).  `run.sh --update` rewrites the
# .expected files from the current binary: review the diff before committing.
set -u
cd "$(dirname "$0")/../.."
BIN=${FAULTLINE:-./faultline-asan}
DIR=tests/golden/fixtures
update=0
[ "${1:-}" = --update ] && update=1
passed=0 failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

while IFS=$'\t' read -r fixture options _; do
	[ "$fixture" = fixture ] && continue
	[ -n "$fixture" ] || continue
	[ "$options" = - ] && options=""
	# shellcheck disable=SC2086 # options are words
	"$BIN" read $options -o json "$DIR/$fixture" >"$out" 2>/dev/null
	expected="$DIR/$fixture.expected"
	if [ -n "$options" ]; then     # one golden per option set: x.pcap.set-tap.snaplen-100.expected
		suffix=$(tr -cs 'A-Za-z0-9.' '-' <<<"$options" | sed 's/^-*//; s/-*$//')
		expected="$DIR/$fixture.$suffix.expected"
	fi
	if [ $update = 1 ]; then
		cp "$out" "$expected"
		continue
	fi
	if [ ! -f "$expected" ]; then
		failed=$((failed + 1)); echo "FAIL $fixture: no $expected"
	elif diff -u "$expected" "$out" >/dev/null; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1)); echo "FAIL $fixture: entries differ from $expected"
		diff -u "$expected" "$out" | head -20
	fi
done <"$DIR/MANIFEST.tsv"
[ $update = 1 ] && { echo "golden: expected files rewritten"; exit 0; }

# The MANIFEST's expectations, fixture by fixture.
m=$(tests/golden/check-manifest.sh "$BIN" 2>&1)
echo "$m" | grep -v '^ok' | grep -v '^manifest:'
mp=$(sed -nE 's/^manifest: ([0-9]+) passed, ([0-9]+) failed.*/\1/p' <<<"$m")
mf=$(sed -nE 's/^manifest: ([0-9]+) passed, ([0-9]+) failed.*/\2/p' <<<"$m")
passed=$((passed + ${mp:-0})) failed=$((failed + ${mf:-1}))
# tshark's own dissection agrees on the inner flows of the fragment and tunnel fixtures.
if tests/golden/tshark-tuples.sh "$BIN" >"$out" 2>&1; then
	passed=$((passed + 1))
else
	failed=$((failed + 1)); grep -v '^tshark-tuples:' "$out"
fi
echo "golden: $passed passed, $failed failed"
[ $failed -eq 0 ]
