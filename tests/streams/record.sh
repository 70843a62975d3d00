#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Records the stream fixtures from real traffic: curl, python3 http.server and
# misbehaving servers/clients of our own (server.py, client.py) in two network
# namespaces, captured with tcpdump in the client namespace.  Each fixture
# writes, in the replay format (tests/README.md), fixtures/NAME.pcap, NAME.opts
# (options for `faultline read`, when there are any) and NAME.checks (a jq -s
# expression over the entries that must print true: what the traffic is,
# independent of the expected output); a few add the case NAME.stats (the same
# options and --stats, and a check over the stats object).  Run as root:
#   tests/streams/record.sh [NAME...]     (default: all)
# then tests/streams/run.sh --update writes the NAME[.stats].expected files:
# review their diff before committing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
. ../netns/lib.sh
FIX=${STREAMS_FIXTURES:-$here/fixtures}   # where to write (default: the committed fixtures)
mkdir -p "$FIX"
tmp=$(mktemp -d)
trap 'rc=$?; set +e; ns_teardown; rm -rf "$tmp"; exit $rc' EXIT
trap 'exit 130' INT TERM

C=198.18.3.1 S=198.18.3.2 S6=fd18:3::2
ns_prefix flt-str
ns_add client
ns_add server
ns_link client c0 $C/24,fd18:3::1/64 server s0 $S/24,$S6/64
# Real segment sizes (no TSO/GRO super-packets), so removed frames are ordinary segments.
ns_exec client ethtool -K c0 tso off gso off gro off >/dev/null 2>&1 || true
ns_exec server ethtool -K s0 tso off gso off gro off >/dev/null 2>&1 || true

mkdir -p "$tmp/www"
head -c 2000 /dev/zero | tr '\0' 'w' > "$tmp/www/index.html"
head -c 3000 /dev/zero | tr '\0' 'u' > "$tmp/upload.bin"
ns_bg server python3 "$here/server.py" $S 8080
ns_bg server python3 "$here/server.py" $S6 8080
ns_bg server python3 -m http.server --bind $S --directory "$tmp/www" 8000
ns_wait_port server 8080
ns_bg server python3 -c '
import socket
srv = socket.create_server(("'$S'", 8025))
while True:
    c, _ = srv.accept(); c.sendall(b"220 fixture ready\r\n"); c.recv(100); c.close()'
ns_wait_port server 8000
ns_wait_port server 8025
for i in $(seq 1 50); do
	ns_exec server ss -Hltn "sport = :8080" | grep -q "fd18:3::2" && break
	sleep 0.1
done

# curl in the client namespace; what it prints (bodies, -I heads) is not needed.
curlc() { ns_exec client curl -s --max-time 10 "$@" >/dev/null; }
TCPDUMP_PID=

cap_start() {   # cap_start NAME
	rm -f "$FIX/$1.pcap" "$tmp/tcpdump.err"
	ip netns exec "$(ns_name client)" tcpdump -i c0 -s 0 -U --immediate-mode -n -w "$FIX/$1.pcap" 'tcp or icmp' \
		2>"$tmp/tcpdump.err" &
	TCPDUMP_PID=$!
	local i
	for i in $(seq 1 50); do
		grep -q "listening on" "$tmp/tcpdump.err" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "tcpdump did not start" >&2; return 1
}

cap_stop() {
	sleep 0.3
	kill -INT "$TCPDUMP_PID" 2>/dev/null || true
	wait "$TCPDUMP_PID" 2>/dev/null || true
	TCPDUMP_PID=
}

# meta NAME OPTS CHECK [STATS-CHECK]: NAME.opts (the read options, if any) and
# NAME.checks (the jq expectation over the entries); with STATS-CHECK also the
# case NAME.stats: the same options and --stats, STATS-CHECK over the stats object.
meta() {
	rm -f "$FIX/$1.opts" "$FIX/$1.stats.opts" "$FIX/$1.stats.checks" "$FIX/$1.stats.expected"
	[ -z "$2" ] || printf '%s\n' "$2" > "$FIX/$1.opts"
	printf '%s\n' "$3" > "$FIX/$1.checks"
	if [ -n "${4:-}" ]; then
		printf '%s\n' "${2:+$2 }--stats" > "$FIX/$1.stats.opts"
		printf '.[0] | (%s)\n' "$4" > "$FIX/$1.stats.checks"
	fi
}

# Shared jq: $h is the http entries, $e the entries with an error.
J='[.[] | select(.protocol == "http")] as $h | [.[] | select(.error != null)] as $e | '

fx_http_get() {
	cap_start http-get
	curlc http://$S:8000/index.html
	cap_stop
	meta http-get "" "$J"'($h|length) == 1 and $h[0].request.method == "GET" and $h[0].request.path == "/index.html" and $h[0].response.status == 200 and $h[0].response.body_bytes == 2000 and ($e|length) == 0 and $h[0].elapsed_ms != null'
}

fx_http_keepalive() {
	cap_start http-keepalive
	curlc "http://$S:8080/file?n=1000" "http://$S:8080/missing" \
		"http://$S:8080/file?n=5000" "http://$S:8080/error"
	cap_stop
	meta http-keepalive "" "$J"'($h|length) == 4 and ([$h[].response.status] == [200, 404, 200, 500]) and ([$h[].response.body_bytes] == [1000, 9, 5000, 5]) and ([$h[].src.port] | unique | length) == 1 and ($e|length) == 0'
}

fx_http_pipeline() {
	cap_start http-pipeline
	ns_exec client python3 "$here/client.py" pipeline $S 8080 "/file?n=10" "/file?n=2000" /missing
	cap_stop
	meta http-pipeline "" "$J"'($h|length) == 3 and ([$h[].request.path] == ["/file?n=10", "/file?n=2000", "/missing"]) and ([$h[].response.body_bytes] == [10, 2000, 9]) and ([$h[].response.status] == [200, 200, 404]) and ($e|length) == 0'
}

fx_http_chunked() {
	cap_start http-chunked
	curlc "http://$S:8080/chunked"
	cap_stop
	meta http-chunked "" "$J"'($h|length) == 1 and $h[0].response.headers["Transfer-Encoding"] == "chunked" and $h[0].response.body_bytes == 315 and $h[0].response.trailers["X-Checksum"] == "315" and ($e|length) == 0'
}

fx_http_close() {
	cap_start http-close
	curlc "http://$S:8080/close?n=3000"
	cap_stop
	meta http-close "" "$J"'($h|length) == 1 and $h[0].response.body_bytes == 3000 and $h[0].response.headers["Content-Length"] == null and ($e|length) == 0'
}

fx_http_head() {
	cap_start http-head
	curlc -I "http://$S:8080/file?n=5000" \
		"http://$S:8080/file?n=7"
	cap_stop
	meta http-head "" "$J"'($h|length) == 2 and ([$h[].request.method] | unique) == ["HEAD"] and ([$h[].response.body_bytes] == [0, 0]) and $h[0].response.headers["Content-Length"] == "5000" and ($e|length) == 0'
}

fx_http_continue() {
	cap_start http-continue
	curlc -H 'Expect: 100-continue' \
		--data-binary @"$tmp/upload.bin" "http://$S:8080/upload"
	cap_stop
	meta http-continue "" "$J"'($h|length) == 1 and $h[0].request.method == "POST" and $h[0].request.headers["Expect"] == "100-continue" and $h[0].request.body_bytes == 3000 and $h[0].response.status == 201 and ($e|length) == 0'
}

fx_http_204_304() {
	cap_start http-204-304
	curlc "http://$S:8080/nocontent" \
		-H 'If-None-Match: "v1"' "http://$S:8080/cached" "http://$S:8080/file?n=3"
	cap_stop
	meta http-204-304 "" "$J"'($h|length) == 3 and ([$h[].response.status] == [204, 304, 200]) and ([$h[].response.body_bytes] == [0, 0, 3]) and ($e|length) == 0'
}

fx_http_reset() {
	cap_start http-reset
	curlc "http://$S:8080/reset" || true
	cap_stop
	meta http-reset "" "$J"'($h|length) == 1 and $h[0].error.type == "half-connection" and $h[0].error.reason == "reset" and $h[0].request.path == "/reset" and $h[0].response == null'
}

fx_http_cut() {
	cap_start http-cut
	curlc "http://$S:8080/cut" || true
	cap_stop
	meta http-cut "" "$J"'($h|length) == 1 and $h[0].error.type == "unexpected-eof" and ($h[0].error.message | contains("100 of 1000 response body bytes")) and $h[0].response.status == 200 and $h[0].response.body_bytes == 100'
}

fx_http_garbage() {
	cap_start http-garbage
	curlc "http://$S:8080/garbage" || true
	cap_stop
	meta http-garbage "" "$J"'($h|length) == 1 and $h[0].error.type == "parser-error" and ($h[0].error.message | startswith("invalid status line")) and $h[0].request.path == "/garbage"'
}

fx_http_silent() {
	cap_start http-silent
	curlc "http://$S:8080/silent?s=2.5" || true
	cap_stop
	meta http-silent "--set tap.tcpStreamChannelTimeoutMs=1000" "$J"'($h|length) == 1 and $h[0].error.type == "half-connection" and $h[0].error.reason == "timeout" and $h[0].request.path == "/silent?s=2.5"'
}

fx_http_stall() {
	cap_start http-stall
	curlc "http://$S:8080/stall?s=2.5" || true
	cap_stop
	meta http-stall "--set tap.tcpStreamChannelTimeoutMs=1000" "$J"'($h|length) == 1 and $h[0].error.type == "timeout" and ($h[0].error.message | contains("50 of 500 response body bytes")) and $h[0].response.status == 200' \
		'.tcp.streams_timed_out == 1'
}

fx_http_midstream_response() {
	# The request leaves before the capture starts; its response comes after.
	ns_exec client python3 "$here/client.py" sequence $S 8080 "/trickle?wait=1.5&n=2000&gap=0.05" \
		"/file?n=100" &
	local pid=$!
	sleep 0.5
	cap_start http-midstream-response
	wait $pid
	cap_stop
	meta http-midstream-response "" "$J"'($h|length) == 2 and $h[0].error.type == "half-connection" and $h[0].error.reason == "midstream" and $h[0].request == null and $h[0].response.body_bytes == 2000 and $h[1].error == null and $h[1].request.path == "/file?n=100" and ([.[] | select(.error.type == "parser-error")] | length) == 0'
}

fx_http_midstream_body() {
	# The capture starts in the middle of a trickled body: resynchronise, no parser error.
	ns_exec client python3 "$here/client.py" sequence $S 8080 "/trickle?n=20000&pieces=10&gap=0.2" \
		"/file?n=100" &
	local pid=$!
	sleep 0.9
	cap_start http-midstream-body
	wait $pid
	cap_stop
	meta http-midstream-body "" "$J"'($h|length) == 1 and $h[0].error == null and $h[0].request.path == "/file?n=100" and ([.[] | select(.error.type == "parser-error")] | length) == 0'
}

fx_http_loss() {
	# Network loss after the capture point: every dropped packet was captured,
	# so the capture sees retransmissions and no hole.
	local rules='table inet fltloss {
	chain in {
		type filter hook input priority 0;
		tcp sport 8080 numgen random mod 8 == 0 drop
		tcp dport 8080 numgen random mod 8 == 0 drop
	}
}'
	ns_exec client nft -f - <<<"$rules"
	ns_exec server nft -f - <<<"$rules"
	local try
	for try in 1 2 3 4 5; do
		cap_start http-loss
		curlc --max-time 30 "http://$S:8080/file?n=60000" "http://$S:8080/file?n=60000" \
			"http://$S:8080/file?n=1000"
		cap_stop
		[ "$(tshark -r "$FIX/http-loss.pcap" -Y tcp.analysis.retransmission 2>/dev/null | wc -l)" -gt 0 ] && break
	done
	ns_exec client nft delete table inet fltloss
	ns_exec server nft delete table inet fltloss
	meta http-loss "" "$J"'($h|length) == 3 and ([$h[].response.body_bytes] == [60000, 60000, 1000]) and ($e|length) == 0 and ([$h[].tcp.missed_bytes // 0] | add) == 0 and ([$h[].tcp.retransmissions // 0] | add) > 0' \
		'.tcp.missed_bytes == 0 and .tcp.retransmissions > 0'
}

fx_http_ipv6() {
	cap_start http-ipv6
	curlc -g "http://[$S6]:8080/file?n=1500" "http://[$S6]:8080/chunked"
	cap_stop
	meta http-ipv6 "" "$J"'($h|length) == 2 and $h[0].dst.ip == "fd18:3::2" and ([$h[].response.body_bytes] == [1500, 315]) and ($e|length) == 0'
}

fx_http_closed() {
	# The server reads the request and closes without an answer.
	cap_start http-closed
	curlc "http://$S:8080/hangup" || true
	cap_stop
	meta http-closed "" "$J"'($h|length) == 1 and $h[0].error.type == "half-connection" and $h[0].error.reason == "closed" and $h[0].request.path == "/hangup" and $h[0].response == null'
}

fx_http_capture_end() {
	# The capture ends while the request still waits for its response.
	cap_start http-capture-end
	curlc "http://$S:8080/silent?s=1.5" &
	local pid=$!
	sleep 0.5
	cap_stop
	wait $pid || true
	meta http-capture-end "" "$J"'($h|length) == 1 and $h[0].error.type == "half-connection" and $h[0].error.reason == "capture-end" and $h[0].request.path == "/silent?s=1.5"'
}

fx_tcp_banner_stale() {
	# A server speaks first in no protocol we know; the client never answers.
	cap_start tcp-banner-stale
	ns_exec client python3 -c '
import socket, time
s = socket.create_connection(("'$S'", 8025)); s.recv(100); time.sleep(2.5); s.close()'
	cap_stop
	meta tcp-banner-stale "--set tap.tcpStreamChannelTimeoutMs=1000" '[.[] | select(.error.type == "timeout")] as $t | ($t|length) == 1 and $t[0].protocol == "tcp" and ($t[0].error.message | contains("bytes unparsed")) and $t[0].dst.port == 8025' \
		'.tcp.streams_timed_out == 1'
}

fx_http_icmp() {
	# The connection is up, then a firewall rejects the request with an ICMP error.
	local rules='table inet fltrej {
	chain in {
		type filter hook input priority 0;
		tcp dport 8080 ip length > 100 reject with icmp type host-unreachable
	}
}'
	ns_exec server nft -f - <<<"$rules"
	cap_start http-icmp
	curlc --max-time 2 "http://$S:8080/file?n=10" || true
	cap_stop
	# curl gave up but its socket still retransmits the request: kill it before
	# the rule goes, or the next capture sees it get through.
	ns_exec client ss -K dst $S dport = 8080 >/dev/null 2>&1 || sleep 4
	ns_exec server nft delete table inet fltrej
	meta http-icmp "" "$J"'($h|length) == 1 and $h[0].error.type == "half-connection" and $h[0].error.reason == "icmp" and ($h[0].error.message | contains("Host unreachable")) and $h[0].request.path == "/file?n=10" and ([.[] | select(.protocol == "icmp")] | length) > 0'
}

# Frames carrying server payload in a capture: "frame tcp.len" lines.
server_frames() {
	tshark -r "$1" -Y 'tcp.srcport == 8080 && tcp.len > 0' -T fields -e frame.number -e tcp.len \
		-e tcp.seq 2>/dev/null
}

fx_http_holes() {
	# One healthy capture, then two copies with one segment removed (capture loss).
	cap_start http-holes-base
	curlc "http://$S:8080/file?n=20000" "http://$S:8080/file?n=20000" \
		"http://$S:8080/file?n=300"
	cap_stop
	local base=$FIX/http-holes-base.pcap
	# (a) a segment in the middle of the first body: the body stays in step.
	local line frame len
	line=$(server_frames "$base" | sed -n 5p)
	frame=${line%%$'\t'*}; len=$(cut -f2 <<<"$line")
	editcap "$base" "$FIX/http-hole-body.pcap" "$frame"
	meta http-hole-body "" "$J"'($h|length) == 3 and ([$h[].response.body_bytes] == [20000, 20000, 300]) and ($e|length) == 0 and $h[0].tcp.missed_bytes == '"$len"' and $h[1].tcp.missed_bytes == null and $h[2].tcp.missed_bytes == null' \
		'.tcp.missed_bytes == '"$len"
	# (b) the segment carrying the second response's head: that exchange is lost,
	# the third resynchronises.
	line=$(tshark -o tcp.desegment_tcp_streams:FALSE -r "$base" -Y 'tcp.srcport == 8080 && http.response' -T fields -e frame.number \
		-e tcp.len 2>/dev/null | sed -n 2p)
	frame=${line%%$'\t'*}; len=$(cut -f2 <<<"$line")
	editcap "$base" "$FIX/http-hole-head.pcap" "$frame"
	meta http-hole-head "" "$J"'($h|length) == 3 and $h[0].error == null and $h[1].error.type == "half-connection" and $h[1].error.reason == "loss" and $h[1].request.path == "/file?n=20000" and $h[1].tcp.missed_bytes == '"$len"' and $h[2].error == null and $h[2].response.body_bytes == 300 and ([.[] | select(.error.type == "parser-error")] | length) == 0' \
		'.tcp.missed_bytes == '"$len"
	rm -f "$base"
}

fx_http_oneway_in() {
	# A one-sided capture: tcpdump -Q in on the server's interface sees the
	# client's packets only (no SYN-ACK, no response, no server FIN).  The
	# client's ACKs cover the server's ISN (the handshake completed), the
	# response bytes never captured (missed, reason loss) and the server's FIN
	# (no CloseWait).
	rm -f "$FIX/http-oneway-in.pcap" "$tmp/tcpdump.err"
	ip netns exec "$(ns_name server)" tcpdump -i s0 -Q in -s 0 -U --immediate-mode -n \
		-w "$FIX/http-oneway-in.pcap" 'tcp' 2>"$tmp/tcpdump.err" &
	TCPDUMP_PID=$!
	local i
	for i in $(seq 1 50); do
		grep -q "listening on" "$tmp/tcpdump.err" 2>/dev/null && break
		sleep 0.1
	done
	curlc http://$S:8000/index.html
	cap_stop
	meta http-oneway-in "" "$J"'($h|length) == 1 and $h[0].request.path == "/index.html" and $h[0].response == null and $h[0].error.type == "half-connection" and $h[0].error.reason == "loss" and $h[0].tcp.missed_bytes > 0 and ([.[] | select(.error.type == "tcp")] | length) == 0' \
		'.tcp.missed_bytes > 2000 and .tcp.SynSent == 0 and .tcp.CloseWait == 0 and .tcp.LastAck == 0'
}

all=$(declare -F | awk '$3 ~ /^fx_/ {print $3}')
if [ $# -gt 0 ]; then
	all=
	for n in "$@"; do all="$all fx_${n//-/_}"; done
fi
for f in $all; do
	echo "recording ${f#fx_}"
	$f
done
ls -l "$FIX"/*.pcap
