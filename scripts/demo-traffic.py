#!/usr/bin/env python3
"""Demo traffic for `make demo`: UDP stream and sink, TCP echo server, short-lived TCP connections.

Every generator is bounded: it stops after --max-seconds, or as soon as the process
--parent (the demo script) is gone, so nothing outlives the demo even after a kill -9.
"""
import argparse
import os
import random
import selectors
import socket
import sys
import time


def parent_alive(pid):
    if not pid:
        return True
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def running(args, t0):
    return time.monotonic() - t0 < args.max_seconds and parent_alive(args.parent)


def udp_sink(args):
    """Receives datagrams on --port (and answers one in ten, so both directions show)."""
    s = socket.socket(family(args.addr), socket.SOCK_DGRAM)
    s.bind((args.addr, args.port))
    s.settimeout(1.0)
    t0 = time.monotonic()
    n = 0
    while running(args, t0):
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            continue
        n += 1
        if n % 10 == 0:
            s.sendto(data[:32], peer)


def udp_stream(args):
    """Sends --rate datagrams per second of about --size bytes to --addr:--port."""
    s = socket.socket(family(args.addr), socket.SOCK_DGRAM)
    s.setblocking(False)
    t0 = time.monotonic()
    gap = 1.0 / max(args.rate, 0.1)
    while running(args, t0):
        size = max(1, int(random.gauss(args.size, args.size / 5)))
        try:
            s.sendto(os.urandom(min(size, 1400)), (args.addr, args.port))
            s.recv(2048)
        except (BlockingIOError, ConnectionRefusedError):
            pass
        time.sleep(gap)


def echo_server(args):
    """TCP echo server on --port; each connection is served until the peer closes."""
    ls = socket.socket(family(args.addr), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.addr, args.port))
    ls.listen(64)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    t0 = time.monotonic()
    while running(args, t0):
        for key, _ in sel.select(timeout=1.0):
            if key.fileobj is ls:
                c, _ = ls.accept()
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ)
                continue
            c = key.fileobj
            try:
                data = c.recv(65536)
            except (ConnectionResetError, BlockingIOError):
                data = b""
            if data:
                try:
                    c.sendall(data)
                except OSError:
                    data = b""
            if not data:
                sel.unregister(c)
                c.close()


def tcp_churn(args):
    """Short TCP connections that come and go: random sizes, some to a closed port (RST)."""
    t0 = time.monotonic()
    while running(args, t0):
        port = args.port if random.random() > 0.15 else args.closed_port
        try:
            with socket.create_connection((args.addr, port), timeout=2.0) as c:
                for _ in range(random.randint(1, 5)):
                    c.sendall(os.urandom(random.choice((16, 200, 1500, 8000, 30000))))
                    c.recv(65536)
                    time.sleep(random.uniform(0.05, 0.5))
        except OSError:
            pass
        time.sleep(random.uniform(0.3, 1.5))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("mode", choices=("udp-sink", "udp-stream", "echo-server", "tcp-churn"))
    p.add_argument("--addr", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--closed-port", type=int, default=9)
    p.add_argument("--rate", type=float, default=20.0)
    p.add_argument("--size", type=int, default=300)
    p.add_argument("--parent", type=int, default=0)
    p.add_argument("--max-seconds", type=float, default=3600.0)
    args = p.parse_args()
    modes = {"udp-sink": udp_sink, "udp-stream": udp_stream, "echo-server": echo_server,
             "tcp-churn": tcp_churn}
    try:
        modes[args.mode](args)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
