#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Suite "runner": the runner library and the replay runner catch what they are
# for.  Small suites and fixture directories written here, each with a known
# defect, must end with the closing line and exit status that defect gives.
. "$(dirname "$0")/../lib/runner.sh"
t_begin runner "$@"
t_need jq || { t_skip "runner" "$T_MISSING is not installed"; t_finish; }
d=$T_TMP

# run_suite NAME BODY: a suite of its own; its output in $d/NAME.out, its status in $d/NAME.rc.
run_suite() {
	printf '. %s/tests/lib/runner.sh\nt_begin %s\n%s\n' "$T_ROOT" "$1" "$2" >"$d/$1.sh"
	bash "$d/$1.sh" >"$d/$1.out" 2>&1
	echo $? >"$d/$1.rc"
}
# ends NAME 'CLOSING LINE' RC: the last line and the exit status.
ends() {
	local n=$1 want=$2 rc=$3
	t_check_eval "$n: ends with '$want', exit $rc" \
		'[ "$(tail -n 1 "$d/$n.out")" = "$want" ] && [ "$(cat "$d/$n.rc")" = "$rc" ] &&
		 [ "$(grep -c " passed, .* failed, .* skipped$" "$d/$n.out")" = 1 ]'
}

run_suite clean 't_pass a; t_check b true; t_check_eval c "[ 1 = 1 ]"; t_skip d why; t_finish'
ends clean "clean: 3 passed, 0 failed, 1 skipped" 0
run_suite failing 't_pass a; t_check b false; t_check_eval c "[ 1 = 2 ]"; t_fail d why; t_finish'
ends failing "failing: 1 passed, 3 failed, 0 skipped" 1
run_suite falls-off 't_pass a'
ends falls-off "falls-off: 1 passed, 0 failed, 0 skipped" 0
run_suite dies 't_pass a; exit 3; t_pass b'
ends dies "dies: 1 passed, 1 failed, 0 skipped" 1
run_suite unbound 't_pass a; echo $NO_SUCH_VARIABLE; t_pass b'
ends unbound "unbound: 1 passed, 1 failed, 0 skipped" 1
run_suite killed 't_pass a; kill -TERM $$; sleep 5; t_pass b'
ends killed "killed: 1 passed, 1 failed, 0 skipped" 1
run_suite cleans "t_on_exit 'echo first-registered'; t_on_exit 'echo second-registered'; t_pass a"
t_check_eval "t_on_exit: clean-ups run last registered first, before the closing line" \
	'[ "$(tr "\n" " " <"$d/cleans.out")" = "  ok   a second-registered first-registered cleans: 1 passed, 0 failed, 0 skipped " ]'

# t_jq: exactly `true`, over the JSON lines slurped.
printf '{"a":1}\n{"a":2}\n' >"$d/two.json"
run_suite jq "t_jq sum 'map(.a) | add == 3' $d/two.json; t_jq wrong 'length == 3' $d/two.json
t_jq truthy 'length' $d/two.json; t_jq broken 'length ==' $d/two.json"
ends jq "jq: 1 passed, 3 failed, 0 skipped" 1
t_check "t_jq: a failure shows what jq printed" grep -q "jq printed 'false'" "$d/jq.out"

# t_diff, and --update.
printf 'x\n' >"$d/want" && printf 'y\n' >"$d/got"
run_suite diff "t_diff same $d/want $d/want; t_diff differs $d/want $d/got; t_diff missing $d/none $d/got"
ends diff "diff: 1 passed, 2 failed, 0 skipped" 1
t_check "t_diff: a failure shows the diff" grep -q '^ *+y$' "$d/diff.out"
printf '. %s/tests/lib/runner.sh\nt_begin update "$@"\nt_diff a %s %s\n' "$T_ROOT" "$d/want" "$d/got" >"$d/update.sh"
bash "$d/update.sh" --update >"$d/update.out" 2>&1; echo $? >"$d/update.rc"
ends update "update: 0 passed, 0 failed, 1 skipped" 0
t_check "--update rewrote the expected file" cmp -s "$d/want" "$d/got"

# The replay runner on a fixture directory with one defect of each kind.
fx=$d/fx
mkdir "$fx"
src=tests/golden/fixtures
cp "$src/tcp-refused.pcap" "$src/tcp-refused.checks" "$src/tcp-refused.expected" "$fx/"
cp "$src/tcp-refused.pcap" "$fx/good.pcap"
cp "$src/tcp-refused.checks" "$fx/good.checks"
cp "$src/tcp-refused.expected" "$fx/good.expected"
printf -- '--stats\n' >"$fx/good.stats.opts"
printf '# one SynSent\n.[0].tcp.SynSent == 1\n' >"$fx/good.stats.checks"
FAULTLINE=$T_BIN "$T_BIN" read --stats -o json "$fx/good.pcap" >"$fx/good.stats.expected" 2>/dev/null
if [ -x "$T_BIN" ]; then
	FAULTLINE=$T_BIN tests/lib/replay.sh "$fx" >"$d/replay-good.out" 2>&1
	t_check_eval "replay: a sound directory passes (2 fixtures, 3 cases, 9 results)" \
		'[ $? = 0 ] && [ "$(tail -n 1 "$d/replay-good.out")" = "replay: 9 passed, 0 failed, 0 skipped" ]'
	cp "$src/tcp-refused.pcap" "$fx/nochecks.pcap"                 # a capture with no case
	printf 'x\n' >"$fx/orphan.checks"                              # a sidecar without capture
	printf -- '--bogus\n' >"$fx/good.bad.opts"                     # read fails
	printf 'true\n' >"$fx/good.bad.checks"
	sed -i 's/"seen":4/"seen":5/' "$fx/good.stats.expected"        # the output differs
	printf '.[0].tcp.SynSent == 2\n' >>"$fx/good.stats.checks"     # a check that does not hold
	printf '# only a comment\n' >"$fx/tcp-refused.checks"          # a case without checks
	FAULTLINE=$T_BIN tests/lib/replay.sh "$fx" >"$d/replay-bad.out" 2>&1
	echo $? >"$d/replay-bad.rc"
	t_check_eval "replay: each defect fails once (6 failures), exit 1" \
		'[ "$(cat "$d/replay-bad.rc")" = 1 ] && [ "$(tail -n 1 "$d/replay-bad.out")" = "replay: 7 passed, 6 failed, 0 skipped" ]'
	for what in "nochecks: no" "orphan.checks: no capture" "good.bad: reads cleanly" \
		"good.stats: expected output: differs" "good.stats: check 2" "tcp-refused: checks: no check"; do
		t_check "replay: reports '$what'" grep -q "FAIL .*$what" "$d/replay-bad.out"
	done
else
	t_skip "replay runner" "$T_BIN is not built"
fi
t_finish
