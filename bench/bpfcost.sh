#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# BPF cost per packet: faultline's capture programs on the receiving end of a
# veth between two namespaces (prefix flt-bpfcost, 198.18.68.0/24), fed UDP
# datagrams of each frame size by bench/blast.c, timed by the kernel
# (kernel.bpf_stats_enabled: run_time_ns / run_cnt of the programs attached
# to the receiving veth, so other captures on the machine do not count).  Also the bytes the capture copied to userspace per wire byte.
# Prints one line per measurement, for bench/run.sh to tabulate:
#   bpfns HOOK IP_PACKET_BYTES NS_PER_PACKET RUN_CNT COPIED_PER_WIRE_BYTE RING_MB ("default": tap.ringBufferMb's default)
#   bpfns-na REASON
# Usage: bench/bpfcost.sh FAULTLINE OUTDIR   (env SIZES "64 1500", HOOKS "tc xdp", SECONDS_EACH 2,
#        PPS 100000, RINGS_MB "64" (ring sizes measured beside the default, 64: the old default; "" for none),
#        CAPTURE_OPTS: more options for faultline capture)
set -u
cd "$(dirname "$0")/.."
bin=$(realpath "$1")
outdir=$2
sizes=${SIZES:-"64 1500"}
hooks=${HOOKS:-"tc xdp"}
secs=${SECONDS_EACH:-2}
pps=${PPS:-100000}

if ! "$bin" capture --help >/dev/null 2>&1; then
	echo "bpfns-na capture backend not built"
	exit 0
fi
mkdir -p "$outdir"
cc -O2 -Wall -Wextra -Werror -o "$outdir/blast" bench/blast.c || { echo "bpfns-na blast does not build"; exit 0; }

# shellcheck source=../tests/netns/lib.sh
. tests/netns/lib.sh
# shellcheck source=lib.sh
. bench/lib.sh
ns_prefix flt-bpfcost
tmp=$(mktemp -d /tmp/flt-bpfcost.XXXXXX)
stats_was=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo "")
CAP_PID=
cleanup() {
	set +e
	[ -n "$CAP_PID" ] && kill "$CAP_PID" 2>/dev/null && wait "$CAP_PID" 2>/dev/null
	[ -n "$stats_was" ] && sysctl -qw kernel.bpf_stats_enabled="$stats_was"
	ns_teardown
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

blast_link 198.18.68 fltbpfcost

start() {   # HOOK
	# Attached over netlink: bpftool net show lists those (not tcx links); the
	# programs and their cost are the same.
	fl_capture_start "$tmp/fl.err" "$tmp/fl.sock" env FAULTLINE_ATTACH=netlink \
		ip netns exec "$RX" "$bin" capture -i r0 \
		--backend ebpf --hook "$1" --socket "$tmp/fl.sock" -o json ${CAPTURE_OPTS:-} $ringopt
}

# "run_time_ns run_cnt" of the programs attached to r0 in the receiving
# namespace (this capture's, whatever else runs on the machine).
prog_time() {
	local ids
	ids=$(ip netns exec "$RX" bpftool net show dev r0 -j 2>/dev/null |
		jq -c '[.. | objects | select(has("id") or has("prog_id")) | (.id // .prog_id)] | unique')
	bpftool prog show -j 2>/dev/null | jq -r --argjson ids "${ids:-[]}" '
		[.[] | select(.id as $i | $ids | index($i)) | select((.name // "") | test("^fl_(tc|xdp)_")) |
		 select(.run_cnt != null)] |
		"\(map(.run_time_ns) | add // 0) \(map(.run_cnt) | add // 0)"'
}

# Each hook and size with the default ring (tap.ringBufferMb), then again with
# each size in RINGS_MB (default 8: a ring that stays in the caches): the record is written into the ring's
# memory, and a ring far larger than the caches costs a cache (and TLB) miss
# per record.
for ring in default ${RINGS_MB-8}; do
ringopt=
[ "$ring" != default ] && ringopt="--set tap.ringBufferMb=$ring"
for hook in $hooks; do
	for size in $sizes; do
		# SIZE is the IPv4 packet's length (the frame is 14 bytes more): 20 IPv4 + 8 UDP + payload.
		payload=$((size - 28))
		if ! start "$hook"; then
			echo "bpfns-na faultline capture --hook $hook did not start: $(head -c 200 "$tmp/fl.err" | tr '\n' ' ')"
			fl_capture_stop
			continue
		fi
		sysctl -qw kernel.bpf_stats_enabled=1
		read -r t0 c0 < <(prog_time "$CAP_PID")
		ns_exec tx "$outdir/blast" 198.18.68.2 "$pps" "$secs" "$payload" >/dev/null
		sleep 0.3
		read -r t1 c1 < <(prog_time "$CAP_PID")
		[ -n "$stats_was" ] && sysctl -qw kernel.bpf_stats_enabled="$stats_was"
		st=$("$bin" stats --json --socket "$tmp/fl.sock" 2>/dev/null)
		fl_capture_stop
		n=$((${c1:-0} - ${c0:-0}))
		# Copied per wire byte: record bytes (header + captured) over wire bytes.
		copied=$(jq -r '(.packets.seen // 0) as $n | (.packets.bytes // 0) as $b |
			if $b > 0 then ((($b + $n * 24) / $b) * 1000 | round / 1000) else "?" end' <<<"$st" 2>/dev/null)
		if [ "$n" -gt 0 ]; then
			echo "bpfns $hook $size $(((t1 - t0) / n)) $n ${copied:-?} $ring"
		else
			echo "bpfns-na $hook $size (ring $ring): no program runs counted"
		fi
	done
done
done
