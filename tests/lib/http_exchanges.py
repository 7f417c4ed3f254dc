#!/usr/bin/env python3
"""N HTTP/1.1 keep-alive exchanges with a server, over C connections, each request answered
(200, the whole body by its Content-Length) before its connection sends the next: when it
exits 0, every one of the N requests and responses crossed the wire. Prints N.

Usage: http_exchanges.py ADDR N C      (port 80)
"""
import selectors, socket, sys
addr, n, conns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
req = ("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % addr).encode()
sel = selectors.DefaultSelector()
sent = done = 0
state = {}
for _ in range(conns):
    s = socket.create_connection((addr, 80))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    state[s] = b""
    sel.register(s, selectors.EVENT_READ)
    s.sendall(req)
    sent += 1
while done < n:
    ready = sel.select(10)
    if not ready:
        sys.exit("no answer for 10 s after %d of %d exchanges" % (done, n))
    for key, _ in ready:
        s = key.fileobj
        data = s.recv(65536)
        if not data:
            sys.exit("the server closed a connection after %d of %d exchanges" % (done, n))
        buf = state[s] + data
        while True:
            h = buf.find(b"\r\n\r\n")
            if h < 0:
                break
            head = buf[:h].decode()
            clen = int([l.split(":")[1] for l in head.split("\r\n") if l.lower().startswith("content-length:")][0])
            if len(buf) < h + 4 + clen:
                break
            assert head.startswith("HTTP/1.1 200"), head[:40]
            buf = buf[h + 4 + clen:]
            done += 1
            if sent < n:
                s.sendall(req)
                sent += 1
        state[s] = buf
print(done)
