#!/usr/bin/env bash
# Record the DNS and Redis fixtures from real clients and servers (needs root):
# dig against dnsmasq, redis-cli against redis-server, and a small fake Redis
# server for a reply cut short, in two network namespaces joined by veth.
#   tests/dnsredis/record.sh            writes tests/dnsredis/fixtures/*.pcap
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

TCPDUMP_PID=
capture_start() {   # capture_start NAME: tcpdump on the client's interface
	rm -f "$OUT/$1.pcap"
	# Not through the ns_exec function: a backgrounded function is a subshell
	# that would run our EXIT trap when tcpdump's SIGINT reaches it.
	ip netns exec "$(ns_name client)" tcpdump -i c0 --immediate-mode -U -n -s 0 -w "$OUT/$1.pcap" \
		2>"$TMP/tcpdump-$1.err" &
	TCPDUMP_PID=$!
	local i
	for i in $(seq 1 50); do
		grep -q "listening on" "$TMP/tcpdump-$1.err" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "tcpdump did not start" >&2; return 1
}
capture_stop() {
	sleep 0.3
	kill -INT "$TCPDUMP_PID"
	wait "$TCPDUMP_PID" || true
	echo "recorded $(basename "$OUT")/$1.pcap: $(tcpdump -r "$OUT/$1.pcap" 2>/dev/null | wc -l) packets"
}

# ---- DNS: dnsmasq answers ok.test, says NXDOMAIN for nx.test, REFUSED for the rest ----
ns_bg server dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
	--listen-address=198.18.4.2 --listen-address=fd18:4::2 --except-interface=lo \
	--address=/ok.test/198.18.4.9 --address=/ok.test/fd18:4::9 --local=/nx.test/ \
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

capture_start dns-tcp
ns_exec client $DIG +tcp @198.18.4.2 ok.test A
capture_stop dns-tcp

capture_start dns-tcp-keepopen
ns_exec client $DIG +tcp +keepopen @198.18.4.2 ok.test A missing.nx.test AAAA
capture_stop dns-tcp-keepopen

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
