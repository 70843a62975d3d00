#!/usr/bin/env python3
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
  tcp-refused.pcapng          pcapng (editcap -F pcapng)
  tcp-refused-nsec.pcap       nanosecond-resolution pcap (editcap -F nsecpcap)
  tcp-refused.pcap.gz         gzip-compressed Ethernet file

The Linux cooked variants (tcp-refused-sll.pcap, -sll2.pcap) are recorded for
real by record.sh with tcpdump -i any.  Only the standard library is used.
"""
import gzip
import os
import struct
import subprocess
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
        for fmt, out in (("pcapng", base + ".pcapng"), ("nsecpcap", base + "-nsec.pcap")):
            out = os.path.join(d, out)
            subprocess.run(["editcap", "-F", fmt, src, out], check=True)
            made.append(out)
        out = os.path.join(d, base + ".pcap.gz")
        with open(src, "rb") as f, open(out, "wb") as g:
            # mtime=0: the same input gives the same bytes
            with gzip.GzipFile(filename="", mode="wb", fileobj=g, mtime=0) as z:
                z.write(f.read())
        made.append(out)
    for m in made:
        print("  derived", os.path.basename(m), file=sys.stderr)


if __name__ == "__main__":
    main()
