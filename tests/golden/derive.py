#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Derive link-type and file-format variants of recorded fixtures.

    derive.py FIXTURE_DIR

From tcp-refused.pcap and tcp-refused-v6.pcap (Ethernet, recorded by
record.sh) it writes the same packets, byte for byte from the IP header on, as:

  tcp-refused-raw.pcap        LINKTYPE_RAW (101): bare IP, ARP frames left out
  tcp-refused-v6-raw.pcap
  tcp-refused-null.pcap       DLT_NULL (0): 4-byte host-order (little-endian)
  tcp-refused-v6-null.pcap      address family (2 = AF_INET, 30 = AF_INET6 as on Darwin)
  tcp-refused-vlan.pcap       Ethernet with an 802.1Q tag (VLAN 100)
  tcp-refused-qinq.pcap       Ethernet with 802.1ad (S-VLAN 200) + 802.1Q (C-VLAN 100)
  tcp-refused-be.pcap         the Ethernet file written big-endian (magic a1b2c3d4 as BE)
  tcp-refused-pcapng.pcapng   pcapng (editcap -F pcapng)
  tcp-refused-nsec.pcap       nanosecond-resolution pcap (editcap -F nsecpcap)
  tcp-refused-gzip.pcap.gz    gzip-compressed Ethernet file

The Linux cooked variants (tcp-refused-sll.pcap, -sll2.pcap) are recorded for
real by record.sh with tcpdump -i any.

It also writes two files that no kernel would send, built packet by packet
(with scapy, which the system python3 has):

  icmp-crafted.pcap   ICMP messages Linux never originates: Source Quench,
                      Destination Unreachable codes 5-8, 11, 12, 14, 15,
                      Router Solicitation/Advertisement (v4), Parameter
                      Problem codes 1 and 2 (v4), ICMPv6 Destination
                      Unreachable code 2 and Parameter Problem code 0
  malformed.pcap      8 broken frames (listed in malformed_frames() below) between the
                      packets of a refused connection: each must be counted in
                      packets.decode_errors and skipped, and the connection
                      still reported

Fragments and encapsulations that no tool here can produce (written only when
the recorded fixture they start from is there):

  tcp-refused-mpls.pcap  tcp-refused with an MPLS label stack (1000, 2000) in every
                      IP frame: this kernel has no mpls_router module
  geneve.pcap         the recorded vxlan.pcap with each VXLAN header replaced by a
                      Geneve header (VNI 42, one 4-byte option): no geneve module
  gtp-frag.pcap       the HTTP exchanges of tcp-healthy.pcap carried in GTP-U
                      (TEID 0x1234 up, 0x5678 down), outer IP fragmented at 96 bytes
  echo-ts0.pcap       echo exchanges at packet time 0: one unanswered request, one
                      reply whose request was not captured, one answered pair
  truncated.pcap      6 frames whose IP or ICMP header (or a tunnel's inner one) is
                      cut: each must be a decode error
  tcp-split.pcap, tcp-split.part2  tcp-keepalive-idle cut in two (editcap -c 11)
  tcp-clock-step.pcap tcp-keepalive-idle then tcp-healthy (days older), mergecap -a
  frag-edge.pcap      fragment rules: an IPv4 overlap (first wins: the DNS name
                      survives), a duplicate, an IPv6 overlap (datagram dropped),
                      a tiny first fragment, one past 65535 bytes, a datagram that
                      times out (31 s later), one incomplete at the end
"""
import gzip
import os
import struct
import subprocess
import tempfile
import shutil
import sys

ETH_IPV4, ETH_IPV6, ETH_ARP = 0x0800, 0x86DD, 0x0806


def read_pcap(path):
    """Return (linktype, snaplen, [(sec, usec, orig_len, data)]) of a microsecond pcap."""
    with open(path, "rb") as f:
        raw = f.read()
    magic = raw[:4]
    if magic == b"\xd4\xc3\xb2\xa1":
        e = "<"
    elif magic == b"\xa1\xb2\xc3\xd4":
        e = ">"
    else:
        raise SystemExit(f"{path}: not a microsecond pcap file")
    _, _, _, _, _, snaplen, linktype = struct.unpack(e + "IHHiIII", raw[:24])
    pkts, off = [], 24
    while off + 16 <= len(raw):
        sec, usec, incl, orig = struct.unpack(e + "IIII", raw[off:off + 16])
        off += 16
        pkts.append((sec, usec, orig, raw[off:off + incl]))
        off += incl
    return linktype, snaplen, pkts


def write_pcap(path, linktype, snaplen, pkts, endian="<"):
    with open(path, "wb") as f:
        f.write(struct.pack(endian + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))
        for sec, usec, orig, data in pkts:
            f.write(struct.pack(endian + "IIII", sec, usec, len(data), orig))
            f.write(data)


def ethertype(frame):
    return struct.unpack(">H", frame[12:14])[0]


def strip_eth(pkts, prefix):
    """Replace the Ethernet header by prefix(ethertype) bytes; drop non-IP frames."""
    out = []
    for sec, usec, orig, data in pkts:
        et = ethertype(data)
        if et not in (ETH_IPV4, ETH_IPV6):
            continue
        head = prefix(et)
        out.append((sec, usec, orig - 14 + len(head), head + data[14:]))
    return out


def tag(pkts, tags):
    """Insert VLAN tags [(tpid, vid), ...] after the MAC addresses."""
    out = []
    for sec, usec, orig, data in pkts:
        ins = b"".join(struct.pack(">HH", tpid, vid) for tpid, vid in tags)
        out.append((sec, usec, orig + len(ins), data[:12] + ins + data[12:]))
    return out


def null_family(et):
    return struct.pack("<I", 2 if et == ETH_IPV4 else 30)


C, R, S = "198.18.1.2", "198.18.1.1", "198.18.2.2"
C6, R6, S6 = "fd18:1::2", "fd18:1::1", "fd18:2::2"
CMAC, RMAC = "02:00:00:00:00:02", "02:00:00:00:00:01"
T0 = 1795000000  # a fixed packet time (2026-11-18), so the files are reproducible


def icmp_bytes(typ, code, rest):
    """An ICMPv4 message written out by hand: type, code, checksum, rest."""
    data = bytes([typ, code, 0, 0]) + rest
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(">%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    csum = ~total & 0xFFFF
    return bytes([typ, code]) + struct.pack(">H", csum) + rest


def crafted(d):
    from scapy.all import (Ether, IP, IPv6, ICMP, ICMPv6DestUnreach, ICMPv6ParamProblem,
                           TCP, UDP, raw)
    to_c = Ether(src=RMAC, dst=CMAC)
    syn = IP(src=C, dst=S, ttl=63) / TCP(sport=40001, dport=8080, flags="S", seq=1000)
    frames = [
        # Source Quench (type 4) quoting a TCP SYN
        to_c / IP(src=R, dst=C) / ICMP(type=4, code=0) / raw(syn)[:28],
    ]
    # Destination Unreachable codes nftables cannot send, each quoting a UDP query
    for code in (5, 6, 7, 8, 11, 12, 14, 15):
        q = IP(src=C, dst=S, ttl=63) / UDP(sport=40000 + code, dport=53) / (b"q" * 12)
        frames.append(to_c / IP(src=R, dst=C) / ICMP(type=3, code=code) / raw(q)[:28])
    frames += [
        # Router Solicitation (10) and Router Advertisement (9, one address)
        Ether(src=CMAC, dst="01:00:5e:00:00:02") / IP(src=C, dst="224.0.0.2", ttl=1, proto=1) /
        icmp_bytes(10, 0, b"\x00" * 4),
        Ether(src=RMAC, dst="01:00:5e:00:00:01") / IP(src=R, dst="224.0.0.1", ttl=1, proto=1) /
        icmp_bytes(9, 0, bytes([1, 2]) + (1800).to_bytes(2, "big") +
                   bytes(map(int, R.split("."))) + (0).to_bytes(4, "big")),
        # Parameter Problem code 1 (missing a required option) and 2 (bad length)
        to_c / IP(src=R, dst=C) / ICMP(type=12, code=1) /
        raw(IP(src=C, dst=S, ttl=63) / UDP(sport=40101, dport=33333) / b"x")[:28],
        to_c / IP(src=R, dst=C) / ICMP(type=12, code=2) /
        raw(IP(src=C, dst=S, ttl=63) / UDP(sport=40102, dport=33333) / b"x")[:28],
        # ICMPv6 Destination Unreachable code 2 (beyond scope of source address)
        Ether(src=RMAC, dst=CMAC) / IPv6(src=R6, dst=C6) / ICMPv6DestUnreach(code=2) /
        raw(IPv6(src=C6, dst=S6, hlim=63) / UDP(sport=40200, dport=53) / b"q"),
        # ICMPv6 Parameter Problem code 0 (erroneous header field), pointer 4
        Ether(src=RMAC, dst=CMAC) / IPv6(src=R6, dst=C6) / ICMPv6ParamProblem(code=0, ptr=4) /
        raw(IPv6(src=C6, dst=S6, hlim=63) / UDP(sport=40201, dport=53) / b"q"),
    ]
    pkts = []
    for i, f in enumerate(frames):
        data = raw(f)
        pkts.append((T0, i * 1000, len(data), data))
    out = os.path.join(d, "icmp-crafted.pcap")
    write_pcap(out, 1, 262144, pkts)
    return out


# (what is broken, frame bytes): each must count as one decode error
def malformed_frames():
    from scapy.all import Ether, IP, IPv6, TCP, UDP, IPv6ExtHdrHopByHop, raw
    eth4 = raw(Ether(src=CMAC, dst=RMAC, type=0x0800))
    eth6 = raw(Ether(src=CMAC, dst=RMAC, type=0x86DD))
    ip_tcp = raw(IP(src=C, dst=S) / TCP(sport=40300, dport=8080, flags="S"))
    bad_ihl = bytearray(ip_tcp); bad_ihl[0] = 0x44
    bad_doff = bytearray(ip_tcp); bad_doff[20 + 12] = 0x30
    hbh = bytearray(raw(IPv6(src=C6, dst=S6) / IPv6ExtHdrHopByHop() / UDP(sport=40301, dport=53)))
    hbh[41] = 200  # hop-by-hop header claims 1608 bytes
    return [
        ("Ethernet header cut at 10 bytes", eth4[:10]),
        ("IPv4 header cut at 12 bytes", eth4 + ip_tcp[:12]),
        ("IPv4 IHL 4 (less than 5)", eth4 + bytes(bad_ihl)),
        ("UDP header cut at 4 bytes", eth4 + raw(IP(src=C, dst=S) / UDP(sport=40302, dport=53))[:24]),
        ("TCP header cut at 8 bytes", eth4 + ip_tcp[:28]),
        ("TCP data offset 3 (less than 5)", eth4 + bytes(bad_doff)),
        ("IPv6 header cut at 24 bytes", eth6 + raw(IPv6(src=C6, dst=S6))[:24]),
        ("IPv6 hop-by-hop header longer than the packet", eth6 + bytes(hbh)),
    ]


def malformed(d):
    """A refused connection (SYN, RST) with the broken frames between."""
    from scapy.all import Ether, IP, TCP, raw
    syn = raw(Ether(src=CMAC, dst=RMAC) / IP(src=C, dst=S) /
              TCP(sport=40400, dport=9999, flags="S", seq=5000))
    rst = raw(Ether(src=RMAC, dst=CMAC) / IP(src=S, dst=C) /
              TCP(sport=9999, dport=40400, flags="RA", seq=0, ack=5001))
    frames = [syn] + [f for _, f in malformed_frames()] + [rst]
    pkts = [(T0, i * 1000, len(f), f) for i, f in enumerate(frames)]
    out = os.path.join(d, "malformed.pcap")
    write_pcap(out, 1, 262144, pkts)
    return out


# ---------------------------------------------------------------- fragments and tunnels


def frames_of(path):
    lt, snap, pkts = read_pcap(path)
    if lt != 1:
        raise SystemExit(f"{path}: link type {lt}, expected Ethernet (1)")
    return snap, pkts


def mpls(d):
    """tcp-refused with two MPLS labels (1000, then 2000 bottom of stack) on every IP frame."""
    snap, pkts = frames_of(os.path.join(d, "tcp-refused.pcap"))
    stack = struct.pack(">II", 1000 << 12 | 64, 2000 << 12 | 0x100 | 64)
    out_pkts = []
    for sec, usec, orig, data in pkts:
        if ethertype(data) == ETH_IPV4:
            data = data[:12] + struct.pack(">H", 0x8847) + stack + data[14:]
            orig += len(stack)
        out_pkts.append((sec, usec, orig, data))
    out = os.path.join(d, "tcp-refused-mpls.pcap")
    write_pcap(out, 1, snap, out_pkts)
    return out


def geneve(d):
    """vxlan.pcap re-encapsulated in Geneve (UDP 6081), same inner frames and times."""
    from scapy.all import Ether, IP, UDP, raw
    snap, pkts = frames_of(os.path.join(d, "vxlan.pcap"))
    out_pkts = []
    for sec, usec, orig, data in pkts:
        outer = Ether(data)
        if not outer.haslayer(UDP) or outer[UDP].dport != 4789:
            continue
        inner = bytes(outer[UDP].payload)[8:]
        vni = bytes(outer[UDP].payload)[4:7]
        # version 0, 2 option words; no flags; protocol 0x6558 (Ethernet); VNI; reserved;
        # option class 0x0102 type 0x80 length 1: 4 bytes of data
        hdr = bytes([0x02, 0x00, 0x65, 0x58]) + vni + b"\x00" + \
            bytes([0x01, 0x02, 0x80, 0x01]) + b"opt1"
        f = Ether(src=outer.src, dst=outer.dst) / IP(src=outer[IP].src, dst=outer[IP].dst,
                                                     id=outer[IP].id, ttl=outer[IP].ttl) / \
            UDP(sport=outer[UDP].sport, dport=6081) / (hdr + inner)
        b = raw(f)
        out_pkts.append((sec, usec, len(b), b))
    out = os.path.join(d, "geneve.pcap")
    write_pcap(out, 1, snap, out_pkts)
    return out


def gtp_frag(d):
    """tcp-healthy's HTTP packets in GTP-U, the outer IP datagrams fragmented."""
    from scapy.all import Ether, IP, UDP, TCP, fragment, raw
    snap, pkts = frames_of(os.path.join(d, "tcp-healthy.pcap"))
    out_pkts = []
    ident = 0x100
    for sec, usec, orig, data in pkts:
        e = Ether(data)
        if not e.haslayer(TCP):
            continue
        inner = raw(e[IP])
        up = e[IP].src == C
        gtp = bytes([0x30, 0xFF]) + struct.pack(">HI", len(inner), 0x1234 if up else 0x5678)
        ident += 1
        o = IP(src="198.18.3.1" if up else "198.18.3.2", dst="198.18.3.2" if up else "198.18.3.1",
               id=ident) / UDP(sport=2152, dport=2152) / (gtp + inner)
        parts = fragment(o, fragsize=96) if len(raw(o)) > 160 else [o]
        for i, p in enumerate(parts):
            b = raw(Ether(src=e.src, dst=e.dst) / p)
            out_pkts.append((sec, usec + i, len(b), b))
    out = os.path.join(d, "gtp-frag.pcap")
    write_pcap(out, 1, snap, out_pkts)
    return out


def echo_ts0(d):
    from scapy.all import Ether, IP, ICMP, raw
    to_s, to_c = Ether(src=CMAC, dst=RMAC), Ether(src=RMAC, dst=CMAC)
    frames = [
        to_s / IP(src=C, dst=S) / ICMP(type=8, id=0x77, seq=1) / b"unanswered",
        to_c / IP(src=S, dst=C) / ICMP(type=0, id=0x78, seq=5) / b"no request",
        to_s / IP(src=C, dst=S) / ICMP(type=8, id=0x79, seq=1) / b"answered",
        to_c / IP(src=S, dst=C) / ICMP(type=0, id=0x79, seq=1) / b"answered",
    ]
    pkts = [(0, 0, len(raw(f)), raw(f)) for f in frames]
    out = os.path.join(d, "echo-ts0.pcap")
    write_pcap(out, 1, 262144, pkts)
    return out


def truncated_frames():
    from scapy.all import Ether, IP, IPv6, UDP, GRE, TCP, raw
    eth4 = raw(Ether(src=CMAC, dst=RMAC, type=0x0800))
    inner = raw(IP(src="198.19.9.1", dst="198.19.9.2") / TCP(sport=40600, dport=80, flags="S"))
    inner6 = raw(IPv6(src="fd18:9::1", dst="fd18:9::2") / TCP(sport=40601, dport=80, flags="S"))
    vxlan = bytes([0x08, 0, 0, 0, 0, 0, 42, 0]) + raw(Ether(src=CMAC, dst=RMAC, type=0x0800))
    gtp = bytes([0x30, 0xFF]) + struct.pack(">HI", 20, 0x1234)
    return [
        ("ICMP header cut at 4 bytes (IP length says so)",
         eth4 + raw(IP(src=C, dst=S, proto=1) / b"\x08\x00\xf7\xff")),
        ("IPv4 inside GRE cut at 12 bytes", eth4 + raw(IP(src=C, dst=S) / GRE(proto=0x0800) / inner[:12])),
        ("IPv4 inside VXLAN cut at 10 bytes",
         eth4 + raw(IP(src=C, dst=S) / UDP(sport=40602, dport=4789) / (vxlan + inner[:10]))),
        ("IPv6 inside GTP-U cut at 20 bytes",
         eth4 + raw(IP(src=C, dst=S) / UDP(sport=2152, dport=2152) / (gtp + inner6[:20]))),
        ("MPLS stack without its bottom label",
         raw(Ether(src=CMAC, dst=RMAC, type=0x8847)) + struct.pack(">I", 1000 << 12 | 64)),
        ("Geneve header cut at 4 bytes",
         eth4 + raw(IP(src=C, dst=S) / UDP(sport=40603, dport=6081) / b"\x00\x00\x65\x58")),
    ]


def truncated(d):
    frames = [f for _, f in truncated_frames()]
    pkts = [(T0, i * 1000, len(f), f) for i, f in enumerate(frames)]
    out = os.path.join(d, "truncated.pcap")
    write_pcap(out, 1, 262144, pkts)
    return out


def frag_edge(d):
    from scapy.all import Ether, IP, IPv6, IPv6ExtHdrFragment, UDP, DNS, DNSQR, raw
    to_s = Ether(src=CMAC, dst=RMAC)
    frames = []

    def v4(ident, off, chunk, more, proto=17, src=C):
        return to_s / IP(src=src, dst=S, id=ident, proto=proto, flags="MF" if more else 0,
                         frag=off // 8) / chunk

    # A: a DNS query in 4 fragments; the third overlaps the second with other bytes
    q = raw(UDP(sport=40700, dport=53) / DNS(id=0x4444, qd=DNSQR(qname="aaaaaaaa.first-wins.test")))
    frames += [v4(0xA1, 0, q[:16], True), v4(0xA1, 16, q[16:40], True),
               v4(0xA1, 24, b"X" * 16, True), v4(0xA1, 40, q[40:], False)]
    # a duplicate of a fragment already held (datagram B, which completes after it)
    b = raw(UDP(sport=40701, dport=53) / DNS(id=0x4445, qd=DNSQR(qname="duplicate.test")))
    frames += [v4(0xB1, 0, b[:16], True), v4(0xB1, 0, b[:16], True), v4(0xB1, 16, b[16:], False)]
    # the server answers both (whole datagrams): the exchanges are healthy
    to_c = Ether(src=RMAC, dst=CMAC)
    for port, ident, name in ((40700, 0x4444, "aaaaaaaa.first-wins.test"), (40701, 0x4445, "duplicate.test")):
        frames.append(to_c / IP(src=S, dst=C) / UDP(sport=53, dport=port) /
                      DNS(id=ident, qr=1, rcode=3, qd=DNSQR(qname=name)))
    # C: IPv6, the second fragment overlaps the first: the whole datagram goes (RFC 5722)
    c = raw(UDP(sport=40702, dport=53) / DNS(id=0x4446, qd=DNSQR(qname="overlap-v6.test")))
    to_s6 = Ether(src=CMAC, dst=RMAC)
    frames += [
        to_s6 / IPv6(src=C6, dst=S6) / IPv6ExtHdrFragment(id=0xC1, m=1, offset=0, nh=17) / c[:16],
        to_s6 / IPv6(src=C6, dst=S6) / IPv6ExtHdrFragment(id=0xC1, m=0, offset=1, nh=17) / c[8:],
    ]
    # a tiny first fragment: 4 bytes, not even the UDP header (RFC 1858)
    frames.append(v4(0xD1, 0, b"\x9e\x5d\x00\x35", True))
    # a fragment that would end past 65535 bytes
    frames.append(v4(0xE1, 65528, b"z" * 64, False))
    # F: the first half of a datagram that times out (tap.defragTimeoutMs) when G comes
    frames.append(v4(0xF1, 0, q[:16], True))
    pkts = [(T0, i * 1000, len(raw(f)), raw(f)) for i, f in enumerate(frames)]
    # G: 31 s later, half a datagram still held when the capture ends
    g = v4(0x61, 0, q[:16], True)
    pkts.append((T0 + 31, 1000, len(raw(g)), raw(g)))
    out = os.path.join(d, "frag-edge.pcap")
    write_pcap(out, 1, 262144, pkts)
    return out


def split_and_step(d):
    """tcp-keepalive-idle split in two (editcap -c 11: the cut falls in the idle keep-alive
    connection) for the merge of several files given out of order; and a clock stepped back
    inside one file (mergecap -a: tcp-keepalive-idle, then tcp-healthy, recorded days before)."""
    ka, healthy = os.path.join(d, "tcp-keepalive-idle.pcap"), os.path.join(d, "tcp-healthy.pcap")
    tmp = tempfile.mkdtemp()
    try:
        subprocess.run(["editcap", "-F", "pcap", "-c", "11", ka, os.path.join(tmp, "part.pcap")], check=True)
        parts = sorted(os.listdir(tmp))
        shutil.copy(os.path.join(tmp, parts[0]), os.path.join(d, "tcp-split.pcap"))
        shutil.copy(os.path.join(tmp, parts[1]), os.path.join(d, "tcp-split.part2"))
    finally:
        shutil.rmtree(tmp)
    step = os.path.join(d, "tcp-clock-step.pcap")
    subprocess.run(["mergecap", "-a", "-F", "pcap", "-w", step, ka, healthy], check=True)
    return [os.path.join(d, "tcp-split.pcap"), os.path.join(d, "tcp-split.part2"), step]


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "fixtures")
    made = []
    for base in ("tcp-refused", "tcp-refused-v6"):
        src = os.path.join(d, base + ".pcap")
        lt, snap, pkts = read_pcap(src)
        if lt != 1:
            raise SystemExit(f"{src}: link type {lt}, expected Ethernet (1)")
        out = os.path.join(d, base + "-raw.pcap")
        write_pcap(out, 101, snap, strip_eth(pkts, lambda et: b""))
        made.append(out)
        out = os.path.join(d, base + "-null.pcap")
        write_pcap(out, 0, snap, strip_eth(pkts, null_family))
        made.append(out)
        if base != "tcp-refused":
            continue
        out = os.path.join(d, base + "-vlan.pcap")
        write_pcap(out, 1, snap, tag(pkts, [(0x8100, 100)]))
        made.append(out)
        out = os.path.join(d, base + "-qinq.pcap")
        write_pcap(out, 1, snap, tag(pkts, [(0x88A8, 200), (0x8100, 100)]))
        made.append(out)
        out = os.path.join(d, base + "-be.pcap")
        write_pcap(out, 1, snap, pkts, endian=">")
        made.append(out)
        for fmt, out in (("pcapng", base + "-pcapng.pcapng"), ("nsecpcap", base + "-nsec.pcap")):
            out = os.path.join(d, out)
            subprocess.run(["editcap", "-F", fmt, src, out], check=True)
            made.append(out)
        out = os.path.join(d, base + "-gzip.pcap.gz")
        with open(src, "rb") as f, open(out, "wb") as g:
            # mtime=0: the same input gives the same bytes
            with gzip.GzipFile(filename="", mode="wb", fileobj=g, mtime=0) as z:
                z.write(f.read())
        made.append(out)
    made.append(crafted(d))
    made.append(malformed(d))
    made += [echo_ts0(d), truncated(d), frag_edge(d)]
    if os.path.exists(os.path.join(d, "tcp-healthy.pcap")):
        made += [mpls(d), gtp_frag(d)]
    if os.path.exists(os.path.join(d, "tcp-healthy.pcap")) and \
            os.path.exists(os.path.join(d, "tcp-keepalive-idle.pcap")):
        made += split_and_step(d)
    if os.path.exists(os.path.join(d, "vxlan.pcap")):
        made.append(geneve(d))
    for m in made:
        print("  derived", os.path.basename(m), file=sys.stderr)


if __name__ == "__main__":
    main()
