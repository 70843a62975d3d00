#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Copy only what is judged (tap.skipPayload): the same traffic captured twice
# at once, with payload skipping on and off, must give identical entries.
#
#   client (c0) --- (r0) router (r1) --- (s0) server
#
# Capture A runs in the server namespace on s0 (skipping on), capture B in the
# router namespace on r1 (tap.skipPayload=false): the two ends of one veth see
# the same packets.  The router drops every Nth full-size data segment (nft
# numgen) in both directions after B and A saw them or before they saw them,
# so bodies carry holes and retransmissions inside skipped ranges.  Traffic:
# nginx downloads with Content-Length and chunked (gzip), uploads (request
# bodies), redis-cli SET/GET of large bulk strings, and a flow no dissector
# claims (headers-only), a HEAD then a GET on one keep-alive connection and a
# 204 (the kernel's own HTTP framing must stop at the HEAD).  Checks:
# identical entries (times, ids and the observation point aside), bytes
# skipped with skipping on and none off, responses the kernel framed, and
# the stats keys.  Namespaces flsk-*, 198.18.250.0/24, 198.18.251.0/24.
. "$(dirname "$0")/../lib/runner.sh"
t_begin skip "$@"
SUITE=skip

BIN=$T_BIN
if [ "$(id -u)" != 0 ]; then t_skip "$SUITE" "needs root (network namespaces, BPF)"; t_finish; fi
t_need ip jq curl nginx redis-server redis-cli nft python3 || { t_skip "$SUITE" "tools missing"; t_finish; }
[ -x "$BIN" ] || { t_fail "$SUITE" "$BIN not built"; t_finish; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

. tests/netns/lib.sh
ns_prefix flsk
TMP=$T_TMP
cleanup() {
	fl_named_kill
	[ -n "${KEEP_TMP:-}" ] && cp -r "$TMP" /tmp/flsk-kept
	ns_teardown
}
t_on_exit cleanup

ns_add cli; ns_add rtr; ns_add srv
ns_link cli c0 198.18.250.1/24 rtr r0 198.18.250.2/24
ns_link rtr r1 198.18.251.1/24 srv s0 198.18.251.2/24
ns_exec rtr sysctl -qw net.ipv4.ip_forward=1
ns_exec cli ip route add 198.18.251.0/24 via 198.18.250.2
ns_exec srv ip route add 198.18.250.0/24 via 198.18.251.1
# Offloads stay on: the server's GSO segments carry up to 64 kB, so a head and
# the start of its body come in one segment, copied up to tap.payloadBytes.
# Every 23rd full-size data segment forwarded is lost: a hole, then its retransmission.
ns_exec rtr nft -f - <<'NFT' || { t_fail "nft drops"; t_finish; }
table inet flsk {
	chain forw {
		type filter hook forward priority 0;
		meta l4proto tcp meta length > 1200 numgen inc mod 23 == 7 drop
	}
}
NFT

# nginx: static files (Content-Length), gzip (chunked), uploads (read whole, then answered).
mkdir -p "$TMP/www" "$TMP/ngx/logs"
chmod 755 "$TMP" "$TMP/www"     # nginx's workers read the files as nobody
head -c 1048576 /dev/urandom >"$TMP/www/big.bin"
head -c 200000 /dev/urandom >"$TMP/www/mid.bin"
head -c 5000 /dev/urandom >"$TMP/www/small.bin"
yes "faultline skips the bodies it does not parse" | head -c 400000 >"$TMP/www/text.txt"
cat >"$TMP/ngx/nginx.conf" <<NGX
worker_processes 1;
pid $TMP/ngx/nginx.pid;
error_log $TMP/ngx/logs/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $TMP/ngx/body;
	proxy_temp_path $TMP/ngx/proxy;
	fastcgi_temp_path $TMP/ngx/fcgi;
	uwsgi_temp_path $TMP/ngx/uwsgi;
	scgi_temp_path $TMP/ngx/scgi;
	gzip on; gzip_min_length 0; gzip_types text/plain application/octet-stream;
	client_max_body_size 10m;
	server {
		listen 198.18.251.2:80;
		root $TMP/www;
		# Read the whole body, then answer (through the proxy: its request
		# buffering): a "return" would answer at the head, and how much of
		# the body an entry counts would then depend on the rings' order.
		location /upload { client_body_buffer_size 10m; proxy_pass http://127.0.0.1:8081; }
		location /empty { return 204; }
	}
	server {
		listen 127.0.0.1:8081;
		location / { return 201 "stored\n"; }
	}
}
NGX
ns_bg srv timeout 300 nginx -p "$TMP/ngx" -c "$TMP/ngx/nginx.conf" -g 'daemon off;'
ns_bg srv timeout 300 redis-server --bind 198.18.251.2 --port 6379 --save '' --appendonly no \
	--protected-mode no --dir "$TMP" --logfile "$TMP/redis.log"
# A protocol nobody dissects: a binary server pushing 300 kB.
cat >"$TMP/blob.py" <<'PY'
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.251.2", 7070)); s.listen(4); s.settimeout(300)
for _ in range(2):
    try:
        c, _a = s.accept()
    except OSError:
        break
    c.recv(100)
    c.sendall(b"\x00\x01" * 150000)
    c.close()
PY
ns_bg srv timeout 300 python3 "$TMP/blob.py"
ns_wait_port srv 80 && ns_wait_port srv 6379 && ns_wait_port srv 7070 ||
	{ t_fail "servers start"; t_finish; }


fl_named_start A srv s0 120 || { t_fail "capture A (skipping on) starts"; t_finish; }
fl_named_start B rtr r1 120 --set tap.skipPayload=false || { t_fail "capture B (skipping off) starts"; t_finish; }

U=http://198.18.251.2
# Keep-alive: several downloads on one connection, then separate connections.
ns_exec cli curl -s -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
	"$U/big.bin" "$U/mid.bin" "$U/small.bin" "$U/missing" --max-time 60
ns_exec cli curl -s -o /dev/null -o /dev/null -H "Accept-Encoding: gzip" "$U/text.txt" "$U/big.bin" --max-time 60
ns_exec cli curl -s -o /dev/null --data-binary @"$TMP/www/mid.bin" "$U/upload" --max-time 60
ns_exec cli curl -s -o /dev/null -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/www/mid.bin" \
	"$U/upload" --max-time 60
ns_exec cli curl -s -o /dev/null "$U/big.bin" --max-time 60
# Kernel framing (bpf/skip.bpf.h): a HEAD on a keep-alive connection (its
# response's Content-Length announces no body) ends framing there, so the GET
# after it is left to userspace; a 204, then a GET framed on its connection.
ns_exec cli curl -s -I -o /dev/null "$U/mid.bin" --max-time 60 --next -s -o /dev/null "$U/small.bin" \
	--max-time 60
ns_exec cli curl -s -o /dev/null "$U/empty" -o /dev/null "$U/mid.bin" --max-time 60
# Redis: large bulk strings both ways on one connection.
head -c 300000 /dev/urandom | base64 -w0 >"$TMP/val"
ns_exec cli redis-cli -h 198.18.251.2 -x SET big <"$TMP/val" >/dev/null
{ for _ in 1 2 3; do echo "GET big"; done; echo "GET nosuchkey"; echo "STRLEN big"; } |
	ns_exec cli redis-cli -h 198.18.251.2 >/dev/null
# The unclaimed flow.
ns_exec cli python3 -c '
import socket
s = socket.create_connection(("198.18.251.2", 7070), timeout=30)
s.sendall(b"\x07hello"); n = 0
while True:
    d = s.recv(65536)
    if not d: break
    n += len(d)
'
sleep 2
fl_named_stop A; fl_named_stop B

# Entries, without what depends on where and when they were seen.
# Kernel drop reports (entries, and tcp.kernel_drops joined to entries) and
# ICMP router solicitations belong to each capture's own namespace, process
# names to the sockets in it, interface and direction to where each capture
# sits (s0 ingress, r1 egress): not part of the comparison.
norm() {
	jq -c 'select(.error.type != "drop" and .protocol != "icmp") |
		del(.id, .ts, .node, .elapsed_ms, .community_id, .tcp.kernel_drops, .interface, .direction) |
		del(.src.name, .src.process, .dst.name, .dst.process) |
		if .tcp == {} then del(.tcp) else . end' "$1" | sort
}
norm "$TMP/A.out" >"$TMP/A.norm"
norm "$TMP/B.out" >"$TMP/B.norm"
t_check_eval "entries captured (A: $(wc -l <"$TMP/A.norm"), B: $(wc -l <"$TMP/B.norm"))" \
	'[ "$(wc -l <"$TMP/A.norm")" -ge 8 ]'
if diff "$TMP/B.norm" "$TMP/A.norm" >"$TMP/diff"; then
	t_pass "entries identical with skipping on and off"
else
	t_fail "entries identical with skipping on and off"
	t_note "$(head -c 3000 "$TMP/diff")"
fi
t_jq "HTTP downloads, uploads and 404 seen" \
	'[.[] | select(.protocol == "http")] | length >= 8 and (map(.response.status) | index(404) != null) and (map(.response.status) | index(403) == null)' \
	"$TMP/A.out"
t_jq "HEAD answered, 204 seen" \
	'[.[] | select(.protocol == "http")] | (map(.request.method) | index("HEAD") != null) and (map(.response.status) | index(204) != null)' \
	"$TMP/A.out"
t_jq "skipping on: the capture programs framed HTTP responses, no disagreement" \
	'.[0].capture.bpf.http_framed >= 5 and .[0].capture.frame_disagreements == 0' "$TMP/A.stats"
t_jq "skipping off: nothing framed" '.[0].capture.bpf.http_framed == 0' "$TMP/B.stats"
t_jq "redis GETs seen" '[.[] | select(.protocol == "redis")] | length >= 4' "$TMP/A.out"
t_jq "retransmissions inside bodies counted" '.[0].tcp.retransmissions > 0' "$TMP/A.stats"
t_jq "skipping on: most body bytes skipped, requests asked" \
	'.[0].capture.skipped_bytes > 2000000 and .[0].capture.skip_requests > 5 and .[0].capture.bpf.skip_payload == true' \
	"$TMP/A.stats"
t_jq "skipping off: nothing skipped, no skipped_bytes key" \
	'.[0].capture.skipped_bytes == null and .[0].capture.bpf.skip_payload == false' "$TMP/B.stats"
# (How little is copied depends on how soon the reader sees each head: bench/skipcost.sh.)
t_jq "skipping on copies less than the wire bytes, off copies them all" \
	'.[0].capture.bpf.copied_bytes < 0.8 * .[0].packets.bytes' "$TMP/A.stats"
t_jq "skipping off copies every byte" \
	'.[0].capture.bpf.copied_bytes > .[0].packets.bytes' "$TMP/B.stats"
t_jq "same loss counted both ways" \
	'.[0].tcp.missed_bytes == .[1].tcp.missed_bytes and .[0].tcp.truncated_bytes == 0 and .[1].tcp.truncated_bytes == 0' \
	"$TMP/A.stats" "$TMP/B.stats"
for x in A B; do
	t_note "$x: $(jq -c '{wire: .packets.bytes, copied: .capture.bpf.copied_bytes, skipped: .capture.skipped_bytes, retrans: .tcp.retransmissions, missed: .tcp.missed_bytes}' "$TMP/$x.stats")"
done
t_finish
