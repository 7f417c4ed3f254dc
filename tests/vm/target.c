/* Test target for ad-hoc probes: makes a known number of syscalls or calls of one traceable function. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>

/* Not inlined and not folded away: a uprobe on it must fire once per call. */
__attribute__((noinline)) int pl_target_func(int x)
{
	struct timespec ts = { 0, 100000 }; /* 100 us: a latency the histogram must show */
	__asm__ volatile("" : : "r"(x) : "memory");
	nanosleep(&ts, NULL);
	return x + 1;
}

/*
 * One connection on loopback whose server closes it with unread data: the
 * kernel answers with an active reset (tcp_send_reset), which the client
 * receives (tcp_receive_reset). Returns 0 when all of it happened.
 */
static int reset_once(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int ls = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), s = -1;
	int ret = -1;
	char b = 'x';
	if (ls < 0 || c < 0 || bind(ls, (void *)&a, sizeof(a)) || listen(ls, 1) ||
	    getsockname(ls, (void *)&a, &al) || connect(c, (void *)&a, sizeof(a)))
		goto out;
	if ((s = accept(ls, NULL, NULL)) < 0 || write(c, &b, 1) != 1)
		goto out;
	usleep(20000); /* the byte is queued at s, unread */
	close(s);
	s = -1;
	usleep(20000);
	ret = read(c, &b, 1) < 0 ? 0 : -1; /* ECONNRESET */
out:
	if (s >= 0)
		close(s);
	if (c >= 0)
		close(c);
	if (ls >= 0)
		close(ls);
	return ret;
}

/*
 * One loopback connection within this process: the client writes N blocks of BYTES, the server
 * reads them all, then both stay open for a second and a half (a monitor's refresh sees them).
 */
static int stream(long n, long bytes)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int ls = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), s = -1;
	static char buf[65536];
	long want = n * bytes, got = 0;
	if (bytes <= 0 || bytes > (long)sizeof(buf) || ls < 0 || c < 0 ||
	    bind(ls, (void *)&a, sizeof(a)) || listen(ls, 1) || getsockname(ls, (void *)&a, &al) ||
	    connect(c, (void *)&a, sizeof(a)) || (s = accept(ls, NULL, NULL)) < 0)
		return 1;
	memset(buf, 'x', sizeof(buf));
	for (long i = 0; i < n; i++)
		if (write(c, buf, (size_t)bytes) != bytes)
			return 1;
	while (got < want) {
		ssize_t r = read(s, buf, sizeof(buf));
		if (r <= 0)
			return 1;
		got += r;
	}
	usleep(1500000);
	close(s);
	close(c);
	close(ls);
	return 0;
}

/*
 * A connect() to ADDR port 9 that nobody answers (the route's device drops
 * it), held for SECONDS: the kernel retransmits the SYN meanwhile.
 */
static int syn_hold(long seconds, const char *addr)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9) };
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c < 0 || inet_pton(AF_INET, addr, &a.sin_addr) != 1)
		return 1;
	connect(c, (void *)&a, sizeof(a)); /* EINPROGRESS */
	sleep((unsigned)seconds);
	close(c);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: pl-target getppid N | call N [WAIT_FILE] | reset N | syn SECONDS ADDR | "
		"stream N BYTES\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		usage();
	long n = strtol(argv[2], NULL, 10);
	if (!strcmp(argv[1], "syn"))
		return argc > 3 ? syn_hold(n, argv[3]) : 2;
	if (!strcmp(argv[1], "stream"))
		return argc > 3 ? stream(n, strtol(argv[3], NULL, 10)) : 2;
	/* call N WAIT_FILE: print the pid, wait until WAIT_FILE exists, then call. */
	if (argc > 3) {
		printf("%d\n", getpid());
		fflush(stdout);
		while (access(argv[3], F_OK))
			usleep(20000);
	}
	volatile int sum = 0;
	if (!strcmp(argv[1], "getppid")) {
		for (long i = 0; i < n; i++)
			sum += (int)syscall(SYS_getppid);
	} else if (!strcmp(argv[1], "call")) {
		for (long i = 0; i < n; i++)
			sum += pl_target_func((int)i);
	} else if (!strcmp(argv[1], "reset")) {
		for (long i = 0; i < n; i++)
			if (reset_once())
				return 1;
	} else {
		usage();
	}
	return sum == -1;
}
