#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Where the capture program's time goes: faultline captures on the receiving
# end of a veth between two namespaces (prefix flbp-bench, 198.18.69.0/24)
# while bench/blast.c sends UDP of each size, and `perf record -a -g -e
# cpu-clock` samples both CPUs for PROFILE_SECONDS.  Only the samples whose
# call chain holds the JIT'd program (bpf_prog_<tag>_fl_tc_ingress, or
# fl_xdp_ingress) count: `perf report --no-children --sort symbol --parent
# REGEX -x` gives each leaf symbol's share of them (the program's own code
# shows as its own symbol).  No PMU in this VM, hence cpu-clock samples.
# Prints, for bench/run.sh (run on demand as well):
#   bpfprof HOOK IP_PACKET_BYTES PERCENT SYMBOL      (top PROFILE_TOP lines, largest first)
#   bpfprof-samples HOOK IP_PACKET_BYTES N           (samples under the program)
#   bpfprof-na REASON
# and keeps OUTDIR/bpfprofile-HOOK-SIZE.txt (the whole report) and .data (perf report -i).
# Usage: bench/bpfprofile.sh FAULTLINE OUTDIR   (env SIZES "64 1500", HOOKS "tc",
#        PROFILE_SECONDS 3, PPS 300000, PROFILE_TOP 6, CAPTURE_OPTS: more capture options)
set -u
cd "$(dirname "$0")/.." || exit 1
bin=$(realpath "$1")
outdir=$2
sizes=${SIZES:-"64 1500"}
hooks=${HOOKS:-"tc"}
secs=${PROFILE_SECONDS:-3}
pps=${PPS:-300000}
top=${PROFILE_TOP:-6}
perf=${PERF:-/usr/bin/perf}

if [ ! -x "$perf" ]; then
	echo "bpfprof-na perf not installed"
	exit 0
fi
if ! "$bin" capture --help >/dev/null 2>&1; then
	echo "bpfprof-na capture backend not built"
	exit 0
fi
mkdir -p "$outdir"
cc -O2 -Wall -Wextra -Werror -o "$outdir/blast" bench/blast.c || { echo "bpfprof-na blast does not build"; exit 0; }

# shellcheck source=../tests/netns/lib.sh
. tests/netns/lib.sh
# shellcheck source=lib.sh
. bench/lib.sh
ns_prefix flbp-bench
tmp=$(mktemp -d /tmp/flbp-bench.XXXXXX)
CAP_PID=
cleanup() {
	set +e
	[ -n "$CAP_PID" ] && kill "$CAP_PID" 2>/dev/null && wait "$CAP_PID" 2>/dev/null
	ns_teardown
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

blast_link 198.18.69 flbpbench

for hook in $hooks; do
	for size in $sizes; do
		fl_capture_start "$tmp/fl.err" "$tmp/fl.sock" \
			ip netns exec "$RX" "$bin" capture -i r0 --backend ebpf --hook "$hook" \
			--socket "$tmp/fl.sock" -o json ${CAPTURE_OPTS:-} ||
			{ echo "bpfprof-na $hook $size: capture did not start: $(head -c 200 "$tmp/fl.err" | tr '\n' ' ')"; fl_capture_stop; continue; }
		# The sender runs a little longer than perf records, so every sample falls inside the blast.
		ns_exec tx "$outdir/blast" 198.18.69.2 "$pps" "$((secs + 1))" "$((size - 28))" >/dev/null &
		blast_pid=$!
		sleep 0.5
		"$perf" record -q -a -g -e cpu-clock -o "$tmp/perf.data" -- sleep "$secs" >/dev/null 2>"$tmp/perf.err"
		wait "$blast_pid"
		fl_capture_stop
		# Leaf symbols of the samples under the program, as a share of those samples.
		"$perf" report -i "$tmp/perf.data" --no-children --sort symbol --stdio -g none \
			--percentage relative --parent "bpf_prog_[0-9a-f]+_fl_${hook}_" -x 2>/dev/null >"$tmp/report.txt"
		n=$(sed -n 's/^# Samples: \([0-9.]*[KM]\{0,1\}\).*/\1/p' "$tmp/report.txt" | head -1)
		lines=$(awk -v top="$top" -v h="$hook" -v s="$size" '
			/^#/ || NF < 3 { next }
			{ pct = $1; sub(/%$/, "", pct)
			  if (pct + 0 > 0 && k < top) { printf "bpfprof %s %s %.1f %s\n", h, s, pct, $3; k++ } }' "$tmp/report.txt")
		if [ -z "$lines" ]; then
			echo "bpfprof-na $hook $size: no samples under the program ($(head -c 120 "$tmp/perf.err" | tr '\n' ' '))"
			continue
		fi
		echo "bpfprof-samples $hook $size ${n:-?}"
		echo "$lines"
		cp "$tmp/report.txt" "$outdir/bpfprofile-$hook-$size.txt"
		cp "$tmp/perf.data" "$outdir/bpfprofile-$hook-$size.data"   # for perf report/annotate -i
	done
done
