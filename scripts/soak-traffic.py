#!/usr/bin/env python3
"""Servers and a traffic generator for scripts/soak.sh.

soak-traffic.py serve ADDR WWWDIR    HTTP/1.1 on ADDR:8080 (files from WWWDIR, keep-alive),
                                     a UDP sink on ADDR:9000 and a TCP sink on ADDR:9001
soak-traffic.py load ADDR SECONDS    for SECONDS: HTTP 8/s (a third on new connections, paths
                                     with ids and queries), DNS 8/s to ADDR:53 (known names,
                                     NXDOMAIN, a tenth over TCP), UDP 60/s from 32 sockets (a
                                     tenth to the closed port 9999), short TCP connections 4/s;
                                     prints the counts at the end
"""
import http.client as httpc
import http.server
import os
import random
import socket
import struct
import sys
import threading
import time


def serve(addr, www):
    os.chdir(www)

    class Handler(http.server.SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((addr, 9000))

    def udp_sink():
        while True:
            udp.recv(65536)

    tcp = socket.socket()
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((addr, 9001))
    tcp.listen(64)

    def drain(c):
        with c:
            while c.recv(65536):
                pass

    def tcp_sink():
        while True:
            c, _ = tcp.accept()
            threading.Thread(target=drain, args=(c,), daemon=True).start()

    threading.Thread(target=udp_sink, daemon=True).start()
    threading.Thread(target=tcp_sink, daemon=True).start()
    http.server.ThreadingHTTPServer((addr, 8080), Handler).serve_forever()


def load(addr, secs):
    end = time.time() + secs
    count = {"http": 0, "dns": 0, "udp": 0, "tcp": 0, "errors": 0}
    lock = threading.Lock()

    def every(rate, fn, name):
        gap = 1.0 / rate
        while time.time() < end:
            try:
                fn()
                key = name
            except (OSError, httpc.HTTPException):
                key = "errors"
            with lock:
                count[key] += 1
            time.sleep(gap)

    conn = [None]

    def web():
        if conn[0] is None or random.random() < 0.3:  # new connections too: flows come and go
            conn[0] = httpc.HTTPConnection(addr, 8080, timeout=2)
        path = random.choice(["/", "/index.html", "/api/items/%d" % random.randint(1, 3),
                              "/missing/%d?q=%d" % (random.randint(1, 10**6), random.randint(1, 9))])
        try:
            conn[0].request("GET", path)
            conn[0].getresponse().read()
        except (OSError, httpc.HTTPException):
            conn[0] = None
            raise

    def dns():
        name = random.choice(["known.test", "www.known.test", "n%d.test" % random.randint(1, 400)])
        q = struct.pack(">HHHHHH", random.randint(0, 65535), 0x0100, 1, 0, 0, 0)
        q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0\0\1\0\1"
        if random.random() < 0.1:
            with socket.create_connection((addr, 53), 2) as s:
                s.sendall(struct.pack(">H", len(q)) + q)
                s.recv(4096)
            return
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(1)
            s.sendto(q, (addr, 53))
            s.recv(4096)

    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(32)]

    def udp():
        port = 9000 if random.random() < 0.9 else 9999
        random.choice(socks).sendto(b"x" * random.randint(1, 1200), (addr, port))

    def tcp():
        with socket.create_connection((addr, 9001), 2) as s:
            s.sendall(b"y" * random.randint(1, 20000))

    threads = [threading.Thread(target=every, args=a)
               for a in ((8, web, "http"), (8, dns, "dns"), (60, udp, "udp"), (4, tcp, "tcp"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(" ".join("%s=%d" % kv for kv in count.items()), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "load":
        load(sys.argv[2], float(sys.argv[3]))
    else:
        sys.exit(__doc__)
