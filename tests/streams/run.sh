#!/usr/bin/env bash
# Golden tests of TCP reassembly, HTTP/1.x and the stream errors, on pcaps
# recorded from real traffic (tests/streams/record.sh).  For each fixture:
#   - NAME.check: a jq -s expression over the entries that must print true
#     (what the traffic is: written from the scenario, not from the output);
#   - NAME.stats-check (optional): a jq expression over `read --stats`;
#   - NAME.expected: the exact JSON lines of `faultline read -o json NAME.opts`.
#   tests/streams/run.sh [--update]     --update rewrites the NAME.expected files
set -u
cd "$(dirname "$0")/../.."
FIX=${STREAMS_FIXTURES:-tests/streams/fixtures}
BIN=./faultline-asan
passed=0 failed=0 skipped=0
update=0
[ "${1:-}" = --update ] && update=1

pass() { echo "  ok   $1"; passed=$((passed + 1)); }
fail() { echo "  FAIL $1"; failed=$((failed + 1)); }
skip() { echo "  skip $1"; skipped=$((skipped + 1)); }
finish() { echo "streams: ${passed} passed, ${failed} failed, ${skipped} skipped"; [ "$failed" -eq 0 ]; exit; }

if ! command -v jq >/dev/null; then
	echo "streams: jq is not installed"
	skip "all fixtures"
	finish
fi

if [ ! -x "$BIN" ]; then
	echo "streams: $BIN is not built (make test builds it)"
	fail "all fixtures"
	finish
fi

for pcap in "$FIX"/*.pcap; do
	name=$(basename "$pcap" .pcap)
	read -r -a opts <<<"$(cat "$FIX/$name.opts" 2>/dev/null)"
	statsf=$(mktemp)
	out=$("$BIN" read -o json "${opts[@]}" "$pcap" 2>/dev/null); rc=$?
	"$BIN" read --stats "${opts[@]}" "$pcap" >"$statsf" 2>/dev/null
	if [ "$rc" -ne 0 ]; then
		fail "$name: exit status $rc"
		rm -f "$statsf"
		continue
	fi
	if [ "$(jq -s "$(cat "$FIX/$name.check")" <<<"$out" 2>&1)" = true ]; then
		pass "$name: entries match the scenario"
	else
		fail "$name: entries do not match the scenario ($FIX/$name.check)"
		echo "$out" | head -20 | cut -c1-400
	fi
	if [ -f "$FIX/$name.stats-check" ]; then
		if [ "$(jq "$(cat "$FIX/$name.stats-check")" "$statsf" 2>&1)" = true ]; then
			pass "$name: stats"
		else
			fail "$name: stats ($(cat "$FIX/$name.stats-check"))"
			cat "$statsf"
		fi
	fi
	rm -f "$statsf"
	if [ "$update" -eq 1 ]; then
		printf '%s\n' "$out" > "$FIX/$name.expected"
		pass "$name: golden written"
	elif [ ! -f "$FIX/$name.expected" ]; then
		fail "$name: no golden (tests/streams/run.sh --update, then review it)"
	elif diff -u "$FIX/$name.expected" <(printf '%s\n' "$out") >/dev/null; then
		pass "$name: golden"
	else
		fail "$name: golden differs"
		diff -u "$FIX/$name.expected" <(printf '%s\n' "$out") | head -20 | cut -c1-300
	fi
done
finish
