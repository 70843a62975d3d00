#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes fixtures/tcp-past-4gib.pcap.gz: one HTTP download of 5 000 000 000
bytes (past 2^32 bytes of sequence space), captured with a snaplen that keeps
only the headers of the body segments (as `tcpdump -s 54` would): every body
segment claims 65000 bytes in its IP total length and carries none.  After the
sequence numbers wrapped (and past 4 GiB of stream) one segment is never sent
(the client's ACK covers it: 65000 bytes missed) and one is sent twice (a
retransmission).  Synthetic: no real stack sends 5 GB in a test; the headers
are exactly what a capture of such a transfer holds.

    python3 tests/streams/gen-bigstream.py   (then run.sh --update --only tcp-past-4gib)
"""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "tcp-past-4gib.pcap.gz")

C, S = bytes([198, 18, 40, 1]), bytes([198, 18, 41, 2])
CP, SP = 40400, 8080
BODY = 5_000_000_000
SEG = 65000
HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % BODY
REQ = b"GET /big HTTP/1.1\r\nHost: 198.18.41.2:8080\r\n\r\n"
ISN_C, ISN_S = 1000, 0xFFF00000      # the server's sequence numbers wrap early too

out = bytearray()
out += struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)   # Ethernet
t_us = 1_700_000_000 * 1_000_000


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def pkt(src, dst, sport, dport, seq, ack, flags, payload=b"", wire_payload=None):
    """One frame; wire_payload is the payload length the IP header claims."""
    global t_us
    t_us += 20
    n = len(payload) if wire_payload is None else wire_payload
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 20 + n, 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    frame = eth + ip + tcp + payload
    wire = 14 + 20 + 20 + n
    out.extend(struct.pack("<IIII", t_us // 1_000_000, t_us % 1_000_000, len(frame), wire))
    out.extend(frame)


SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
cs, ss = ISN_C, ISN_S
pkt(C, S, CP, SP, cs, 0, SYN)
pkt(S, C, SP, CP, ss, cs + 1, SYN | ACK)
cs += 1
ss += 1
pkt(C, S, CP, SP, cs, ss, ACK)
pkt(C, S, CP, SP, cs, ss, PSH | ACK, REQ)
cs += len(REQ)
pkt(S, C, SP, CP, ss, cs, PSH | ACK, HEAD)
ss += len(HEAD)
pkt(C, S, CP, SP, cs, ss, ACK)

off = 0                  # body bytes sent
n = 0
hole_at = 4_400_000_000  # after 2^32 bytes of stream: one segment lost on the way
retrans_at = 4_500_000_000
holed = resent = False
while off < BODY:
    size = min(SEG, BODY - off)
    seq = ss + off
    if not holed and off >= hole_at:
        holed = True     # never captured: the next segment comes, the ACK covers both
    else:
        pkt(S, C, SP, CP, seq, cs, ACK, b"", size)
        if not resent and off >= retrans_at:
            resent = True
            pkt(S, C, SP, CP, seq, cs, ACK, b"", size)
    off += size
    n += 1
    if n % 64 == 0 or off >= BODY:
        pkt(C, S, CP, SP, cs, ss + off, ACK)
ss += BODY
pkt(S, C, SP, CP, ss, cs, FIN | ACK)
pkt(C, S, CP, SP, cs, ss + 1, FIN | ACK)
pkt(S, C, SP, CP, ss + 1, cs + 1, ACK)

with gzip.open(OUT, "wb", compresslevel=9) as f:
    f.write(out)
print(OUT, len(out), "bytes before gzip")
