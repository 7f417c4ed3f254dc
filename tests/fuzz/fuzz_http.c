/* libFuzzer target: the HTTP request/response parsers and the payload classifier of bpf/lib/l7parse.h. */
#include <string.h>
#include <linux/types.h>

#include "fuzz.h"
#include "lib/l7parse.h"

/*
 * The request line is checked against a reference written from RFC 9112's
 * grammar with plain string functions: the method is the bytes before the
 * first space, the line ends at the first LF (a CR before it is not part of
 * it), and the target runs to the line's last space.
 */
static void check_request(const uint8_t *b, size_t size)
{
	struct pl_http_req r;
	size_t len = size < PL_L7_DATA ? size : PL_L7_DATA;
	int ret = pl_http_parse_req(b, b + size, &r);

	FUZZ_CHECK(ret >= PL_L7E_OK && ret <= PL_L7E_NOHELLO, "ret %d", ret);
	if (ret != PL_L7E_OK && ret != PL_L7E_LONG)
		return;
	FUZZ_CHECK(r.method_len >= 1 && r.method_len <= PL_HTTP_METHOD_MAX, "method_len %u",
		   r.method_len);
	for (unsigned i = 0; i < r.method_len; i++)
		FUZZ_CHECK(b[r.method_off + i] >= 'A' && b[r.method_off + i] <= 'Z', "method byte");
	FUZZ_CHECK(r.method_off == 0 && b[r.method_len] == ' ', "method end");
	FUZZ_CHECK(r.path_off == r.method_len + 1, "path_off %u", r.path_off);
	FUZZ_CHECK(r.path_off + r.path_len <= len, "path %u+%u len %zu", r.path_off, r.path_len,
		   len);
	FUZZ_CHECK(!memchr(b + r.path_off, '\n', r.path_len), "LF in the path");

	const uint8_t *lf = memchr(b, '\n', len);
	if (ret == PL_L7E_LONG) {
		FUZZ_CHECK(r.path_truncated && !lf, "LONG with a complete line");
		FUZZ_CHECK(size >= PL_L7_DATA, "LONG on %zu bytes", size);
		return;
	}
	FUZZ_CHECK(lf && r.line_complete && !r.path_truncated, "OK without a complete line");
	size_t le = (size_t)(lf - b);
	if (le > r.path_off && b[le - 1] == '\r')
		le--;
	/* the target: to the last space of the line, or the whole line for HTTP/0.9 */
	size_t sp = le;
	for (size_t k = le; k > r.path_off; k--) {
		if (b[k - 1] == ' ') {
			sp = k - 1;
			break;
		}
	}
	FUZZ_CHECK(r.path_len >= 1, "empty target");
	if (sp == le) {
		FUZZ_CHECK(r.version == 9 && r.path_len == le - r.path_off, "0.9 line");
	} else {
		FUZZ_CHECK(r.path_len == sp - r.path_off, "path_len %u want %zu", r.path_len,
			   sp - r.path_off);
		FUZZ_CHECK(sp + 8 <= len && !memcmp(b + sp + 1, "HTTP/1.", 7), "version");
		FUZZ_CHECK(r.version == (b[sp + 8] == '1'), "version %u", r.version);
	}
	if (r.host_len) {
		FUZZ_CHECK(r.host_off > le && r.host_off + r.host_len <= len, "host %u+%u len %zu",
			   r.host_off, r.host_len, len);
		FUZZ_CHECK(!memchr(b + r.host_off, '\n', r.host_len), "LF in the host");
		/* the host value sits in a header line that starts with "Host:" */
		size_t ls = r.host_off;
		while (ls > 0 && b[ls - 1] != '\n')
			ls--;
		FUZZ_CHECK(r.host_off >= ls + 5 && !strncasecmp((const char *)b + ls, "host:", 5),
			   "host outside a Host line");
	}
	if (r.headers_complete) {
		/* a blank line ended the headers inside the input */
		int blank = 0;
		for (size_t i = le; i + 1 < len && !blank; i++)
			blank =
			    b[i] == '\n' && (b[i + 1] == '\n' ||
					     (i + 2 < len && b[i + 1] == '\r' && b[i + 2] == '\n'));
		FUZZ_CHECK(blank, "headers_complete without a blank line");
	}
}

static void check_response(const uint8_t *b, size_t size)
{
	struct pl_http_resp r;
	int ret = pl_http_parse_resp(b, b + size, &r);

	FUZZ_CHECK(ret >= PL_L7E_OK && ret <= PL_L7E_NOHELLO, "ret %d", ret);
	if (ret != PL_L7E_OK)
		return;
	FUZZ_CHECK(size >= 12 && !memcmp(b, "HTTP/1.", 7), "status line start");
	FUZZ_CHECK(r.status >= 100 && r.status <= 599, "status %u", r.status);
	char digits[4];
	snprintf(digits, sizeof(digits), "%u", r.status);
	FUZZ_CHECK(!memcmp(b + 9, digits, 3), "status %u from %.3s", r.status, b + 9);
}

static void check_classify(const uint8_t *b, size_t size)
{
	__u8 proto = 0xff;
	__u32 n = size < 8 ? (__u32)size : 8;
	int kind = pl_l7_classify_tcp(b, n, &proto);

	FUZZ_CHECK(proto <= PL_L7P_OTHER, "proto %u", proto);
	FUZZ_CHECK(kind == PL_L7K_NONE || kind == PL_L7K_HTTP_REQ || kind == PL_L7K_HTTP_RESP ||
		       kind == PL_L7K_TLS_HELLO,
		   "kind %d", kind);
	if (kind == PL_L7K_HTTP_RESP)
		FUZZ_CHECK(n >= 7 && !memcmp(b, "HTTP/1.", 7), "response");
	if (kind == PL_L7K_TLS_HELLO)
		FUZZ_CHECK(n >= 6 && b[0] == 0x16 && b[5] == 1, "hello");
	if (kind != PL_L7K_NONE)
		FUZZ_CHECK(proto != PL_L7P_UNKNOWN, "kind %d without a protocol", kind);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_request(data, size);
	check_response(data, size);
	check_classify(data, size);
	return 0;
}
