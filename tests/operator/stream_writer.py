#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes a pcap slowly into PATH (a FIFO, or "-" for stdout): a refused
# connection (SYN, RST), then waits (at most 20 s) until OUT holds a line,
# then a second refused connection and the end.  Prints "early" on stderr when
# the first entry was in OUT before the writer finished, else "late".
import os, struct, sys, time

path, out = sys.argv[1], sys.argv[2]

def ip4(a):
    return bytes(int(x) for x in a.split("."))

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF

def tcp_packet(src, dst, sport, dport, flags, seq, ack):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, ip4(src), ip4(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    return eth + ip + tcp

def record(t, data):
    return struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(data), len(data)) + data

a, b = "198.18.64.1", "198.18.64.2"
f = os.fdopen(1, "wb") if path == "-" else open(path, "wb")
f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
t = time.time()
f.write(record(t, tcp_packet(a, b, 40001, 81, 0x02, 1000, 0)))
f.write(record(t + 0.001, tcp_packet(b, a, 81, 40001, 0x14, 0, 1001)))
f.flush()
seen = False
for _ in range(200):
    try:
        if os.path.getsize(out) > 0:
            seen = True
            break
    except OSError:
        pass
    time.sleep(0.1)
f.write(record(t + 1, tcp_packet(a, b, 40002, 83, 0x02, 2000, 0)))
f.write(record(t + 1.001, tcp_packet(b, a, 83, 40002, 0x14, 0, 2001)))
f.close()
print("early" if seen else "late", file=sys.stderr)
