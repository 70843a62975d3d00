#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Where the copied bytes of a capture with tap.skipPayload go, by category.

Reads the pcap a `faultline capture --backend ebpf -w` wrote (each packet as
the capture programs copied it: the captured length, the wire length) of an
HTTP mix (server port 80), and prints for bench/skipcost.sh, one line each:
    skipcost-part CATEGORY COPIED_BYTES WIRE_BYTES PACKETS
where COPIED counts the 24-byte ring record header of every packet.
Usage: bench/skipbreakdown.py FILE.pcap
"""
import struct
import sys

RECORD_HDR = 24
CATS = ("record-headers", "packet-headers", "head-segments-head",
        "head-segments-body", "body-before-skip", "requests", "other")


def main(path):
    copied = dict.fromkeys(CATS, 0)
    pkts = dict.fromkeys(CATS, 0)
    wire = 0
    with open(path, "rb") as f:
        gh = f.read(24)
        if len(gh) < 24 or struct.unpack("<I", gh[:4])[0] not in (0xa1b2c3d4, 0xa1b23c4d):
            sys.exit("skipbreakdown: %s: not a little-endian pcap" % path)
        ethernet = struct.unpack("<I", gh[20:24])[0] == 1
        while True:
            h = f.read(16)
            if len(h) < 16:
                break
            _, _, incl, orig = struct.unpack("<IIII", h)
            d = f.read(incl)
            wire += orig
            copied["record-headers"] += RECORD_HDR
            off = 14 if ethernet else 0
            if (ethernet and d[12:14] != b"\x08\x00") or len(d) < off + 20 or d[off + 9] != 6:
                copied["other"] += incl
                pkts["other"] += 1
                continue
            t = off + (d[off] & 15) * 4
            hdr = t + (d[t + 12] >> 4) * 4
            paylen = off + struct.unpack(">H", d[off + 2:off + 4])[0] - hdr
            sport = struct.unpack(">H", d[t:t + 2])[0]
            copied["packet-headers"] += min(incl, hdr)
            pc = max(0, incl - hdr)
            if paylen <= 0 or pc == 0:
                continue              # ACK, or headers only (skipped)
            p = d[hdr:hdr + pc]
            if p.startswith(b"HTTP/1."):
                end = p.find(b"\r\n\r\n")
                head = pc if end < 0 else end + 4
                copied["head-segments-head"] += head
                copied["head-segments-body"] += pc - head
                pkts["head-segments-head"] += 1
            elif sport == 80:
                copied["body-before-skip"] += pc
                pkts["body-before-skip"] += 1
            else:
                copied["requests"] += pc
                pkts["requests"] += 1
    for c in CATS:
        print("skipcost-part %s %d %d %d" % (c, copied[c], wire, pkts[c]))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: bench/skipbreakdown.py FILE.pcap")
    main(sys.argv[1])
