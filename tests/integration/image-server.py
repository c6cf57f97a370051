#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A test image server for test-download.sh, on 127.0.0.1 only.

    image-server.py ROOT PORTFILE LOGFILE [CERT KEY]

Serves the files below ROOT (GET and HEAD, no directory listings). The first
path component names a tree; a few trees misbehave on purpose for every file
whose name contains "rootfs.tar" (the trees themselves are symlinks to a good
one):

    err500       HTTP 500 with an HTML error page
    err404       HTTP 404
    redirhost    302 to the same file on "localhost" (another host name)
    redirloop    302 to itself, forever
    redirhttps   302 to an https:// URL on 127.0.0.1 (nothing listens there)
    redirhttp    302 to an http:// URL on 127.0.0.1 (a downgrade when serving https)
    endless      200, chunked, a body that never ends
    endless500   500, chunked, an error page that never ends
    truncated    200 with the full Content-Length, half the body, then closed
    slow         200, then one byte every 2 s
    flaky        the first request: like truncated; later ones honour a Range
                 ("bytes=N-") with a 206

Each request is logged as one line "METHOD PATH" to LOGFILE. The chosen port
is written to PORTFILE once listening. With CERT and KEY (PEM) it speaks
https.
"""
import http.server
import os
import socketserver
import ssl
import sys
import time

ROOT, PORTFILE, LOGFILE = sys.argv[1:4]
FLAKY_SEEN = set()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def log_request_line(self):
        rng = self.headers.get("Range")
        with open(LOGFILE, "a") as f:
            f.write("%s %s%s\n" % (self.command, self.path, " range=" + rng if rng else ""))

    def local_path(self):
        path = self.path.split("?", 1)[0]
        parts = [p for p in path.split("/") if p]
        if any(p in (".", "..") for p in parts):
            return None, parts
        return os.path.join(ROOT, *parts), parts

    def send_plain(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def chunked(self, code, chunk, limit=None):
        self.send_response(code)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0
        try:
            while limit is None or sent < limit:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.log_request_line()
        path, parts = self.local_path()
        if path is None or not parts:
            return self.send_plain(404, b"not found\n")
        tree = parts[0]
        target = "rootfs.tar" in parts[-1] and not parts[-1].endswith(".asc")
        host = "127.0.0.1:%d" % self.server.server_address[1]
        if target and tree == "err500":
            return self.send_plain(500, b"<html><body>Internal Server Error</body></html>\n",
                                   [("Content-Type", "text/html")])
        if target and tree == "err404":
            return self.send_plain(404, b"<html><body>Not Found</body></html>\n")
        if target and tree == "redirhost":
            loc = "http://localhost:%d/good/%s" % (self.server.server_address[1],
                                                   "/".join(parts[1:]))
            return self.send_plain(302, b"moved\n", [("Location", loc)])
        if target and tree == "redirloop":
            return self.send_plain(302, b"moved\n", [("Location", "http://%s%s" % (host, self.path))])
        if target and tree == "redirhttp":
            return self.send_plain(302, b"moved\n", [("Location", "http://%s%s" % (host, self.path))])
        if target and tree == "redirhttps":
            return self.send_plain(302, b"moved\n", [("Location", "https://%s%s" % (host, self.path))])
        if target and tree == "endless":
            return self.chunked(200, b"\0" * 65536)
        if target and tree == "endless500":
            return self.chunked(500, b"<p>error</p>" * 4096)
        if not os.path.isfile(path):
            return self.send_plain(404, b"not found\n")
        with open(path, "rb") as f:
            data = f.read()
        if target and tree == "flaky":
            first = self.path not in FLAKY_SEEN
            FLAKY_SEEN.add(self.path)
            rng = self.headers.get("Range", "")
            if not first and rng.startswith("bytes=") and rng.endswith("-"):
                start = int(rng[6:-1])
                self.send_response(206)
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                self.wfile.write(data[start:])
                return
        if target and (tree == "truncated" or (tree == "flaky" and first)):
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if target and tree == "slow":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                for i in range(len(data)):
                    self.wfile.write(data[i:i + 1])
                    self.wfile.flush()
                    time.sleep(2)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return
        self.send_plain(200, data, [("Content-Type", "application/octet-stream")])


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a client that hangs up on a hostile answer is the point


srv = Server(("127.0.0.1", 0), Handler)
if len(sys.argv) > 5:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
