/* libFuzzer target: the DNS header and question parser of bpf/lib/l7parse.h against a reference decoder. */
#include <string.h>
#include <linux/types.h>

#include "fuzz.h"
#include "lib/l7parse.h"

/*
 * Reference: RFC 1035 4.1.2 and 4.1.4, written for clarity rather than for
 * the verifier. The policy it shares with the parser is only what pktlens
 * promises: compression pointers point backwards into the message past the
 * header (so they cannot loop), at most PL_DNS_PTRS_MAX of them, and the
 * dotted name stays below PL_DNS_NAME_MAX. Returns 0 and the name, the
 * offset after the question name, or -1.
 */
static int ref_name(const uint8_t *b, size_t len, char *name, size_t *name_len, size_t *after)
{
	size_t off = 12, o = 0, ptrs = 0;
	*after = 0;
	for (;;) {
		if (off >= len)
			return -1;
		uint8_t c = b[off];
		if ((c & 0xc0) == 0xc0) {
			if (off + 2 > len)
				return -1;
			size_t to = (size_t)(c & 0x3f) << 8 | b[off + 1];
			if (!*after)
				*after = off + 2;
			if (to >= off || to < 12 || ++ptrs > PL_DNS_PTRS_MAX)
				return -1;
			off = to;
			continue;
		}
		if (c & 0xc0)
			return -1;
		if (c == 0) {
			if (!*after)
				*after = off + 1;
			*name_len = o;
			return 0;
		}
		if (off + 1 + c > len || o + (o ? 1 : 0) + c >= PL_DNS_NAME_MAX)
			return -1;
		if (o)
			name[o++] = '.';
		memcpy(name + o, b + off + 1, c);
		o += c;
		off += 1 + c;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pl_dns d;
	int ret = pl_dns_parse(data, data + size, &d);

	FUZZ_CHECK(ret >= PL_L7E_OK && ret <= PL_L7E_NOHELLO, "ret %d", ret);
	FUZZ_CHECK(d.name_len < PL_DNS_NAME_MAX, "name_len %u", d.name_len);
	if (size < 12) {
		FUZZ_CHECK(ret == PL_L7E_TRUNC, "short message ret %d", ret);
		return 0;
	}
	/* header fields straight from RFC 1035 4.1.1 */
	FUZZ_CHECK(d.id == (data[0] << 8 | data[1]) && d.qr == data[2] >> 7 &&
		       d.opcode == ((data[2] >> 3) & 15) && d.tc == ((data[2] >> 1) & 1) &&
		       d.rcode == (data[3] & 15),
		   "header");
	FUZZ_CHECK(d.qdcount == (data[4] << 8 | data[5]) && d.ancount == (data[6] << 8 | data[7]),
		   "counts");
	if (ret != PL_L7E_OK || !d.qdcount)
		return 0;

	char name[PL_DNS_NAME_MAX];
	size_t name_len = 0, after = 0;
	FUZZ_CHECK(!ref_name(data, size, name, &name_len, &after), "parser took a name the "
								   "reference refuses");
	FUZZ_CHECK(d.name_len == name_len && !memcmp(d.name, name, name_len), "name %.*s want %.*s",
		   d.name_len, d.name, (int)name_len, name);
	FUZZ_CHECK(after + 4 <= size, "question past the message");
	FUZZ_CHECK(d.qtype == (data[after] << 8 | data[after + 1]) &&
		       d.qclass == (data[after + 2] << 8 | data[after + 3]),
		   "qtype/qclass");
	return 0;
}
