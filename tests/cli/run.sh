#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
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

# Inputs are opened once: a FIFO and /dev/stdin on a pipe (both used to hang or fail).
mkfifo "$tmp/fifo"
(cat "$tmp/refused.pcap" >"$tmp/fifo" &)
expect "FIFO input" 0 '"reason":"refused"' -- timeout 20 "$BIN" read -o json "$tmp/fifo"
# /dev/stdin on a FIFO whose writer is done: opening the path again would wait for another.
mkfifo "$tmp/fifo2"
(cat "$tmp/refused.pcap" >"$tmp/fifo2" &)
expect "/dev/stdin on a FIFO" 0 '"reason":"refused"' -- \
	sh -c "timeout 20 \"$BIN\" read -o json /dev/stdin <\"$tmp/fifo2\""
# More files than the descriptor limit, read in order as one capture.
mkdir "$tmp/many"
for i in $(seq -w 1 150); do cp "$tmp/refused.pcap" "$tmp/many/f$i.pcap"; done
expect "150 files with 64 descriptors" 0 '^300$' -- \
	sh -c "ulimit -n 64; \"$BIN\" read --stats \"$tmp\"/many/f*.pcap | jq .packets.seen"

# Several files are one capture merged in timestamp order, as mergecap merges them
# (the earliest next packet first, the first file's on a tie): the packets the
# recorder writes (-w: every packet the pipeline saw, in its order) are mergecap's.
G=tests/golden/fixtures
packets() { tcpdump -nn -tt -r "$1" 2>/dev/null; }
merge_order() {
	local name=$1 ours=$2; shift 2
	mergecap -F pcap -w "$tmp/theirs.pcap" "$@" || { t_fail "$name" "mergecap failed"; return; }
	if [ ! -s "$ours" ]; then
		t_fail "$name" "nothing recorded"
	elif diff <(packets "$ours") <(packets "$tmp/theirs.pcap") >"$tmp/order.diff"; then
		t_pass "$name"
	else
		t_fail "$name" "the order differs from mergecap's"; T_NOTE_LINES=8 t_note <"$tmp/order.diff"
	fi
}
if t_need mergecap tcpdump; then
	rm -f "$tmp/ours.pcap"
	"$BIN" read -w "$tmp/ours.pcap" "$G/tcp-keepalive-idle.pcap" "$G/tcp-healthy.pcap" >/dev/null
	merge_order "merge: the later file first, in mergecap's order" "$tmp/ours.pcap" \
		"$G/tcp-keepalive-idle.pcap" "$G/tcp-healthy.pcap"
	rm -f "$tmp/ours.pcap"
	"$BIN" read -w "$tmp/ours.pcap" "$G/tcp-split.part2" "$G/tcp-refused-pcapng.pcapng" \
		"$G/tcp-refused-gzip.pcap.gz" "$G/tcp-split.pcap" >/dev/null
	merge_order "merge: pcap, pcapng and gzip files together" "$tmp/ours.pcap" \
		"$G/tcp-split.part2" "$G/tcp-refused-pcapng.pcapng" "$G/tcp-refused-gzip.pcap.gz" "$G/tcp-split.pcap"
	rm -f "$tmp/ours.pcap"
	"$BIN" read -w "$tmp/ours.pcap" - "$G/tcp-healthy.pcap" <"$G/tcp-keepalive-idle.pcap" >/dev/null
	merge_order "merge: stdin and a file" "$tmp/ours.pcap" "$G/tcp-keepalive-idle.pcap" "$G/tcp-healthy.pcap"
	# 150 files at the same times with 64 descriptors: files closed and reopened where they were.
	rm -f "$tmp/ours.pcap"
	sh -c "ulimit -n 64; \"$BIN\" read -w \"$tmp/ours.pcap\" \"$tmp\"/many/f*.pcap >/dev/null"
	merge_order "merge: 150 files with 64 descriptors" "$tmp/ours.pcap" "$tmp"/many/f*.pcap
fi
expect "merge: -c 1 stops at the first entry" 0 '^1$' -- \
	sh -c "\"$BIN\" read --all -c 1 -o json $G/tcp-keepalive-idle.pcap $G/tcp-healthy.pcap | wc -l"
expect "merge: the earliest file's entry first" 0 '"path":"/"' -- \
	sh -c "\"$BIN\" read --all -c 1 -o json $G/tcp-keepalive-idle.pcap $G/tcp-healthy.pcap"

# Nothing silent: a link type we cannot decode, a record cut short, corrupt gzip.
/usr/bin/python3 - "$tmp" <<'PY'
import gzip, struct, sys
d = sys.argv[1]
data = open(f"{d}/refused.pcap", "rb").read()
hdr = bytearray(data[:24]); hdr[20:24] = struct.pack("<I", 105)   # IEEE 802.11
open(f"{d}/wifi.pcap", "wb").write(bytes(hdr) + data[24:])
open(f"{d}/cut.pcap", "wb").write(data[:-10])
z = bytearray(gzip.compress(data)); z[20] ^= 0xff; z[24] ^= 0xff
open(f"{d}/corrupt.pcap.gz", "wb").write(bytes(z))
open(f"{d}/short.pcap.gz", "wb").write(gzip.compress(data)[:-6])
PY
expect "unknown link type" 2 "wifi.pcap: link type 105 \(IEEE802_11\) is not supported" -- \
	"$BIN" read -o json "$tmp/wifi.pcap"
expect "record cut short: exit 1, tcpdump's message" 1 \
	"cut.pcap: packet 2: truncated dump file; tried to read [0-9]+ captured bytes, only got [0-9]+" -- \
	"$BIN" read -o json "$tmp/cut.pcap"
expect "record cut short: counted" 0 '"decode_errors":1' -- \
	sh -c "\"$BIN\" read --stats \"$tmp/cut.pcap\" | jq -c .packets"
expect "corrupt gzip" 2 "corrupt.pcap.gz: corrupt gzip data" -- "$BIN" read -o json "$tmp/corrupt.pcap.gz"
expect "gzip cut short" 1 "short.pcap.gz: .*gzip data cut short" -- "$BIN" read -o json "$tmp/short.pcap.gz"

# Small ones: a YAML alias is an error (it used to shift the keys after it); --duration inf.
printf 'tap:\n  snaplen: &s 1500\n  maxFlows: *s\n' >"$tmp/alias.yaml"
expect "YAML anchor/alias" 2 "alias.yaml:2:.*anchors .*not supported" -- \
	"$BIN" read --config "$tmp/alias.yaml" "$tmp/refused.pcap"
expect "--duration inf" 2 "--duration takes a positive number" -- "$BIN" capture --duration inf
expect "--duration 1e999" 2 "--duration takes a positive number" -- "$BIN" capture --duration 1e999
expect "--write-follow-symlinks in --help" 0 "--write-follow-symlinks" -- "$BIN" read --help

# Ring loss is logged as it happens, not only counted: a capture stopped (SIGSTOP) while a
# flood fills its one-block AF_PACKET ring must say so once it runs again.  Root only.
if [ "$(id -u)" = 0 ] && command -v ping >/dev/null; then
	. tests/netns/lib.sh
	CAP=
	t_on_exit '[ -n "$CAP" ] && kill -KILL "$CAP" 2>/dev/null'
	ns_prefix flt-cli
	if ns_add a && ns_add b && ns_link a a0 198.18.9.1/24 b b0 198.18.9.2/24 2>/dev/null; then
		ns_exec a "$BIN" capture -i a0 --backend afpacket --set tap.ringBufferMb=1 \
			--socket "$tmp/cap.sock" -o json >/dev/null 2>"$tmp/cap.err" &
		CAP=$!
		for i in $(seq 1 100); do grep -q "capturing on" "$tmp/cap.err" && break; sleep 0.1; done
		kill -STOP "$CAP"
		ns_exec b ping -q -f -c 3000 -s 1400 198.18.9.1 >/dev/null 2>&1
		kill -CONT "$CAP"
		for i in $(seq 1 100); do grep -q "lost" "$tmp/cap.err" && break; sleep 0.1; done
		kill -TERM "$CAP"; wait "$CAP" 2>/dev/null; CAP=
		if grep -qE "lost [0-9]+ packets in the last second on a0: ring full" "$tmp/cap.err"; then
			t_pass "ring loss logged"
		else
			t_fail "ring loss logged" "$(tail -3 "$tmp/cap.err")"
		fi
		# XDP left by a killed run is removed with only the service's capabilities
		# (deploy/faultline.service): by interface, not by looking the program up by id; its tc
		# egress filter by the filter dump's name.  Attached over netlink (the fallback of
		# kernels without BPF links): links leave nothing to remove.
		if command -v setpriv >/dev/null; then
			export FAULTLINE_ATTACH=netlink
			ip netns exec "$(ns_name a)" "$BIN" capture -i a0 --hook xdp --socket "$tmp/x1.sock" \
				-o json >/dev/null 2>"$tmp/x1.err" &
			CAP=$!
			for i in $(seq 1 100); do grep -q "capturing on" "$tmp/x1.err" && break; sleep 0.1; done
			kill -KILL "$CAP"; wait "$CAP" 2>/dev/null; CAP=
			if ip -n "$(ns_name a)" link show a0 | grep -q "prog/xdp"; then
				expect "XDP leftover removed with the service's capabilities" 0 \
					"removed 2 BPF attachments left by an earlier run" -- \
					ns_exec a setpriv --bounding-set -all,+bpf,+perfmon,+net_admin,+net_raw,+sys_resource \
					"$BIN" capture -i a0 --hook xdp --duration 1 --socket "$tmp/x2.sock" -o json
				t_check_eval "XDP leftover: gone after the second run" \
					'! ip -n "$(ns_name a)" link show a0 | grep -q "prog/xdp"'
			else
				t_fail "XDP leftover: the killed capture left no XDP program to clean" "$(cat "$tmp/x1.err")"
			fi
			unset FAULTLINE_ATTACH
		fi
	else
		t_fail "ring loss logged" "cannot make the namespaces"
	fi
fi

# --names FILE on a golden fixture: names on src and dst, the table shows them, -n keeps addresses.
GOLD=tests/golden/fixtures/tcp-refused.pcap
printf '# test names\n198.18.1.2 checkout shop\n\n198.18.2.2\tcart.shop.svc.cluster.local shop\n' >"$tmp/names.txt"
"$BIN" read --all -o json --names "$tmp/names.txt" "$GOLD" >"$tmp/names.json"
t_jq "--names: src and dst named, with namespaces, IPs kept" 'length == 1 and .[0].src.name == "checkout"
	and .[0].src.namespace == "shop" and .[0].src.ip == "198.18.1.2" and .[0].dst.name == "cart.shop.svc.cluster.local"
	and .[0].dst.namespace == "shop" and .[0].dst.ip == "198.18.2.2" and .[0].error.message == "SynSent"' "$tmp/names.json"
expect "--names: the table shows names" 0 'checkout:[0-9]+ +-> cart\.shop\.svc\.cluster\.local:9999 +SynSent' -- \
	"$BIN" read --all -o table --names "$tmp/names.txt" "$GOLD"
expect "-n: the table keeps addresses" 0 '198\.18\.1\.2:[0-9]+ +-> 198\.18\.2\.2:9999 +SynSent' -- \
	"$BIN" read --all -o table -n --names "$tmp/names.txt" "$GOLD"
out=$("$BIN" read --all -o table -n --names "$tmp/names.txt" "$GOLD" 2>&1)
t_check_eval "-n: no name in the table" '! grep -q checkout <<<"$out"'
expect "--names -f src.name" 0 '"name":"checkout"' -- \
	"$BIN" read --all -o json --names "$tmp/names.txt" -f 'src.name == "checkout" and dst.namespace == "shop"' "$GOLD"
out=$("$BIN" read --all -o json --names "$tmp/names.txt" -f 'src.name == "nobody"' "$GOLD" 2>&1)
t_check_eval "--names -f src.name that matches nothing" '[ -z "$out" ]'
printf '198.18.1.2 checkout\n198.18.1.3\n' >"$tmp/names-short.txt"
expect "--names: a line without a name names file:line" 2 \
	"faultline read: --names: $tmp/names-short.txt:2: expected 'IP name \\[namespace\\]', got 1 word" -- \
	"$BIN" read --names "$tmp/names-short.txt" "$GOLD"
printf '# ok\ncheckout 198.18.1.2\n' >"$tmp/names-swapped.txt"
expect "--names: not an address names file:line" 2 \
	"names-swapped.txt:2: 'checkout' is not an IPv4 or IPv6 address" -- "$BIN" read --names "$tmp/names-swapped.txt" "$GOLD"
expect "--names: missing file" 2 "faultline read: --names: $tmp/nope.txt: No such file or directory" -- \
	"$BIN" read --names "$tmp/nope.txt" "$GOLD"
printf '198.18.1.2 a\n198.18.1.3 b\n198.18.1.4 c\n' >"$tmp/names-three.txt"
expect "--names: more than tap.attribution.maxNames" 2 "names-three.txt:3: more names than tap.attribution.maxNames \\(2\\)" -- \
	"$BIN" read --set tap.attribution.maxNames=2 --names "$tmp/names-three.txt" "$GOLD"

# The table (issue 18 item 4): colours, widths, date rows, --stats -o table.
/usr/bin/python3 - "$tmp/v6days.pcap" <<'PY'
import logging, sys
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Ether, IPv6, TCP, wrpcap
a, b = "fd18:aaaa:bbbb:cccc:dddd:eeee:ffff:1111", "fd18:1234:5678:9abc:def0:1234:5678:9abc"
pk = []
# 2026-11-29 23:59:59 UTC and 2026-11-30 00:00:01 UTC: two refused connections, two days.
for i, t in enumerate((1795996799.25, 1795996801.5)):
    s = Ether()/IPv6(src=a, dst=b)/TCP(sport=40000 + i, dport=443, flags="S", seq=1)
    r = Ether()/IPv6(src=b, dst=a)/TCP(sport=443, dport=40000 + i, flags="RA", ack=2)
    s.time, r.time = t, t + 0.001
    pk += [s, r]
wrpcap(sys.argv[1], pk)
PY
[ $? = 0 ] || t_fail "make the IPv6 two-day capture (python3 scapy)"
# The widest line of stdin in columns (characters, not bytes: the ellipsis is one).
maxcols() { /usr/bin/python3 -c 'import sys; print(max([len(l.rstrip("\n")) for l in sys.stdin] or [0]))'; }
out=$("$BIN" read -o table --color always "$tmp/refused.pcap" | cat)
t_check_eval "--color always into a pipe: the error row red" 'grep -q $'"'"'^\e\[31m.*SynSent refused'"'"' <<<"$out"'
out=$("$BIN" read -o table --color never "$tmp/refused.pcap")
t_check_eval "--color never: no escape" '! grep -q $'"'"'\e'"'"' <<<"$out" && grep -q "SynSent refused" <<<"$out"'
if command -v script >/dev/null; then
	out=$(NO_COLOR=1 script -qc "\"$BIN\" read -o table \"$tmp/refused.pcap\"" /dev/null)
	t_check_eval "NO_COLOR on a terminal: no colour" '! grep -q $'"'"'\e\['"'"' <<<"$out" && grep -q "SynSent refused" <<<"$out"'
	out=$(TERM=dumb script -qc "\"$BIN\" read -o table \"$tmp/refused.pcap\"" /dev/null)
	t_check_eval "TERM=dumb on a terminal: no colour" '! grep -q $'"'"'\e\['"'"' <<<"$out" && grep -q "SynSent refused" <<<"$out"'
	out=$(TERM=xterm script -qc "\"$BIN\" read \"$tmp/refused.pcap\"" /dev/null)
	t_check_eval "a terminal: the table, the error red" 'grep -q $'"'"'\e\[31m.*SynSent refused'"'"' <<<"$out"'
	out=$(TERM=xterm script -qc "unset COLUMNS; stty cols 72; \"$BIN\" read --no-summary \"$tmp/v6days.pcap\"" /dev/null)
	t_check_eval "a 72-column terminal (TIOCGWINSZ): no line longer" \
		'[ "$(sed "s/\x1b\[[0-9;]*m//g; s/\r//" <<<"$out" | maxcols)" -le 72 ]'
fi
out=$(NO_COLOR=1 "$BIN" read -o table --color always "$tmp/refused.pcap")
t_check_eval "--color always beats NO_COLOR" 'grep -q $'"'"'\e\[31m'"'"' <<<"$out"'
expect "--color bad" 2 "--color takes auto, always or never, got 'pink'" -- "$BIN" read --color pink "$tmp/refused.pcap"
COLUMNS=80 "$BIN" read -o table "$tmp/v6days.pcap" >"$tmp/v6days.80"
t_check_eval "COLUMNS=80: every line within 80 columns" \
	'[ "$(maxcols <"$tmp/v6days.80")" -le 80 ] && [ "$(grep -c SynSent "$tmp/v6days.80")" = 2 ]'
t_check_eval "COLUMNS=80: long IPv6 shortened in the middle, ports kept" \
	'grep -qE "\[fd18[^ ]*…[^ ]*\]:4000[01] +-> \[fd18[^ ]*…[^ ]*\]:443 " "$tmp/v6days.80"'
t_check_eval "COLUMNS=80: the arrows in one column" '[ "$(grep -- " -> " "$tmp/v6days.80" | awk "{ print index(\$0, \" -> \") }" | sort -u | wc -l)" = 1 ]'
COLUMNS=220 "$BIN" read -o table "$tmp/v6days.pcap" >"$tmp/v6days.200"
t_check_eval "COLUMNS=220: IPv6 in full" 'grep -q "\[fd18:aaaa:bbbb:cccc:dddd:eeee:ffff:1111\]:40000" "$tmp/v6days.200"'
t_check_eval "the date row on the first row and when the day changes" \
	'[ "$(grep -c "^--- 2026-11-[0-9]* ---$" "$tmp/v6days.80")" = 2 ] && grep -A1 -- "--- 2026-11-30 ---" "$tmp/v6days.80" | grep -q "^00:00:01"'

# read --stats -o table: the same document, one dotted key and its value a line.
"$BIN" read --stats -o table "$tmp/refused.pcap" >"$tmp/stats.table"
t_check_eval "read --stats -o table: dotted keys" \
	'grep -qE "^packets\.seen +2$" "$tmp/stats.table" && grep -qE "^tcp\.SynSent +1$" "$tmp/stats.table" && grep -qE "^capture\.backend +file$" "$tmp/stats.table" && ! grep -q "[{}]" "$tmp/stats.table"'
t_check_eval "read --stats -o table: a line per value of the JSON" \
	'[ "$(wc -l <"$tmp/stats.table")" = "$("$BIN" read --stats "$tmp/refused.pcap" | jq "def leaves: if type == \"object\" and length > 0 then .[] | leaves else 1 end; [leaves] | length")" ]'
expect "read --stats stays JSON by default" 0 '^\{"packets":' -- "$BIN" read --stats "$tmp/refused.pcap"

# query and stats against a stand-in control socket (a capture's own is tested live in tests/capture).
"$BIN" read -o json "$tmp/refused.pcap" >"$tmp/entry.json"
"$BIN" read --stats "$tmp/refused.pcap" >"$tmp/stats.doc"
/usr/bin/python3 - "$tmp/ctl.sock" "$tmp/entry.json" "$tmp/stats.doc" <<'PY' &
import os, socket, sys
path, entry, stats = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(4); s.settimeout(20)
for _ in range(5):
    try:
        c, _a = s.accept()
    except socket.timeout:
        break
    req = c.makefile("rb").readline()
    c.sendall(open(stats if req.startswith(b"stats") else entry, "rb").read())
    c.close()
PY
CTL=$!
t_on_exit 'kill '"$CTL"' 2>/dev/null'
for i in $(seq 1 50); do [ -S "$tmp/ctl.sock" ] && break; sleep 0.1; done
expect "query -o table: the table" 0 'SynSent refused' -- "$BIN" query --socket "$tmp/ctl.sock" -o table --color never
expect "query into a pipe: JSON" 0 '^\{"id":1,' -- "$BIN" query --socket "$tmp/ctl.sock"
if command -v script >/dev/null; then
	out=$(TERM=xterm script -qc "\"$BIN\" query --socket \"$tmp/ctl.sock\"" /dev/null)
	t_check_eval "query on a terminal: the table, coloured" 'grep -q "DESTINATION" <<<"$out" && grep -q $'"'"'\e\[31m.*SynSent refused'"'"' <<<"$out"'
else
	"$BIN" query --socket "$tmp/ctl.sock" >/dev/null
fi
expect "stats -o table: dotted keys" 0 '^tcp\.SynSent +1$' -- "$BIN" stats --socket "$tmp/ctl.sock" -o table
expect "stats -o json" 0 '^\{"packets":' -- "$BIN" stats --socket "$tmp/ctl.sock" -o json
wait "$CTL" 2>/dev/null

# --stats prints one JSON document with every key of the spec.
"$BIN" read --stats "$tmp/refused.pcap" "$tmp/refused.pcap.gz" >"$tmp/stats.json"
t_jq "stats document" '.[0] | (.packets.seen == 4 and .packets.decode_errors == 0 and .capture.backend == "file"
	and .flows.tcp == 1 and .tcp.SynSent == 1 and .entries.total == 1
	and .entries.errors.tcp == 1 and (.kernel | has("CloseWait")) and (.icmp | has("errors"))
	and (.tcp | has("missed_bytes") and has("streams_timed_out"))
	and (.attribution | has("names") and has("name_hits")) and (.memory | has("attribution_bytes")))' "$tmp/stats.json"
t_finish
