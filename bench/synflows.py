#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write a pcap of N TCP SYNs, each opening a distinct flow (bench: memory per flow).

Usage: bench/synflows.py N OUT.pcap

Ethernet/IPv4/TCP SYN packets from 198.18.64.0/18 (client addresses) and
ports 1024..65023 to 198.18.0.1:80, one microsecond apart.  Packets are built
by struct packing a template (scapy is far too slow for a million packets);
IPv4 header checksums are correct, TCP checksums are left zero (not checked).
"""
import struct
import sys


def ip_checksum(hdr):
    s = sum(struct.unpack("!10H", hdr))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def main():
    n = int(sys.argv[1])
    out = sys.argv[2]
    eth = bytes.fromhex("020000000002" "020000000001" "0800")
    dst = bytes([198, 18, 0, 1])
    ports_per_ip = 64000
    with open(out, "wb", buffering=1 << 20) as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        rec = struct.Struct("<IIII")
        iph = struct.Struct("!BBHHHBBH4s4s")
        tcph = struct.Struct("!HHIIBBHHH")
        plen = 14 + 20 + 20
        for i in range(n):
            host, port = divmod(i, ports_per_ip)
            src = bytes([198, 18, 64 + (host >> 8), host & 0xFF])
            ip = iph.pack(0x45, 0, 40, i & 0xFFFF, 0x4000, 64, 6, 0, src, dst)
            ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
            tcp = tcph.pack(1024 + port, 80, i * 7919 & 0xFFFFFFFF, 0, 0x50, 0x02, 64240, 0, 0)
            us = i
            f.write(rec.pack(1_000_000 + us // 1_000_000, us % 1_000_000, plen, plen))
            f.write(eth)
            f.write(ip)
            f.write(tcp)


if __name__ == "__main__":
    main()
