#!/usr/bin/env python3
"""Misbehaving TCP servers for the capture tests.

  servers.py reset ADDR PORT       accept, read the request, close with SO_LINGER 0 (RST)
  servers.py closewait ADDR PORT S accept and hold the socket S seconds without closing,
                                   so after the client's FIN it sits in CLOSE_WAIT
  servers.py closer ADDR PORT      accept, read until the client's FIN, then close (passive close)
  servers.py connect ADDR PORT     connect and close at once (the client side of closewait)
  servers.py halfclose ADDR PORT   connect, send FIN, wait for the server's FIN, close
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


if __name__ == "__main__":
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
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
