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
# Several files are one capture merged in time order, as mergecap merges them.
# The issue's case: a recorded HTTP exchange cut in two, the later file named
# first (it used to give a midstream request and a response missing).
HG=tests/streams/fixtures/http-get.pcap
editcap -r "$HG" "$tmp/hg-1.pcap" 1-7 && editcap -r "$HG" "$tmp/hg-2.pcap" 8-100000
"$BIN" read --all -o json "$HG" >"$tmp/hg-whole.json"
"$BIN" read --all -o json "$tmp/hg-2.pcap" "$tmp/hg-1.pcap" >"$tmp/hg-merged.json"
t_check_eval "later file older: the same entries as the whole capture" \
	'[ -s "$tmp/hg-whole.json" ] && cmp -s "$tmp/hg-whole.json" "$tmp/hg-merged.json"'
expect "later file older: no time reversal" 0 '^0$' -- \
	sh -c "\"$BIN\" read --stats \"$tmp/hg-2.pcap\" \"$tmp/hg-1.pcap\" | jq .packets.time_reversals"
# Inside one file time going back (by five years here) is counted, never a wait of years.
editcap -t -157680000 "$tmp/hg-2.pcap" "$tmp/hg-2-old.pcap"
mergecap -a -w "$tmp/hg-back.pcap" "$tmp/hg-1.pcap" "$tmp/hg-2-old.pcap"
"$BIN" read --all -o json "$tmp/hg-back.pcap" >"$tmp/hg-back.json"
t_jq "time back by years in one file: one healthy entry, no absurd wait" \
	'length == 1 and .[0].error == null and ([.[] | .. | .waited_ms? // empty | select(. > 10000)] | length == 0)' \
	"$tmp/hg-back.json"
expect "time back by years in one file: counted" 0 '^1$' -- \
	sh -c "\"$BIN\" read --stats \"$tmp/hg-back.pcap\" | jq .packets.time_reversals"

# A capture of 170 interleaved connections (HTTP, some refused, some reset), split
# by editcap into one file a packet, read with a descriptor limit far below the
# number of files: exactly the whole capture's entries and stats.
/usr/bin/python3 - "$tmp/whole.pcap" <<'PY'
import sys
from scapy.all import Ether, IP, TCP, Raw, wrpcap
pkts, t = [], 1764000000.0
def add(src, dst, s, d, dt, load=b"", **kw):
    global t
    t += dt
    p = Ether()/IP(src=src, dst=dst)/TCP(sport=s, dport=d, **kw)
    if load:
        p = p/Raw(load)
    p.time = t
    pkts.append(p)
for c in range(170):
    a, b, sp, cs, ss = "198.18.44.2", "198.18.45.2", 30000 + c, 1000 + c, 50000 + c
    t = 1764000000.0 + c * 0.0013      # connections overlap in time
    add(a, b, sp, 80, 0, flags="S", seq=cs)
    if c % 10 == 3:                    # refused
        add(b, a, 80, sp, 0.0004, flags="RA", seq=0, ack=cs + 1)
        continue
    add(b, a, 80, sp, 0.0004, flags="SA", seq=ss, ack=cs + 1)
    add(a, b, sp, 80, 0.0003, flags="A", seq=cs + 1, ack=ss + 1)
    req = b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % c
    add(a, b, sp, 80, 0.0002, req, flags="PA", seq=cs + 1, ack=ss + 1)
    if c % 10 == 7:                    # reset by the server
        add(b, a, 80, sp, 0.002, flags="RA", seq=ss + 1, ack=cs + 1 + len(req))
        continue
    body = b"hello %d\n" % c
    rsp = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    add(b, a, 80, sp, 0.003, rsp, flags="PA", seq=ss + 1, ack=cs + 1 + len(req))
    add(a, b, sp, 80, 0.0005, flags="FA", seq=cs + 1 + len(req), ack=ss + 1 + len(rsp))
    add(b, a, 80, sp, 0.0002, flags="FA", seq=ss + 1 + len(rsp), ack=cs + 2 + len(req))
    add(a, b, sp, 80, 0.0002, flags="A", seq=cs + 2 + len(req), ack=ss + 2 + len(rsp))
pkts.sort(key=lambda p: p.time)
wrpcap(sys.argv[1], pkts)
PY
[ $? = 0 ] || t_fail "make the interleaved capture (python3 scapy)"
mkdir "$tmp/split"
editcap -c 1 "$tmp/whole.pcap" "$tmp/split/part.pcap"
n_split=$(ls "$tmp/split" | wc -l)
t_check_eval "editcap -c 1 gives more than 1100 files ($n_split)" '[ "$n_split" -gt 1100 ]'
"$BIN" read --all -o json "$tmp/whole.pcap" >"$tmp/whole.json"
(cat "$tmp/whole.json"; "$BIN" read --stats "$tmp/whole.pcap") >"$tmp/whole.out"
sh -c "ulimit -n 256; \"$BIN\" read --all -o json \"$tmp\"/split/*.pcap; \"$BIN\" read --stats \"$tmp\"/split/*.pcap" \
	>"$tmp/split.out" 2>"$tmp/split.err"
t_check_eval "$n_split files with ulimit -n 256: the whole capture's entries and stats" \
	'grep -q "\"SynSent\"" "$tmp/whole.out" && cmp -s "$tmp/whole.out" "$tmp/split.out" && ! [ -s "$tmp/split.err" ]'
# Files that overlap in time: each direction in its own file (a capture on each side).
tcpdump -r "$tmp/whole.pcap" -w "$tmp/c2s.pcap" src host 198.18.44.2 2>/dev/null
tcpdump -r "$tmp/whole.pcap" -w "$tmp/s2c.pcap" src host 198.18.45.2 2>/dev/null
("$BIN" read --all -o json "$tmp/s2c.pcap" "$tmp/c2s.pcap"; "$BIN" read --stats "$tmp/s2c.pcap" "$tmp/c2s.pcap") >"$tmp/dirs.out"
t_check_eval "one file a direction: the whole capture's entries and stats" 'cmp -s "$tmp/whole.out" "$tmp/dirs.out"'
# The same overlapping files, one pcapng gzipped on stdin, one through a FIFO.
editcap -F pcapng "$tmp/s2c.pcap" "$tmp/s2c.pcapng" && gzip -c "$tmp/s2c.pcapng" >"$tmp/s2c.pcap.gz"
mkfifo "$tmp/fifo3"
(cat "$tmp/c2s.pcap" >"$tmp/fifo3" &)
sh -c "timeout 20 \"$BIN\" read --all -o json - \"$tmp/fifo3\" <\"$tmp/s2c.pcap.gz\"" >"$tmp/pipes.out"
t_check_eval "gzip on stdin and a FIFO, merged: the whole capture's entries" \
	'[ -s "$tmp/pipes.out" ] && cmp -s "$tmp/whole.json" "$tmp/pipes.out"'
# 150 copies of one capture all overlap: with 64 descriptors they are closed and
# reopened in turn, and the order is still mergecap's.
mkdir "$tmp/many"
for i in $(seq -w 1 150); do cp "$tmp/refused.pcap" "$tmp/many/f$i.pcap"; done
expect "150 overlapping files with 64 descriptors" 0 '^300$' -- \
	sh -c "ulimit -n 64; \"$BIN\" read --stats \"$tmp\"/many/f*.pcap | jq .packets.seen"
mergecap -w "$tmp/many.pcap" "$tmp"/many/f*.pcap
"$BIN" read -o json "$tmp/many.pcap" >"$tmp/many-mergecap.json"
sh -c "ulimit -n 64; \"$BIN\" read -o json \"$tmp\"/many/f*.pcap" >"$tmp/many-ours.json"
t_check_eval "150 overlapping files with 64 descriptors: as mergecap merges them" \
	'[ -s "$tmp/many-ours.json" ] && cmp -s "$tmp/many-mergecap.json" "$tmp/many-ours.json"'

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
		# (deploy/faultline.service): by interface, not by looking the program up by id.
		if command -v setpriv >/dev/null; then
			ip netns exec "$(ns_name a)" "$BIN" capture -i a0 --hook xdp --socket "$tmp/x1.sock" \
				-o json >/dev/null 2>"$tmp/x1.err" &
			CAP=$!
			for i in $(seq 1 100); do grep -q "capturing on" "$tmp/x1.err" && break; sleep 0.1; done
			kill -KILL "$CAP"; wait "$CAP" 2>/dev/null; CAP=
			if ip -n "$(ns_name a)" link show a0 | grep -q "prog/xdp"; then
				expect "XDP leftover removed with the service's capabilities" 0 \
					"removed 1 BPF attachment left by an earlier run" -- \
					ns_exec a setpriv --bounding-set -all,+bpf,+perfmon,+net_admin,+net_raw,+sys_resource \
					"$BIN" capture -i a0 --hook xdp --duration 1 --socket "$tmp/x2.sock" -o json
				t_check_eval "XDP leftover: gone after the second run" \
					'! ip -n "$(ns_name a)" link show a0 | grep -q "prog/xdp"'
			else
				t_fail "XDP leftover: the killed capture left no XDP program to clean" "$(cat "$tmp/x1.err")"
			fi
		fi
	else
		t_fail "ring loss logged" "cannot make the namespaces"
	fi
fi

# --stats prints one JSON document with every key of the spec.
"$BIN" read --stats "$tmp/refused.pcap" "$tmp/refused.pcap.gz" >"$tmp/stats.json"
t_jq "stats document" '.[0] | (.packets.seen == 4 and .packets.decode_errors == 0 and .capture.backend == "file"
	and .flows.tcp == 1 and .tcp.SynSent == 1 and .entries.total == 1
	and .entries.errors.tcp == 1 and (.kernel | has("CloseWait")) and (.icmp | has("errors"))
	and (.tcp | has("missed_bytes") and has("streams_timed_out")))' "$tmp/stats.json"
t_finish
