#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Synthetic fixtures for pipelining deeper than the dissectors record
# (HTTP_MAX_OUTSTANDING 32, REDIS_MAX_PENDING 128): one connection whose client
# sends N requests back to back before the server answers M of them, then both
# close.  Real clients seldom pipeline this deep (redis-benchmark -P, HTTP
# load tools), so these are written by scapy rather than recorded; the byte
# streams are what such clients send.
#   /usr/bin/python3 tests/streams/make-pipeline-deep.py tests/streams/fixtures
import sys
from scapy.all import IP, TCP, Ether, wrpcap

def stream(path, proto, n, m):
    c, s = '198.18.70.1', '198.18.70.2'
    cp, sp = 40000, (80 if proto == 'http' else 6379)
    pk, cs, ss = [], 1000, 5000
    def add(src, dst, sport, dport, seq, ack, flags, data=b''):
        pk.append(Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02') /
                  IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, seq=seq, ack=ack,
                                             flags=flags, window=65535) / data)
    add(c, s, cp, sp, cs, 0, 'S'); add(s, c, sp, cp, ss, cs + 1, 'SA')
    cs += 1; ss += 1
    add(c, s, cp, sp, cs, ss, 'A')
    if proto == 'http':
        req = b'GET /item HTTP/1.1\r\nHost: shop\r\n\r\n'
        resp = b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'
    else:
        req = b'*1\r\n$4\r\nPING\r\n'
        resp = b'+PONG\r\n'
    for data, frm in ((req * n, 'c'), (resp * m, 's')):
        for i in range(0, len(data), 1400):
            d = data[i:i + 1400]
            if frm == 'c':
                add(c, s, cp, sp, cs, ss, 'PA', d); cs += len(d)
            else:
                add(s, c, sp, cp, ss, cs, 'PA', d); ss += len(d)
    add(c, s, cp, sp, cs, ss, 'FA'); add(s, c, sp, cp, ss, cs + 1, 'FA')
    add(c, s, cp, sp, cs + 1, ss + 1, 'A')
    for i, p in enumerate(pk):
        p.time = 1764500000 + i * 0.0001
    wrpcap(path, pk)

out = sys.argv[1]
stream(f'{out}/http-pipeline-deep.pcap', 'http', 1000, 1000)
stream(f'{out}/http-pipeline-cut.pcap', 'http', 100, 50)
stream(f'{out}/redis-pipeline-deep.pcap', 'redis', 1000, 1000)
stream(f'{out}/redis-pipeline-cut.pcap', 'redis', 200, 150)
