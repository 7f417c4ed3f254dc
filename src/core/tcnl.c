/* Classic tc through rtnetlink: list and delete filters, delete clsact, and the crash path's prepared messages. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "core/tcnl.h"

struct tc_req {
	struct nlmsghdr n;
	struct tcmsg t;
	char attrs[32];
};

static uint32_t seq_no = 1;

int tcnl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* Builds a request in req (no allocation: the crash path builds its messages the same way). */
static size_t build(struct tc_req *req, uint16_t type, uint16_t flags, int ifindex, uint32_t parent,
		    uint32_t handle, uint32_t info, const char *kind)
{
	memset(req, 0, sizeof(*req));
	req->n.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg));
	req->n.nlmsg_type = type;
	req->n.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	req->t.tcm_family = AF_UNSPEC;
	req->t.tcm_ifindex = ifindex;
	req->t.tcm_parent = parent;
	req->t.tcm_handle = handle;
	req->t.tcm_info = info;
	if (kind) {
		struct rtattr *rta = (struct rtattr *)((char *)req + NLMSG_ALIGN(req->n.nlmsg_len));
		size_t l = strlen(kind) + 1;
		rta->rta_type = TCA_KIND;
		rta->rta_len = (unsigned short)RTA_LENGTH(l);
		memcpy(RTA_DATA(rta), kind, l);
		req->n.nlmsg_len = NLMSG_ALIGN(req->n.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	}
	return req->n.nlmsg_len;
}

static uint32_t filter_info(uint32_t prio, uint16_t proto)
{
	return TC_H_MAKE(prio << 16, htons(proto));
}

/* Sends req and waits for its ack: 0 or -errno from the kernel. */
static int transact(int fd, struct tc_req *req)
{
	req->n.nlmsg_flags |= NLM_F_ACK;
	req->n.nlmsg_seq = ++seq_no;
	if (send(fd, req, req->n.nlmsg_len, 0) < 0)
		return -errno;
	char buf[8192];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != req->n.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
		}
	}
}

static void parse_filter(struct nlmsghdr *h, struct tcnl_filter *f)
{
	struct tcmsg *t = NLMSG_DATA(h);
	memset(f, 0, sizeof(*f));
	f->handle = t->tcm_handle;
	f->prio = TC_H_MAJ(t->tcm_info) >> 16;
	f->proto = ntohs((uint16_t)TC_H_MIN(t->tcm_info));
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*t));
	for (struct rtattr *a = (struct rtattr *)((char *)t + NLMSG_ALIGN(sizeof(*t)));
	     RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == TCA_KIND) {
			snprintf(f->kind, sizeof(f->kind), "%.*s", (int)RTA_PAYLOAD(a),
				 (char *)RTA_DATA(a));
		} else if (a->rta_type == TCA_OPTIONS) {
			int l2 = (int)RTA_PAYLOAD(a);
			for (struct rtattr *b = RTA_DATA(a); RTA_OK(b, l2); b = RTA_NEXT(b, l2)) {
				if (b->rta_type == TCA_BPF_ID && RTA_PAYLOAD(b) >= 4)
					memcpy(&f->prog_id, RTA_DATA(b), 4);
				else if (b->rta_type == TCA_BPF_NAME)
					snprintf(f->name, sizeof(f->name), "%.*s",
						 (int)RTA_PAYLOAD(b), (char *)RTA_DATA(b));
			}
		}
	}
}

int tcnl_filters(int fd, int ifindex, uint32_t parent, struct tcnl_filter *out, int max)
{
	struct tc_req req;
	build(&req, RTM_GETTFILTER, NLM_F_DUMP, ifindex, parent, 0, 0, NULL);
	req.n.nlmsg_seq = ++seq_no;
	if (send(fd, &req, req.n.nlmsg_len, 0) < 0)
		return -errno;
	char buf[16384];
	int count = 0;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != req.n.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return count;
			if (h->nlmsg_type == NLMSG_ERROR) {
				int e = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
				/* no clsact on the device: no filters */
				return e == -EINVAL || e == -ENOENT ? 0 : e;
			}
			if (h->nlmsg_type != RTM_NEWTFILTER)
				continue;
			if (count < max)
				parse_filter(h, &out[count]);
			count++;
		}
	}
}

int tcnl_filter_del(int fd, int ifindex, uint32_t parent, uint32_t handle, uint32_t prio,
		    uint16_t proto)
{
	struct tc_req req;
	build(&req, RTM_DELTFILTER, 0, ifindex, parent, handle, filter_info(prio, proto), "bpf");
	return transact(fd, &req);
}

int tcnl_clsact_del(int fd, int ifindex)
{
	struct tc_req req;
	build(&req, RTM_DELQDISC, 0, ifindex, TC_H_CLSACT, TC_H_MAKE(TC_H_CLSACT, 0), 0, "clsact");
	return transact(fd, &req);
}

int tcnl_clsact_empty(int fd, int ifindex)
{
	struct tcnl_filter f;
	int a = tcnl_filters(fd, ifindex, PL_TC_PARENT_INGRESS, &f, 1);
	if (a < 0)
		return a;
	int b = tcnl_filters(fd, ifindex, PL_TC_PARENT_EGRESS, &f, 1);
	if (b < 0)
		return b;
	return a + b == 0;
}

/* ---- the crash path ---- */

static int emerg_fd = -1;
static struct tc_req emerg_filters[PL_EMERG_FILTERS];
static volatile sig_atomic_t emerg_filter_on[PL_EMERG_FILTERS];
static struct tc_req emerg_qdiscs[PL_EMERG_QDISCS], emerg_dumps[PL_EMERG_QDISCS][2];
static volatile sig_atomic_t emerg_qdisc_on[PL_EMERG_QDISCS];
static char emerg_buf[16384];

int tcnl_emerg_init(void)
{
	if (emerg_fd < 0)
		emerg_fd = tcnl_open();
	return emerg_fd < 0 ? emerg_fd : 0;
}

void tcnl_emerg_filter(int slot, bool on, int ifindex, uint32_t parent, uint32_t handle,
		       uint32_t prio, uint16_t proto)
{
	if (slot < 0 || slot >= PL_EMERG_FILTERS)
		return;
	emerg_filter_on[slot] = 0;
	if (!on)
		return;
	build(&emerg_filters[slot], RTM_DELTFILTER, NLM_F_ACK, ifindex, parent, handle,
	      filter_info(prio, proto), "bpf");
	emerg_filter_on[slot] = 1;
}

void tcnl_emerg_qdisc(int slot, bool on, int ifindex)
{
	if (slot < 0 || slot >= PL_EMERG_QDISCS)
		return;
	emerg_qdisc_on[slot] = 0;
	if (!on)
		return;
	build(&emerg_qdiscs[slot], RTM_DELQDISC, NLM_F_ACK, ifindex, TC_H_CLSACT,
	      TC_H_MAKE(TC_H_CLSACT, 0), 0, "clsact");
	build(&emerg_dumps[slot][0], RTM_GETTFILTER, NLM_F_DUMP, ifindex, PL_TC_PARENT_INGRESS, 0,
	      0, NULL);
	build(&emerg_dumps[slot][1], RTM_GETTFILTER, NLM_F_DUMP, ifindex, PL_TC_PARENT_EGRESS, 0, 0,
	      NULL);
	emerg_qdisc_on[slot] = 1;
}

/*
 * Sends one prepared request and reads until its answer ends. Returns the
 * number of filters a dump listed, 0 for an ack, -1 when it failed.
 */
static int emerg_send(struct tc_req *req, uint32_t seq)
{
	req->n.nlmsg_seq = seq;
	if (send(emerg_fd, req, req->n.nlmsg_len, 0) < 0)
		return -1;
	int count = 0;
	for (int reads = 0; reads < 64; reads++) {
		ssize_t n = recv(emerg_fd, emerg_buf, sizeof(emerg_buf), 0);
		if (n <= 0)
			return -1;
		for (struct nlmsghdr *h = (struct nlmsghdr *)emerg_buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return count;
			if (h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error ? -1 : count;
			if (h->nlmsg_type == RTM_NEWTFILTER)
				count++;
		}
	}
	return -1;
}

void tcnl_emerg_run(void)
{
	if (emerg_fd < 0)
		return;
	uint32_t seq = 0x70000000;
	for (int i = 0; i < PL_EMERG_FILTERS; i++)
		if (emerg_filter_on[i])
			emerg_send(&emerg_filters[i], ++seq);
	/* a clsact pktlens created goes only when nobody else's filter sits on it */
	for (int i = 0; i < PL_EMERG_QDISCS; i++) {
		if (!emerg_qdisc_on[i])
			continue;
		if (emerg_send(&emerg_dumps[i][0], ++seq) == 0 &&
		    emerg_send(&emerg_dumps[i][1], ++seq) == 0)
			emerg_send(&emerg_qdiscs[i], ++seq);
	}
}
