#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Records tests/safejson/fixtures/secrets.pcap from real clients in two network
# namespaces (root): curl with credentials (Authorization: Bearer, -u user:pass,
# Cookie, token= and password= query values) against python3 http.server,
# redis-cli AUTH and HELLO 3 AUTH against redis-server with a password, and a
# python client sending bytes that are not UTF-8 in its request line and a
# header.  tests/safejson/run.sh replays it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
. ../netns/lib.sh
[ "$(id -u)" -eq 0 ] || { echo "record.sh needs root" >&2; exit 1; }
for tool in curl redis-server redis-cli tcpdump python3; do
	command -v "$tool" >/dev/null || { echo "record.sh needs $tool" >&2; exit 1; }
done
FIX=$here/fixtures
mkdir -p "$FIX"
tmp=$(mktemp -d)
TCPDUMP_PID=
trap 'rc=$?; set +e; [ -n "$TCPDUMP_PID" ] && kill "$TCPDUMP_PID"; ns_teardown; rm -rf "$tmp"; exit $rc' EXIT
trap 'exit 130' INT TERM

C=198.18.60.1 S=198.18.60.2
ns_prefix fluxsj
ns_add client
ns_add server
ns_link client c0 $C/24,fd18:60::1/64 server s0 $S/24,fd18:60::2/64
mkdir -p "$tmp/www"
echo hello >"$tmp/www/index.html"
ns_bg server python3 -m http.server --bind $S --directory "$tmp/www" 8000
ns_bg server redis-server --bind $S --port 6379 --requirepass 'redis-S3CRET-pw' --save '' \
	--appendonly no --dir "$tmp" --logfile "$tmp/redis.log"
ns_wait_port server 8000
ns_wait_port server 6379

rm -f "$FIX/secrets.pcap"
ip netns exec "$(ns_name client)" tcpdump -i c0 -s 0 -U --immediate-mode -n \
	-w "$FIX/secrets.pcap" 'tcp' 2>"$tmp/tcpdump.err" &
TCPDUMP_PID=$!
for _ in $(seq 1 50); do grep -q "listening on" "$tmp/tcpdump.err" 2>/dev/null && break; sleep 0.1; done

curlc() { ns_exec client curl -s --max-time 10 "$@" >/dev/null || true; }
curlc -H 'Authorization: Bearer eyJ-BEARER-S3CRET' "http://$S:8000/index.html"
curlc -u 'alice:BASIC-S3CRET' "http://$S:8000/index.html"
curlc -H 'Cookie: session=COOKIE-S3CRET; theme=dark' "http://$S:8000/index.html"
curlc "http://$S:8000/index.html?user=bob&password=QUERY-S3CRET&token=TOKEN-S3CRET&page=2"
# Absolute form, as to a proxy, with userinfo in the URL.
curlc --proxy "http://$S:8000" "http://carol:URL-S3CRET@origin.test/index.html"
ns_exec client redis-cli -h $S -a 'redis-S3CRET-pw' --no-auth-warning PING >/dev/null
ns_exec client redis-cli -h $S HELLO 3 AUTH default 'redis-S3CRET-pw' >/dev/null
ns_exec client redis-cli -h $S AUTH 'wrong-S3CRET-pw' >/dev/null || true
# Bytes that are not UTF-8: a Latin-1 path, an overlong sequence in a header.
ns_exec client python3 -c '
import socket
s = socket.create_connection(("'$S'", 8000), timeout=5)
s.sendall(b"GET /caf\xe9/\xff\xfe HTTP/1.1\r\nHost: x\r\nX-Bin: \xc0\xaf\xed\xa0\x80 end\r\nConnection: close\r\n\r\n")
while s.recv(4096): pass
s.close()'
sleep 0.5
kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" || true; TCPDUMP_PID=
echo "recorded secrets.pcap: $(tcpdump -r "$FIX/secrets.pcap" 2>/dev/null | wc -l) packets"
