#!/usr/bin/env python3
"""N HTTP/1.1 keep-alive exchanges with a server, over C connections, each request answered
(200, the whole body by its Content-Length) before its connection sends the next: when it
exits 0, every one of the N requests and responses crossed the wire. Prints N.

Usage: http_exchanges.py ADDR N C [--sample-mix]      (port 80)

--sample-mix: the connections' source ports are chosen so that, of the C flows as the server
side's L7 overload sampling sees them (bpf/lib/l7.bpf.h pl_l7_sampled_out: 4 bits of a hash of
the ports), exactly one is in the 1-in-16 sample and three more in the 1-in-4 one. Left to the
kernel's ephemeral ports, 16 connections put 0 to 4 flows in the 1-in-16 sample, and with 2 a
ring filled by 30,000 exchanges overflows after all.
"""
import selectors, socket, sys
addr, n, conns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
mix = "--sample-mix" in sys.argv[4:]


def sample_bits(local_port, remote_port):
    return ((((local_port << 16) | remote_port) * 2654435761) & 0xFFFFFFFF) >> 28


def mixed_ports(c):
    want = {"16": 1, "4": 3, "out": c - 4}
    ports = []
    for p in range(40000, 60000):
        b = sample_bits(80, p)
        cls = "16" if b & 15 == 0 else "4" if b & 3 == 0 else "out"
        if want[cls] > 0:
            want[cls] -= 1
            ports.append(p)
        if len(ports) == c:
            return ports
    sys.exit("no ports for the sample mix")


ports = mixed_ports(conns) if mix else [0] * conns
req = ("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % addr).encode()
sel = selectors.DefaultSelector()
sent = done = 0
state = {}
for port in ports:
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", port))
    s.connect((addr, 80))
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
