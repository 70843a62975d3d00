#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Records the TCP accounting fixtures (issue 13, items 4 and 5) from real
# traffic in network namespaces, in the replay format (tests/README.md):
#
#   http-snaplen-full / http-snaplen-96
#       one curl keep-alive connection (four requests: 200, 404, 200, chunked)
#       and a python http.server GET, captured twice at once in the client
#       namespace: `tcpdump -s 0` and `tcpdump -s 96`.  The truncated capture
#       must give the same exchanges, no missed bytes, no errors, and the cut
#       payload as tcp.truncated_bytes.
#   lossy-client / lossy-server
#       a 2 MB download (curl from python http.server) through a router
#       namespace that drops 5% of forwarded packets (nft numgen), captured at
#       the client and at the server (whole, then cut to 128 bytes a packet with
#       editcap: headers and some payload, to keep the files small).  Every byte lost on the router is retransmitted
#       and captured at both ends: missed_bytes must be 0; retransmissions are
#       counted.
#
# The checks written here come from the scenario and from tshark's analysis of
# the same file (tcp.analysis.*), not from faultline's output.  Run as root:
#   tests/streams/record-acct.sh [NAME...]   (snaplen lossy; default: both)
# (CHECKS_ONLY=1: rewrite the lossy checks from the committed pcaps only;
# LOSSY_SNAPLEN=262144 STREAMS_FIXTURES=DIR: the lossy download kept whole, elsewhere.)
# then tests/streams/run.sh --update --only 'http-snaplen|lossy' and review.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
. ../netns/lib.sh
FIX=${STREAMS_FIXTURES:-$here/fixtures}
mkdir -p "$FIX"
tmp=$(mktemp -d)
trap 'rc=$?; set +e; cap_stop_all; ns_teardown; rm -rf "$tmp"; exit $rc' EXIT
trap 'exit 130' INT TERM

C=198.18.40.1 R1=198.18.40.2 R2=198.18.41.1 S=198.18.41.2
ns_prefix flacct
ns_add client
ns_add router
ns_add server
ns_link client c0 $C/24 router r0 $R1/24 2>/dev/null
ns_link router r1 $R2/24 server s0 $S/24 2>/dev/null
ns_exec client ip route add default via $R1
ns_exec server ip route add default via $R2
ns_exec router sysctl -qw net.ipv4.ip_forward=1
# Real segment sizes (no TSO/GRO super-packets).
for n in client:c0 router:r0 router:r1 server:s0; do
	ns_exec "${n%%:*}" ethtool -K "${n#*:}" tso off gso off gro off >/dev/null 2>&1 || true
done

mkdir -p "$tmp/www"
head -c 20000 /dev/zero | tr '\0' 'w' > "$tmp/www/page.html"
head -c 2000000 /dev/urandom > "$tmp/www/big.bin"
ns_bg server python3 "$here/server.py" $S 8080
ns_bg server python3 -m http.server --bind $S --directory "$tmp/www" 8000
ns_wait_port server 8080
ns_wait_port server 8000

CAP_PIDS=()
cap_start() {   # cap_start NS IFACE SNAPLEN FILE
	local err="$tmp/$(basename "$4").err"
	rm -f "$4" "$err"
	ip netns exec "$(ns_name "$1")" tcpdump -i "$2" -s "$3" -B 32768 -U --immediate-mode -n -w "$4" tcp \
		2>"$err" &
	CAP_PIDS+=($!)
	local i
	for i in $(seq 1 50); do
		grep -q "listening on" "$err" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "tcpdump did not start" >&2; return 1
}
cap_stop_all() {
	local p
	sleep 0.3
	for p in "${CAP_PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	for p in "${CAP_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	CAP_PIDS=()
}
curlc() { ns_exec client curl -s --max-time 60 "$@" >/dev/null; }

# tshark's count of a display filter in a file.
tcount() { tshark -r "$1" -Y "$2" -T fields -e frame.number 2>/dev/null | wc -l; }

J='[.[] | select(.protocol == "http")] as $h | [.[] | select(.error != null)] as $e | '

fx_snaplen() {
	cap_start client c0 0 "$FIX/http-snaplen-full.pcap"
	cap_start client c0 96 "$FIX/http-snaplen-96.pcap"
	curlc "http://$S:8080/file?n=1000" "http://$S:8080/missing" \
		"http://$S:8080/file?n=5000" "http://$S:8080/chunked"
	curlc "http://$S:8000/page.html"
	cap_stop_all
	local f=$FIX/http-snaplen-full.pcap t=$FIX/http-snaplen-96.pcap
	# The payload tshark says the snaplen cut: wire payload minus captured payload.
	local cut
	cut=$(tshark -r "$t" -Y 'tcp.len > 0' -T fields -e frame.len -e frame.cap_len 2>/dev/null |
		awk '{ s += $1 - $2 } END { print s + 0 }')
	local rt; rt=$(tcount "$t" 'tcp.analysis.retransmission or tcp.analysis.fast_retransmission')
	local lost; lost=$(tcount "$t" 'tcp.analysis.lost_segment or tcp.analysis.ack_lost_segment')
	echo "snaplen: tshark: cut payload $cut bytes, retransmissions $rt, lost segments $lost" >&2
	local same='($h|length) == 5 and ([$h[].response.status] == [200, 404, 200, 200, 200]) and ([$h[].request.path] == ["/file?n=1000", "/missing", "/file?n=5000", "/chunked", "/page.html"]) and ($e|length) == 0 and ([.[] | .tcp.missed_bytes // 0] | add) == 0'
	printf '%s\n' "--all" > "$FIX/http-snaplen-full.opts"
	printf '%s\n' "$J$same"' and ([.[] | .tcp.truncated_bytes // 0] | add) == 0 and ([$h[].response.body_bytes] == [1000, 9, 5000, 315, 20000])' \
		> "$FIX/http-snaplen-full.checks"
	printf '%s\n' "--all" > "$FIX/http-snaplen-96.opts"
	printf '%s\n' "$J$same"' and ([$h[] | .response.truncated] | all) and ([$h[3,4] | .response.body_bytes > 0] | all)' \
		> "$FIX/http-snaplen-96.checks"
	printf '%s\n' "--all --stats" > "$FIX/http-snaplen-96.stats.opts"
	printf '.[0] | (%s)\n' ".tcp.missed_bytes == 0 and .tcp.truncated_bytes == $cut and .tcp.retransmissions == $rt" \
		> "$FIX/http-snaplen-96.stats.checks"
	printf '%s\n' "--all --stats" > "$FIX/http-snaplen-full.stats.opts"
	printf '.[0] | (%s)\n' ".tcp.missed_bytes == 0 and .tcp.truncated_bytes == 0 and .tcp.retransmissions == $rt" \
		> "$FIX/http-snaplen-full.stats.checks"
}

fx_lossy() {
	ns_exec router nft -f - <<-EOF
	table inet flacct {
		chain lossy {
			type filter hook forward priority 0; policy accept;
			ip saddr $S tcp sport 8000 numgen random mod 100 < 5 drop
		}
	}
	EOF
	# Captured whole (tshark must see every byte), kept cut to 128 bytes a
	# packet (headers and some payload: the files stay small).
	cap_start client c0 0 "$tmp/lossy-client.pcap"
	cap_start server s0 0 "$tmp/lossy-server.pcap"
	curlc "http://$S:8000/big.bin"
	cap_stop_all
	ns_exec router nft delete table inet flacct
	local side
	for side in client server; do
		local acklost; acklost=$(tcount "$tmp/lossy-$side.pcap" 'tcp.analysis.ack_lost_segment')
		if [ "$acklost" != 0 ]; then
			echo "lossy-$side: the capture itself lost packets ($acklost ACKs of unseen data): record again" >&2
			return 1
		fi
		editcap -s "${LOSSY_SNAPLEN:-128}" "$tmp/lossy-$side.pcap" "$FIX/lossy-$side.pcap"
	done
	checks_lossy
}

# The checks of the lossy fixtures, from tshark's analysis of the files.
checks_lossy() {
	local side
	for side in client server; do
		local t=$FIX/lossy-$side.pcap
		local rt; rt=$(tcount "$t" 'tcp.analysis.retransmission or tcp.analysis.fast_retransmission or tcp.analysis.spurious_retransmission')
		local ooo; ooo=$(tcount "$t" 'tcp.analysis.out_of_order and not tcp.analysis.retransmission')
		local lost; lost=$(tcount "$t" 'tcp.analysis.lost_segment')
		local acklost; acklost=$(tcount "$t" 'tcp.analysis.ack_lost_segment')
		echo "lossy-$side: tshark: retransmissions $rt, out_of_order $ooo, lost_segment $lost, ack_lost_segment $acklost" >&2
		printf '%s\n' "--all" > "$FIX/lossy-$side.opts"
		printf '%s\n' "$J"'($h|length) == 1 and $h[0].response.status == 200 and $h[0].response.body_bytes == 2000000 and $h[0].response.truncated and ($e|length) == 0 and ([.[] | .tcp.missed_bytes // 0] | add) == 0 and ($h[0].tcp.retransmissions // 0) > 0' \
			> "$FIX/lossy-$side.checks"
		printf '%s\n' "--all --stats" > "$FIX/lossy-$side.stats.opts"
		# Every segment tshark calls a retransmission or out-of-order is one of
		# ours too (the split of hole fillers between the two is a timing call).
		local sum=".tcp.retransmissions + .tcp.out_of_order == $((rt + ooo))"
		[ "$side" = client ] || sum="$sum and .tcp.out_of_order == 0"
		printf '.[0] | (%s)\n' ".tcp.missed_bytes == 0 and .tcp.retransmissions > 0 and $sum and .tcp.truncated_bytes > 1900000" \
			> "$FIX/lossy-$side.stats.checks"
	done
}

# 24 connections opened 20 ms apart; each: one request, the response, the
# client's FIN; the server closes its side 0.5 s after the client's FIN.
# 11 s later one more connection moves the clock past the timeout.
# Replayed with tap.maxFlows=16, every connection is
# evicted between the two FINs (new connections push it out) and must go on:
# no CloseWait, no midstream, nothing missed.
fx_evict() {
	cat > "$tmp/evict-server.py" <<-'PY'
	import socket, sys, threading, time
	srv = socket.create_server((sys.argv[1], 8090))
	def serve(c):
	    c.recv(4096)
	    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
	    while c.recv(4096):
	        pass
	    time.sleep(0.5)
	    c.close()
	while True:
	    c, _ = srv.accept()
	    threading.Thread(target=serve, args=(c,), daemon=True).start()
	PY
	ns_bg server python3 "$tmp/evict-server.py" "$S"
	ns_wait_port server 8090
	cap_start client c0 0 "$FIX/tcp-evict-resume.pcap"
	ns_exec client python3 - "$S" <<-'PY'
	import socket, sys, time
	conns = []
	for i in range(24):
	    c = socket.create_connection((sys.argv[1], 8090))
	    c.sendall(b"GET /n%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
	    got = b""
	    while not got.endswith(b"hello"):
	        got += c.recv(4096)
	    c.shutdown(socket.SHUT_WR)
	    conns.append(c)
	    time.sleep(0.02)
	for c in conns:
	    while c.recv(4096):
	        pass
	    c.close()
	time.sleep(11)      # past tap.tcpStreamChannelTimeoutMs: pending conditions fall due
	c = socket.create_connection((sys.argv[1], 8090))
	c.sendall(b"GET /last HTTP/1.1\r\nHost: x\r\n\r\n")
	c.recv(4096)
	c.close()
	time.sleep(0.6)
	PY
	cap_stop_all
	local o="--all --set tap.maxFlows=16"
	printf '%s\n' "$o" > "$FIX/tcp-evict-resume.opts"
	printf '%s\n' "$J"'($h|length) == 25 and ([$h[].response.status] | unique) == [200] and ($e|length) == 0' \
		> "$FIX/tcp-evict-resume.checks"
	printf '%s\n' "$o --stats" > "$FIX/tcp-evict-resume.stats.opts"
	printf '.[0] | (%s)\n' ".flows.evicted > 0 and .flows.resumed > 0 and .tcp.missed_bytes == 0 and .tcp.CloseWait == 0 and .tcp.LastAck == 0 and .tcp.Reset == 0" \
		> "$FIX/tcp-evict-resume.stats.checks"
}

if [ "${CHECKS_ONLY:-}" = 1 ]; then checks_lossy; exit 0; fi
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(snaplen lossy)
for n in "${names[@]}"; do "fx_$n"; done
