#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Record the benchmark capture: real traffic between two network namespaces
# (prefix flt-bench, 198.18.50.0/24 and fd18:50::/64), captured by tcpdump on
# the server's veth.  At least MIN_PACKETS packets (default 1000000):
#   - wrk against nginx with keep-alive, and with new connections (Connection: close)
#   - wrk on a missing path (404s)
#   - redis-benchmark against redis-server
#   - error scenarios: refused connects (RST), resets after data (SO_LINGER 0),
#     ICMP port unreachable (nftables reject, TCP and UDP), over IPv4 and IPv6
# Usage: bench/workload.sh [OUT.pcap]   (default .output/bench/workload.pcap)
# Reuses OUT if it exists and holds enough packets.
set -eu
cd "$(dirname "$0")/.."
out=${1:-.output/bench/workload.pcap}
min=${MIN_PACKETS:-1000000}
mkdir -p "$(dirname "$out")"

count_packets() { capinfos -c -M "$1" 2>/dev/null | awk '/Number of packets/ {print $NF}'; }

if [ -s "$out" ] && [ -s "$out.count" ] && [ "$(cat "$out.count")" -ge "$min" ] 2>/dev/null; then
	echo "workload: reusing $out ($(cat "$out.count") packets)" >&2
	exit 0
fi

# shellcheck source=../tests/netns/lib.sh
. tests/netns/lib.sh
ns_prefix flt-bench
tmp=$(mktemp -d /tmp/flt-bench.XXXXXX)
# lib.sh's teardown is not set -e safe (kill of an exited process fails).
cleanup() { set +e; ns_teardown; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

ns_add cli
ns_add srv
ns_link cli c0 198.18.50.1/24,fd18:50::1/64 srv s0 198.18.50.2/24,fd18:50::2/64 2>/dev/null
for n in cli srv; do
	ns_exec $n sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000" \
		net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096
done

# nginx: / is a small page, /missing is a 404.
mkdir -p "$tmp/www"
head -c 612 /dev/zero | tr '\0' 'x' >"$tmp/www/index.html"
cat >"$tmp/nginx.conf" <<EOF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err crit;
daemon off;
events { worker_connections 4096; }
http {
	access_log off;
	log_not_found off;
	keepalive_requests 1000000;
	client_body_temp_path $tmp;
	proxy_temp_path $tmp; fastcgi_temp_path $tmp; uwsgi_temp_path $tmp; scgi_temp_path $tmp;
	server {
		listen 198.18.50.2:80 backlog=4096 reuseport;
		listen [fd18:50::2]:80 backlog=4096;
		root $tmp/www;
	}
}
EOF
ns_bg srv nginx -c "$tmp/nginx.conf"
ns_bg srv redis-server --bind 198.18.50.2 --port 6379 --protected-mode no --save "" --appendonly no --daemonize no --loglevel warning >/dev/null
ns_wait_port srv 80
ns_wait_port srv 6379

# ICMP port unreachable for TCP 81 and UDP 53 (v4 and v6).
ns_exec srv nft -f - <<'EOF'
table inet fltbench {
	chain input {
		type filter hook input priority 0;
		tcp dport 81 reject with icmpx type port-unreachable
		udp dport 53 reject with icmpx type port-unreachable
	}
}
EOF

# A server that resets every connection after reading the request (SO_LINGER 0).
cat >"$tmp/rst.py" <<'EOF'
import socket, struct, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.50.2", 8080)); s.listen(128)
while True:
    c, _ = s.accept()
    try:
        c.recv(4096)
    except OSError:
        pass
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
EOF
ns_bg srv python3 "$tmp/rst.py"
ns_wait_port srv 8080

ns_bg srv tcpdump -q -n -i s0 -s 0 -B 262144 -w "$tmp/cap.pcap" 2>"$tmp/tcpdump.err"
sleep 1

errors() {
	local i
	for i in $(seq 1 "$1"); do
		ns_exec cli curl -s -m 1 -o /dev/null http://198.18.50.2:82/ || true      # refused
		ns_exec cli curl -s -m 1 -o /dev/null http://[fd18:50::2]:82/ || true     # refused v6
		ns_exec cli curl -s -m 1 -o /dev/null http://198.18.50.2:81/ || true      # ICMP unreachable
		ns_exec cli curl -s -m 0.3 -o /dev/null http://[fd18:50::2]:81/ || true   # ICMPv6 unreachable (Linux retries the SYN)
		ns_exec cli curl -s -m 1 -o /dev/null http://198.18.50.2:8080/ || true    # reset after request
		ns_exec cli bash -c 'echo x >/dev/udp/198.18.50.2/53' 2>/dev/null || true  # UDP unreachable
	done
}

echo "workload: recording into $out (at least $min packets)" >&2
errors 10
ns_exec cli wrk -t1 -c50 -d3s http://198.18.50.2/ >/dev/null                           # keep-alive
ns_exec cli wrk -t1 -c20 -d3s -H 'Connection: close' http://198.18.50.2/ >/dev/null     # new connections
ns_exec cli wrk -t1 -c10 -d2s http://198.18.50.2/missing >/dev/null                      # 404s
ns_exec cli wrk -t1 -c20 -d2s http://[fd18:50::2]/ >/dev/null                            # IPv6
ns_exec cli redis-benchmark -h 198.18.50.2 -q -n 50000 -c 20 -t set,get,lpush >/dev/null
errors 10
# Top up with keep-alive traffic until the capture holds enough packets (bounded).
for _ in 1 2 3 4 5 6; do
	n=$(count_packets "$tmp/cap.pcap")
	[ "$n" -ge "$((min + min / 20))" ] && break
	ns_exec cli wrk -t1 -c50 -d3s http://198.18.50.2/ >/dev/null
	ns_exec cli wrk -t1 -c20 -d2s -H 'Connection: close' http://198.18.50.2/missing >/dev/null
done
sleep 1
set +e
ns_teardown
set -e
n=$(count_packets "$tmp/cap.pcap")
if [ "$n" -lt "$min" ]; then
	echo "workload: only $n packets recorded (need $min)" >&2
	exit 1
fi
mv "$tmp/cap.pcap" "$out"
echo "$n" >"$out.count"
echo "workload: $n packets, $(du -m "$out" | cut -f1) MB in $out ($(grep -h 'dropped by kernel' "$tmp/tcpdump.err" || true))" >&2
