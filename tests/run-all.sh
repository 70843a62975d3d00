#!/usr/bin/env bash
# Runs every test suite: the cmocka unit tests built by `make test`, then each
# tests/<suite>/run.sh.  A suite prints its own lines and ends with
# "<suite>: N passed, M failed" (", K skipped" may follow).  Exit 1 if any failed.
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0 skipped=0

for t in .output/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	if out=$("$t" 2>&1); then
		n=$(grep -Eo '\[  PASSED  \] [0-9]+' <<<"$out" | awk '{s+=$4} END {print s+0}')
		passed=$((passed + n))
		echo "unit $name: $n passed"
	else
		echo "$out" | tail -40
		n=$(grep -Eo '\[  FAILED  \] [0-9]+ test' <<<"$out" | awk '{s+=$4} END {print s+0}')
		[ "$n" -gt 0 ] || n=1
		failed=$((failed + n))
		echo "unit $name: FAILED ($n)"
	fi
done

for suite in tests/*/run.sh; do
	[ -x "$suite" ] || continue
	out=$(mktemp)
	"$suite" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	last=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
	p=$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$last"); p=${p:-0}
	f=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$last"); f=${f:-0}
	s=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$last"); s=${s:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "$suite exited $rc"; fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	rm -f "$out"
done

echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ]
