#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Misbehaving TCP servers for the capture tests.

  servers.py reset ADDR PORT       accept, read the request, close with SO_LINGER 0 (RST)
  servers.py closewait ADDR PORT S accept and hold the socket S seconds without closing,
                                   so after the client's FIN it sits in CLOSE_WAIT
  servers.py closer ADDR PORT      accept, read until the client's FIN, then close (passive close)
  servers.py connect ADDR PORT     connect and close at once (the client side of closewait)
  servers.py halfclose ADDR PORT   connect, send FIN, wait for the server's FIN, close
  servers.py refusals ADDR PORT N  N connections to a closed port (each refused), 1 ms apart
  servers.py ctlflood SOCK N       N control-socket clients: ask (follow, query, stats), vanish
                                   (some at once, some after reading a little); prints how many
                                   got an answer
  servers.py ctlidle SOCK N S      N control-socket connections that send nothing, held S seconds;
                                   prints how many the server closed meanwhile
Every server exits after 900 s at the latest (a loaded machine runs the suite slowly; teardown kills them sooner).
"""
import socket
import struct
import sys
import threading
import time


def listen(addr, port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    s.settimeout(900)
    return s


def reset(addr, port):
    s = listen(addr, port)
    deadline = time.time() + 900
    while time.time() < deadline:
        try:
            c, _ = s.accept()
        except socket.timeout:
            return
        c.settimeout(2)
        try:
            c.recv(4096)
        except OSError:
            pass
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()


def closewait(addr, port, hold):
    s = listen(addr, port)
    deadline = time.time() + 900
    held = []
    while time.time() < deadline:
        try:
            c, _ = s.accept()
        except socket.timeout:
            return
        held.append(c)
        threading.Timer(hold, c.close).start()


def closer(addr, port):
    s = listen(addr, port)
    deadline = time.time() + 900
    while time.time() < deadline:
        try:
            c, _ = s.accept()
        except socket.timeout:
            return
        c.settimeout(5)
        drain_and_close(c)


def drain_and_close(c):
    """Read until the peer closes (or the timeout), then close."""
    try:
        while c.recv(4096):
            pass
    except OSError:
        pass
    c.close()


def client(addr, port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    c = socket.socket(fam, socket.SOCK_STREAM)
    c.settimeout(3)
    c.connect((addr, port))
    return c


def halfclose(addr, port):
    c = client(addr, port)
    c.shutdown(socket.SHUT_WR)
    drain_and_close(c)


def connect(addr, port):
    client(addr, port).close()


def refusals(addr, port, n):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    for _ in range(n):
        c = socket.socket(fam, socket.SOCK_STREAM)
        c.settimeout(1)
        try:
            c.connect((addr, port))
        except OSError:
            pass
        c.close()
        time.sleep(0.001)


def unix_client(path):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(3)
    c.connect(path)
    return c


def ctlflood(path, n):
    reqs = [b"query 0 1\n", b"query 5 0\n", b"stats\n", b'query 0 1 error.message == r"Syn"\n', b""]
    held, answered = [], 0
    for i in range(n):
        try:
            c = unix_client(path)
            c.sendall(reqs[i % len(reqs)])
            held.append(c)
        except OSError:
            continue
        while len(held) > (i % 7) * 4:
            v = held.pop()
            if i % 2:
                try:
                    v.settimeout(0.05)
                    answered += len(v.recv(256)) > 0
                except OSError:
                    pass
            v.close()
    for c in held:
        c.close()
    print(answered)


def ctlidle(path, n, secs):
    conns = []
    for _ in range(n):
        try:
            conns.append(unix_client(path))
        except OSError:
            break
    time.sleep(secs)
    closed = 0
    for c in conns:
        c.settimeout(0.5)
        try:
            data = c.recv(256)
            closed += data == b"" or data.startswith(b"error")
        except OSError:
            pass
        c.close()
    print(closed)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "ctlflood":
        ctlflood(sys.argv[2], int(sys.argv[3]))
        sys.exit(0)
    if mode == "ctlidle":
        ctlidle(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
        sys.exit(0)
    addr, port = sys.argv[2], int(sys.argv[3])
    if mode == "refusals":
        refusals(addr, port, int(sys.argv[4]))
        sys.exit(0)
    if mode == "reset":
        reset(addr, port)
    elif mode == "closewait":
        closewait(addr, port, float(sys.argv[4]))
    elif mode == "closer":
        closer(addr, port)
    elif mode == "connect":
        connect(addr, port)
    elif mode == "halfclose":
        halfclose(addr, port)
