#!/usr/bin/env bash
# Suite "dnsredis": DNS and Redis fixtures recorded from real dig/dnsmasq and
# redis-cli/redis-server traffic (record.sh), checked against MANIFEST.tsv.
#
# Each row: ./faultline-asan read -o json [OPTIONS] PCAP must meet the jq
# expectation, report no parser-error, and match fixtures/NAME.expected (the
# exact JSON lines) when that golden exists.
# MANIFEST.tsv: name, pcap, options for read ("-": none), jq expectation,
# description.  UPDATE=1 tests/dnsredis/run.sh rewrites the goldens from the current output
# (review the diff before committing it).
set -u
cd "$(dirname "$0")/../.."
HERE=tests/dnsredis
FIX=$HERE/fixtures
BIN=./faultline-asan
PRELUDE='def dns: map(select(.protocol == "dns")); def redis: map(select(.protocol == "redis"));'
passed=0 failed=0 skipped=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

ok()   { echo "  ok    $*"; passed=$((passed + 1)); }
bad()  { echo "  FAIL  $*"; failed=$((failed + 1)); }
skip() { echo "  skip  $*"; skipped=$((skipped + 1)); }
finish() { echo "dnsredis: $passed passed, $failed failed, $skipped skipped"; [ "$failed" -eq 0 ]; exit; }

if ! command -v jq >/dev/null; then
	skip "jq is not installed"
	finish
fi

# check STAGE NAME EXPR OUTPUT: the expectation, and no parser-error anywhere.
check() {
	if jq -e -s "$PRELUDE $3" "$4" >/dev/null 2>&1; then
		ok "$1 $2"
	else
		bad "$1 $2: expectation not met; entries:"
		sed 's/^/        /' "$4" | cut -c1-400
	fi
	if jq -e -s 'all(.[]; .error.type? != "parser-error")' "$4" >/dev/null 2>&1; then
		ok "$1 $2: no parser-error"
	else
		bad "$1 $2: a parser-error on valid traffic"
	fi
}

# golden STAGE NAME OUTPUT GOLDEN
golden() {
	if [ "${UPDATE:-0}" = 1 ]; then
		cp "$3" "$4"
		echo "  wrote $4"
	elif [ ! -f "$4" ]; then
		echo "  note  $1 $2: no golden $4 yet (UPDATE=1 writes it)"
	elif diff -u "$4" "$3" >"$TMP/diff"; then
		ok "$1 $2: golden"
	else
		bad "$1 $2: differs from $4"
		head -20 "$TMP/diff" | cut -c1-300
	fi
}

mapfile -t ROWS < <(grep -v '^#' "$HERE/MANIFEST.tsv" | grep -v '^$')

echo "dnsredis: end to end ($BIN read -o json)"
if [ ! -x "$BIN" ]; then
	skip "end-to-end: $BIN is not built (make test builds it)"
	finish
fi
"$BIN" read -o json "$FIX/dns-noerror.pcap" >/dev/null 2>"$TMP/probe.err"
rc=$?
if [ "$rc" -eq 2 ] && grep -qi usage "$TMP/probe.err"; then
	# The binary has no `read` yet (it lands on main with decode, flow and TCP tracking).
	for row in "${ROWS[@]}"; do
		IFS=$'\t' read -r name _ <<<"$row"
		skip "end-to-end $name: this faultline has no working 'read' command yet"
	done
	finish
fi
for row in "${ROWS[@]}"; do
	IFS=$'\t' read -r name pcap opts expr desc <<<"$row"
	out=$TMP/$name.json
	[ "$opts" = - ] && opts=
	# shellcheck disable=SC2086 # options are words
	if ! "$BIN" read -o json $opts "$FIX/$pcap.pcap" >"$out" 2>"$TMP/err"; then
		bad "end-to-end $name: read failed: $(head -3 "$TMP/err")"
		continue
	fi
	check end-to-end "$name" "$expr" "$out"
	golden end-to-end "$name" "$out" "$FIX/$name.expected"
done
finish
