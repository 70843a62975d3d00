#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Suite "kfl": golden KFL queries over the recorded fixtures.
#
# Each line of tests/kfl/queries.tsv is  FIXTURE <TAB> QUERY <TAB> EXPECTATION
# FIXTURE is a name under tests/golden/fixtures/ (a line whose fixture is
# missing is skipped), "*" for all fixtures there read in one run (ids are
# unique across them), or "any" for the first.  EXPECTATION is one of
#   ids:1,4,7     the ids `read -o json -f QUERY` prints, in order
#   count:N       how many entries it prints
#   jq:EXPR       EXPR over the printed entries as one array must be true
#   same:PRED     the printed ids are exactly those of the unfiltered entries
#                 for which the jq predicate PRED holds: no more, no fewer
#   error:TEXT    the query is rejected: exit 2 and TEXT in stderr
# The suite skips until fixtures exist and the binary supports `read -f`.
. "$(dirname "$0")/../lib/runner.sh"
t_begin kfl "$@"
BIN=${FAULTLINE_BIN:-$T_BIN}
FIX=${KFL_FIXTURES:-tests/golden/fixtures}
TSV=tests/kfl/queries.tsv

fixtures=()
for f in "$FIX"/*.pcap "$FIX"/*.pcapng "$FIX"/*.pcap.gz; do
	[ -e "$f" ] && fixtures+=("$f")
done
if [ ${#fixtures[@]} -eq 0 ]; then
	t_skip "kfl queries" "no fixtures in $FIX yet"
	t_finish
fi
if ! command -v jq >/dev/null; then
	t_skip "kfl queries" "jq is not installed"
	t_finish
fi
# `read -f` must exist and filter: `-f false` prints nothing where the file has entries.
supported=false
if [ -x "$BIN" ]; then
	for f in "${fixtures[@]}"; do
		[ -n "$("$BIN" read --all -o json "$f" 2>/dev/null </dev/null | head -c 1)" ] || continue
		"$BIN" read -o json -f 'true' "$f" >/dev/null 2>&1 </dev/null &&
			[ -z "$("$BIN" read -o json -f 'false' "$f" 2>/dev/null </dev/null | head -c 1)" ] &&
			supported=true
		break
	done
fi
if ! $supported; then
	t_skip "kfl queries" "$BIN does not filter with 'read -o json -f' yet"
	t_finish
fi

# "*" reads the recorded fixtures together in one run; the derived variants of
# tcp-refused (other link types and formats: the same packets again) are left
# out there, or one connection would be read ten times over.  Their checks
# (replay format, tests/README.md) describe them as "# derived: ...".
together=()
for f in "${fixtures[@]}"; do
	stem=$(basename "$f"); stem=${stem%.gz}; stem=${stem%.pcap}; stem=${stem%.pcapng}
	grep -q '^# derived:' "$FIX/$stem.checks" 2>/dev/null || together+=("$f")
done

tmp=$T_TMP

# The unfiltered entries of a set of files, once.
unfiltered() {  # name file...
	local out="$tmp/all-$1.json"; shift
	[ -s "$out" ] || "$BIN" read --all -o json "$@" </dev/null | jq -s . >"$out"
	cat "$out"
}

check() {  # name query expectation file...
	local name=$1 query=$2 expect=$3 got rc want kind=${3%%:*} arg=${3#*:}
	shift 3
	local label="$name: $query => $expect"
	if [ "$kind" = error ]; then
		got=$("$BIN" read -o json -f "$query" "$@" 2>&1 >/dev/null </dev/null); rc=$?
		if [ "$rc" -eq 2 ] && grep -qF -- "$arg" <<<"$got"; then
			t_pass "$label"
		else
			t_fail "$label" "exit $rc: $got"
		fi
		return
	fi
	if ! "$BIN" read -o json -f "$query" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; then
		t_fail "$label" "read failed: $(head -c 400 "$tmp/err")"
		return
	fi
	if ! jq -s . "$tmp/out" >"$tmp/got.json" 2>"$tmp/err"; then
		t_fail "$label" "output is not JSON: $(head -c 200 "$tmp/err")"
		return
	fi
	local ok=false
	case "$kind" in
	ids)
		got=$(jq -r '[.[].id] | map(tostring) | join(",")' "$tmp/got.json")
		[ "$got" = "$arg" ] && ok=true ;;
	count)
		got=$(jq 'length' "$tmp/got.json")
		[ "$got" = "$arg" ] && ok=true ;;
	jq)
		got=$(jq "$arg" "$tmp/got.json" 2>&1)
		[ "$got" = true ] && ok=true ;;
	same)
		want=$(unfiltered "$name" "$@" | jq -r "[.[] | select($arg) | .id] | map(tostring) | join(\",\")" 2>&1)
		got=$(jq -r '[.[].id] | map(tostring) | join(",")' "$tmp/got.json")
		[ "$got" = "$want" ] && ok=true
		got="ids [$got], want [$want]" ;;
	*)
		got="unknown expectation kind '$kind'" ;;
	esac
	if $ok; then
		t_pass "$label"
	else
		t_fail "$label" "got $got"
	fi
}

while IFS=$'\t' read -r fixture query expect; do
	case "$fixture" in ''|'#'*) continue ;; esac
	if [ "$fixture" = '*' ]; then
		check "${#together[@]} fixtures together" "$query" "$expect" "${together[@]}"
	elif [ "$fixture" = any ]; then
		check "$(basename "${fixtures[0]}")" "$query" "$expect" "${fixtures[0]}"
	elif [ -e "$FIX/$fixture" ]; then
		check "$fixture" "$query" "$expect" "$FIX/$fixture"
	else
		t_skip "$fixture" "not recorded ($query)"
	fi
done <"$TSV"
t_finish
