#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Traffic for tests/ksock/run.sh; every mode is bounded in count and time.
#   refuse HOST PORT COUNT          COUNT connects to a closed port (each refused)
#   rstclose HOST PORT              connect, then close with SO_LINGER 0 (sends a RST)
#   lingerserver HOST PORT COUNT    accept COUNT connections, read a line, close each with
#                                   SO_LINGER 0 (a RST from ESTABLISHED)
#   get HOST PORT                   connect, send a line, read until the peer ends it
# (A listener that never accepts and a burst of connects: tests/kdrops/helpers.py backlog, burst.)
import socket
import struct
import sys


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def linger0(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "refuse":
        for _ in range(int(sys.argv[4])):
            s = socket.socket(family(host), socket.SOCK_STREAM)
            s.settimeout(3)
            try:
                s.connect((host, port))
            except OSError:
                pass
            s.close()
    elif mode == "rstclose":
        s = socket.create_connection((host, port), timeout=3)
        linger0(s)
        s.close()
    elif mode == "lingerserver":
        s = socket.socket(family(host), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(8)
        s.settimeout(120)
        for _ in range(int(sys.argv[4])):
            c, _ = s.accept()
            c.settimeout(5)
            try:
                c.recv(100)
            except OSError:
                pass
            linger0(c)
            c.close()
    elif mode == "get":
        s = socket.create_connection((host, port), timeout=3)
        s.sendall(b"hello\n")
        try:
            while s.recv(100):
                pass
        except OSError as e:
            print("get:", e)


if __name__ == "__main__":
    main()
