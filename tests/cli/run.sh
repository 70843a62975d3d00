#!/usr/bin/env bash
# The command line as a user meets it: exit codes, error messages, input forms.
. "$(dirname "$0")/../lib/runner.sh"
t_begin cli "$@"
BIN=$T_BIN
tmp=$T_TMP

# expect NAME STATUS PATTERN -- command...: exit status and a stderr/stdout pattern
expect() {
	local name=$1 want=$2 pattern=$3; shift 4
	local out rc
	out=$("$@" 2>&1); rc=$?
	if [ "$rc" -ne "$want" ]; then t_fail "$name" "exit $rc, wanted $want: $out"; return; fi
	if [ -n "$pattern" ] && ! grep -qE -- "$pattern" <<<"$out"; then
		t_fail "$name" "output lacks /$pattern/: $out"; return
	fi
	t_pass "$name"
}

# A small capture of our own, so the suite runs without the shared corpora too.
/usr/bin/python3 - "$tmp/refused.pcap" <<'PY'
import sys
from scapy.all import Ether, IP, TCP, wrpcap
a, b = "198.18.1.2", "198.18.2.2"
wrpcap(sys.argv[1], [Ether()/IP(src=a, dst=b)/TCP(sport=40000, dport=81, flags="S", seq=1),
                     Ether()/IP(src=b, dst=a)/TCP(sport=81, dport=40000, flags="RA", ack=2)])
PY
[ $? = 0 ] || t_fail "make the capture (python3 scapy)"
printf 'hello, I am not a capture\n' >"$tmp/text.txt"
: >"$tmp/empty.pcap"
gzip -c "$tmp/refused.pcap" >"$tmp/refused.pcap.gz"

expect "no command" 2 "usage: faultline" -- "$BIN"
expect "help" 0 "Commands:" -- "$BIN" --help
expect "version" 0 "^faultline [0-9]" -- "$BIN" version
expect "unknown command" 2 "unknown command 'frobnicate'" -- "$BIN" frobnicate
expect "read --help" 0 "--filter KFL" -- "$BIN" read --help
expect "read without files" 2 "no capture file given" -- "$BIN" read
expect "unknown option" 2 "unknown option '--bogus'" -- "$BIN" read --bogus "$tmp/refused.pcap"
expect "missing value" 2 "needs a value" -- "$BIN" read "$tmp/refused.pcap" -o
expect "bad output" 2 "--output takes table or json, got 'xml'" -- "$BIN" read -o xml "$tmp/refused.pcap"
expect "capture-only option" 2 "for capture only" -- "$BIN" read -i eth0 "$tmp/refused.pcap"
expect "missing file" 2 "$tmp/nope.pcap: No such file or directory" -- "$BIN" read "$tmp/nope.pcap"
expect "text file" 2 "text.txt: not a pcap or pcapng capture" -- "$BIN" read "$tmp/text.txt"
expect "empty file" 2 "empty.pcap: not a pcap or pcapng capture" -- "$BIN" read "$tmp/empty.pcap"
expect "bad key" 2 "unknown configuration key 'tap.nope'" -- "$BIN" read --set tap.nope=1 "$tmp/refused.pcap"
expect "bad value" 2 "tap.tcpStreamChannelTimeoutMs: 'soon' is not a whole number" -- \
	"$BIN" read --set tap.tcpStreamChannelTimeoutMs=soon "$tmp/refused.pcap"
printf 'tap:\n  snaplen: [1]\n' >"$tmp/bad.yaml"
expect "bad yaml" 2 "bad.yaml:2: lists are not configuration values" -- "$BIN" read --config "$tmp/bad.yaml" "$tmp/refused.pcap"
expect "write options need -w" 2 "need -w FILE" -- "$BIN" read --write-files 3 "$tmp/refused.pcap"

expect "json entry" 0 '"message":"SynSent".*"reason":"refused"' -- "$BIN" read -o json "$tmp/refused.pcap"
expect "gzip input" 0 '"reason":"refused"' -- "$BIN" read -o json "$tmp/refused.pcap.gz"
expect "stdin" 0 '"reason":"refused"' -- sh -c "\"$BIN\" read -o json - <\"$tmp/refused.pcap.gz\""
expect "table" 0 'SynSent refused' -- "$BIN" read -o table "$tmp/refused.pcap"
expect "not a tty means json" 0 '^\{"id":1,' -- "$BIN" read "$tmp/refused.pcap"
# The CloseWait fixture waits 2.6 s: a CloseWait only with a timeout the file reaches.
printf 'tap:\n  tcpStreamChannelTimeoutMs: 2000\n' >"$tmp/ok.yaml"
CW=tests/golden/fixtures/tcp-close-wait.pcap
close_waits() { "$BIN" read "$@" --stats "$CW" | jq '.tcp.CloseWait'; }
expect "config file sets the timeout" 0 '^1$' -- close_waits --config "$tmp/ok.yaml"
expect "default timeout: no CloseWait" 0 '^0$' -- close_waits
expect "--set overrides the file" 0 '^0$' -- \
	close_waits --config "$tmp/ok.yaml" --set tap.tcpStreamChannelTimeoutMs=10000

# --stats prints one JSON document with every key of the spec.
"$BIN" read --stats "$tmp/refused.pcap" "$tmp/refused.pcap.gz" >"$tmp/stats.json"
t_jq "stats document" '.[0] | (.packets.seen == 4 and .packets.decode_errors == 0 and .capture.backend == "file"
	and .flows.tcp == 1 and .tcp.SynSent == 1 and .entries.total == 1
	and .entries.errors.tcp == 1 and (.kernel | has("CloseWait")) and (.icmp | has("errors"))
	and (.tcp | has("missed_bytes") and has("streams_timed_out")))' "$tmp/stats.json"
t_finish
