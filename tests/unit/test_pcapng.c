/* Unit tests for the pcapng writer (blocks byte by byte, as the format's spec lays them out), packet comments and frame keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <errno.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/capture.h"
#include "core/pcapng.h"
#include "frames.h"

static uint32_t u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint16_t u16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

/* Section header: type, length at both ends, byte-order magic, version 1.0, length -1. */
static void test_shb(void **state)
{
	uint8_t b[256];
	size_t n = pcapng_shb(b, sizeof(b), "pktlens x");
	/* 8 + 4 + 4 + 8 + (4 + 12 padded "pktlens x") + 4 (end) + 4 */
	assert_int_equal(n, 48);
	assert_int_equal(u32(b), 0x0A0D0D0A);
	assert_int_equal(u32(b + 4), n);
	assert_int_equal(u32(b + n - 4), n);
	assert_int_equal(u32(b + 8), 0x1A2B3C4D);
	assert_int_equal(u16(b + 12), 1);
	assert_int_equal(u16(b + 14), 0);
	assert_memory_equal(b + 16, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
	assert_int_equal(u16(b + 24), 4); /* shb_userappl */
	assert_int_equal(u16(b + 26), 9);
	assert_memory_equal(b + 28, "pktlens x\0\0\0", 12);
	assert_int_equal(u32(b + 40), 0); /* opt_endofopt */
	/* too small a buffer: nothing */
	assert_int_equal(pcapng_shb(b, 40, "pktlens x"), 0);
}

static void test_idb(void **state)
{
	uint8_t b[256];
	size_t n = pcapng_idb(b, sizeof(b), PCAPNG_LINKTYPE_ETHERNET, 65535, "veth0", NULL);
	/* 8 + 2+2+4 + if_name (4+8) + if_tsresol (4+4) + end 4 + 4 */
	assert_int_equal(n, 44);
	assert_int_equal(u32(b), 1);
	assert_int_equal(u32(b + 4), n);
	assert_int_equal(u16(b + 8), 1);
	assert_int_equal(u32(b + 12), 65535);
	assert_int_equal(u16(b + 16), 2);
	assert_int_equal(u16(b + 18), 5);
	assert_memory_equal(b + 20, "veth0\0\0\0", 8);
	assert_int_equal(u16(b + 28), 9);
	assert_int_equal(u16(b + 30), 1);
	assert_int_equal(b[32], 9); /* nanoseconds */
	assert_int_equal(u32(b + 36), 0);
	assert_int_equal(u32(b + 40), n);
}

/* Enhanced packet: 64-bit stamp in two halves, data padded to 4, comment, flags, end. */
static void test_epb(void **state)
{
	uint8_t b[512], data[5] = { 1, 2, 3, 4, 5 };
	uint64_t ts = 0x0123456789abcdefULL;
	size_t n = pcapng_epb(b, sizeof(b), 3, ts, data, 5, 1500, PCAPNG_DIR_OUT, "pid=7 comm=x");
	/* 28 + 8 (5 padded) + comment (4 + 12) + flags (4 + 4) + end 4 + 4 */
	assert_int_equal(n, 68);
	assert_int_equal(u32(b), 6);
	assert_int_equal(u32(b + 4), n);
	assert_int_equal(u32(b + 8), 3);
	assert_int_equal(u32(b + 12), 0x01234567);
	assert_int_equal(u32(b + 16), 0x89abcdef);
	assert_int_equal(u32(b + 20), 5);
	assert_int_equal(u32(b + 24), 1500);
	assert_memory_equal(b + 28, "\1\2\3\4\5\0\0\0", 8);
	assert_int_equal(u16(b + 36), 1);
	assert_int_equal(u16(b + 38), 12);
	assert_memory_equal(b + 40, "pid=7 comm=x", 12);
	assert_int_equal(u16(b + 52), 2);
	assert_int_equal(u16(b + 54), 4);
	assert_int_equal(u32(b + 56), 2);
	assert_int_equal(u32(b + 60), 0);
	assert_int_equal(u32(b + 64), n);
	/* no comment, no flags: no options at all */
	n = pcapng_epb(b, sizeof(b), 0, 1, data, 4, 4, 0, NULL);
	assert_int_equal(n, 28 + 4 + 4);
	assert_int_equal(u32(b + 32), n);
	/* every length keeps the block a multiple of 4 */
	for (uint32_t len = 0; len < 9; len++) {
		n = pcapng_epb(b, sizeof(b), 0, 1, data, len > 5 ? 5 : len, len, 0, "ab");
		assert_int_equal(n % 4, 0);
		assert_int_equal(u32(b + n - 4), n);
	}
}

/* The writer: one file, blocks in order, an IDB per interface once; a closed pipe is EPIPE. */
static void test_writer(void **state)
{
	char path[] = "/tmp/pl-test-pcapng-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	char err[128];
	struct pcapng *w = pcapng__new(fd, "t", err, sizeof(err));
	assert_non_null(w);
	uint8_t pkt[60] = { 0 };
	assert_int_equal(pcapng_iface(w, 7, 1, 100, "a", NULL), 0);
	assert_int_equal(pcapng_iface(w, 9, 1, 100, "b", NULL), 1);
	assert_int_equal(pcapng_iface(w, 7, 1, 100, "a", NULL), 0);
	assert_int_equal(pcapng_packet(w, 1, 5, pkt, 60, 60, PCAPNG_DIR_IN, "c"), 0);
	assert_int_equal(pcapng_written(w), 1);
	pcapng__free(w);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t buf[1024];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	unlink(path);
	/* walk the blocks by their lengths: SHB, IDB, IDB, EPB and nothing else */
	uint32_t types[8], nb = 0;
	for (size_t off = 0; off < len && nb < 8; off += u32(buf + off + 4))
		types[nb++] = u32(buf + off);
	assert_int_equal(nb, 4);
	assert_int_equal(types[0], 0x0A0D0D0A);
	assert_int_equal(types[1], 1);
	assert_int_equal(types[2], 1);
	assert_int_equal(types[3], 6);

	int p[2];
	assert_int_equal(pipe(p), 0);
	w = pcapng__new(p[1], "t", err, sizeof(err));
	assert_non_null(w);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pcapng_iface(w, 1, 1, 100, "a", NULL), -1);
	assert_int_equal(pcapng_error(w), -EPIPE);
	assert_int_equal(pcapng_packet(w, 0, 1, pkt, 60, 60, 0, NULL), -EPIPE);
	pcapng__free(w);
}

/* Process names are untrusted: control bytes and non-ASCII never reach the comment raw. */
static void test_comment(void **state)
{
	char b[256];
	capture_comment(b, sizeof(b), 0, "x", "");
	assert_string_equal(b, "");
	capture_comment(b, sizeof(b), 42, "nginx", "");
	assert_string_equal(b, "pid=42 comm=nginx");
	capture_comment(b, sizeof(b), 42, "nginx", "/");
	assert_string_equal(b, "pid=42 comm=nginx");
	capture_comment(b, sizeof(b), 42, "ev\x1b[2Jil\n\xff", "/system.slice/a b.service");
	assert_string_equal(b,
			    "pid=42 comm=ev\\x1b[2Jil\\x0a\\xff cgroup=/system.slice/a b.service");
	/* the longest comm the kernel keeps: 15 bytes */
	char comm[16];
	memset(comm, 'a', 16);
	comm[15] = '\0';
	capture_comment(b, sizeof(b), 1, comm, NULL);
	assert_string_equal(b, "pid=1 comm=aaaaaaaaaaaaaaa");
}

/* A frame's key as the packet programs make it: local = destination on rx, source on tx. */
static void test_frame_key(void **state)
{
	uint8_t f[FRAME_MAX];
	size_t n =
	    frame_build_udp(f, sizeof(f), PL_AF_INET, FRAME_IP4_A, FRAME_IP4_B, 4000, 53, 10);
	struct flow_key k;
	assert_int_equal(capture_frame_key(f, (uint32_t)n, 5, PL_DIR_TX, &k), 0);
	assert_int_equal(k.ifindex, 5);
	assert_int_equal(k.proto, 17);
	assert_int_equal(k.family, PL_AF_INET);
	assert_memory_equal(k.local, FRAME_IP4_A, 4);
	assert_memory_equal(k.remote, FRAME_IP4_B, 4);
	assert_int_equal(k.local_port, 4000);
	assert_int_equal(k.remote_port, 53);
	assert_int_equal(capture_frame_key(f, (uint32_t)n, 5, PL_DIR_RX, &k), 0);
	assert_memory_equal(k.local, FRAME_IP4_B, 4);
	assert_int_equal(k.local_port, 53);
	assert_int_equal(k.remote_port, 4000);
	/* cut by -s before the ports, ARP, garbage: no key, never a crash */
	assert_int_equal(capture_frame_key(f, 20, 5, PL_DIR_RX, &k), -1);
	n = frame_build_arp(f, sizeof(f));
	assert_int_equal(capture_frame_key(f, (uint32_t)n, 5, PL_DIR_RX, &k), -1);
	srand(3);
	for (int i = 0; i < 2000; i++) {
		uint32_t len = (uint32_t)(rand() % 200);
		for (uint32_t j = 0; j < len; j++)
			f[j] = (uint8_t)rand();
		f[12] = 0x08;
		f[13] = i % 2 ? 0x00 : 0x06;
		capture_frame_key(f, len, 1, PL_DIR_RX, &k);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shb),	cmocka_unit_test(test_idb),
		cmocka_unit_test(test_epb),	cmocka_unit_test(test_writer),
		cmocka_unit_test(test_comment), cmocka_unit_test(test_frame_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
