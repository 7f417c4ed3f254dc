/* libFuzzer target: the TLS ClientHello parser of bpf/lib/l7parse.h; every offset it returns is checked against the record. */
#include <string.h>
#include <linux/types.h>

#include "fuzz.h"
#include "lib/l7parse.h"

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/*
 * Reference walk of the extensions (RFC 8446 4.1.2): the offset where the
 * extension block starts and ends as the hello declares it, or 0 when the
 * fixed part does not fit in the input.
 */
static size_t ext_start(const uint8_t *b, size_t len, size_t *ext_end)
{
	size_t off = 9 + 2 + 32; /* record and handshake headers, version, random */
	if (off + 1 > len)
		return 0;
	off += 1 + b[off]; /* session id */
	if (off + 2 > len)
		return 0;
	off += 2 + be16(b + off); /* cipher suites */
	if (off + 1 > len)
		return 0;
	off += 1 + b[off]; /* compression methods */
	if (off + 2 > len)
		return 0;
	*ext_end = off + 2 + be16(b + off);
	return off + 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pl_tls_hello t;
	int ret = pl_tls_parse_hello(data, data + size, &t);

	FUZZ_CHECK(ret >= PL_L7E_OK && ret <= PL_L7E_NOHELLO, "ret %d", ret);
	if (ret != PL_L7E_OK)
		return 0;
	FUZZ_CHECK(size >= 9 + 35 && data[0] == 0x16 && data[1] == 3 && data[5] == 1,
		   "hello header");
	FUZZ_CHECK(t.record_version == be16(data + 1) && t.client_version == be16(data + 9),
		   "versions");
	FUZZ_CHECK(t.max_version >= t.client_version, "max_version %#x < %#x", t.max_version,
		   t.client_version);
	if (t.max_version != t.client_version)
		FUZZ_CHECK((t.max_version & 0x0f0f) != 0x0a0a, "GREASE %#x as a version",
			   t.max_version);

	size_t ext_end = 0, start = ext_start(data, size, &ext_end);
	/* an empty server_name (sni_off set, sni_len 0) reads as a hello without SNI */
	if (t.sni_off) {
		FUZZ_CHECK(start && t.sni_off >= start + 9, "SNI at %u before the extensions (%zu)",
			   t.sni_off, start);
		FUZZ_CHECK(t.sni_off + t.sni_len <= size, "SNI %u+%u past %zu", t.sni_off,
			   t.sni_len, size);
		FUZZ_CHECK(t.sni_off + t.sni_len <= ext_end, "SNI past the extensions");
		/* server_name list entry: type host_name (0), 2-byte length, name (RFC 6066 3) */
		FUZZ_CHECK(data[t.sni_off - 3] == 0 && be16(data + t.sni_off - 2) == t.sni_len,
			   "SNI entry header");
		FUZZ_CHECK(be16(data + t.sni_off - 9) == 0, "SNI outside a server_name extension");
	} else {
		FUZZ_CHECK(!t.sni_len, "sni_len %u without an offset", t.sni_len);
	}
	if (t.alpn_len) {
		FUZZ_CHECK(start && t.alpn_off >= start + 7, "ALPN before the extensions");
		FUZZ_CHECK(t.alpn_off + t.alpn_len <= size, "ALPN %u+%u past %zu", t.alpn_off,
			   t.alpn_len, size);
		FUZZ_CHECK(data[t.alpn_off - 1] == t.alpn_len && be16(data + t.alpn_off - 7) == 16,
			   "ALPN entry");
	}
	return 0;
}
