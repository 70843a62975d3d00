#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Live benchmark: UDP at stepped rates over a veth between two namespaces
# (prefix flt-bench, 198.18.51.0/24), captured on the receiving end by
# faultline (eBPF and AF_PACKET backends) and by tcpdump -w /dev/null.
# Prints one line per measurement, for bench/run.sh to tabulate:
#   live TOOL RATE SENT_PPS SENT SEEN DROPPED   (RATE 0: one unpaced sender; max2: two)
#   bpf NS_PER_PACKET RUN_CNT
#   live-na REASON
# Usage: bench/live.sh FAULTLINE OUTDIR   (env RATES, STEP_SECONDS)
set -u
cd "$(dirname "$0")/.."
bin=$(realpath "$1")
outdir=$2
rates=${RATES:-"50000 100000 200000 400000 800000 0 max2"}
secs=${STEP_SECONDS:-2}
# PIN=CPU: run the sender and the capture tool on that one CPU (they compete for it).
pin=()
[ -n "${PIN:-}" ] && pin=(taskset -c "$PIN")
# CONTEND=1: the capture tool runs on CPU 1 beside a busy loop, the sender on CPU 0.
txpin=()
if [ "${CONTEND:-0}" = 1 ] && [ "$(nproc)" -ge 2 ]; then
	pin=(taskset -c 1) txpin=(taskset -c 0)
fi
[ ${#txpin[@]} -eq 0 ] && txpin=("${pin[@]}")

if ! "$bin" capture --help >/dev/null 2>&1; then
	echo "live-na capture backend not built"
	exit 0
fi
mkdir -p "$outdir"
cc -O2 -Wall -Wextra -Werror -o "$outdir/blast" bench/blast.c || { echo "live-na blast does not build"; exit 0; }

# shellcheck source=../tests/netns/lib.sh
. tests/netns/lib.sh
ns_prefix flt-bench
tmp=$(mktemp -d /tmp/flt-bench-live.XXXXXX)
bpf_stats_was=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo "")
CAP_PID=
HOG_PID=
cleanup() {
	set +e
	[ -n "$HOG_PID" ] && kill "$HOG_PID" 2>/dev/null && wait "$HOG_PID" 2>/dev/null
	[ -n "$CAP_PID" ] && kill "$CAP_PID" 2>/dev/null && wait "$CAP_PID" 2>/dev/null
	[ -n "$bpf_stats_was" ] && sysctl -qw kernel.bpf_stats_enabled="$bpf_stats_was"
	ns_teardown
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

ns_add tx
ns_add rx
ns_link tx t0 198.18.51.1/24 rx r0 198.18.51.2/24
RX=$(ns_name rx)
# The receiver drops the datagrams early (no ICMP replies to skew the rates).
ns_exec rx nft -f - <<'EOF'
table inet fltbench {
	chain pre {
		type filter hook prerouting priority -300;
		udp dport 9000-9063 drop
	}
}
EOF
if [ "${CONTEND:-0}" = 1 ]; then
	taskset -c 1 sh -c 'while :; do :; done' &
	HOG_PID=$!
fi
# Resolve ARP once before measuring.
ns_exec tx ping -c 1 -W 1 198.18.51.2 >/dev/null 2>&1

start_faultline() {   # BACKEND
	fl_capture_start "$tmp/fl.err" "$tmp/fl.sock" ip netns exec "$RX" "${pin[@]}" "$bin" \
		capture -i r0 --backend "$1" --socket "$tmp/fl.sock" -o json
}

# bpf_time: ns per run of the capture programs now loaded (fl_tc_*, fl_xdp_*).
bpf_time() {
	bpftool prog show -j 2>/dev/null | jq -r '
		[.[] | select((.name // "") | test("^fl_(tc|xdp)_")) | select(.run_cnt != null)] |
		(map(.run_time_ns) | add // 0) as $t | (map(.run_cnt) | add // 0) as $c |
		"\($t) \($c)"'
}

blast() {   # RATE (0: unpaced; max2: two unpaced senders) -> "sent pps"
	local n=1 r=$1 i
	[ "$r" = max2 ] && n=2 r=0
	for i in $(seq 1 $n); do
		ns_exec tx "${txpin[@]}" "$outdir/blast" 198.18.51.2 "$r" "$secs" 64 &
	done | sed -n 's/^sent=\([0-9]*\) seconds=[0-9.]* pps=\([0-9]*\)$/\1 \2/p' |
		awk '{s += $1; p += $2} END {print s + 0, p + 0}'
}

for backend in ebpf afpacket; do
	lost_once=0
	for rate in $rates; do
		if ! start_faultline "$backend"; then
			echo "live-na faultline capture --backend $backend did not start: $(head -c 200 "$tmp/fl.err" | tr '\n' ' ')"
			fl_capture_stop
			break
		fi
		if [ "$backend" = ebpf ]; then sysctl -qw kernel.bpf_stats_enabled=1; fi
		read -r sent pps < <(blast "$rate")
		sleep 0.5
		st=$("$bin" stats --json --socket "$tmp/fl.sock" 2>/dev/null)
		if [ "$backend" = ebpf ]; then
			read -r t c < <(bpf_time)
			[ "${c:-0}" -gt 0 ] && echo "bpf $rate $((t / c)) $c"
			[ -n "$bpf_stats_was" ] && sysctl -qw kernel.bpf_stats_enabled="$bpf_stats_was"
		fi
		fl_capture_stop
		seen=$(jq -r '.packets.seen' <<<"$st" 2>/dev/null)
		dropped=$(jq -r '.packets.dropped' <<<"$st" 2>/dev/null)
		echo "live faultline-$backend $rate ${pps:-0} ${sent:-0} ${seen:-?} ${dropped:-?}"
		[ "${dropped:-1}" != 0 ] && lost_once=$((lost_once + 1))
		[ $lost_once -ge 2 ] && break
	done
done

lost_once=0
for rate in $rates; do
	ip netns exec "$RX" "${pin[@]}" tcpdump -i r0 -n -w /dev/null 2>"$tmp/td.err" &
	CAP_PID=$!
	for _ in $(seq 1 50); do grep -q listening "$tmp/td.err" && break; sleep 0.1; done
	read -r sent pps < <(blast "$rate")
	sleep 0.5
	fl_capture_stop
	seen=$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$tmp/td.err")
	dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$tmp/td.err")
	echo "live tcpdump $rate ${pps:-0} ${sent:-0} ${seen:-?} ${dropped:-?}"
	[ "${dropped:-1}" != 0 ] && lost_once=$((lost_once + 1))
	[ $lost_once -ge 2 ] && break
done
