# python http.server for the HTTP tests, logging each request it answered with its own timing.
#
# Usage: http_server.py ACCESS_LOG [PORT]
# Endpoints: /ok and /users/* 200, /slow 200 after 300 ms, /old 301, /fail 500, anything else 404;
# POST reads its body and answers as GET. Keep-alive (HTTP/1.1): several requests per connection.
#
# One JSON line per request: method, path, status, host, client port, and three times (seconds,
# CLOCK_REALTIME): "rx" when the kernel received the bytes that started the request (SO_TIMESTAMPNS
# on the socket: stamped as the packet entered the receive path, before the server ran), "w0" just
# before the response head was written, "w1" just after. The head leaves in that write (one send,
# nothing unacknowledged in flight), so a monitor on the wire must see the response between
# w0 - rx and w1 - rx after the request.
import io, json, socket, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = open(sys.argv[1], "a", buffering=1)
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 80
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SCM_TIMESTAMPNS = SO_TIMESTAMPNS


class StampedReader(io.RawIOBase):
    """recvmsg() with the kernel's receive time of the first byte of each read."""

    def __init__(self, sock):
        self.sock = sock
        self.stamp = None

    def readable(self):
        return True

    def readinto(self, b):
        data, anc, _, _ = self.sock.recvmsg(len(b), socket.CMSG_SPACE(16))
        for level, typ, raw in anc:
            if level == socket.SOL_SOCKET and typ == SCM_TIMESTAMPNS and len(raw) >= 16:
                sec, nsec = int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:16], "little")
                self.stamp = sec + nsec / 1e9
                break
        else:
            self.stamp = None
        b[: len(data)] = data
        return len(data)


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.raw_in = StampedReader(self.connection)
        # unbuffered beyond one recv: a request's bytes are read when they arrive
        self.rfile = io.BufferedReader(self.raw_in, 65536)

    def parse_request(self):
        # the request line was just read: the stamp is that of the bytes it came in
        self.t_rx = self.raw_in.stamp
        return super().parse_request()

    def answer(self, code, body=b"ok\n", extra=None):
        self.send_response(code)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.t_w0 = time.time()
        self.end_headers()
        self.t_w1 = time.time()
        self.wfile.write(body)
        LOG.write(json.dumps({"method": self.command, "path": self.path, "status": code,
                              "host": self.headers.get("Host", ""),
                              "client_port": self.client_address[1],
                              "rx": self.t_rx, "w0": self.t_w0, "w1": self.t_w1}) + "\n")

    def do_GET(self):
        p = self.path.split("?")[0]
        if p == "/ok" or p.startswith("/users/"):
            self.answer(200)
        elif p == "/slow":
            time.sleep(0.3)
            self.answer(200)
        elif p == "/old":
            self.answer(301, b"moved\n", {"Location": "/ok"})
        elif p == "/fail":
            self.answer(500, b"boom\n")
        else:
            self.answer(404, b"no\n")

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.do_GET()

    def log_request(self, code="-", size="-"):
        pass

    def log_message(self, *a):
        pass


class Server(ThreadingHTTPServer):
    def server_bind(self):
        # on the listener, before any connection: accepted sockets inherit it, and their first
        # bytes are stamped on arrival (a flag set after they came would stamp them at read)
        self.socket.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        super().server_bind()


Server(("0.0.0.0", PORT), H).serve_forever()
