#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# The recorder suite's own pcap: healthy and failing flows, interleaved in time
# so that --write-filter must hold packets back and flush them late.
#   make_fixture.py OUT.pcap [REPEAT]
# REPEAT > 1 repeats the whole set with other ports (a bigger file for rotation).
import sys
from decimal import Decimal
from scapy.all import Ether, IP, TCP, UDP, ICMP, DNS, DNSQR, DNSRR, Raw, wrpcap

out = sys.argv[1]
repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 1
C, S, GW = "198.18.0.1", "198.18.0.2", "198.18.0.3"
MAC_C, MAC_S = "02:00:00:00:00:01", "02:00:00:00:00:02"

def eth(src_is_client):
    return Ether(src=MAC_C, dst=MAC_S) if src_is_client else Ether(src=MAC_S, dst=MAC_C)

def tcp_flow(cport, sport, kind):
    """(client?, packet) list.  kind: ok, refused, reset, silent."""
    c = lambda flags, seq, ack, data=b"": (True, IP(src=C, dst=S) / TCP(sport=cport, dport=sport, flags=flags, seq=seq, ack=ack) / (Raw(data) if data else b""))
    s = lambda flags, seq, ack, data=b"": (False, IP(src=S, dst=C) / TCP(sport=sport, dport=cport, flags=flags, seq=seq, ack=ack) / (Raw(data) if data else b""))
    if kind == "refused":
        return [c("S", 1000, 0), s("RA", 0, 1001)]
    if kind == "silent":
        return [c("S", 3000, 0), c("S", 3000, 0)]
    req = b"GET /x HTTP/1.1\r\nHost: s\r\n\r\n"
    body = b"y" * 1200
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    pk = [c("S", 100, 0), s("SA", 500, 101), c("A", 101, 501), c("PA", 101, 501, req)]
    n = 101 + len(req)
    if kind == "reset":
        return pk + [s("A", 501, n), s("R", 501, 0)]
    return pk + [s("PA", 501, n, resp), c("A", n, 501 + len(resp)),
                 c("FA", n, 501 + len(resp)), s("FA", 501 + len(resp), n + 1),
                 c("A", n + 1, 502 + len(resp))]

def dns_ok(cport):
    q = DNS(id=7, rd=1, qd=DNSQR(qname="ok.example."))
    r = DNS(id=7, qr=1, rd=1, ra=1, qd=DNSQR(qname="ok.example."), an=DNSRR(rrname="ok.example.", rdata="198.18.9.9"))
    return [(True, IP(src=C, dst=S) / UDP(sport=cport, dport=53) / q),
            (False, IP(src=S, dst=C) / UDP(sport=53, dport=cport) / r)]

def dns_unreachable(cport):
    q = IP(src=C, dst=GW) / UDP(sport=cport, dport=53) / DNS(id=9, rd=1, qd=DNSQR(qname="x.example."))
    err = IP(src=GW, dst=C) / ICMP(type=3, code=3) / bytes(q)[:28]
    return [(True, q), (False, err)]

flows = []
for r in range(repeat):
    base = 40000 + r * 10
    flows += [tcp_flow(base + 1, 80, "ok"), tcp_flow(base + 2, 81, "refused"),
              tcp_flow(base + 3, 80, "reset"), dns_ok(base + 4),
              dns_unreachable(base + 5), tcp_flow(base + 6, 82, "silent"),
              tcp_flow(base + 7, 80, "ok")]

# Round-robin over the flows: every flow is open while the others run.
# Nanosecond times (the last digits show that the recorder keeps them).
pkts, t, i = [], Decimal("1796107316.000000123"), 0
while any(flows):
    for f in flows:
        if f:
            client, p = f.pop(0)
            p = eth(client) / p
            p.time = t + Decimal(i) / 1000
            i += 1
            pkts.append(p)
wrpcap(out, pkts, nano=True)
