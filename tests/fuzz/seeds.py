#!/usr/bin/env python3
"""Cuts a capture into seed inputs for the fuzz targets, and writes the crafted seeds.

Usage: seeds.py PCAP OUTDIR     (tests/fuzz/capture-seeds.sh runs it)
       seeds.py --crafted OUTDIR
OUTDIR/parse: frames; http, dns, tls: payloads as the L7 events carry them (first 512 bytes);
l7model: event sequences in fuzz_l7model.c's record format; theme, escape: crafted text.
"""
import hashlib
import os
import struct
import sys

L7_DATA = 512
# fuzz_l7model.c: op bits 0-2 select the kind
K_REQ, K_RESP, K_CONT, K_DNS, K_TLS, K_PROTO, K_SSL, K_SPECIAL = range(8)
METHODS = (b"GET ", b"POST", b"PUT ", b"HEAD", b"DELE", b"PATC", b"OPTI", b"CONN", b"TRAC")


def put(outdir, target, data, name=None):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def frames(pcap):
    with open(pcap, "rb") as f:
        hdr = f.read(24)
        magic = struct.unpack("<I", hdr[:4])[0]
        end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        if struct.unpack(end + "I", hdr[20:24])[0] != 1:
            sys.exit("not an Ethernet capture")
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            sec, frac, incl, _ = struct.unpack(end + "IIII", rec)
            yield sec + frac / 1e6, f.read(incl)


def dissect(fr):
    """(src, dst, proto, sport, dport, seq, payload) of an IP frame, or None."""
    off, et = 14, struct.unpack(">H", fr[12:14])[0]
    while et in (0x8100, 0x88A8):
        et = struct.unpack(">H", fr[off + 2:off + 4])[0]
        off += 4
    if et == 0x0800:
        ihl = (fr[off] & 15) * 4
        tot = struct.unpack(">H", fr[off + 2:off + 4])[0]
        if struct.unpack(">H", fr[off + 6:off + 8])[0] & 0x1FFF:
            return None
        proto, src, dst = fr[off + 9], fr[off + 12:off + 16], fr[off + 16:off + 20]
        end, off = off + tot, off + ihl
    elif et == 0x86DD:
        plen = struct.unpack(">H", fr[off + 4:off + 6])[0]
        proto, src, dst = fr[off + 6], fr[off + 8:off + 24], fr[off + 24:off + 40]
        end, off = off + 40 + plen, off + 40
        while proto in (0, 43, 60):
            proto, off = fr[off], off + (fr[off + 1] + 1) * 8
        if proto == 44:
            return None
    else:
        return None
    if proto == 6:
        sport, dport, seq = struct.unpack(">HHI", fr[off:off + 8])
        return src, dst, proto, sport, dport, seq, fr[off + (fr[off + 12] >> 4) * 4:end]
    if proto == 17:
        sport, dport = struct.unpack(">HH", fr[off:off + 4])
        return src, dst, proto, sport, dport, 0, fr[off + 8:end]
    return None


def record(kind, direction, key, seq, dt_us, payload, more=False):
    op = kind | (direction & 1) << 3 | (key & 7) << 4 | (0x80 if more else 0)
    dt = min(255, int((max(dt_us, 0) / 10) ** 0.5))
    data = payload[:L7_DATA]
    return bytes([op, seq & 0xFF, dt]) + struct.pack(">H", len(data)) + data


def cut(pcap, outdir):
    seen = set()
    keys = {}
    seqs = {"http": [], "dns": [], "tls": [], "all": []}
    open_req = {}
    last_ts = None
    server = None
    for ts, fr in frames(pcap):
        h = hashlib.sha1(fr).digest()
        if h not in seen:
            seen.add(h)
            put(outdir, "parse", fr)
            if len(seen) % 16 == 1:
                # the same frame behind an 802.1Q tag, and behind 802.1ad + 802.1Q (QinQ)
                put(outdir, "parse", fr[:12] + b"\x81\x00\x00\x64" + fr[12:])
                put(outdir, "parse", fr[:12] + b"\x88\xa8\x00\xc8\x81\x00\x01\x2c" + fr[12:])
        d = dissect(fr)
        if not d or not d[6]:
            continue
        src, dst, proto, sport, dport, seq, pl = d
        if server is None:
            server = dst
        direction = 0 if dst == server else 1  # rx towards the namespace that served
        flow = (proto, frozenset(((src, sport), (dst, dport))))
        if flow not in keys:
            keys[flow] = len(keys) % 4 | (4 if proto == 17 else 0)
        key = keys[flow]
        dt_us = 0 if last_ts is None else (ts - last_ts) * 1e6
        last_ts = ts
        more = len(pl) > L7_DATA
        if 53 in (sport, dport):
            msg = pl[2:] if proto == 6 else pl
            put(outdir, "dns", msg[:L7_DATA])
            rec = record(K_DNS, direction, key, seq, dt_us, pl, more)
            seqs["dns"].append(rec)
        elif proto == 6 and pl[:4] in METHODS:
            put(outdir, "http", pl[:L7_DATA])
            rec = record(K_REQ, direction, key, seq, dt_us, pl, more)
            open_req[(flow, direction)] = b"\r\n\r\n" not in pl
            seqs["http"].append(rec)
        elif proto == 6 and pl[:7] == b"HTTP/1.":
            put(outdir, "http", pl[:L7_DATA])
            rec = record(K_RESP, direction, key, seq, dt_us, pl, more)
            seqs["http"].append(rec)
        elif proto == 6 and open_req.get((flow, direction)):
            rec = record(K_CONT, direction, key, seq, dt_us, pl, more)
            open_req[(flow, direction)] = b"\r\n\r\n" not in pl
            seqs["http"].append(rec)
        elif proto == 6 and pl[0] == 0x16 and pl[1] == 3 and len(pl) > 5 and pl[5] == 1:
            put(outdir, "tls", pl[:L7_DATA])
            rec = record(K_TLS, direction, key, seq, dt_us, pl, more)
            seqs["tls"].append(rec)
        else:
            continue
        seqs["all"].append(rec)
    slow = bytes([40])  # slow threshold byte
    for name, recs in seqs.items():
        if recs:
            put(outdir, "l7model", slow + b"".join(recs[:48]), "capture-" + name)
    # the same HTTP exchanges through the SSL uprobes: plaintext, streams named by the SSL pointer
    ssl = [bytes([(r[0] & ~7) | K_SSL]) + r[1:] for r in seqs["http"][:24]]
    if ssl:
        put(outdir, "l7model", slow + b"".join(ssl), "capture-ssl")


def crafted(outdir):
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    hdr = lambda qd, an=0, flags=0x0100: struct.pack(">HHHHHH", 0x1234, flags, qd, an, 0, 0)
    name = lambda *labels: b"".join(bytes([len(l)]) + l for l in labels) + b"\0"
    q = hdr(1) + name(b"www", b"example", b"com") + b"\x00\x01\x00\x01"
    put(outdir, "dns", q, "crafted-query")
    ans = (hdr(1, 1, 0x8180) + name(b"www", b"example", b"com") + b"\x00\x01\x00\x01" +
           b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x00\x00\x01")
    put(outdir, "dns", ans, "crafted-answer")
    put(outdir, "dns", hdr(1) + b"\xc0\x0c\x00\x01\x00\x01", "crafted-ptr-self")
    put(outdir, "dns", hdr(1) + b"\xc0\x20" + b"\0" * 20, "crafted-ptr-forward")
    put(outdir, "dns", hdr(1) + b"\xc0\x02\x00\x01\x00\x01", "crafted-ptr-header")
    # 15 labels then a pointer back to them, four times: 64 steps that never reach the root
    put(outdir, "dns", hdr(1) + b"\x01a" * 15 + b"\xc0\x0c\x00\x01\x00\x01", "crafted-ptr-cycle-64")
    put(outdir, "dns", hdr(1) + name(b"x" * 63, b"y" * 63, b"z" * 63, b"w" * 61) + b"\0\1\0\1",
        "crafted-name-max")
    put(outdir, "dns", hdr(1) + name(b"good\0evil", b"test") + b"\x00\x01\x00\x01",
        "crafted-name-nul")
    put(outdir, "dns", hdr(1) + b"\x41" + b"a" * 10, "crafted-label-flags")

    def hello(exts, sid=b"", suites=b"\x13\x01\x13\x02", ver=b"\x03\x03"):
        ext = b"".join(struct.pack(">HH", t, len(b)) + b for t, b in exts)
        body = (ver + bytes(range(32)) + bytes([len(sid)]) + sid + struct.pack(">H", len(suites)) +
                suites + b"\x01\x00" + struct.pack(">H", len(ext)) + ext)
        hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
        return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs

    def sni(n):
        return (0, struct.pack(">HBH", len(n) + 3, 0, len(n)) + n)

    alpn = (16, b"\x00\x0c\x02h2\x08http/1.1")
    versions = (43, b"\x06\x3a\x3a\x03\x04\x03\x03")
    put(outdir, "tls", hello([sni(b"bank.example"), alpn, versions], sid=bytes(32)),
        "crafted-hello-13")
    put(outdir, "tls", hello([(0x0a0a, b""), sni(b"grease.example")]), "crafted-hello-grease")
    put(outdir, "tls", hello([sni(b"bank.example\0.c2.evil.net")]), "crafted-hello-sni-nul")
    put(outdir, "tls", hello([sni(b"")]), "crafted-hello-sni-empty")
    h = bytearray(hello([sni(b"inside.example")]))
    ext_len_at = 5 + 4 + 2 + 32 + 1 + 2 + 4 + 2
    struct.pack_into(">H", h, ext_len_at, 4)  # block ends inside the server_name extension
    put(outdir, "tls", bytes(h), "crafted-hello-ext-past-block")

    put(outdir, "http", b"GET /a/b?c=1 HTTP/1.1\r\nUser-Agent: x\r\nhost:\t ex.test \r\n\r\n",
        "crafted-request")
    put(outdir, "http", b"GET /x HTTP/1.1\r\nHost: a\r\n\r\nGET /y HTTP/1.1\r\nHost: a\r\n\r\n",
        "crafted-pipelined")
    put(outdir, "http", b"GET /spoofed/\0hidden HTTP/1.1\r\nHost: h\r\n\r\n", "crafted-path-nul")
    put(outdir, "http", b"GET /" + b"a" * 600, "crafted-long-line")
    put(outdir, "http", b"GET /09\n", "crafted-http09")
    put(outdir, "http", b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "crafted-404")
    put(outdir, "http", b"HTTP/1.0 101\r\n", "crafted-101")

    for f in sorted(os.listdir(os.path.join(root, "themes"))):
        with open(os.path.join(root, "themes", f), "rb") as t:
            put(outdir, "theme", t.read(), "theme-" + f)
    put(outdir, "theme", b"# c\nnormal = red,default\nfoo = red,blue\n", "crafted-bad-role")
    put(outdir, "theme", b"normal = 17, 255, bold|underline+italic blink\nrx=bright-cyan,-1\n",
        "crafted-attrs")
    put(outdir, "theme", b"normal = \x1b[31m,default\n", "crafted-escape-in-colour")

    for i, s in enumerate([b"plain", b"tab\there", b"\x1b[2J\x1b]0;title\x07", b"back\\slash",
                           "caf\u00e9 \u202eevil".encode(), b"nul\0after", b"\x7f\xff\x80"]):
        put(outdir, "escape", bytes([0xF0]) + s, "crafted-%d" % i)
        put(outdir, "escape", bytes([9]) + s, "crafted-short-%d" % i)

    # draw: the width byte, then text: wide and combining characters, bidi and zero-width
    # formatting, controls, invalid UTF-8
    for i, t in enumerate(["plain ascii", "\u4e2d\u6587\u5b57 wide", "e\u0301 combining",
                           "abc\u202eevil\u202c", "zero\u200bwidth\ufeff", "\u2066iso\u2069",
                           "\x1b[31mred\x07", "tab\tnl\n", "\U0001f600 emoji"]):
        put(outdir, "draw", bytes([20 + i]) + t.encode(), "crafted-%d" % i)
    put(outdir, "draw", bytes([10]) + b"bad \xc3\x28 \xe2\x82 utf8", "crafted-invalid")

    # l7model: a request and its answer, a pipelined pair, an HTTP request split over segments,
    # a retransmission, DNS query/answer, protocol decisions, bogus lengths, snapshot reads
    req = b"GET /api/items/42 HTTP/1.1\r\nHost: shop.test\r\n\r\n"
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    seq = (record(K_REQ, 0, 0, 1, 100, req) + record(K_RESP, 1, 0, 1, 900, resp) +
           record(K_REQ, 0, 0, 1, 10, req) +  # retransmission: same seq
           record(K_REQ, 0, 1, 5, 10, b"GET /x HTTP/1.1\r\nUser-Ag") +
           record(K_CONT, 0, 1, 6, 10, b"ent: y\r\nHost: split.test\r\n\r\n") +
           record(K_RESP, 1, 1, 7, 40000, b"HTTP/1.1 503 Busy\r\n\r\n") +
           record(K_DNS, 0, 4, 0, 10, q) + record(K_DNS, 1, 4, 0, 2000, ans) +
           record(K_PROTO, 0, 2, 1, 1, b"") + record(K_PROTO, 0, 3, 4, 0, b"") +
           bytes([K_SPECIAL, 0, 0, 0, 0]) + bytes([K_SPECIAL | 1 << 3, 10, 0, 0, 0]) +
           bytes([K_SPECIAL | 2 << 3, 3, 0, 0, 0]) +
           bytes([K_SPECIAL | 3 << 3, 0, 0, 0, 20]) + b"/api/items/123456/x?q=1")
    put(outdir, "l7model", bytes([40]) + seq, "crafted-mix")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--crafted":
        crafted(sys.argv[2])
    elif len(sys.argv) == 3:
        cut(sys.argv[1], sys.argv[2])
        crafted(sys.argv[2])
    else:
        sys.exit(__doc__)
