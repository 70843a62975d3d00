#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Copy only what is judged, live: an HTTP download mix (nginx: 1 MB, 200 kB and
# 30 kB files over keep-alive connections, gzip'd (chunked) text, a 404) between
# two namespaces through a router (prefix flsk-bench, 198.18.250.0/24 and
# 198.18.251.0/24), captured at once on both ends of the server's veth: with
# tap.skipPayload on (server side) and off (router side).  Prints for run.sh:
#   skipcost on|off WIRE_BYTES COPIED_BYTES SKIPPED_BYTES BPF_NS_PER_PACKET BPF_RUNS
#   skipcost-part CATEGORY COPIED_BYTES WIRE_BYTES PACKETS   (bench/skipbreakdown.py)
#   skipcost-na REASON
# The breakdown comes from a second, shorter run (BREAKDOWN_ROUNDS, 5) with
# skipping on that records what it copied (-w), so that the recorder's cost
# does not slow the measured capture's reader.
# COPIED is capture.bpf.copied_bytes (24-byte record headers + captured bytes);
# BPF ns/packet is run_time_ns / run_cnt of that capture's tc programs
# (kernel.bpf_stats_enabled).  Usage: bench/skipcost.sh FAULTLINE OUTDIR  (env ROUNDS 20)
set -u
cd "$(dirname "$0")/.."
bin=$(realpath "$1")
outdir=$2
rounds=${ROUNDS:-20}
for t in nginx curl jq bpftool; do
	command -v $t >/dev/null || { echo "skipcost-na $t missing"; exit 0; }
done
mkdir -p "$outdir"
# shellcheck source=../tests/netns/lib.sh
. tests/netns/lib.sh
ns_prefix flsk-bench
tmp=$(mktemp -d /tmp/flsk-bench.XXXXXX)
stats_was=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo "")
PA= PB=
cleanup() {
	set +e
	for p in $PA $PB; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ -n "$stats_was" ] && sysctl -qw kernel.bpf_stats_enabled="$stats_was"
	ns_teardown
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

ns_add cli; ns_add rtr; ns_add srv
ns_link cli c0 198.18.250.1/24 rtr r0 198.18.250.2/24
ns_link rtr r1 198.18.251.1/24 srv s0 198.18.251.2/24
ns_exec rtr sysctl -qw net.ipv4.ip_forward=1
ns_exec cli ip route add 198.18.251.0/24 via 198.18.250.2
ns_exec srv ip route add 198.18.250.0/24 via 198.18.251.1
chmod 755 "$tmp"; mkdir -p "$tmp/www" "$tmp/ngx"
head -c 1048576 /dev/urandom >"$tmp/www/big.bin"
head -c 200000 /dev/urandom >"$tmp/www/mid.bin"
head -c 30000 /dev/urandom >"$tmp/www/small.bin"
yes "a line of a text file served gzip-compressed, chunked" | head -c 400000 >"$tmp/www/text.txt"
chmod 755 "$tmp/www"
cat >"$tmp/ngx/nginx.conf" <<NGX
worker_processes 1;
pid $tmp/ngx/nginx.pid;
error_log $tmp/ngx/error.log crit;
events { worker_connections 64; }
http {
	access_log off; log_not_found off;
	client_body_temp_path $tmp/ngx; proxy_temp_path $tmp/ngx; fastcgi_temp_path $tmp/ngx;
	uwsgi_temp_path $tmp/ngx; scgi_temp_path $tmp/ngx;
	gzip on; gzip_min_length 0; gzip_types text/plain;
	server { listen 198.18.251.2:80; root $tmp/www; }
}
NGX
ns_bg srv timeout 600 nginx -p "$tmp/ngx" -c "$tmp/ngx/nginx.conf" -g 'daemon off;'
ns_wait_port srv 80 || { echo "skipcost-na nginx did not start"; exit 0; }

start() {   # VAR NS IFACE ARGS...
	local var=$1 ns=$2 ifc=$3 i
	shift 3
	FAULTLINE_ATTACH=netlink ip netns exec "$(ns_name "$ns")" "$bin" capture -i "$ifc" --backend ebpf \
		--socket "$tmp/$var.sock" -o json "$@" >/dev/null 2>"$tmp/$var.err" &
	eval "$var=$!"
	for i in $(seq 1 100); do
		grep -q "capturing on" "$tmp/$var.err" 2>/dev/null && [ -S "$tmp/$var.sock" ] && return 0
		sleep 0.1
	done
	return 1
}
# "run_time_ns run_cnt" of the fl_tc programs on IFACE in NS.
prog_time() {
	local ids
	ids=$(ip netns exec "$(ns_name "$1")" bpftool net show dev "$2" -j 2>/dev/null |
		jq -c '[.. | objects | select(has("id") or has("prog_id")) | (.id // .prog_id)] | unique')
	bpftool prog show -j 2>/dev/null | jq -r --argjson ids "${ids:-[]}" '
		[.[] | select(.id as $i | $ids | index($i)) | select((.name // "") | test("^fl_tc_")) |
		 select(.run_cnt != null)] | "\(map(.run_time_ns) | add // 0) \(map(.run_cnt) | add // 0)"'
}
start PA srv s0 || { echo "skipcost-na capture (skipping on) did not start: $(head -c 200 "$tmp/PA.err")"; exit 0; }
start PB rtr r1 --set tap.skipPayload=false ||
	{ echo "skipcost-na capture (skipping off) did not start: $(head -c 200 "$tmp/PB.err")"; exit 0; }
sysctl -qw kernel.bpf_stats_enabled=1
read -r ta0 ca0 < <(prog_time srv s0)
read -r tb0 cb0 < <(prog_time rtr r1)
U=http://198.18.251.2
mix() {   # ROUNDS: the download mix (four files on one keep-alive connection, a gzip'd text)
	for _ in $(seq 1 "$1"); do
		ns_exec cli curl -s -o /dev/null -o /dev/null -o /dev/null -o /dev/null --max-time 30 \
			"$U/big.bin" "$U/mid.bin" "$U/small.bin" "$U/missing"
		ns_exec cli curl -s -o /dev/null -H 'Accept-Encoding: gzip' --max-time 30 "$U/text.txt"
	done
}
mix "$rounds"
sleep 1
read -r ta1 ca1 < <(prog_time srv s0)
read -r tb1 cb1 < <(prog_time rtr r1)
[ -n "$stats_was" ] && sysctl -qw kernel.bpf_stats_enabled="$stats_was"
for v in PA PB; do "$bin" stats --json --socket "$tmp/$v.sock" >"$tmp/$v.stats" 2>/dev/null; done
line() {   # on|off STATS T0 T1 C0 C1
	local n=$(($6 - $5))
	[ "$n" -gt 0 ] || { echo "skipcost-na $1: no program runs counted"; return; }
	jq -r --arg m "$1" --arg ns "$((($4 - $3) / n))" --arg n "$n" \
		'"skipcost \($m) \(.packets.bytes) \(.capture.bpf.copied_bytes) \(.capture.skipped_bytes // 0) \($ns) \($n)"' "$2"
}
line on "$tmp/PA.stats" "$ta0" "$ta1" "$ca0" "$ca1"
line off "$tmp/PB.stats" "$tb0" "$tb1" "$cb0" "$cb1"

# Where the copied bytes go: the same mix again, recorded as copied.
stop() {   # VAR
	local pid i
	eval "pid=\$$1"
	kill -INT "$pid" 2>/dev/null
	for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	eval "$1="
}
command -v python3 >/dev/null || exit 0
stop PA; stop PB
start PA srv s0 -w "$tmp/PA.pcap" || exit 0
mix "${BREAKDOWN_ROUNDS:-5}"
sleep 1
stop PA
python3 bench/skipbreakdown.py "$tmp/PA.pcap"
