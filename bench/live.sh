#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Live benchmark: the highest rate of 64-byte UDP over a veth between two
# namespaces (prefix flt-bench, 198.18.51.0/24) that each capture on the
# receiving end takes with zero loss (its own drop counter): faultline's eBPF
# and AF_PACKET backends and tcpdump -w /dev/null, found by a bounded search
# (search below: at most 1 + SEARCH_STEPS steps of STEP_SECONDS each per tool).
# Prints lines for bench/run.sh to tabulate:
#   live TOOL RATE SENT_PPS SENT SEEN DROPPED   (RATE max2: two unpaced senders)
#   zeroloss TOOL PPS SENDER_LIMITED
#   live-na REASON
# Usage: bench/live.sh FAULTLINE OUTDIR   (env STEP_SECONDS 2, SEARCH_STEPS 4, PIN, CONTEND)
set -u
cd "$(dirname "$0")/.."
bin=$(realpath "$1")
outdir=$2
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
# shellcheck source=lib.sh
. bench/lib.sh
ns_prefix flt-bench
tmp=$(mktemp -d /tmp/flt-bench-live.XXXXXX)
CAP_PID=
HOG_PID=
cleanup() {
	set +e
	[ -n "$HOG_PID" ] && kill "$HOG_PID" 2>/dev/null && wait "$HOG_PID" 2>/dev/null
	[ -n "$CAP_PID" ] && kill "$CAP_PID" 2>/dev/null && wait "$CAP_PID" 2>/dev/null
	ns_teardown
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

blast_link 198.18.51 fltbench
if [ "${CONTEND:-0}" = 1 ]; then
	taskset -c 1 sh -c 'while :; do :; done' &
	HOG_PID=$!
fi
# Resolve ARP once before measuring.
ns_exec tx ping -c 1 -W 1 198.18.51.2 >/dev/null 2>&1

start_faultline() {   # BACKEND [OPTION...]
	local backend=$1
	shift
	fl_capture_start "$tmp/fl.err" "$tmp/fl.sock" ip netns exec "$RX" "${pin[@]}" "$bin" \
		capture -i r0 --backend "$backend" --socket "$tmp/fl.sock" -o json "$@"
}

blast() {   # RATE (0: unpaced; max2: two unpaced senders) -> "sent pps"
	local n=1 r=$1 i
	[ "$r" = max2 ] && n=2 r=0
	for i in $(seq 1 $n); do
		ns_exec tx "${txpin[@]}" "$outdir/blast" 198.18.51.2 "$r" "$secs" 64 &
	done | sed -n 's/^sent=\([0-9]*\) seconds=[0-9.]* pps=\([0-9]*\)$/\1 \2/p' |
		awk '{s += $1; p += $2} END {print s + 0, p + 0}'
}

# probe LABEL RATE START_CMD...: one step: start the capture (START_CMD, which
# sets CAP_PID), send at RATE, stop, print "live LABEL RATE SENT_PPS SENT SEEN
# DROPPED".  0 when nothing was dropped.
probe() {
	local label=$1 rate=$2 sent pps seen dropped st
	shift 2
	if ! "$@"; then
		echo "live-na $label did not start: $(head -c 200 "$tmp/fl.err" "$tmp/td.err" 2>/dev/null | tr '\n' ' ')"
		fl_capture_stop
		return 2
	fi
	read -r sent pps < <(blast "$rate")
	sleep 0.5
	case $label in
	tcpdump)
		fl_capture_stop
		seen=$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$tmp/td.err")
		dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$tmp/td.err") ;;
	*)
		st=$("$bin" stats --json --socket "$tmp/fl.sock" 2>/dev/null)
		fl_capture_stop
		seen=$(jq -r '.packets.seen' <<<"$st" 2>/dev/null)
		dropped=$(jq -r '.packets.dropped' <<<"$st" 2>/dev/null) ;;
	esac
	echo "live $label $rate ${pps:-0} ${sent:-0} ${seen:-?} ${dropped:-?}"
	LAST_PPS=${pps:-0}
	[ "${dropped:-1}" = 0 ]
}

# search LABEL START_CMD...: the highest rate with zero loss, in at most
# SEARCH_STEPS + 1 steps: first as fast as two unpaced senders go (max2); if
# nothing was lost there, that rate is the answer (the sender's limit, not
# the tool's); otherwise bisect between 0 and the rate max2 reached.  Prints
# "zeroloss LABEL PPS LIMITED" (LIMITED 1: no loss seen, the sender's limit).
search() {
	local label=$1 lo=0 hi mid rc
	shift
	probe "$label" max2 "$@"
	rc=$?
	[ $rc = 2 ] && return
	if [ $rc = 0 ]; then
		echo "zeroloss $label $LAST_PPS 1"
		return
	fi
	hi=$LAST_PPS
	for _ in $(seq 1 "${SEARCH_STEPS:-4}"); do
		mid=$(((lo + hi) / 2))
		[ "$mid" -lt 1000 ] && break
		if probe "$label" "$mid" "$@"; then lo=$LAST_PPS; else hi=$mid; fi
	done
	echo "zeroloss $label $lo 0"
}

start_tcpdump() {
	ip netns exec "$RX" "${pin[@]}" tcpdump -i r0 -n -w /dev/null 2>"$tmp/td.err" &
	CAP_PID=$!
	for _ in $(seq 1 50); do grep -q listening "$tmp/td.err" && return 0; sleep 0.1; done
	return 1
}

# One search per tool; a row more is one case more here and its label in
# bench/run.sh's ZERO_LOSS list.  LIVE_TOOLS picks some (default: all).
# The -w1/-w2 pairs: capture --workers 1 and 2 (2: the capturing thread shares
# the packets out to two pipeline threads).
for tool in ${LIVE_TOOLS:-faultline-ebpf faultline-afpacket faultline-ebpf-w2 faultline-afpacket-w2 tcpdump}; do
	case $tool in
	faultline-ebpf) search $tool start_faultline ebpf --workers 1 ;;
	faultline-afpacket) search $tool start_faultline afpacket --workers 1 ;;
	faultline-ebpf-w2) search $tool start_faultline ebpf --workers 2 ;;
	faultline-afpacket-w2) search $tool start_faultline afpacket --workers 2 ;;
	tcpdump) search tcpdump start_tcpdump ;;
	esac
done
