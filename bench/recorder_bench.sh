#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The recorder's write speed: plain pcap and gzip, from an IMIX-like pcap made with scapy.
#   bench/recorder_bench.sh [LOOPS]
# Not a test: it prints numbers.  Needs python3 with scapy (/usr/bin/python3 on Debian).
set -eu
cd "$(dirname "$0")/.."
loops=${1:-200}
out=$(mktemp -d /tmp/recorder_bench.XXXXXX)
trap 'rm -rf "$out"' EXIT
bin=.output/bench/recorder_bench
make --no-print-directory -s "$bin"    # -O2, links .output/libfaultline.a
/usr/bin/python3 - "$out/in.pcap" <<'PY'
import sys, random
from scapy.all import Ether, IP, TCP, Raw, wrpcap
random.seed(1)
sizes = [40] * 7 + [576] * 4 + [1500]          # simple IMIX: 7:4:1
pkts = []
for i in range(10000):
    n = random.choice(sizes)
    p = Ether() / IP(src="198.18.0.1", dst="198.18.0.2") / TCP(sport=40000 + i % 100, dport=80) / Raw(random.randbytes(n - 40))
    p.time = 1700000000 + i / 10000.0
    pkts.append(p)
wrpcap(sys.argv[1], pkts)
PY
echo "input: 10000 packets (IMIX 7:4:1 of 40/576/1500 bytes IP), recorded $loops times; random payloads"
printf '%-12s ' /dev/null
"$bin" "$out/in.pcap" /dev/null "$loops"
for f in out.pcap out.pcap.gz; do
	printf '%-12s ' "$f"
	"$bin" "$out/in.pcap" "$out/$f" "$loops"
	printf '%-12s on disk: %s bytes\n' "" "$(stat -c %s "$out/$f")"
	rm -f "$out/$f"
done
printf '%-12s ' "filter"
RECORDER_BENCH_FLOWS=10000 "$bin" "$out/in.pcap" "$out/f.pcap" "$loops"
