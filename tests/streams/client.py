#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Raw-socket HTTP client for the stream fixtures.
  client.py pipeline HOST PORT PATH...   all requests in one write, then read
  client.py sequence HOST PORT PATH...   one request at a time on one connection
Reads until the expected number of responses or 5 s, then closes."""
import socket
import sys
import time


def request(host, path):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: fixture\r\n\r\n" % (path, host)).encode()


def read_responses(sock, want, deadline):
    """Count complete Content-Length responses (enough for our server)."""
    buf, got = b"", 0
    sock.settimeout(0.2)
    while got < want and time.time() < deadline:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        if not data:
            break
        buf += data
        while True:
            head_end = buf.find(b"\r\n\r\n")
            if head_end < 0:
                break
            head = buf[:head_end].decode("latin-1").lower()
            length = 0
            for line in head.split("\r\n"):
                if line.startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            if len(buf) < head_end + 4 + length:
                break
            buf = buf[head_end + 4 + length:]
            got += 1
    return got


def main():
    mode, host, port, paths = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    sock = socket.create_connection((host, port), timeout=5)
    deadline = time.time() + 10
    if mode == "pipeline":
        sock.sendall(b"".join(request(host, p) for p in paths))
        read_responses(sock, len(paths), deadline)
    else:
        for p in paths:
            sock.sendall(request(host, p))
            read_responses(sock, 1, deadline)
    sock.close()


if __name__ == "__main__":
    main()
