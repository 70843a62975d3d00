#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# selection: what `read` prints without --all or -f (the default selection,
# CLI_DEFAULT_SELECTION in user/cmd/cli.h): error entries, HTTP 5xx and DNS
# SERVFAIL/REFUSED responses; never echo, neighbour discovery, MLD, router
# solicitation/advertisement.  Checked over every replay fixture against the
# documented selection restated in jq, on fixtures whose traffic is known, and
# on the deployment's command lines (which must keep the default).
. "$(dirname "$0")/../lib/runner.sh"
t_begin selection "$@"
t_need jq || { t_skip "everything" "$T_MISSING is not installed"; t_finish; }
BIN=$T_BIN
tmp=$T_TMP

# The documented selection (docs/fields.md, --help), in jq.
SEL='select((.error != null and ((.icmp.version == 6 and .icmp.type >= 130 and .icmp.type <= 143) | not))
	or (.response | type == "object" and ((.status // 0) >= 500 or .rcode_name == "SERVFAIL" or .rcode_name == "REFUSED")))'

n=0
for f in tests/golden/fixtures/*.pcap* tests/streams/fixtures/*.pcap* tests/dnsredis/fixtures/*.pcap*; do
	[ -f "$f" ] || continue
	name=$(basename "$f")
	"$BIN" read -o json "$f" >"$tmp/default.json" 2>"$tmp/err" &&
		"$BIN" read --all -o json "$f" >"$tmp/all.json" 2>>"$tmp/err"
	rc=$?
	if [ $rc -ne 0 ] || grep -Eq "$T_SANITIZER_RE" "$tmp/err"; then
		t_fail "$name: reads cleanly" "exit $rc: $(head -c 300 "$tmp/err")"
		continue
	fi
	jq -c "$SEL" "$tmp/all.json" >"$tmp/want.json"
	if cmp -s "$tmp/want.json" "$tmp/default.json"; then
		n=$((n + 1))
	else
		t_fail "$name: the default prints exactly the selection of --all" \
			"$(diff "$tmp/want.json" "$tmp/default.json" | head -c 600)"
	fi
done
t_check_eval "every fixture: default output == the documented selection of --all ($n files)" '[ $n -ge 50 ]'

# Known traffic.
sel() { "$BIN" read -o json "$@" 2>/dev/null; }
G=tests/golden/fixtures S=tests/streams/fixtures D=tests/dnsredis/fixtures
sel "$S/http-keepalive.pcap" >"$tmp/ka.json"
t_jq "http-keepalive: 200, 404, 200, 500: only the 500 prints" \
	'length == 1 and .[0].response.status == 500' "$tmp/ka.json"
sel "$D/dns-refused.pcap" >"$tmp/ref.json"
t_jq "dns-refused: the REFUSED answer prints" \
	'length >= 1 and all(.[]; .response.rcode_name == "REFUSED" or .error != null)' "$tmp/ref.json"
sel "$D/dns-nxdomain.pcap" >"$tmp/nx.json"
t_jq "dns-nxdomain: an NXDOMAIN answer is no failure (and MLD stays out)" 'length == 0' "$tmp/nx.json"
sel "$G/icmpv6-nd.pcap" >"$tmp/nd.json"
t_jq "icmpv6-nd: neighbour discovery and MLD only with --all" 'length == 0' "$tmp/nd.json"
"$BIN" read --all -o json "$G/icmpv6-nd.pcap" >"$tmp/nd-all.json"
t_jq "icmpv6-nd --all: they are there" 'length > 0 and all(.[]; .icmp.version == 6)' "$tmp/nd-all.json"
sel "$G/echo-ts0.pcap" >"$tmp/echo.json"
t_jq "echo-ts0: echo pairs only with --all" 'all(.[]; .icmp.type != 8 and .icmp.type != 0)' "$tmp/echo.json"
t_check "tcp-healthy: nothing by default, still counted in --stats" \
	bash -c "[ -z \"\$('$BIN' read '$G/tcp-healthy.pcap')\" ] && [ \"\$('$BIN' read --stats '$G/tcp-healthy.pcap' | jq .entries.total)\" -gt 0 ]"
sel "$G/tcp-refused.pcap" >"$tmp/refused.json"
t_jq "tcp-refused: the SynSent prints" 'length == 1 and .[0].error.message == "SynSent"' "$tmp/refused.json"
sel -f 'icmp.type == 135' "$G/icmpv6-nd.pcap" >"$tmp/f.json"
t_jq "-f replaces the default: a neighbour solicitation selected by KFL prints" \
	'length > 0 and all(.[]; .icmp.type == 135)' "$tmp/f.json"
sel --all -f 'response.status == 404' "$S/http-keepalive.pcap" >"$tmp/f2.json"
t_jq "--all with -f: -f decides" 'length == 1 and .[0].response.status == 404' "$tmp/f2.json"
"$BIN" read -o table "$S/http-keepalive.pcap" >"$tmp/table.txt" 2>&1
t_check "the table shows the default too (the 500, not the 200s)" \
	bash -c "grep -q ' 500' '$tmp/table.txt' && ! grep -q ' 200 ' '$tmp/table.txt'"
t_check "--help shows the default selection" bash -c "'$BIN' read --help | grep -q 'rcode_name == \"SERVFAIL\"'"

# The deployment keeps the default: neither the unit nor the DaemonSet passes --all or -f.
exec_line=$(grep '^ExecStart=' deploy/faultline.service)
args_line=$(grep -m1 'args:' deploy/daemonset.yaml)
t_check_eval "systemd unit: capture with the default selection" \
	'[[ "$exec_line" == *" capture "* ]] && [[ "$exec_line" != *--all* ]] && [[ "$exec_line" != *" -f "* ]] && [[ "$exec_line" != *--filter* ]]'
t_check_eval "DaemonSet: capture with the default selection" \
	'[[ "$args_line" == *'"'"'"capture"'"'"'* ]] && [[ "$args_line" != *--all* ]] && [[ "$args_line" != *'"'"'"-f"'"'"'* ]] && [[ "$args_line" != *--filter* ]]'
t_finish
