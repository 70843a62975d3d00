#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Kernel drop reasons under a flood (issue 17): a bounded flood of UDP packets that the
# receiver's input chain drops (NETFILTER_DROP), captured with the eBPF backend on the
# receiving veth.  Prints how many packets the kernel dropped, how many records and
# entries they became, and the cost of the kfree_skb program per event against the tc
# capture program per packet (kernel.bpf_stats_enabled, restored after), plus the
# capture's own CPU time.  Not a test; root.
#   bench/kdrops_bench.sh [PPS [SECONDS]]     default 200000 pps for 5 s: 1M packets
set -u
cd "$(dirname "$0")/.."
PPS=${1:-200000} SECS=${2:-5}
BIN=${FAULTLINE:-./faultline}
OUT=.output/bench/kdrops
mkdir -p "$OUT"
[ "$(id -u)" = 0 ] || { echo "kdrops-bench: needs root" >&2; exit 1; }
[ -x "$BIN" ] || { echo "kdrops-bench: $BIN not built (make faultline)" >&2; exit 1; }
cc -O2 -Wall -Wextra -Werror -o "$OUT/blast" bench/blast.c || exit 1

. tests/netns/lib.sh
ns_prefix fldrp-bench
CAP_PID=
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
finish() {
	[ -n "$CAP_PID" ] && kill -KILL "$CAP_PID" 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
	ns_teardown
}
trap finish EXIT INT TERM

ns_add tx; ns_add rx
ns_link tx t0 198.18.59.1/24 rx r0 198.18.59.2/24 2>/dev/null
ns_exec rx nft -f - <<'NFT' || exit 1
table inet fldrp_bench {
	chain in {
		type filter hook input priority 0;
		udp dport 9000-9063 drop
	}
}
NFT
sysctl -qw kernel.bpf_stats_enabled=1
SOCK=$OUT/cap.sock
rm -f "$SOCK"
ip netns exec "$(ns_name rx)" "$BIN" capture -i r0 --socket "$SOCK" -o json --duration 120 \
	--set tap.tcpStreamChannelTimeoutMs=1000 >"$OUT/cap.out" 2>"$OUT/cap.err" &
CAP_PID=$!
for _ in $(seq 1 100); do grep -q "capturing on" "$OUT/cap.err" 2>/dev/null && [ -S "$SOCK" ] && break; sleep 0.1; done
grep -q "capturing on" "$OUT/cap.err" || { cat "$OUT/cap.err"; exit 1; }

# The programs this capture loaded (other faultline runs on the machine have their own).
# Its program fds say their ids in /proc/PID/fdinfo.
progs() {
	local ids; ids=$(grep -h '^prog_id:' /proc/"$CAP_PID"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u | paste -sd, -)
	bpftool -j prog show | jq -c "[.[] | select(.id as \$i | [$ids] | index(\$i)) |
		{name, run_cnt: (.run_cnt // 0), run_time_ns: (.run_time_ns // 0)}]"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$CAP_PID/stat"; }
before=$(progs) ticks0=$(cpu_ticks)
sent=$(ns_exec tx "$OUT/blast" 198.18.59.2 "$PPS" "$SECS" 64)
sleep 6   # past the hold (1 s timeout + 3 s): the aggregates are entries by now
after=$(progs) ticks1=$(cpu_ticks)
timeout 5 "$BIN" stats --json --socket "$SOCK" >"$OUT/stats.json"
kill -TERM "$CAP_PID"; wait "$CAP_PID" 2>/dev/null; CAP_PID=

hz=$(getconf CLK_TCK)
per() {  # NAME -> "runs ns_per_run"
	jq -rn --argjson a "$before" --argjson b "$after" --arg n "$1" \
		'($b | map(select(.name | startswith($n))) | first) as $y | ($a | map(select(.name | startswith($n))) | first) as $x |
		 ($y.run_cnt - $x.run_cnt) as $c | "\($c) \(if $c > 0 then (($y.run_time_ns - $x.run_time_ns) / $c * 10 | round / 10) else 0 end)"'
}
read -r kd_runs kd_ns <<<"$(per fl_kfree_skb)"
read -r tc_runs tc_ns <<<"$(per fl_tc_ingress)"
echo "kdrops-bench: $sent"
echo "  kernel drops counted (NETFILTER_DROP):   $(jq -r '.kernel.drops.NETFILTER_DROP // 0' "$OUT/stats.json")"
echo "  packets the capture saw:                 $(jq -r .packets.seen "$OUT/stats.json") (ring losses $(jq -r .packets.dropped "$OUT/stats.json"))"
echo "  aggregates drained from the kernel:      $(jq -r '.kernel.drop_records // 0' "$OUT/stats.json") (one per flow and reason per 100 ms drain; the flood is 64 flows)"
echo "  drop entries reported:                   $(jq -c 'select(.error.type == "drop")' "$OUT/cap.out" | wc -l)"
echo "  kfree_skb program: runs $kd_runs, ${kd_ns} ns per run"
echo "  tc capture program (ingress): runs $tc_runs, ${tc_ns} ns per packet"
echo "  faultline CPU while flooding: $(awk -v a="$ticks0" -v b="$ticks1" -v hz="$hz" 'BEGIN {printf "%.2f s", (b - a) / hz}')"
