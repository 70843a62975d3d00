#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""HTTP/1.1 test server for the stream fixtures: well-behaved paths and paths
that misbehave on purpose.  Usage: server.py ADDR PORT"""
import socket
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self, n):
        return (b"0123456789abcdef" * (n // 16 + 1))[:n]

    def send_plain(self, code, data, extra=()):
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def raw_close(self, data, linger_rst=False):
        """Write raw bytes and close (with RST when linger_rst)."""
        self.wfile.flush()
        if data:
            self.connection.sendall(data)
        if linger_rst:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def do_GET(self):
        path, _, query = self.path.partition("?")
        args = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        n = int(args.get("n", "100"))
        if path == "/file":
            self.send_plain(200, self.body(n))
        elif path == "/missing":
            self.send_plain(404, b"not here\n")
        elif path == "/error":
            self.send_plain(500, b"boom\n")
        elif path == "/nocontent":
            self.send_response(204)
            self.end_headers()
        elif path == "/cached":
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.send_header("ETag", '"v1"')
                self.end_headers()
            else:
                self.send_plain(200, self.body(n), [("ETag", '"v1"')])
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Checksum")
            self.end_headers()
            for size in (10, 300, 5):
                self.wfile.write(b"%x\r\n%s\r\n" % (size, self.body(size)))
                self.wfile.flush()
                time.sleep(0.02)
            self.wfile.write(b"0\r\nX-Checksum: 315\r\n\r\n")
        elif path == "/close":
            # HTTP/1.0 style: the body ends when the connection closes.
            self.wfile.flush()
            self.connection.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                                    b"Content-Type: text/plain\r\n\r\n")
            time.sleep(0.02)
            self.raw_close(self.body(n))
        elif path == "/reset":
            time.sleep(0.05)
            self.raw_close(b"", linger_rst=True)
        elif path == "/cut":
            # Announce 1000 bytes, send 100, close.
            self.wfile.flush()
            self.connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            time.sleep(0.02)
            self.raw_close(self.body(100))
        elif path == "/hangup":
            time.sleep(0.05)
            self.raw_close(b"")
        elif path == "/garbage":
            self.raw_close(b"SSH-2.0-NotHTTP garbage\r\n\x00\x01\x02\r\n")
        elif path == "/silent":
            time.sleep(float(args.get("s", "2.5")))
            self.raw_close(b"")
        elif path == "/stall":
            # Headers and part of the body, then nothing past the timeout.
            self.wfile.flush()
            self.connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n" +
                                    self.body(50))
            time.sleep(float(args.get("s", "2.5")))
            self.raw_close(b"")
        elif path == "/trickle":
            # Wait, then send the response slowly, so a capture can start in the middle.
            time.sleep(float(args.get("wait", "0")))
            total, pieces = n, int(args.get("pieces", "10"))
            self.send_response(200)
            self.send_header("Content-Length", str(total))
            self.end_headers()
            self.wfile.flush()
            step = total // pieces
            for i in range(pieces):
                part = step if i < pieces - 1 else total - step * (pieces - 1)
                self.wfile.write(self.body(part))
                self.wfile.flush()
                time.sleep(float(args.get("gap", "0.2")))
        else:
            self.send_plain(404, b"unknown\n")

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n)
        self.send_plain(201, b"got %d bytes\n" % len(data))

    do_PUT = do_POST


if __name__ == "__main__":
    ThreadingHTTPServer.allow_reuse_address = True
    if ":" in sys.argv[1]:
        ThreadingHTTPServer.address_family = socket.AF_INET6
    ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
