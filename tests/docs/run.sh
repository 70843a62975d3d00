#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# docs: docs/fields.md describes what faultline prints.
#  - every stats key `read --stats` prints (on fixtures that exercise defrag,
#    tunnels and errors) appears in it, in backticks, as its full dotted path;
#  - every error type of the code's table (report/stats.c error_names), every
#    TCP condition, and every fixed error message literal of the dissectors,
#    the stream layer and the trackers (up to its first printf conversion);
#  - every error type and reason a fixture's entries carry;
#  - every top-level entry field the fixtures carry;
#  - README and the man page link to it; the man page has ENVIRONMENT (every
#    variable the code getenv()s), FILES and EXAMPLES.
. "$(dirname "$0")/../lib/runner.sh"
t_begin docs "$@"
t_need jq || { t_skip "everything" "$T_MISSING is not installed"; t_finish; }
DOC=docs/fields.md BIN=$T_BIN tmp=$T_TMP
[ -f "$DOC" ] || { t_fail "$DOC exists"; t_finish; }
has() { grep -qF -- "\`$1\`" "$DOC"; }

# Stats keys.
G=tests/golden/fixtures
"$BIN" read --stats $G/tcp-refused.pcap $G/frag-edge.pcap $G/vxlan.pcap >"$tmp/stats.json"
jq -r 'paths(scalars or (type == "array")) | map(tostring) | join(".")' "$tmp/stats.json" |
	grep -v '\.[0-9]*$' | sort -u >"$tmp/keys"
missing=$(while read -r k; do has "$k" || echo "$k"; done <"$tmp/keys")
t_check_eval "every stats key of read --stats is in $DOC ($(wc -l <"$tmp/keys") keys)" \
	'[ "$(wc -l <"$tmp/keys")" -ge 60 ] && [ -z "$missing" ]'
[ -z "$missing" ] || echo "$missing" | t_note

# The error type table.
types=$(sed -n '/error_names\[FL_ERR_MAX\]/,/^};/p' user/report/stats.c | grep -o '"[a-z-]*"' | tr -d '"' | grep -vx none)
missing=$(for t in $types; do has "$t" || echo "$t"; done)
t_check_eval "every error type of report/stats.c is in $DOC ($(echo $types))" \
	'[ -n "$types" ] && [ -z "$missing" ]'
[ -z "$missing" ] || echo "$missing" | t_note
missing=$(for t in SynSent Reset CloseWait LastAck; do has "$t" || echo "$t"; done)
t_check_eval "every TCP condition is in $DOC" '[ -z "$missing" ]'

# Fixed message literals of the code (printf conversions and what follows cut off).
cat user/dissect/*.[ch] user/stream/*.[ch] user/track/*.[ch] | grep -v '^[[:space:]]*\(\*\|/\*\|//\)' |
	grep -oE '"(response missing|response damaged|response without|request missing|query missing|connection closed by|connection reset by|stream idle|invalid [^"]*|chunk [^"]*|header block[^"]*|request Transfer[^"]*|line (longer|not ended)[^"]*|message shorter[^"]*|RESP protocol error)[^"]*"' |
	tr -d '"' | sed 's/%.*//; s/\\$//; s/[ :(]*$//' | grep -v '<' | sort -u >"$tmp/msgs"
missing=$(while IFS= read -r m; do grep -qF -- "$m" "$DOC" || echo "$m"; done <"$tmp/msgs")
t_check_eval "every fixed error message of the code is in $DOC ($(wc -l <"$tmp/msgs") messages)" \
	'[ "$(wc -l <"$tmp/msgs")" -ge 20 ] && [ -z "$missing" ]'
[ -z "$missing" ] || echo "$missing" | t_note

# What the fixtures' entries carry.
for f in tests/golden/fixtures/*.pcap* tests/streams/fixtures/*.pcap* tests/dnsredis/fixtures/*.pcap*; do
	"$BIN" read --all -o json "$f" 2>/dev/null
done >"$tmp/all.json"
jq -r 'select(.error) | .error.type, (.error.reason // empty)' "$tmp/all.json" | sort -u >"$tmp/er"
missing=$(while read -r k; do has "$k" || echo "$k"; done <"$tmp/er")
t_check_eval "every error type and reason in the fixtures is in $DOC ($(wc -l <"$tmp/er"))" '[ -z "$missing" ]'
[ -z "$missing" ] || echo "$missing" | t_note
jq -r 'keys[]' "$tmp/all.json" | sort -u >"$tmp/fields"
missing=$(while read -r k; do has "$k" || echo "$k"; done <"$tmp/fields")
t_check_eval "every top-level entry field in the fixtures is in $DOC ($(wc -l <"$tmp/fields"))" \
	'[ -z "$missing" ] && grep -qx community_id "$tmp/fields"'
[ -z "$missing" ] || echo "$missing" | t_note

# Links and man page sections.
t_check "README links docs/fields.md" grep -q '(docs/fields.md' README.md
t_check "the man page names docs/fields.md" grep -q 'docs/fields.md' man/faultline.8
for sec in ENVIRONMENT FILES EXAMPLES; do
	t_check "the man page has $sec" grep -qx "\.SH $sec" man/faultline.8
done
vars=$(grep -rhoE 'getenv\("[A-Z_]+"\)' user/ | sed 's/getenv("//; s/")//' | sort -u)
missing=$(for v in $vars; do sed -n '/^\.SH ENVIRONMENT/,/^\.SH FILES/p' man/faultline.8 | grep -q "^\.B $v$" || echo "$v"; done)
t_check_eval "ENVIRONMENT names every variable the code reads ($(echo $vars))" '[ -n "$vars" ] && [ -z "$missing" ]'
[ -z "$missing" ] || echo "$missing" | t_note
t_finish
