#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Records the golden capture fixtures from real traffic between network
# namespaces (run as root):
#
#   sudo tests/golden/record.sh            record every scenario
#   sudo tests/golden/record.sh NAME...    record the named scenarios only
#   tests/golden/record.sh --list          list the scenario names
#
# Topology, rebuilt fresh for every scenario (no neighbour cache, route, rule or
# ICMP rate-limit state carries over from one scenario to the next):
#
#   client c0 ---- r1 router r2 ---- s0 server
#   198.18.1.2/24   198.18.1.1        198.18.2.1   198.18.2.2/24
#   fd18:1::2/64    fd18:1::1         fd18:2::1    fd18:2::2/64
#
# Each scenario is a function sc_<name with - as _> that writes
# tests/golden/fixtures/<name>.pcap.  After recording, derive.py makes the
# link-type variants of tcp-refused, and gen-checks.py writes every fixture's
# checks (<name>.checks, and <name>.CASE.opts/.checks for further option sets:
# the replay format of tests/README.md), written by hand in gen-checks.py from
# what the traffic contains.  Then check the checks against Wireshark
# (check-checks.sh tshark-model.sh) and rewrite the exact outputs
# (tests/golden/run.sh --update; review the diff).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUTDIR="$HERE/fixtures"
PY=/usr/bin/python3   # the system python has scapy

# shellcheck source=../netns/lib.sh
. "$HERE/../netns/lib.sh"
ns_prefix "${FLT_REC_PREFIX:-flt-rec}"   # (override to keep parallel recorders apart)

WORK=$(mktemp -d /tmp/flt-rec.XXXXXX)
CAP_PID=
cleanup() {
	[ -n "$CAP_PID" ] && kill -INT "$CAP_PID" 2>/dev/null
	ns_teardown
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

C=198.18.1.2 R1=198.18.1.1 R2=198.18.2.1 S=198.18.2.2
C6=fd18:1::2 R16=fd18:1::1 R26=fd18:2::1 S6=fd18:2::2

log() { printf '%s\n' "$*" >&2; }
die() { log "record: $*"; exit 1; }


# ---------------------------------------------------------------- topology

topo() {
	local n
	for n in client router server; do
		ns_add $n || die "ns_add $n"
		# Quiet links: no router solicitations, no ICMP rate limit (a scenario
		# sends several errors to the same peer within a second).
		ns_exec $n sysctl -qw net.ipv6.conf.default.router_solicitations=0 \
			net.ipv6.conf.all.router_solicitations=0 \
			net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
	done
	# (lib.sh adds every address with nodad; ip warns about it for IPv4)
	ns_link client c0 $C/24,$C6/64 router r1 $R1/24,$R16/64 2> >(grep -v nodad >&2) || die "link c0"
	ns_link router r2 $R2/24,$R26/64 server s0 $S/24,$S6/64 2> >(grep -v nodad >&2) || die "link s0"
	ns_exec router sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip -n "$(ns_name client)" route add default via $R1
	ip -n "$(ns_name client)" -6 route add default via $R16
	ip -n "$(ns_name server)" route add default via $R2
	ip -n "$(ns_name server)" -6 route add default via $R26
	# Warm up: the first neighbour solicitations on a link that has just come
	# up can go unanswered for a second.  Ping end to end until both families
	# work, then forget the neighbours so every capture starts with a fresh
	# ARP / ND exchange.
	local i ok=
	for i in $(seq 1 20); do
		if ns_exec client ping -n -c 1 -W 1 $S >/dev/null 2>&1 &&
			ns_exec client ping -6 -n -c 1 -W 1 $S6 >/dev/null 2>&1; then
			ok=1; break
		fi
		sleep 0.2
	done
	[ -n "$ok" ] || die "topology: no end-to-end connectivity"
	for n in client router server; do ip -n "$(ns_name $n)" neigh flush all; done
	ip -n "$(ns_name router)" -6 neigh flush all
	ip -n "$(ns_name client)" -6 neigh flush all
	ip -n "$(ns_name server)" -6 neigh flush all
	RMAC=$(ns_exec router cat /sys/class/net/r1/address)
	CMAC=$(ns_exec client cat /sys/class/net/c0/address)
	export RMAC CMAC
}

# nft NS RULESET: load a ruleset into a namespace.
nft_load() { local ns=$1; shift; ns_exec "$ns" nft -f - <<<"$*" || die "nft in $ns"; }

# ---------------------------------------------------------------- capture

# cap_start NS IFACE FILTER...: tcpdump in the background, returns once it listens.
cap_start() {
	local ns=$1 ifc=$2; shift 2
	CAP_FILE="$WORK/cap.pcap"
	rm -f "$CAP_FILE" "$WORK/cap.err"
	ip netns exec "$(ns_name "$ns")" tcpdump -i "$ifc" -n -U --immediate-mode -Z root -w "$CAP_FILE" "$@" \
		2>"$WORK/cap.err" &
	CAP_PID=$!
	for _ in $(seq 1 50); do
		grep -q 'listening on' "$WORK/cap.err" 2>/dev/null && { sleep 0.2; return 0; }
		sleep 0.1
	done
	cat "$WORK/cap.err" >&2
	die "tcpdump on $ns/$ifc did not start"
}

# cap_stop NAME: stop tcpdump and keep its file as fixtures/NAME.pcap.
cap_stop() {
	local name=$1
	sleep 0.3
	kill -INT "$CAP_PID" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$CAP_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$CAP_PID" 2>/dev/null
	wait "$CAP_PID" 2>/dev/null
	CAP_PID=
	[ -s "$CAP_FILE" ] || die "$name: empty capture"
	mv "$CAP_FILE" "$OUTDIR/$name.pcap"
	log "  $name.pcap: $(tcpdump -r "$OUTDIR/$name.pcap" -n 2>/dev/null | wc -l) packets"
}

# Bounded client commands (every one has its own timeout as well).
in_client() { timeout 15 ip netns exec "$(ns_name client)" "$@"; }
in_server() { timeout 15 ip netns exec "$(ns_name server)" "$@"; }
curl_c() { in_client curl -s -o /dev/null --max-time 6 "$@"; true; }

V4F='arp or ip'          # capture filters: no IPv6 link noise in v4 fixtures
V6F='ip6 and not ip6 proto 0'   # no MLD reports (they carry a hop-by-hop header)

# A python server in the server namespace, killed at teardown.
py_server() { ns_bg server timeout 20 $PY -c "$1"; ns_wait_port server "$2" || die "server on $2"; }

http_server() {
	mkdir -p "$WORK/www"; echo "hello from the golden server" >"$WORK/www/index.html"
	ns_bg server timeout 30 $PY -m http.server 8080 --bind :: --directory "$WORK/www" >"$WORK/http.log" 2>&1
	ns_wait_port server 8080 || die "http.server"
}

# ---------------------------------------------------------------- TCP

sc_tcp_healthy() {
	http_server
	cap_start client c0 "$V4F"
	curl_c http://$S:8080/
	curl_c http://$S:8080/index.html
	in_client ping -n -c 2 -i 0.2 -W 2 $S >/dev/null
	cap_stop tcp-healthy
}

sc_tcp_refused() {
	cap_start client c0 "$V4F"
	curl_c http://$S:9999/
	cap_stop tcp-refused
}

sc_tcp_refused_v6() {
	cap_start client c0 "$V6F"
	curl_c "http://[$S6]:9999/"
	cap_stop tcp-refused-v6
}

sc_tcp_syn_retry() {
	http_server
	# numgen counts the SYNs that reach the rule: only the first (0) is dropped.
	nft_load router 'table ip flt { chain filt { type filter hook forward priority 0; policy accept;
		ip daddr '$S' tcp dport 8080 tcp flags & (syn|ack) == syn numgen inc mod 1000 == 0 counter drop
	}; }'
	cap_start client c0 "$V4F"
	curl_c http://$S:8080/
	cap_stop tcp-syn-retry
}

sc_tcp_syn_timeout() {
	http_server
	nft_load router 'table ip flt { chain filt { type filter hook forward priority 0; policy accept;
		ip daddr '$S' tcp dport 8080 tcp flags & (syn|ack) == syn counter drop
	}; }'
	cap_start client c0 "$V4F"
	curl_c --connect-timeout 3.5 http://$S:8080/
	cap_stop tcp-syn-timeout
}

sc_tcp_reset() {
	py_server '
import socket, struct
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 8080)); l.listen(1); l.settimeout(15)
c, _ = l.accept(); c.settimeout(5); c.recv(4096)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()' 8080
	cap_start client c0 "$V4F"
	curl_c http://$S:8080/
	cap_stop tcp-reset
}

# Reset twice: the server aborts (SO_LINGER 0) after the request; the router
# drops that first RST, so the client, still connected, sends more, and the
# server's stack answers it with a second RST.  Captured at the server.
# tcp-reset-late: the second segment 3 s later (longer than a 2000 ms timeout).
reset_twice() {
	local name=$1 pause=$2
	py_server '
import socket, struct
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 8080)); l.listen(1); l.settimeout(15)
c, _ = l.accept(); c.settimeout(5); c.recv(4096)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()' 8080
	nft_load router 'table ip flt { chain filt { type filter hook forward priority 0; policy accept;
		ip saddr '$S' tcp sport 8080 tcp flags & rst == rst numgen inc mod 1000 == 0 counter drop
	}; }'
	cap_start server s0 "$V4F"
	in_client $PY -c '
import socket, time
s = socket.create_connection(("'$S'", 8080), timeout=5)
s.sendall(b"first\n"); time.sleep('$pause')
try:
    s.sendall(b"second\n"); print("client got", s.recv(4096))
except OSError as e:
    print("client error", e)
s.close()' >"$WORK/client.log" 2>&1
	cap_stop "$name"
	log "  client: $(cat "$WORK/client.log")"
}

sc_tcp_reset_twice() { reset_twice tcp-reset-twice 0.5; }
sc_tcp_reset_late() { reset_twice tcp-reset-late 3; }

# Reset by both sides: the client aborts (SO_LINGER 0) 0.3 s after its
# request; the router drops the client's RST, so the server, still connected,
# aborts too 0.6 s after the request.  Captured at the client: one RST each way.
sc_tcp_reset_both() {
	py_server '
import socket, struct, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 8080)); l.listen(1); l.settimeout(15)
c, _ = l.accept(); c.settimeout(5); c.recv(4096); time.sleep(0.6)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()' 8080
	nft_load router 'table ip flt { chain filt { type filter hook forward priority 0; policy accept;
		ip daddr '$S' tcp dport 8080 tcp flags & rst == rst counter drop
	}; }'
	cap_start client c0 "$V4F"
	in_client $PY -c '
import socket, struct, time
s = socket.create_connection(("'$S'", 8080), timeout=5)
s.sendall(b"hello\n"); time.sleep(0.3)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' >"$WORK/client.log" 2>&1
	sleep 0.8
	cap_stop tcp-reset-both
}

# The client sends, then shuts down its side; the server reads to EOF and
# then stays silent with the socket open.  A ping 2.6 s later moves packet
# time past a 2000 ms timeout.
sc_tcp_close_wait() {
	py_server '
import socket, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 8080)); l.listen(1); l.settimeout(15)
c, _ = l.accept(); c.settimeout(5)
while c.recv(4096): pass
time.sleep(15)' 8080
	cap_start client c0 "$V4F"
	in_client $PY -c '
import socket, time
s = socket.create_connection(("'$S'", 8080), timeout=5)
s.sendall(b"hello, are you there?\n"); s.shutdown(socket.SHUT_WR)
time.sleep(2.6)'
	in_client ping -n -c 1 -W 2 $S >/dev/null
	cap_stop tcp-close-wait
}

# Request, response, the client closes, the server closes; the router drops
# every pure ACK the client sends after its FIN (ct mark set by the FIN), so
# the server's FIN is never acknowledged and is retransmitted.  Recorded on the
# router's server-side interface, where the final ACK never appears.
sc_tcp_last_ack() {
	py_server '
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 8080)); l.listen(1); l.settimeout(15)
c, _ = l.accept(); c.settimeout(5)
c.recv(4096); c.sendall(b"pong\n")
while c.recv(4096): pass
c.close()' 8080
	nft_load router 'table ip flt { chain filt { type filter hook forward priority 0; policy accept;
		ip saddr '$C' tcp dport 8080 tcp flags & fin == fin ct mark set 1
		ip saddr '$C' tcp dport 8080 ct mark 1 tcp flags == ack counter drop
	}; }'
	cap_start router r2 "$V4F"
	in_client $PY -c '
import socket
s = socket.create_connection(("'$S'", 8080), timeout=5)
s.sendall(b"ping\n"); s.recv(4096); s.close()'
	sleep 4
	cap_stop tcp-last-ack
}

# One HTTP/1.1 keep-alive connection idle for 15 s between two requests (longer
# than the default 10 s tap.tcpStreamChannelTimeoutMs), then a normal close by
# the client: no entry may come from the idle gap.
sc_tcp_keepalive_idle() {
	ns_bg server timeout 40 $PY -c '
import http.server
class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        b = b"hello from the golden server\n"
        self.send_response(200); self.send_header("Content-Length", str(len(b)))
        self.end_headers(); self.wfile.write(b)
http.server.HTTPServer(("0.0.0.0", 8080), H).serve_forever()' >/dev/null 2>&1
	ns_wait_port server 8080 || die "keep-alive server"
	cap_start client c0 "$V4F"
	timeout 30 ip netns exec "$(ns_name client)" $PY -c '
import http.client, time
c = http.client.HTTPConnection("'$S'", 8080, timeout=5)
c.request("GET", "/first"); c.getresponse().read()
time.sleep(15)
c.request("GET", "/second"); c.getresponse().read()
c.close()'
	sleep 0.5
	cap_stop tcp-keepalive-idle
	# The client's packets only (as tcpdump -Q out on the client): no SYN-ACK,
	# no server FIN; the client's ACKs are the only evidence of the server.
	tcpdump -r "$OUTDIR/tcp-keepalive-idle.pcap" -w "$OUTDIR/tcp-keepalive-idle-oneway.pcap" \
		"arp or src host $C" 2>/dev/null || die "oneway"
}

# Forged RSTs (scapy on the router, spoofing the server) against a real
# connection.  The router drops the server's first SYN-ACK, so the client sits
# in SYN-SENT for a second; meanwhile an RST,ACK with a wrong ACK number and a
# bare RST arrive (RFC 9293 3.10.7.3: both unacceptable in SYN-SENT, the
# client's stack ignores them) and the handshake then completes.  The
# stale-timestamp FIN and RST are their own scenarios (tcp-paws-fin, -rst).
sc_tcp_rst_forged() {
	py_server '
import socket, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 8080)); l.listen(1); l.settimeout(15)
c, _ = l.accept(); c.settimeout(5)
c.recv(4096); time.sleep(1); c.sendall(b"pong\n")
try:
    while c.recv(4096): pass
except OSError: pass
c.close()' 8080
	nft_load router 'table ip flt { chain filt { type filter hook forward priority 0; policy accept;
		ip saddr '$S' tcp sport 8080 tcp flags & (syn|ack) == (syn|ack) numgen inc mod 1000 == 0 counter drop
	}; }'
	ns_bg router timeout 20 $PY -c '
import sys, time
from scapy.all import IP, TCP, send, sniff, conf
conf.verb = 0
C, S = "'$C'", "'$S'"
syn = sniff(iface="r1", count=1, timeout=10,
            filter="tcp and src host %s and dst port 8080 and tcp[tcpflags] == tcp-syn" % C)
if not syn: sys.exit(1)
t = syn[0][TCP]
time.sleep(0.2)
send(IP(src=S, dst=C)/TCP(sport=8080, dport=t.sport, flags="RA", seq=0, ack=(t.seq + 1 + 12345) & 0xffffffff))
send(IP(src=S, dst=C)/TCP(sport=8080, dport=t.sport, flags="R", seq=0))
' >"$WORK/inject.log" 2>&1
	sleep 4     # scapy takes a while to import and start sniffing
	cap_start client c0 "$V4F"
	in_client $PY -c '
import socket, time
s = socket.create_connection(("'$S'", 8080), timeout=5)
time.sleep(0.3); s.sendall(b"ping\n")
try:
    print("client got", s.recv(4096))
except OSError as e:
    print("client error", e)
s.close()' >"$WORK/client.log" 2>&1
	sleep 1.5
	cap_stop tcp-rst-forged
	log "  client: $(cat "$WORK/client.log"), injector: $(cat "$WORK/inject.log")"
}

# A stale-timestamp segment (RFC 7323 5.3, PAWS) forged by scapy on the
# router, spoofing the server, against a real connection: in-window sequence
# numbers (exactly the client's RCV.NXT, acking the client's SND.NXT), a TSval
# 100000 older than the server's last one.  FLAGS FA: Linux drops the FIN and
# answers with a duplicate ACK; the connection goes on and closes normally.
# FLAGS RA: Linux accepts the RST even though it fails PAWS
# (tcp_validate_incoming: "Reset is accepted even if it did not pass PAWS");
# the server's next segment then meets a closed socket and draws the client
# kernel's RST.  The client logs `ss` after the injection and what recv gave.
paws_stale() {
	local flags=$1 name=$2
	py_server '
import socket, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 8080)); l.listen(1); l.settimeout(15)
c, _ = l.accept(); c.settimeout(5)
c.recv(4096); time.sleep(1.2)
try:
    c.sendall(b"pong\n")
    while c.recv(4096): pass
except OSError: pass
c.close()' 8080
	rm -f "$WORK/ready"
	ns_bg router timeout 25 $PY -c '
import sys, time
from scapy.all import IP, TCP, send, AsyncSniffer, conf
conf.verb = 0
C, S, FLAGS = "'$C'", "'$S'", "'"$flags"'"
last = {}
def tsval(t):
    for k, v in t.options:
        if k == "Timestamp": return v
    return None
def note(p):
    if IP not in p or TCP not in p: return
    side = "c" if p[IP].src == C else "s"
    t = p[TCP]
    last[side] = (t.sport, t.seq, t.ack, len(t.payload), tsval(t))
    if side == "c" and len(t.payload): last["data"] = time.time()
sn = AsyncSniffer(iface="r1", filter="tcp port 8080", prn=note, store=False)
sn.start(); time.sleep(0.5)
open("'"$WORK/ready"'", "w").close()
for _ in range(200):
    if "data" in last: break
    time.sleep(0.05)
else: sys.exit("no client data seen")
time.sleep(0.3)
cport, cseq, cack, clen, cts = last["c"]
sts = last["s"][4]
stale = (sts[0] - 100000) & 0xffffffff
send(IP(src=S, dst=C) / TCP(sport=8080, dport=cport, flags=FLAGS, seq=cack, ack=(cseq + clen) & 0xffffffff,
     window=502, options=[("NOP", None), ("NOP", None), ("Timestamp", (stale, cts[0]))]))
print("sent %s seq %d ack %d TSval %d (server last %d)" % (FLAGS, cack, cseq + clen, stale, sts[0]))
time.sleep(2); sn.stop()
' >"$WORK/inject.log" 2>&1
	for _ in $(seq 1 150); do [ -e "$WORK/ready" ] && break; sleep 0.1; done
	[ -e "$WORK/ready" ] || die "$name: injector did not start: $(cat "$WORK/inject.log")"
	cap_start client c0 "$V4F"
	in_client $PY -c '
import socket, subprocess, time
s = socket.create_connection(("'$S'", 8080), timeout=5)
s.sendall(b"ping\n"); time.sleep(0.9)
ss = subprocess.run(["ss", "-Htn", "dport = :8080"], capture_output=True, text=True).stdout.split()
print("ss after the injection:", ss[0] if ss else "no socket")
try:
    print("client got", s.recv(4096))
except OSError as e:
    print("client error", e)
s.close()' >"$WORK/client.log" 2>&1
	sleep 1
	cap_stop "$name"
	log "  client: $(tr '\n' ' ' <"$WORK/client.log")"
	log "  injector: $(cat "$WORK/inject.log")"
}
sc_tcp_paws_fin() { paws_stale FA tcp-paws-fin; }
sc_tcp_paws_rst() { paws_stale RA tcp-paws-rst; }

# A SYN nobody's socket sent (scapy from a raw socket in the client): the
# server answers SYN-ACK, the client kernel, knowing no such connection,
# answers RST.  Not a SynSent timeout, not a refusal.
sc_tcp_syn_client_rst() {
	py_server '
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 8080)); l.listen(1); l.settimeout(8)
try: l.accept()
except OSError: pass' 8080
	cap_start client c0 "$V4F"
	in_client $PY -c '
import time
from scapy.all import IP, TCP, send, conf
conf.verb = 0
send(IP(src="'$C'", dst="'$S'") / TCP(sport=40100, dport=8080, flags="S", seq=1000000, window=64240,
     options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (12345, 0)), ("NOP", None), ("WScale", 7)]))
time.sleep(1)'
	cap_stop tcp-syn-client-rst
}

# A SYN with the 4-tuple of an ESTABLISHED connection (scapy, in the client,
# after the client's request): the server's Linux answers with a challenge ACK
# (RFC 5961 4.2) and the connection goes on: response, normal close.  The
# -cut variant starts at that SYN (as a capture started late would): its only
# answer is the bare ACK.
sc_tcp_syn_challenge_ack() {
	py_server '
import socket, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 8080)); l.listen(1); l.settimeout(15)
c, _ = l.accept(); c.settimeout(5)
c.recv(4096); time.sleep(1.2); c.sendall(b"pong\n")
while c.recv(4096): pass
c.close()' 8080
	cap_start client c0 "$V4F"
	timeout 20 ip netns exec "$(ns_name client)" $PY -c '
import socket, time
from scapy.all import IP, TCP, send, conf
conf.verb = 0
s = socket.create_connection(("'$S'", 8080), timeout=5)
s.sendall(b"ping\n"); time.sleep(0.3)
send(IP(src="'$C'", dst="'$S'") / TCP(sport=s.getsockname()[1], dport=8080, flags="S", seq=123456789,
     window=64240, options=[("MSS", 1460)]))
try:
    print("client got", s.recv(4096))
except OSError as e:
    print("client error", e)
s.close()' >"$WORK/client.log" 2>&1
	sleep 0.5
	cap_stop tcp-syn-challenge-ack
	log "  client: $(cat "$WORK/client.log")"
	$PY -c '
import sys
from scapy.all import rdpcap, wrpcap, TCP
p = rdpcap(sys.argv[1])
i = next(i for i, x in enumerate(p) if TCP in x and x[TCP].flags == "S" and x[TCP].seq == 123456789)
wrpcap(sys.argv[2], p[i:])' "$OUTDIR/tcp-syn-challenge-ack.pcap" "$OUTDIR/tcp-syn-challenge-ack-cut.pcap" ||
		die "challenge-ack cut"
}

# ---------------------------------------------------------------- ICMP

ICMP4_REJECTS="net-unreachable host-unreachable prot-unreachable port-unreachable net-prohibited host-prohibited admin-prohibited"
ICMP6_REJECTS="no-route admin-prohibited addr-unreachable port-unreachable policy-fail reject-route"

# nft reject on the router for TCP to the server's port 8080, triggered by curl.
reject4() {
	nft_load router 'table ip flt { chain filt { type filter hook forward priority 0; policy accept;
		ip daddr '$S' tcp dport 8080 reject with icmp type '$1'
	}; }'
	cap_start client c0 "$V4F"
	curl_c --connect-timeout 3 http://$S:8080/
	cap_stop "icmp-reject-$1"
}
reject6() {
	nft_load router 'table ip6 flt { chain filt { type filter hook forward priority 0; policy accept;
		ip6 daddr '$S6' tcp dport 8080 reject with icmpv6 type '$1'
	}; }'
	cap_start client c0 "$V6F"
	curl_c --connect-timeout 3 "http://[$S6]:8080/"
	cap_stop "icmp-reject-$1-v6"
}
for t in $ICMP4_REJECTS; do eval "sc_icmp_reject_${t//-/_}() { reject4 $t; }"; done
for t in $ICMP6_REJECTS; do eval "sc_icmp_reject_${t//-/_}_v6() { reject6 $t; }"; done

# Port unreachable for UDP: a DNS query rejected on the router.
sc_icmp_reject_port_unreachable_udp() {
	nft_load router 'table ip flt { chain filt { type filter hook forward priority 0; policy accept;
		ip daddr '$S' udp dport 53 reject with icmp type port-unreachable
	}; }'
	cap_start client c0 "$V4F"
	in_client dig +tries=1 +time=2 @$S example.test A >/dev/null
	cap_stop icmp-reject-port-unreachable-udp
}
sc_icmp_reject_port_unreachable_udp_v6() {
	nft_load router 'table ip6 flt { chain filt { type filter hook forward priority 0; policy accept;
		ip6 daddr '$S6' udp dport 53 reject with icmpv6 type port-unreachable
	}; }'
	cap_start client c0 "$V6F"
	in_client dig +tries=1 +time=2 @$S6 example.test AAAA >/dev/null
	cap_stop icmp-reject-port-unreachable-udp-v6
}

# route TYPE FAMILY: an unreachable/prohibit route on the router, hit by ping and curl.
route_type() {
	local type=$1 v=$2 name=route-$1
	if [ "$v" = 6 ]; then
		ip -n "$(ns_name router)" -6 route add "$type" fd18:9::/64
		cap_start client c0 "$V6F"
		in_client ping -6 -n -c 1 -W 2 fd18:9::1 >/dev/null
		curl_c --connect-timeout 3 "http://[fd18:9::1]:80/"
		name=$name-v6
	else
		ip -n "$(ns_name router)" route add "$type" 198.18.9.0/24
		cap_start client c0 "$V4F"
		in_client ping -n -c 1 -W 2 198.18.9.1 >/dev/null
		curl_c --connect-timeout 3 http://198.18.9.1:80/
	fi
	cap_stop "$name"
}
sc_route_unreachable() { route_type unreachable 4; }
sc_route_unreachable_v6() { route_type unreachable 6; }
sc_route_prohibit() { route_type prohibit 4; }
sc_route_prohibit_v6() { route_type prohibit 6; }

# The router has only its connected routes: 198.18.8.0/24 and fd18:8::/64 are nowhere.
sc_route_missing() {
	cap_start client c0 "$V4F"
	in_client ping -n -c 1 -W 2 198.18.8.1 >/dev/null
	curl_c --connect-timeout 3 http://198.18.8.1:80/
	cap_stop route-missing
}
sc_route_missing_v6() {
	cap_start client c0 "$V6F"
	in_client ping -6 -n -c 1 -W 2 fd18:8::1 >/dev/null
	curl_c --connect-timeout 3 "http://[fd18:8::1]:80/"
	cap_stop route-missing-v6
}

# traceroute (UDP probes, TTL 1 and 2: time exceeded from the router, port
# unreachable from the server) and a ping with TTL 1.
sc_ttl_exceeded() {
	cap_start client c0 "$V4F"
	in_client traceroute -n -q 1 -m 2 -w 2 -N 1 $S >/dev/null
	in_client ping -n -c 1 -t 1 -W 2 $S >/dev/null
	cap_stop ttl-exceeded
}
sc_ttl_exceeded_v6() {
	cap_start client c0 "$V6F"
	in_client traceroute -6 -n -q 1 -m 2 -w 2 -N 1 $S6 >/dev/null
	in_client ping -6 -n -c 1 -t 1 -W 2 $S6 >/dev/null
	cap_stop ttl-exceeded-v6
}

set_mtu() { ip -n "$(ns_name router)" link set r2 mtu "$1"; ip -n "$(ns_name server)" link set s0 mtu "$1"; }

sc_mtu() {
	set_mtu 1000
	cap_start client c0 "$V4F"
	in_client ping -n -c 1 -M do -s 1400 -W 2 $S >/dev/null
	cap_stop mtu
}
sc_mtu_v6() {
	set_mtu 1280
	cap_start client c0 "$V6F"
	in_client ping -6 -n -c 1 -M do -s 1400 -W 2 $S6 >/dev/null
	cap_stop mtu-v6
}

sc_dns_no_server() {
	cap_start client c0 "$V4F"
	in_client dig +tries=1 +time=2 @$S example.test A >/dev/null
	cap_stop dns-no-server
}

# An address on the server's subnet that nobody has: the router's ARP / ND
# fails after about 3 s and every queued packet gets an ICMP error.
sc_host_unreachable() {
	cap_start client c0 "$V4F"
	in_client ping -n -c 1 -W 6 198.18.2.99 >/dev/null & local p=$!
	curl_c --connect-timeout 6 http://198.18.2.99:8080/
	wait $p
	cap_stop host-unreachable
}
sc_host_unreachable_v6() {
	cap_start client c0 "$V6F"
	in_client ping -6 -n -c 1 -W 6 fd18:2::99 >/dev/null & local p=$!
	curl_c --connect-timeout 6 "http://[fd18:2::99]:8080/"
	wait $p
	cap_stop host-unreachable-v6
}

# ---------------------------------------------------------------- ND, redirects

# On the client link, seen from the router: the client's router solicitation
# (link bounced with solicitations on), a router advertisement sent by scapy
# from the router's link-local address, neighbour solicitation/advertisement
# and an echo.
sc_icmpv6_nd() {
	ns_exec client sysctl -qw net.ipv6.conf.c0.router_solicitations=1 net.ipv6.conf.c0.accept_ra=1 \
		net.ipv6.conf.c0.keep_addr_on_down=1
	ip -n "$(ns_name router)" -6 neigh flush dev r1
	cap_start router r1 ip6
	ip -n "$(ns_name client)" link set c0 down
	ip -n "$(ns_name client)" link set c0 up
	sleep 1.5
	ns_exec router timeout 10 $PY -c '
import os
from scapy.all import *
conf.verb = 0
src = [x[0] for x in in6_getifaddr() if x[2] == "r1" and x[0].startswith("fe80")][0]
sendp(Ether(dst="33:33:00:00:00:01", src=get_if_hwaddr("r1")) /
      IPv6(src=src, dst="ff02::1", hlim=255) /
      ICMPv6ND_RA(routerlifetime=0, reachabletime=0, retranstimer=0) /
      ICMPv6NDOptSrcLLAddr(lladdr=get_if_hwaddr("r1")) /
      ICMPv6NDOptMTU(mtu=1500) /
      ICMPv6NDOptPrefixInfo(prefix="fd18:1::", prefixlen=64, L=1, A=0), iface="r1")'
	in_client ping -6 -n -c 1 -W 2 $R16 >/dev/null
	cap_stop icmpv6-nd
}

# Redirects: the router's route to 198.18.7.0/24 (fd18:7::/64) goes back out
# of the interface the packet came in on, to a gateway on the client's own
# link (a second address of the client: 198.18.1.3, fe80::3), so the router
# forwards the packet and tells the client to use that gateway directly.
sc_redirect() {
	ip -n "$(ns_name client)" addr add 198.18.1.3/24 dev c0
	ip -n "$(ns_name router)" route add 198.18.7.0/24 via 198.18.1.3
	ns_exec router sysctl -qw net.ipv4.conf.all.send_redirects=1 net.ipv4.conf.r1.send_redirects=1
	cap_start client c0 "$V4F"
	in_client ping -n -c 1 -W 1 198.18.7.1 >/dev/null
	cap_stop redirect
}
sc_redirect_v6() {
	ip -n "$(ns_name client)" addr add fe80::3/64 dev c0 nodad
	ip -n "$(ns_name router)" -6 route add fd18:7::/64 via fe80::3 dev r1
	cap_start client c0 "$V6F"
	in_client ping -6 -n -c 1 -W 1 fd18:7::1 >/dev/null
	cap_stop redirect-v6
}

# Parameter problem, answered by the kernel to packets scapy sends: IPv4 with
# a malformed record-route option (length 2; the router answers), IPv6 with an
# unknown next header (code 1) and with an unknown destination option whose
# type says "discard and report" (0x8f, code 2; the server answers both).
sc_param_problem() {
	cap_start client c0 "$V4F"
	in_client $PY -c '
import os
from scapy.all import *
conf.verb = 0
sendp(Ether(src=os.environ["CMAC"], dst=os.environ["RMAC"]) / IP(src="'$C'", dst="'$S'", options=[IPOption(b"\x07\x02")]) / UDP(sport=40000, dport=33333) / b"x", iface="c0")
import time; time.sleep(0.5)'
	cap_stop param-problem
}
sc_param_problem_v6() {
	cap_start client c0 "$V6F"
	in_client $PY -c '
import os
from scapy.all import *
conf.verb = 0
sendp(Ether(src=os.environ["CMAC"], dst=os.environ["RMAC"]) / IPv6(src="'$C6'", dst="'$S6'", nh=253) / Raw(b"\x00" * 8), iface="c0")
sendp(Ether(src=os.environ["CMAC"], dst=os.environ["RMAC"]) / IPv6(src="'$C6'", dst="'$S6'") / IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=0x8f, optdata=b"\x00" * 4)]) / UDP(sport=40000, dport=33333) / b"x", iface="c0")
import time; time.sleep(0.5)'
	cap_stop param-problem-v6
}

# Fragment reassembly time exceeded: scapy sends only the first fragment of
# an echo request; the server (reassembly timeout set to 1 s) gives up and
# answers with Time Exceeded code 1.
sc_frag_timeout() {
	ns_exec server sysctl -qw net.ipv4.ipfrag_time=1
	cap_start client c0 "$V4F"
	in_client $PY -c '
import os, time
from scapy.all import *
conf.verb = 0
frags = fragment(IP(src="'$C'", dst="'$S'", id=0x4242) / ICMP(id=0x4242, seq=1) / (b"f" * 1800), fragsize=1000)
sendp(Ether(src=os.environ["CMAC"], dst=os.environ["RMAC"]) / frags[0], iface="c0")
time.sleep(2.5)'
	cap_stop frag-timeout
}
sc_frag_timeout_v6() {
	ns_exec server sysctl -qw net.ipv6.ip6frag_time=1
	cap_start client c0 "$V6F"
	in_client $PY -c '
import os, time
from scapy.all import *
conf.verb = 0
whole = raw(IPv6(src="'$C6'", dst="'$S6'") / ICMPv6EchoRequest(id=0x4242, seq=1, data=b"f" * 1800))
first = IPv6(src="'$C6'", dst="'$S6'") / IPv6ExtHdrFragment(id=0x4242, m=1, offset=0, nh=58) / Raw(whole[40:40 + 1000])
sendp(Ether(src=os.environ["CMAC"], dst=os.environ["RMAC"]) / first, iface="c0")
time.sleep(2.5)'
	cap_stop frag-timeout-v6
}

# ---------------------------------------------------------------- IP layer

# ping -R: record-route option in the request and the reply.
sc_ip_options() {
	cap_start client c0 "$V4F"
	in_client ping -n -c 1 -R -W 2 $S >/dev/null
	cap_stop ip-options
}

# ping -s 3000 without DF: the client fragments at 1500, the server's reply
# is fragmented at the 1000-byte MTU of its link.
sc_ip_fragments() {
	set_mtu 1000
	cap_start client c0 "$V4F"
	in_client ping -n -c 1 -M dont -s 3000 -W 2 $S >/dev/null
	cap_stop ip-fragments
}

# IPv6 extension headers: a fragmented ping6 (fragment header) and echo
# requests with a hop-by-hop and a destination options header (scapy), which
# the server's kernel answers.
sc_ipv6_ext() {
	cap_start client c0 ip6
	in_client ping -6 -n -c 1 -s 3000 -W 2 $S6 >/dev/null
	in_client $PY -c '
import os
from scapy.all import *
conf.verb = 0
sendp(Ether(src=os.environ["CMAC"], dst=os.environ["RMAC"]) / IPv6(src="'$C6'", dst="'$S6'") / IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\x00"*4)]) / ICMPv6EchoRequest(id=0x4242, seq=1, data=b"hop-by-hop"), iface="c0")
sendp(Ether(src=os.environ["CMAC"], dst=os.environ["RMAC"]) / IPv6(src="'$C6'", dst="'$S6'") / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\x00"*4)]) / ICMPv6EchoRequest(id=0x4242, seq=2, data=b"dest-opts"), iface="c0")
import time; time.sleep(0.5)'
	cap_stop ipv6-ext
}

# ---------------------------------------------------------------- fragments and tunnels

# dnsmasq on the server answering a TXT query with a ~3000-byte record: the
# answer leaves the server in fragments (server link MTU 1280) and the
# client's dig (+bufsize=4096) gets it whole.  Faultline must reassemble it.
dns_big_server() {
	local i txt=
	for i in $(seq 1 12); do txt="$txt,\"$(printf 'fragment%02d-%0240d' "$i" 0)\""; done
	ns_bg server timeout 20 dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts \
		--bind-interfaces --listen-address=$S --listen-address=$S6 --port=53 \
		--edns-packet-max=4096 --user=root --pid-file="$WORK/dnsmasq.pid" \
		"--txt-record=big.test$txt" 2>"$WORK/dnsmasq.err"
	for _ in $(seq 1 50); do
		ns_exec server ss -lun | grep -q ":53 " && return 0
		sleep 0.1
	done
	cat "$WORK/dnsmasq.err" >&2
	die "dnsmasq did not start"
}
sc_dns_frag() {
	set_mtu 1280
	dns_big_server
	cap_start client c0 "$V4F"
	in_client dig +tries=1 +time=2 +bufsize=4096 +ignore @$S big.test TXT >/dev/null
	cap_stop dns-frag
}
sc_dns_frag_v6() {
	set_mtu 1280
	dns_big_server
	cap_start client c0 "$V6F"
	in_client dig +tries=1 +time=2 +bufsize=4096 +ignore @$S6 big.test TXT >/dev/null
	cap_stop dns-frag-v6
}

# A VXLAN overlay (VNI 42, UDP 4789) between the client and the server
# across the router: inner 198.19.42.1 -> 198.19.42.2.  A connect to a
# closed port (refused) and an HTTP GET, recorded on the underlay (c0).
vxlan_pair() {
	local port=$1
	ip -n "$(ns_name client)" link add vx0 type vxlan id 42 local $C remote $S dstport "$port"
	ip -n "$(ns_name server)" link add vx0 type vxlan id 42 local $S remote $C dstport "$port"
	ip -n "$(ns_name client)" addr add 198.19.42.1/24 dev vx0
	ip -n "$(ns_name server)" addr add 198.19.42.2/24 dev vx0
	ip -n "$(ns_name client)" link set vx0 up
	ip -n "$(ns_name server)" link set vx0 up
	for _ in $(seq 1 20); do
		ns_exec client ping -n -c 1 -W 1 198.19.42.2 >/dev/null 2>&1 && break
	done
	ip -n "$(ns_name client)" neigh flush dev vx0
	ip -n "$(ns_name server)" neigh flush dev vx0
}
sc_vxlan() {
	http_server
	vxlan_pair 4789
	cap_start client c0 "$V4F"
	curl_c http://198.19.42.2:9999/
	curl_c http://198.19.42.2:8080/
	cap_stop vxlan
}
# The same over the Linux kernel's old default port 8472 (flannel uses it).
sc_vxlan_8472() {
	vxlan_pair 8472
	cap_start client c0 "$V4F"
	curl_c http://198.19.42.2:9999/
	cap_stop vxlan-8472
}

# An ICMPv6 error whose quote cuts an extension header: a UDP datagram to a
# closed port behind a 1336-byte destination options header (scapy: no tool
# sends one); the server's port unreachable quotes only what fits in 1280
# bytes, so the quoted destination options header is cut before the UDP one.
sc_icmp6_cut_exthdr() {
	cap_start client c0 "$V6F"
	in_client $PY -c '
import os, time
from scapy.all import *
conf.verb = 0
opts = [HBHOptUnknown(otype=0x1e, optdata=b"o" * 220) for _ in range(6)]  # skippable, unknown
p = IPv6(src="'$C6'", dst="'$S6'") / IPv6ExtHdrDestOpt(options=opts) / UDP(sport=40500, dport=33434) / b"cut"
sendp(Ether(src=os.environ["CMAC"], dst=os.environ["RMAC"]) / p, iface="c0")
time.sleep(0.5)'
	cap_stop icmp6-cut-exthdr
}

# ---------------------------------------------------------------- link types

# tcp-refused recorded on "any" in the client namespace: Linux cooked v2 and v1.
sc_tcp_refused_sll2() {
	cap_start client any -y LINUX_SLL2 "tcp port 9999"
	curl_c http://$S:9999/
	cap_stop tcp-refused-sll2
}
sc_tcp_refused_sll() {
	cap_start client any -y LINUX_SLL "tcp port 9999"
	curl_c http://$S:9999/
	cap_stop tcp-refused-sll
}

# ---------------------------------------------------------------- main

ALL=$(declare -F | awk '{print $3}' | sed -n 's/^sc_//p' | tr _ -)

run_one() {
	local name=$1 fn=sc_${1//-/_}
	declare -F "$fn" >/dev/null || die "no scenario $name (try --list)"
	log "scenario $name"
	topo
	"$fn"
	ns_teardown
}

if [ "${1:-}" = --list ]; then echo "$ALL"; exit 0; fi
[ "$(id -u)" = 0 ] || die "must run as root (network namespaces, tcpdump)"
for t in ip nft tcpdump curl dig traceroute ping editcap dnsmasq $PY; do
	command -v "$t" >/dev/null || die "missing tool: $t"
done
mkdir -p "$OUTDIR"
names=("$@")
[ ${#names[@]} -gt 0 ] || mapfile -t names <<<"$ALL"
for n in "${names[@]}"; do run_one "$n"; done
if [ -s "$OUTDIR/tcp-refused.pcap" ] && [ -s "$OUTDIR/tcp-refused-v6.pcap" ]; then
	$PY "$HERE/derive.py" "$OUTDIR" || die "derive.py failed"
fi
$PY "$HERE/gen-checks.py" "$OUTDIR" || die "gen-checks.py failed"
log "record: done; next: tests/golden/check-checks.sh tests/golden/tshark-model.sh, then tests/golden/run.sh --update"
