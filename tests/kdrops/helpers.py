#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Traffic for tests/kdrops/run.sh; every mode is bounded in count and time.
#   connect HOST PORT SECONDS        one TCP connect, given up after SECONDS
#   udpsend HOST PORT COUNT SIZE     COUNT datagrams of SIZE bytes
#   udpsink HOST PORT                bind with a tiny SO_RCVBUF and never read
#   backlog HOST PORT                listen(1), never accept
#   burst HOST PORT COUNT SECONDS    COUNT non-blocking connects, held SECONDS
#   silent HOST PORT SECONDS         connect, then send every 0.2 s until an error (prints errno)
#   echo HOST PORT                   accept, read and discard
#   spoof SRC DST PORT COUNT IFACE   COUNT UDP datagrams from a spoofed SRC (scapy)
import errno
import os
import socket
import sys
import time


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def main():
    if sys.argv[1] == "spoof":
        spoof()
        return
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "connect":
        s = socket.socket(family(host), socket.SOCK_STREAM)
        s.settimeout(float(sys.argv[4]))
        try:
            s.connect((host, port))
        except OSError as e:
            print("connect:", e)
    elif mode == "udpsend":
        s = socket.socket(family(host), socket.SOCK_DGRAM)
        for _ in range(int(sys.argv[4])):
            try:
                s.sendto(b"x" * int(sys.argv[5]), (host, port))
            except OSError:
                pass
    elif mode == "udpsink":
        s = socket.socket(family(host), socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.bind((host, port))
        time.sleep(600)
    elif mode == "backlog":
        s = socket.socket(family(host), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(1)
        time.sleep(600)
    elif mode == "burst":
        socks = []
        for _ in range(int(sys.argv[4])):
            c = socket.socket(family(host), socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect((host, port))
            except OSError:
                pass
            socks.append(c)
        time.sleep(float(sys.argv[5]))
    elif mode == "silent":
        s = socket.socket(family(host), socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect((host, port))
        print("connected", flush=True)
        s.settimeout(None)
        deadline = time.time() + float(sys.argv[4])
        while time.time() < deadline:
            try:
                s.send(b"ping\n")
            except OSError as e:
                print("errno", errno.errorcode.get(e.errno, e.errno))
                return
            time.sleep(0.2)
        print("no error")
    elif mode == "echo":
        s = socket.socket(family(host), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(8)
        while True:
            c, _ = s.accept()
            while c.recv(4096):
                pass


def spoof():
    from scapy.all import IP, UDP, Ether, sendp
    src, dst, dport, count, iface = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
    sendp(Ether() / IP(src=src, dst=dst) / UDP(sport=40000, dport=dport) / b"spoof",
          iface=iface, count=count, verbose=False)

if __name__ == "__main__":
    main()
