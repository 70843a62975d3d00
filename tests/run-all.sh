#!/usr/bin/env bash
# Runs every test suite: the cmocka unit tests built by `make test`, then each
# tests/<suite>/run.sh (all on tests/lib/runner.sh), and ends with one closing
# line for everything: "N passed, N failed, N skipped".  Exit 1 if any failed.
#   tests/run-all.sh [SUITE...]     only the named suites (unit: the cmocka tests)
# A suite must end with exactly one closing line "<suite>: N passed, N failed,
# N skipped" as its last line; one that does not, or that exits non-zero with
# no failure counted, counts as one failure more.
. "$(dirname "$0")/lib/runner.sh"
t_begin "" "$@"

wanted() { [ ${#T_ARGS[@]} -eq 0 ] || [[ " ${T_ARGS[*]} " == *" $1 "* ]]; }

if wanted unit; then
	for t in .output/tests/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		if out=$("$t" 2>&1); then
			n=$(grep -Eo '\[  PASSED  \] [0-9]+' <<<"$out" | awk '{s+=$4} END {print s+0}')
			t_add "$n" 0 0
			echo "unit $name: $n passed"
		else
			echo "$out" | tail -40
			n=$(grep -Eo '\[  FAILED  \] [0-9]+ test' <<<"$out" | awk '{s+=$4} END {print s+0}')
			[ "$n" -gt 0 ] || n=1
			t_add 0 "$n" 0
			echo "unit $name: FAILED ($n)"
		fi
	done
fi

closing='^([a-z0-9-]+): ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$'
for suite in tests/*/run.sh; do
	[ -x "$suite" ] || continue
	name=$(basename "$(dirname "$suite")")
	wanted "$name" || continue
	out=$T_TMP/$name.out
	"$suite" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	last=$(tail -n 1 "$out")
	lines=$(grep -cE "$closing" "$out")
	if [[ "$last" =~ $closing ]] && [ "$lines" -eq 1 ] && [ "${BASH_REMATCH[1]}" = "$name" ]; then
		p=${BASH_REMATCH[2]} f=${BASH_REMATCH[3]} s=${BASH_REMATCH[4]}
		t_add "$p" "$f" "$s"
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then t_fail "$name" "exited $rc with no failure counted"; fi
		if [ "$rc" -eq 0 ] && [ "$f" -ne 0 ]; then t_fail "$name" "exited 0 with $f failures"; fi
	else
		t_fail "$name" "no single closing line '$name: N passed, N failed, N skipped' at the end (exit $rc)"
	fi
done
t_finish
