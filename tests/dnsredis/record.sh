#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Record the DNS and Redis fixtures from real clients and servers (needs root):
# dig against dnsmasq, redis-cli against redis-server, and a small fake Redis
# server for a reply cut short, in two network namespaces joined by veth.
#   tests/dnsredis/record.sh            writes tests/dnsredis/fixtures/*.pcap
#   tests/dnsredis/record.sh NAME...    writes only those (the scenarios all run)
# The pcaps are committed; run.sh only reads them.  Re-record when the
# scenarios change, then check that each fixture's NAME[.CASE].checks (written by
# hand, replay format: tests/README.md) still describe them, and rewrite the
# exact outputs with tests/dnsredis/run.sh --update (review the diff).
set -eu
cd "$(dirname "$0")"
HERE=$PWD
OUT=$HERE/fixtures
. ../netns/lib.sh

[ "$(id -u)" -eq 0 ] || { echo "record.sh needs root" >&2; exit 1; }
for tool in dig dnsmasq redis-server redis-cli tcpdump python3; do
	command -v "$tool" >/dev/null || { echo "record.sh needs $tool" >&2; exit 1; }
done

TMP=$(mktemp -d)
# Without set -e: a kill of a process already gone must not cut the teardown short.
cleanup() { set +e; [ -n "${TCPDUMP_PID:-}" ] && kill "$TCPDUMP_PID" 2>/dev/null; ns_teardown; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM

ns_prefix flt-dr
ns_add client
ns_add server
ns_link client c0 198.18.4.1/24,fd18:4::1/64 server s0 198.18.4.2/24,fd18:4::2/64
# A second address on the server host where nothing listens: ICMP port unreachable.
ip -n "$(ns_name server)" addr add 198.18.4.3/24 dev s0
mkdir -p "$OUT"

ONLY=" $* "
TCPDUMP_PID=
capture_start() {   # capture_start NAME [NS]: tcpdump on the client's interface c0
	TCPDUMP_PID=
	[ "$ONLY" = "  " ] || [[ "$ONLY" == *" $1 "* ]] || return 0
	rm -f "$OUT/$1.pcap"
	# Not through the ns_exec function: a backgrounded function is a subshell
	# that would run our EXIT trap when tcpdump's SIGINT reaches it.
	ip netns exec "$(ns_name "${2:-client}")" tcpdump -i c0 --immediate-mode -U -n -s 0 \
		-w "$OUT/$1.pcap" 2>"$TMP/tcpdump-$1.err" &
	TCPDUMP_PID=$!
	local i
	for i in $(seq 1 50); do
		grep -q "listening on" "$TMP/tcpdump-$1.err" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "tcpdump did not start" >&2; return 1
}
capture_stop() {
	[ -n "$TCPDUMP_PID" ] || return 0
	sleep 0.3
	kill -INT "$TCPDUMP_PID"
	wait "$TCPDUMP_PID" || true
	echo "recorded $(basename "$OUT")/$1.pcap: $(tcpdump -r "$OUT/$1.pcap" 2>/dev/null | wc -l) packets"
}

# ---- DNS: dnsmasq answers ok.test, says NXDOMAIN for nx.test, REFUSED for the rest ----
ns_bg server dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
	--listen-address=198.18.4.2 --listen-address=fd18:4::2 --except-interface=lo \
	--address=/ok.test/198.18.4.9 --address=/ok.test/fd18:4::9 --local=/nx.test/ \
	--host-record=web.shop.test,198.18.4.2,fd18:4::2 --cname=www.shop.test,web.shop.test \
	--pid-file="$TMP/dnsmasq.pid" --log-facility="$TMP/dnsmasq.log"
for i in $(seq 1 50); do
	ns_exec server ss -Hlun "sport = :53" | grep -q 198.18.4.2 && break
	sleep 0.1
done
DIG="dig +tries=1 +time=2 +nocookie"

capture_start dns-noerror
ns_exec client $DIG @198.18.4.2 ok.test A
capture_stop dns-noerror

capture_start dns-nxdomain
ns_exec client $DIG @198.18.4.2 missing.nx.test A
capture_stop dns-nxdomain

capture_start dns-refused
ns_exec client $DIG @198.18.4.2 elsewhere.example MX
capture_stop dns-refused

capture_start dns-ipv6
ns_exec client $DIG @fd18:4::2 ok.test AAAA
capture_stop dns-ipv6

capture_start dns-icmp
ns_exec client $DIG @198.18.4.3 ok.test A || true
capture_stop dns-icmp

# A server address that swallows queries: the client's neighbour entry sends
# them to the server host, which does not own the address and drops them.
# The second query, a second later, is there so packet time moves on
# (read with a short tap.tcpStreamChannelTimeoutMs judges the first a timeout).
S0_MAC=$(ip -n "$(ns_name server)" -j link show s0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
ip -n "$(ns_name client)" neigh replace 198.18.4.4 lladdr "$S0_MAC" dev c0 nud permanent
capture_start dns-noanswer
ns_exec client $DIG +time=1 @198.18.4.4 lost.test A || true
ns_exec client $DIG @198.18.4.2 ok.test A
capture_stop dns-noanswer

# Joined midstream over UDP: a server that answers after 1.5 s, the capture
# started after the query went out, so it sees only the response.
ip -n "$(ns_name server)" addr add 198.18.4.5/24 dev s0
cat >"$TMP/slowdns.py" <<'EOF'
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.4.5", 53))
s.settimeout(10)
q, peer = s.recvfrom(4096)
time.sleep(1.5)
# The query with QR, RA and NOERROR set, no answers: a valid empty response.
s.sendto(q[:2] + bytes([q[2] | 0x80, 0x80]) + q[4:], peer)
EOF
ns_bg server python3 "$TMP/slowdns.py"
for i in $(seq 1 50); do
	ns_exec server ss -Hlun "sport = :53" | grep -q 198.18.4.5 && break
	sleep 0.1
done
ns_exec client $DIG +time=4 @198.18.4.5 slow.test A &
DIG_PID=$!
sleep 0.5
capture_start dns-midstream
wait "$DIG_PID" || true
capture_stop dns-midstream

# A query to a DNS server on port 5353 that is not there: unicast, so plain DNS
# (not mDNS), and the ICMP port unreachable fails it.
capture_start dns-5353-icmp
ns_exec client $DIG -p 5353 @198.18.4.3 ok.test A || true
capture_stop dns-5353-icmp

# A client retrying one query on its socket (as glibc's resolver does: same
# port, same id) with a server that answers every copy 1.5 s later: sent at
# 0 s and 1 s, answered at 1.5 s and 2.5 s, both answers read.  (dig retries
# from a new port: another flow.)
ip -n "$(ns_name server)" addr add 198.18.4.6/24 dev s0
cat >"$TMP/slowall.py" <<'EOF'
import socket, threading, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.4.6", 53))
s.settimeout(8)
def answer(q, peer):
    time.sleep(1.5)
    # QR, AA, RD, RA; one A record pointing at the question
    hdr = q[:2] + bytes([q[2] | 0x84, 0x80]) + q[4:6] + b"\x00\x01\x00\x00\x00\x00"
    end = 12
    while q[end]:
        end += q[end] + 1
    question = q[12:end + 5]
    s.sendto(hdr + question + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" +
             bytes([198, 18, 4, 9]), peer)
threads = []
try:
    for _ in range(2):
        q, peer = s.recvfrom(4096)
        t = threading.Thread(target=answer, args=(q, peer))
        t.start()
        threads.append(t)
except socket.timeout:
    pass
for t in threads:
    t.join()
EOF
ns_bg server python3 "$TMP/slowall.py"
for i in $(seq 1 50); do
	ns_exec server ss -Hlun "sport = :53" | grep -q 198.18.4.6 && break
	sleep 0.1
done
capture_start dns-retries
ns_exec client python3 - <<'EOF'
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("198.18.4.6", 53))
q = struct.pack(">6H", 0x5151, 0x0100, 1, 0, 0, 0) + b"\x04slow\x04test\x00\x00\x01\x00\x01"
s.send(q)
s.settimeout(1)
answers = 0
try:
    s.recv(4096)
    answers += 1
except socket.timeout:
    s.send(q)   # no answer within a second: the same query again
s.settimeout(3)
while answers < 2:
    try:
        s.recv(4096)
        answers += 1
    except socket.timeout:
        break
EOF
capture_stop dns-retries

# Queries nobody has to answer: a NetBIOS name query broadcast on the segment,
# and a DNS query to the limited broadcast address; nobody answers either.
capture_start dns-broadcast
ns_exec client python3 - <<'EOF'
import socket, struct
def nbname(name):
    raw = (name.ljust(15)[:15] + "\x00").encode()
    return bytes([32]) + bytes(c for ch in raw for c in ((ch >> 4) + 65, (ch & 15) + 65)) + b"\x00"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"c0")
# NBNS name query: RD + broadcast flags, one question of type NB, class IN
s.sendto(struct.pack(">6H", 0x4242, 0x0110, 1, 0, 0, 0) + nbname("NOBODY") + b"\x00\x20\x00\x01",
         ("198.18.4.255", 137))
# a DNS query for ok.test to 255.255.255.255
s.sendto(struct.pack(">6H", 0x4343, 0x0100, 1, 0, 0, 0) + b"\x02ok\x04test\x00\x00\x01\x00\x01",
         ("255.255.255.255", 53))
EOF
sleep 1
capture_stop dns-broadcast

capture_start dns-tcp
ns_exec client $DIG +tcp @198.18.4.2 ok.test A
capture_stop dns-tcp

capture_start dns-tcp-keepopen
ns_exec client $DIG +tcp +keepopen @198.18.4.2 ok.test A missing.nx.test AAAA
capture_stop dns-tcp-keepopen

# Names learned from answers: www.shop.test is a CNAME of web.shop.test
# (198.18.4.2, fd18:4::2, the server host itself; dnsmasq's TTL 0).  After the
# answers: an HTTP GET to the server, refused connects to it over IPv4 and
# IPv6, and one refused connect to 198.18.4.3, an address no answer named.
ns_bg server python3 -m http.server 8080 --bind 198.18.4.2 --directory "$TMP"
ns_wait_port server 8080
echo hello >"$TMP/hello.txt"
capture_start dns-names
ns_exec client $DIG @198.18.4.2 www.shop.test A
ns_exec client $DIG @198.18.4.2 web.shop.test AAAA
ns_exec client curl -sS -o /dev/null --max-time 3 http://198.18.4.2:8080/hello.txt
ns_exec client curl -sS -o /dev/null --max-time 3 http://198.18.4.2:8081/ || true
ns_exec client curl -sS -o /dev/null --max-time 3 'http://[fd18:4::2]:8081/' || true
ns_exec client curl -sS -o /dev/null --max-time 3 http://198.18.4.3:8081/ || true
capture_stop dns-names

# An ICMP Redirect for a query whose answer still arrives: the client routes the
# server's address through a router on its own segment (a bridge in the router
# namespace), which forwards the query to the server on the same segment and
# tells the client, with a Redirect, to use the server directly.  The answer
# comes straight back.
ns_add rcli
ns_add rtr
ns_add rsrv
ns_link rcli c0 198.18.5.1/24 rtr rc ""
ns_link rsrv s0 198.18.5.3/24 rtr rs ""
ip -n "$(ns_name rtr)" link add br0 type bridge
ip -n "$(ns_name rtr)" link set rc master br0
ip -n "$(ns_name rtr)" link set rs master br0
ip -n "$(ns_name rtr)" addr add 198.18.5.2/24 dev br0
ip -n "$(ns_name rtr)" link set br0 up
ns_exec rtr sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=1 \
	net.ipv4.conf.br0.send_redirects=1
ip -n "$(ns_name rtr)" route add 198.18.6.53/32 via 198.18.5.3
ip -n "$(ns_name rsrv)" addr add 198.18.6.53/32 dev lo
ip -n "$(ns_name rcli)" route add 198.18.6.53/32 via 198.18.5.2
ns_bg rsrv dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
	--listen-address=198.18.6.53 --address=/ok.test/198.18.4.9 \
	--pid-file="$TMP/dnsmasq-r.pid" --log-facility="$TMP/dnsmasq-r.log"
for i in $(seq 1 50); do
	ns_exec rsrv ss -Hlun "sport = :53" | grep -q 198.18.6.53 && break
	sleep 0.1
done
capture_start dns-redirect rcli
ns_exec rcli $DIG @198.18.6.53 ok.test A
capture_stop dns-redirect

# ---- Redis ----
ns_bg server redis-server --bind 198.18.4.2 --port 6379 --save '' --appendonly no \
	--protected-mode no --daemonize no --logfile "$TMP/redis.log"
ns_wait_port server 6379
CLI="redis-cli -h 198.18.4.2 -p 6379"

capture_start redis-commands
ns_exec client $CLI SET foo bar
ns_exec client $CLI GET foo
ns_exec client $CLI INCR counter
ns_exec client $CLI LPUSH list a b c
ns_exec client $CLI LRANGE list 0 -1
ns_exec client $CLI HSET h f1 v1 f2 v2
ns_exec client $CLI HGETALL h
ns_exec client $CLI GET nosuchkey
capture_stop redis-commands

capture_start redis-resp3
ns_exec client $CLI -3 HGETALL h
capture_stop redis-resp3

capture_start redis-errors
ns_exec client $CLI SET s notanumber
ns_exec client $CLI INCR s || true
ns_exec client $CLI NOSUCHCOMMAND x || true
capture_stop redis-errors

# A pipelined batch in one write, RESP and inline, read back after.
capture_start redis-pipeline
ns_exec client python3 - <<'EOF'
import socket
s = socket.create_connection(("198.18.4.2", 6379), timeout=5)
s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\np\r\n$1\r\n1\r\n"
          b"*2\r\n$4\r\nINCR\r\n$1\r\np\r\n"
          b"*2\r\n$4\r\nINCR\r\n$1\r\ns\r\n"
          b"PING\r\n"
          b"*2\r\n$3\r\nGET\r\n$1\r\np\r\n")
want, got = b"$1\r\n2\r\n", b""
while not got.endswith(want):
    chunk = s.recv(4096)
    if not chunk:
        break
    got += chunk
s.close()
EOF
capture_stop redis-pipeline

# A fake server that cuts its reply short, then one that closes without replying.
cat >"$TMP/fake.py" <<'EOF'
import socket, time
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("198.18.4.2", 6380))
srv.listen(4)
srv.settimeout(10)
for reply in (b"$100\r\nonly part of the value", b"", None):
    c, _ = srv.accept()
    c.recv(4096)
    if reply:
        c.sendall(reply)
    if reply is None:
        time.sleep(1.5)   # silent: a short stream timeout judges the command first
    c.close()
# Slow to answer, so the capture can start after the command and see only the reply.
c, _ = srv.accept()
c.recv(4096)
time.sleep(1.5)
c.sendall(b"+OK\r\n")
c.recv(4096)
c.sendall(b"+PONG\r\n")
c.close()
EOF
ns_bg server python3 "$TMP/fake.py"
ns_wait_port server 6380
capture_start redis-eof
ns_exec client redis-cli -h 198.18.4.2 -p 6380 GET big || true
ns_exec client redis-cli -h 198.18.4.2 -p 6380 GET other || true
capture_stop redis-eof
capture_start redis-noreply
ns_exec client redis-cli -h 198.18.4.2 -p 6380 GET slow || true
capture_stop redis-noreply

# Joined midstream: the capture starts after the SET went out, before its reply.
ns_exec client python3 - <<'EOF' &
import socket, time
s = socket.create_connection(("198.18.4.2", 6380), timeout=5)
s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
s.recv(4096)
s.sendall(b"*1\r\n$4\r\nPING\r\n")
s.recv(4096)
s.close()
EOF
CLIENT_PID=$!
sleep 0.5
capture_start redis-midstream
wait "$CLIENT_PID" || true
capture_stop redis-midstream

ls -l "$OUT"
