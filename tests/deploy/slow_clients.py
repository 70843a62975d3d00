#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Clients that try to starve a /metrics endpoint: idle connections from many
source addresses, connections that trickle a request a byte at a time, and
malformed requests.  Usage: slow_clients.py HOST PORT READY_FILE TRICKLE_SRC SRC...
Opens 16 trickling connections from TRICKLE_SRC and 10 idle connections from
each SRC, sends the malformed requests, writes READY_FILE with the number of
connections it holds, then keeps trickling (bounded: at most 20 s)."""
import socket
import os
import sys
import time

host, port, ready, trickle_src, srcs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]


def connect(src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    s.bind((src, 0))
    s.connect((host, port))
    return s


idle, trickle = [], []
for src in srcs:
    for _ in range(10):
        try:
            idle.append(connect(src))
        except OSError:
            pass
for _ in range(16):
    try:
        t = connect(trickle_src)
        t.sendall(b"G")
        trickle.append(t)
    except OSError:
        pass
# Malformed requests: each gets an error or a close, none may hurt the scrape.
for bad in (b"GARBAGE\r\n\r\n", b"\x00\xff\x16\x03\x01\x02\x00\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 40000 + b"\r\n\r\n",
            b"GET /metrics HTTP/9.9\r\n\r\n", b"POST /metrics HTTP/1.1\r\nContent-Length: 99999999\r\n\r\nx"):
    try:
        s = connect(srcs[-1])
        s.sendall(bad)
        s.recv(100)
        s.close()
    except OSError:
        pass
with open(ready + ".tmp", "w") as f:
    f.write("%d %d\n" % (len(idle), len(trickle)))
os.rename(ready + ".tmp", ready)
# Trickle one byte of "ET /metrics ..." every half second, bounded.
for i in range(40):
    for t in list(trickle):
        try:
            t.sendall(b"ET /metrics HTTP/1.1\r\n"[i % 22:i % 22 + 1])
        except OSError:
            trickle.remove(t)
    time.sleep(0.5)
