#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Records the multi-interface golden fixtures (run as root): a router that
# captures on both of its interfaces sees every forwarded packet twice.
#
#   sudo tests/golden/record-multi.sh
#
#   client c0 ---- r1 router r2 ---- s0 server
#   198.18.220.2/24  198.18.220.1  198.18.221.1  198.18.221.2/24
#
# One exchange, recorded on the router three ways at once: a clean HTTP GET
# (curl -> python3 http.server) and a clean refusal (curl to a closed port):
#   router-any.pcap             tcpdump -i any -y LINUX_SLL2 (the SLL2 header names the interface)
#   router-2if.pcapng           dumpcap -i r1 -i r2 (two interfaces, EPB interface ids)
#   router-r1.pcap, router-r2.part   tcpdump -i r1 and tcpdump -i r2, a file each
# Then run gen-checks.py and tests/golden/run.sh --update (see README.md).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUTDIR="$HERE/fixtures"
PY=/usr/bin/python3

# shellcheck source=../netns/lib.sh
. "$HERE/../netns/lib.sh"
ns_prefix flmf-rec

WORK=$(mktemp -d /tmp/flmf-rec.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
	ns_teardown
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

C=198.18.220.2 R1=198.18.220.1 R2=198.18.221.1 S=198.18.221.2
die() { printf 'record-multi: %s\n' "$*" >&2; exit 1; }

for n in client router server; do ns_add $n || die "ns_add $n"; done
ns_link client c0 $C/24 router r1 $R1/24 2> >(grep -v nodad >&2) || die "link c0"
ns_link router r2 $R2/24 server s0 $S/24 2> >(grep -v nodad >&2) || die "link s0"
ns_exec router sysctl -qw net.ipv4.ip_forward=1
ip -n "$(ns_name client)" route add default via $R1
ip -n "$(ns_name server)" route add default via $R2
ok=
for _ in $(seq 1 20); do
	ns_exec client ping -n -c 1 -W 1 $S >/dev/null 2>&1 && { ok=1; break; }
	sleep 0.2
done
[ -n "$ok" ] || die "no end-to-end connectivity"
for n in client router server; do ip -n "$(ns_name $n)" neigh flush all; done

mkdir -p "$WORK/www"; echo "hello from the router fixture" >"$WORK/www/index.html"
ns_bg server timeout 40 $PY -m http.server 8080 --bind 0.0.0.0 --directory "$WORK/www" >"$WORK/http.log" 2>&1
ns_wait_port server 8080 || die "http.server"

# Each capture in the background; wait until it listens.
cap() {
	local name=$1; shift
	ip netns exec "$(ns_name router)" "$@" 2>"$WORK/$name.err" &
	PIDS+=($!)
	for _ in $(seq 1 50); do
		grep -qiE 'listening on|capturing on' "$WORK/$name.err" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$WORK/$name.err" >&2
	die "$name did not start"
}
F='tcp port 8080 or tcp port 8081'
cap any tcpdump -i any -y LINUX_SLL2 -n -U --immediate-mode -Z root -w "$WORK/any.pcap" "$F"
cap r1 tcpdump -i r1 -n -U --immediate-mode -Z root -w "$WORK/r1.pcap" "$F"
cap r2 tcpdump -i r2 -n -U --immediate-mode -Z root -w "$WORK/r2.pcap" "$F"
cap 2if dumpcap -q -f "$F" -i r1 -i r2 -w "$WORK/2if.pcapng"
sleep 0.5

timeout 15 ip netns exec "$(ns_name client)" curl -s -o /dev/null --max-time 6 http://$S:8080/
timeout 15 ip netns exec "$(ns_name client)" curl -s -o /dev/null --max-time 6 http://$S:8081/

sleep 0.5
for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
for p in "${PIDS[@]}"; do
	for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
done
PIDS=()
for f in any r1 r2; do [ -s "$WORK/$f.pcap" ] || die "$f: empty capture"; done
[ -s "$WORK/2if.pcapng" ] || die "2if: empty capture"
cp "$WORK/any.pcap" "$OUTDIR/router-any.pcap"
cp "$WORK/r1.pcap" "$OUTDIR/router-r1.pcap"
cp "$WORK/r2.pcap" "$OUTDIR/router-r2.part"
cp "$WORK/2if.pcapng" "$OUTDIR/router-2if.pcapng"
for f in router-any.pcap router-r1.pcap router-r2.part router-2if.pcapng; do
	printf '  %s: %s packets\n' "$f" "$(tcpdump -r "$OUTDIR/$f" -n 2>/dev/null | wc -l)" >&2
done
