#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench: faultline beside tcpdump and tshark, measured in one run on the
# same data, printed as one table.  Needs root (namespaces, capture, sysctl).
# See bench/README.md for what each figure means.
#   env: RUNS (5), TSHARK_RUNS (3), FAULTLINE (./faultline), SKIP_LIVE=1
set -u
cd "$(dirname "$0")/.."
root=$(pwd)
out=.output/bench
mkdir -p "$out"
bin=${FAULTLINE:-./faultline}
runs=${RUNS:-5}
truns=${TSHARK_RUNS:-3}
log=$out/run.log
: >"$log"
started=$(date +%s)

note() { echo "bench: $*" >&2; }

bench/setup.sh || { note "bench/setup.sh failed"; exit 1; }
[ -x "$bin" ] || { note "$bin is not built (make)"; exit 1; }

# --- data -------------------------------------------------------------------
pcap=$out/workload.pcap
bench/workload.sh "$pcap" || { note "workload recording failed"; exit 1; }
npk=$(cat "$pcap.count")
bytes=$(stat -c %s "$pcap")
for n in 100000 1000000; do
	[ -s "$out/syn-$n.pcap" ] || python3 bench/synflows.py "$n" "$out/syn-$n.pcap"
done
[ -s "$out/syn-1000.pcap" ] || python3 bench/synflows.py 1000 "$out/syn-1000.pcap"

# measure LABEL CMD...: one run; appends "LABEL cpu_s wall_s rss_kb" to $log.
measure() {
	local label=$1; shift
	/usr/bin/time -f "%U %S %e %M" -o "$out/time.$$" "$@" >/dev/null 2>"$out/err.$$"
	local rc=$?
	if [ $rc -ne 0 ]; then
		note "$label failed (exit $rc): $(head -c 300 "$out/err.$$")"
		return 1
	fi
	awk -v l="$label" '{printf "%s %.3f %.3f %d\n", l, $1 + $2, $3, $4}' "$out/time.$$" >>"$log"
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
col() { awk -v l="$1" -v c="$2" '$1 == l {print $c}' "$log" | median; }

# --- offline ----------------------------------------------------------------
note "offline: $npk packets, $((bytes / 1000000)) MB; $runs runs each ($truns for tshark)"
cat "$pcap" >/dev/null    # page cache: every tool reads from memory
for _ in $(seq 1 "$runs"); do
	measure faultline "$bin" read --stats --workers 1 "$pcap"
	measure faultline-w2 "$bin" read --stats --workers 2 "$pcap"
	measure tcpdump tcpdump -r "$pcap" -w /dev/null
done
for _ in $(seq 1 "$truns"); do
	measure tshark tshark -r "$pcap" -q -z expert
done

# --- memory per flow --------------------------------------------------------
note "memory per flow: 100k and 1M SYN flows"
flowmem() {   # N -> "flow_bytes flows rss_kb"
	local st
	st=$(/usr/bin/time -f "%M" -o "$out/time.$$" "$bin" read --stats --set tap.maxFlows=2000000 "$out/syn-$1.pcap")
	echo "$(jq -r '"\(.memory.flow_bytes) \(.flows.tcp) \(.flows.evicted)"' <<<"$st") $(cat "$out/time.$$")"
}
read -r _ _ _ rss_base < <(flowmem 1000)
read -r fb100 fl100 ev100 rss100 < <(flowmem 100000)
read -r fb1m fl1m ev1m rss1m < <(flowmem 1000000)

# --- live -------------------------------------------------------------------
if [ "${SKIP_LIVE:-0}" = 1 ]; then
	echo "live-na skipped (SKIP_LIVE=1)" >"$out/live.txt"
else
	note "live: veth, stepped UDP rates (about a minute)"
	bench/live.sh "$bin" "$out" >"$out/live.txt" 2>>"$out/live.err"
fi
# --- BPF cost per packet, per hook and size ----------------------------------
if [ "${SKIP_LIVE:-0}" = 1 ]; then
	echo "bpfns-na skipped (SKIP_LIVE=1)" >"$out/bpfcost.txt"
else
	note "BPF cost: 64- and 1500-byte packets on tc and XDP (about 40 s)"
	bench/bpfcost.sh "$bin" "$out" >"$out/bpfcost.txt" 2>>"$out/live.err"
fi
rm -f "$out/time.$$" "$out/err.$$"
# Bytes the eBPF capture would copy per wire byte on the workload: each
# packet's record (24-byte header + captured bytes, snaplen above every
# packet) over its length on the wire.
wire=$(jq -r '.packets.bytes' <<<"$("$bin" read --stats "$pcap")" 2>/dev/null)
captured=$((bytes - 24 - 16 * npk))

# --- the table --------------------------------------------------------------
elapsed=$(($(date +%s) - started))
fl_cpu=$(col faultline 2); td_cpu=$(col tcpdump 2); ts_cpu=$(col tshark 2)
{
echo
echo "faultline benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  $(uname -r)  $(nproc) cpus  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "workload: $pcap  $npk packets  $((bytes / 1000000)) MB  (nginx keep-alive/close/404, redis, refused/reset/ICMP errors)"
echo
echo "OFFLINE (median of $runs runs, $truns for tshark; cpu = user+sys seconds)"
printf "  %-34s %8s %8s %10s %8s %10s %9s\n" "tool" "cpu s" "wall s" "Mpkt/s" "MB/s" "peak RSS" "cost"
for t in faultline faultline-w2 tcpdump tshark; do
	case $t in
	faultline) cmd="faultline read --stats --workers 1 FILE" ;;
	faultline-w2) cmd="faultline read --stats --workers 2 FILE" ;;
	tcpdump) cmd="tcpdump -r FILE -w /dev/null" ;;
	tshark) cmd="tshark -r FILE -q -z expert" ;;
	esac
	cpu=$(col $t 2); wall=$(col $t 3); rss=$(col $t 4)
	awk -v c="$cmd" -v cpu="$cpu" -v wall="$wall" -v rss="$rss" -v n="$npk" -v b="$bytes" -v td="$td_cpu" 'BEGIN {
		if (cpu == "nan" || cpu <= 0) { printf "  %-34s %8s\n", c, "failed"; exit }
		printf "  %-34s %8.2f %8.2f %10.2f %8.0f %7.0f MB %8.2fx\n", c, cpu, wall, n / cpu / 1e6, b / cpu / 1e6, rss / 1024, cpu / td }'
done
awk -v f="$fl_cpu" -v td="$td_cpu" -v ts="$ts_cpu" 'BEGIN {
	if (f == "nan" || td == "nan" || ts == "nan" || f <= 0) { print "  targets: n/a (a tool failed)"; exit }
	printf "  target: faultline <= 3x tcpdump         %6.2fx   %s\n", f / td, (f / td <= 3 ? "MET" : "MISSED")
	printf "  target: faultline >= 30x faster than tshark %6.1fx  %s\n", ts / f, (ts / f >= 30 ? "MET" : "MISSED") }'
# --workers: the reading thread dispatches, each worker runs a whole pipeline on its share.
w1_wall=$(col faultline 3); w2_wall=$(col faultline-w2 3); w2_cpu=$(col faultline-w2 2)
awk -v w1="$w1_wall" -v w2="$w2_wall" -v c1="$fl_cpu" -v c2="$w2_cpu" -v n="$npk" -v cpus="$(nproc)" 'BEGIN {
	if (w1 == "nan" || w2 == "nan" || w2 <= 0) { print "  workers: n/a (a run failed)"; exit }
	printf "  workers 1 -> 2: wall speedup %.2fx (cpu %.2fx); per worker %.2f Mpkt/s (of %.2f with 1)%s\n",
		w1 / w2, c2 / c1, n / 2 / w2 / 1e6, n / w1 / 1e6,
		(cpus < 3 ? "; " cpus " cpus for 3 threads: no room to scale" : "") }'
fl_rss=$(col faultline 4); td_rss=$(col tcpdump 4)
flow_kb=$(jq -r '(.memory.flow_bytes // 0) / 1024 | floor' <<<"$("$bin" read --stats "$pcap")" 2>/dev/null)
awk -v f="$fl_rss" -v td="$td_rss" -v fk="${flow_kb:-0}" 'BEGIN {
	if (f == "nan" || td == "nan") exit
	lim = 2 * td + fk
	printf "  target: peak RSS <= 2x tcpdump + flow table (%.0f MB)  %.0f MB   %s\n", lim / 1024, f / 1024, (f <= lim ? "MET" : "MISSED") }'
echo
echo "MEMORY PER IDLE TCP FLOW (synthetic SYNs, tap.maxFlows=2000000; RSS delta over a 1000-flow run)"
printf "  %-12s %10s %9s %14s %12s %14s\n" "flows" "tracked" "evicted" "flow_bytes" "bytes/flow" "RSS bytes/flow"
awk -v n=100000 -v fl="$fl100" -v ev="$ev100" -v fb="$fb100" -v r="$rss100" -v r0="$rss_base" 'BEGIN {
	printf "  %-12s %10d %9d %11.1f MB %12.0f %14.0f\n", "100 thousand", fl, ev, fb / 1e6, fb / fl, (r - r0) * 1024 / n }'
awk -v n=1000000 -v fl="$fl1m" -v ev="$ev1m" -v fb="$fb1m" -v r="$rss1m" -v r0="$rss_base" 'BEGIN {
	printf "  %-12s %10d %9d %11.1f MB %12.0f %14.0f\n", "1 million", fl, ev, fb / 1e6, fb / fl, (r - r0) * 1024 / n
	worst = fb / fl; if ((r - r0) * 1024 / n > worst) worst = (r - r0) * 1024 / n
	printf "  target: < 300 bytes per idle TCP flow    %6.0f B   %s\n", worst, (worst < 300 ? "MET" : "MISSED") }'
echo
echo "LIVE (veth, 64-byte UDP from a paced sendmmsg sender on the same host; loss = the tool's own drop counter)"
if grep -q '^live-na' "$out/live.txt" && ! grep -q '^live ' "$out/live.txt"; then
	echo "  n/a ($(sed -n 's/^live-na //p' "$out/live.txt" | head -1))"
else
	grep '^live-na' "$out/live.txt" | sed 's/^live-na /  note: /'
	awk '
	$1 == "live" { tool[$2] = 1; key = $2 SUBSEP $3; pps[key] = $4; drop[key] = $7; seen[key] = $6; sent[key] = $5
		if (!($3 in rset)) { rset[$3] = 1; rates[++nr] = $3 } }
	$1 == "bpf" { bns[$2] = $3 }
	END {
		split("faultline-ebpf faultline-afpacket tcpdump", order, " ")
		printf "  %-10s", "asked pps"
		for (i = 1; i <= 3; i++) printf " | %-28s", order[i] " sent pps / dropped"
		printf " | %s\n", "BPF ns/pkt"
		for (j = 1; j <= nr; j++) {
			r = rates[j]
			printf "  %-10s", (r == "0" ? "max" : r)
			for (i = 1; i <= 3; i++) {
				k = order[i] SUBSEP r
				if (k in pps) printf " | %10d / %-15s", pps[k], drop[k]; else printf " | %-28s", "-"
			}
			printf " | %s\n", (r in bns ? bns[r] : "-")
		}
		for (i = 1; i <= 3; i++) {
			t = order[i]; best = -1; lost = 0
			for (j = 1; j <= nr; j++) {
				k = t SUBSEP rates[j]
				if (!(k in pps)) continue
				if (drop[k] == "0" && !lost) { if (pps[k] > best) best = pps[k] } else lost = 1
			}
			if (!(t in tool)) printf "  %-20s highest zero-loss rate: n/a\n", t
			else printf "  %-20s highest zero-loss rate: %s%s\n", t, (best < 0 ? "none" : best " pps"), (lost ? "" : " (no loss seen: sender limit)")
		}
		# Zero loss where tcpdump loses: a step where tcpdump dropped and both backends did not.
		tdlost = 0; won = 0; tdmax = 0
		for (j = 1; j <= nr; j++) {
			r = rates[j]; k = "tcpdump" SUBSEP r
			if (!(k in pps)) continue
			if (pps[k] > tdmax) tdmax = pps[k]
			if (drop[k] != "0") {
				tdlost = 1
				e = "faultline-ebpf" SUBSEP r; a = "faultline-afpacket" SUBSEP r
				if ((e in drop) && drop[e] == "0" && (a in drop) && drop[a] == "0") won = 1
			}
		}
		if (!tdlost) printf "  target: zero loss where tcpdump loses    n/a: tcpdump lost nothing (up to %d pps)\n", tdmax
		else printf "  target: zero loss where tcpdump loses    %s\n", (won ? "MET" : "MISSED")
		# The BPF ns/pkt column sums every fl_ program on the host; the target is judged below, per hook and size.
	}' "$out/live.txt"
fi
echo
echo "BPF COST PER PACKET (kernel.bpf_stats_enabled: run_time_ns / run_cnt of the programs on the receiving veth; UDP at 100k pps, 2 s)"
if ! grep -q '^bpfns ' "$out/bpfcost.txt"; then
	echo "  n/a ($(sed -n 's/^bpfns-na //p' "$out/bpfcost.txt" | head -1))"
else
	grep '^bpfns-na' "$out/bpfcost.txt" | sed 's/^bpfns-na /  note: /'
	printf "  %-6s %-12s %10s %12s %18s\n" "hook" "IPv4 bytes" "ns/packet" "runs" "copied/wire byte"
	awk '$1 == "bpfns" { printf "  %-6s %-12s %10d %12d %18s   target <= 100 ns: %s\n", $2, $3, $4, $5, $6, ($4 <= 100 ? "MET" : "MISSED") }' "$out/bpfcost.txt"
fi
awk -v c="$captured" -v n="$npk" -v w="${wire:-0}" 'BEGIN {
	if (w <= 0) { print "  copied per wire byte on the workload: n/a"; exit }
	r = (c + 24 * n) / w
	printf "  copied per wire byte, workload (HTTP mix; every payload byte copied)  %.3f   target <= 0.10: %s\n", r, (r <= 0.10 ? "MET" : "MISSED") }'
echo
echo "(bench took ${elapsed}s; raw figures in $out/run.log, $out/live.txt and $out/bpfcost.txt)"
} | tee "$out/table.txt"
